"""Starting the window, with the outbox engine running in a worker thread beside it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from smsdesk.core.errors import SmsdeskError


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
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QMessageBox

    from smsdesk.engine.context import AppContext
    from smsdesk.engine.service import Service
    from smsdesk.store.paths import home_dir
    from smsdesk.ui.engine_control import EngineControl
    from smsdesk.ui.main_window import MainWindow
    from smsdesk.ui.single_instance import SingleInstance, server_name

    app = QApplication.instance() or QApplication(sys.argv)
    QApplication.setApplicationName("smsdesk")
    QApplication.setDesktopFileName("io.github.smsdesk.SmsDesk")
    # Frozen builds unpack resources/ beside the code; a source checkout has it at the top.
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    icon = base / "resources" / "icons" / "smsdesk-256.png"
    if icon.exists():
        QApplication.setWindowIcon(QIcon(str(icon)))
    instance = SingleInstance(server_name(home_dir()))
    if not instance.claim():
        return 0  # the running window was asked to come to the front
    try:
        ctx = AppContext.open()
        # The engine gets its own context: its own database connections, no Qt objects.
        engine_ctx = AppContext.open(ctx.home)
    except SmsdeskError as exc:
        QMessageBox.critical(None, "smsdesk cannot start", str(exc))
        return 1
    engine = EngineControl(engine_ctx)
    engine.start()
    window = MainWindow(Service(ctx), engine=engine)
    instance.activated.connect(window.bring_to_front)
    window.show()
    try:
        return app.exec()
    finally:
        instance.close()
        engine.stop(timeout=5)
        ctx.close()
        engine_ctx.close()
