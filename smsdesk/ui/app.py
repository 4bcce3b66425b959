"""Starting the window, with the outbox engine running in a worker thread beside it.

The window is shown before storage is opened (see startup.py): nothing here may import
SQLAlchemy or sqlmodel, which alone take several times as long as painting a window. The
Queue's first page is shown before they are loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smsdesk.ui.main_window import MainWindow

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
    from PySide6.QtWidgets import QApplication

    from smsdesk.core import log_file
    from smsdesk.engine.places import home_dir
    from smsdesk.ui import fonts
    from smsdesk.ui.app_icon import app_icon
    from smsdesk.ui.crash_dialog import CrashHandler
    from smsdesk.ui.main_window import MainWindow
    from smsdesk.ui.qt_libraries import plain_platform_errors
    from smsdesk.ui.single_instance import SingleInstance, server_name
    from smsdesk.ui.startup import FirstPageAhead, Startup

    with plain_platform_errors():  # a plugin that cannot load: one line, not Qt's wall
        app = QApplication.instance() or QApplication(sys.argv)
    QApplication.setApplicationName("smsdesk")
    QApplication.setDesktopFileName("io.github.smsdesk.SmsDesk")
    QApplication.setWindowIcon(app_icon())  # the tray shows the same icon
    fonts.apply()  # emoji and non-Latin scripts: see fonts.py
    home = home_dir()
    crash = CrashHandler(log_file.install(home))  # log file and crash dialog for the rest
    crash.install()
    instance = SingleInstance(server_name(home))
    if not instance.claim():
        return 0  # the running window was asked to come to the front
    try:
        while True:
            window = MainWindow()
            crash.parent = window
            # The Queue's first page is shown before the storage stack is loaded.
            startup = Startup(
                window,
                home,
                first_page=FirstPageAhead(home),
                before_open=_passphrase_prompt(window),
                compose_draft=True,  # Compose can be typed in from the first paint
            )
            instance.activated.connect(window.bring_to_front)
            # The worker's imports compete for the interpreter, so it starts once the window
            # is on screen; the timer covers a window never painted (started minimised).
            begin = startup.start
            window.first_painted.connect(begin)
            startup.restart.connect(lambda: app.exit(0))
            window.quit_requested.connect(app.quit)
            startup.ready.connect(window.offer_first_run)  # once, until it is completed
            QTimer.singleShot(START_AT_THE_LATEST_MS, begin)
            window.show()
            window.update_notice.start()  # a newer version installed or released
            try:
                code = app.exec()
            finally:
                instance.activated.disconnect(window.bring_to_front)
                window.close()  # waits for the window's own tasks
                startup.close()
            # After a restore or a salvage: a fresh window on the recovered database.
            if not startup.restart_requested:
                return code
    finally:
        crash.uninstall()
        instance.close()


def _passphrase_prompt(window: MainWindow) -> Callable[[], None]:
    """The window's own passphrase dialog, asked only if keys live in the key file; installed
    before storage opens, once start-up has imported what it needs off the GUI thread."""

    def install() -> None:
        from smsdesk.ui import passphrase_dialog

        passphrase_dialog.install(window)

    return install
