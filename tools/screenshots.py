"""Screenshots of the window for the README and for looking at themes and scaling.

Run under a real X server (Xvfb), one theme per run, e.g.:

    xvfb-run -s "-screen 0 1400x900x24" python3 tools/screenshots.py --theme dark --out a.png
    QT_SCALE_FACTOR=1.5 xvfb-run -s "-screen 0 1400x900x24" python3 tools/screenshots.py

It fills a fresh data folder (the Sandbox account, a few held messages, one failed), types
a message with emoji, Chinese and a curly quote into Compose, and saves what the X screen
shows. Themes: the desktop's light one, a dark one, and a high-contrast one (black, white,
yellow), each as Fusion's palette the way a desktop theme would set it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def palette(theme: str):  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor, QPalette

    roles = QPalette.ColorRole
    p = QPalette()
    if theme == "dark":
        colours = {
            roles.Window: "#2b2b2b", roles.WindowText: "#e8e8e8", roles.Base: "#1e1e1e",
            roles.AlternateBase: "#262626", roles.Text: "#e8e8e8", roles.Button: "#353535",
            roles.ButtonText: "#e8e8e8", roles.Highlight: "#3d7bd9",
            roles.HighlightedText: "#ffffff", roles.ToolTipBase: "#1e1e1e",
            roles.ToolTipText: "#e8e8e8", roles.PlaceholderText: "#9a9a9a",
            roles.Link: "#7fb2ff", roles.Mid: "#4a4a4a", roles.Dark: "#202020",
        }  # fmt: skip
    elif theme == "contrast":
        colours = {
            roles.Window: "#000000", roles.WindowText: "#ffffff", roles.Base: "#000000",
            roles.AlternateBase: "#101010", roles.Text: "#ffffff", roles.Button: "#000000",
            roles.ButtonText: "#ffffff", roles.Highlight: "#ffff00",
            roles.HighlightedText: "#000000", roles.ToolTipBase: "#000000",
            roles.ToolTipText: "#ffffff", roles.PlaceholderText: "#c0c0c0",
            roles.Link: "#00ffff", roles.Mid: "#ffffff", roles.Dark: "#ffffff",
        }  # fmt: skip
    else:
        return None
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    return p


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--theme", choices=("light", "dark", "contrast"), default="light")
    parser.add_argument("--view", default="Compose")
    parser.add_argument("--out", default="screenshot.png")
    parser.add_argument("--dialog", choices=("", "keep", "about", "crash"), default="")
    parser.add_argument("--repeat", default="", help="a Repeat choice, e.g. Weekly")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="smsdesk-shot-"))
    os.environ["SMSDESK_HOME"] = str(home)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from smsdesk.engine.context import AppContext
    from smsdesk.engine.service import Service
    from smsdesk.ui import fonts
    from smsdesk.ui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setStyle("Fusion")
    chosen = palette(args.theme)
    if chosen is not None:
        app.setPalette(chosen)
    fonts.apply()

    service = Service(AppContext.open(home))
    now = service.clock.now()
    for n in range(4):
        when = now + timedelta(hours=n + 2)
        service.schedule([f"+1555123456{n}"], f"Reminder {n}: your appointment", when, "UTC")
    window = MainWindow(service, refresh_ms=60_000, tray_available=False)
    window.show_view(args.view)
    compose = window.compose
    compose.recipients_edit.setPlainText("+15551234567")
    compose.message_edit.setPlainText(
        "It’s Dr. Patel’s clinic 🙂 — 您的预约在明天 · موعدك غدا · आपकी अपॉइंटमेंट कल है ✓"
    )
    window.show()
    if args.repeat:  # the choice whose label starts so (labels name the start's weekday)
        combo = compose.repeat.combo
        combo.setCurrentIndex(
            next(i for i in range(combo.count()) if combo.itemText(i).startswith(args.repeat))
        )

    def shoot() -> None:
        from smsdesk.ui.crash_dialog import CrashDialog

        window.refresh()
        if args.dialog == "keep":
            window._ask_before_closing()
        elif args.dialog == "about":
            window.show_about()
        elif args.dialog == "crash":
            dialog = CrashDialog(
                "RuntimeError: example",
                "Traceback (most recent call last):\n  …",
                home / "logs" / "smsdesk.log",
                window,
            )
            dialog.open()
        QTimer.singleShot(1500, save)

    def save() -> None:
        screen = app.primaryScreen()
        # What the X server shows over the window's area (dialogs included), not a render.
        frame = window.frameGeometry()
        screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height()).save(args.out)
        print(
            f"{args.out}: {screen.size().width()}x{screen.size().height()} "
            f"scale {screen.devicePixelRatio()} theme {args.theme}"
        )
        app.quit()

    QTimer.singleShot(1500, shoot)
    app.exec()
    service.ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
