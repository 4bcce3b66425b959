"""Starting the window, with the outbox engine running in a worker thread beside it.

The window is shown before storage is opened (see startup.py): nothing here may import
SQLAlchemy or sqlmodel, which alone take several times as long as painting a window.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

START_AT_THE_LATEST_MS = 500


def _no_display() -> bool:
    """On Linux without X11 or Wayland, Qt would abort; say so plainly instead."""
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )


def run_gui() -> int:
    if _no_display():
        print(
            "smsdesk: no display found, so the window cannot open. Run it in a desktop "
            "session (or under xvfb-run), or use the command line: 'smsdesk --help'.",
            file=sys.stderr,
        )
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from smsdesk.engine.places import home_dir
    from smsdesk.ui.main_window import MainWindow
    from smsdesk.ui.single_instance import SingleInstance, server_name
    from smsdesk.ui.startup import Startup

    app = QApplication.instance() or QApplication(sys.argv)
    QApplication.setApplicationName("smsdesk")
    QApplication.setDesktopFileName("io.github.smsdesk.SmsDesk")
    # Frozen builds unpack resources/ beside the code; a source checkout has it at the top.
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    icon = base / "resources" / "icons" / "smsdesk-256.png"
    if icon.exists():
        QApplication.setWindowIcon(QIcon(str(icon)))
    home = home_dir()
    instance = SingleInstance(server_name(home))
    if not instance.claim():
        return 0  # the running window was asked to come to the front
    window = MainWindow()
    startup = Startup(window, home)
    instance.activated.connect(window.bring_to_front)
    # The worker's imports compete for the interpreter, so it starts once the window is on
    # screen; the timer covers a window that is never painted (started minimised).
    window.first_painted.connect(startup.start)
    QTimer.singleShot(START_AT_THE_LATEST_MS, startup.start)
    window.show()
    try:
        return app.exec()
    finally:
        instance.close()
        window.close()  # waits for the window's own tasks
        startup.close()
