"""Start-up: the window paints first, storage opens in the background, then the views fill.

Opening storage means importing SQLAlchemy/sqlmodel (most of a second), migrating if needed
and opening two contexts (the window's and the engine's). All of it runs in a worker thread
while the window already shows "Opening…". If it fails (a database from a newer smsdesk, a
locked keyring, a full disk) the window never becomes usable: the error is shown and the
application exits with status 1.

The check for a damaged database (quick_check) takes 0.13 s on a 100,000-message file in the
disk cache and 1.3 s out of it, growing with the file: too long to hold the window at
"Opening…". So it runs in the background while the window is already usable; a write made
meanwhile waits for its verdict, sending starts only once the file is known to be sound, and
damage brings up the recovery dialog (restore a backup, or salvage) instead of the views.
The daily backup is made after that, in the background too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from smsdesk.core.errors import SmsdeskError
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from smsdesk.engine.backups import Backups
    from smsdesk.engine.context import AppContext
    from smsdesk.ui.engine_control import EngineControl
    from smsdesk.ui.recovery_dialog import RecoveryDialog

log = logging.getLogger(__name__)
TITLE = "smsdesk cannot start"
# How often a window left open looks whether the daily backup is due (a directory listing).
BACKUP_LOOK_MS = 60 * 60 * 1000
ShowError = Callable[[QWidget, str, str], object]


@dataclass
class Opened:
    ctx: AppContext
    engine_ctx: AppContext


def open_storage(home: Path) -> Opened:
    """Runs in the worker: open (and migrate) storage; import what the views need. The
    damage check is owed from here on and runs once the window is attached (see above)."""
    from smsdesk.engine.backups import Backups
    from smsdesk.engine.context import AppContext

    # Owed now (no write gets past it), run once the window is attached: started here, the
    # check would compete with this worker's imports and delay the first view.
    Backups(home).expect_check()
    ctx = AppContext.open(home, check=False, auto_backup=False)
    try:
        # The engine gets its own context: its own database connections, no Qt objects.
        engine_ctx = AppContext.open(ctx.home, check=False, auto_backup=False)
    except BaseException:
        ctx.close()
        raise
    # Import here, off the GUI thread, what ``MainWindow.attach`` will need: the view modules
    # and the service. Importing defines classes only; no widget is made outside the GUI thread.
    import smsdesk.engine.service
    import smsdesk.ui.actions
    import smsdesk.ui.calendar_view
    import smsdesk.ui.compose
    import smsdesk.ui.contacts_view
    import smsdesk.ui.drafts_view
    import smsdesk.ui.engine_control
    import smsdesk.ui.optouts_view
    import smsdesk.ui.queue_view
    import smsdesk.ui.settings_view
    import smsdesk.ui.templates_view  # noqa: F401
    from smsdesk.engine.service import Service

    # Describing the accounts loads their providers' modules (httpx and all, a quarter of a
    # second); Compose describes them as it is built, so do it once here first.
    Service(ctx).list_accounts()
    return Opened(ctx, engine_ctx)


def describe(exc: Exception) -> str:
    if isinstance(exc, SmsdeskError):
        return str(exc)
    # A bug, not an environment problem: still say what happened rather than hang "Opening…".
    return f"Unexpected error while opening storage: {type(exc).__name__}: {exc}"


class Startup(QObject):
    """Owns what start-up opens, so that it is closed whatever happens."""

    ready = Signal()
    failed = Signal(str)
    # The database was restored or salvaged and the user asked to open it: run_gui ends
    # this event loop and opens a fresh window (restart_requested says so).
    restart = Signal()

    def __init__(
        self,
        window: MainWindow,
        home: Path,
        *,
        show_error: ShowError | None = None,
        start_engine: bool = True,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.home = home
        self.show_error = show_error
        self.start_engine = start_engine
        self.engine: EngineControl | None = None
        self.error: str | None = None
        self.recovery: RecoveryDialog | None = None
        self.backups_button: QPushButton | None = None
        self._backup_timer = QTimer(self)
        self._backup_timer.setInterval(BACKUP_LOOK_MS)
        self._backup_timer.timeout.connect(self._backup_if_due)
        # Set when the user recovered the database: run_gui opens a fresh window on it.
        self.restart_requested = False
        self._opened: Opened | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        self._runner = TaskRunner(self, max_threads=1)

    def start(self) -> None:
        """Open storage in the background (once; later calls do nothing)."""
        if self._started:
            return
        self._started = True
        self._runner.submit(self._open, self._on_opened, self._on_failed)

    def _open(self) -> Opened:
        opened = open_storage(self.home)
        with self._lock:
            if self._closed:  # the window was closed meanwhile: nobody will use these
                opened.ctx.close()
                opened.engine_ctx.close()
                raise SmsdeskError("closed before storage was open")
            self._opened = opened
        return opened

    def _on_opened(self, opened: Opened) -> None:
        from smsdesk.engine.service import Service
        from smsdesk.ui.engine_control import EngineControl

        engine = EngineControl(opened.engine_ctx) if self.start_engine else None
        self.window.attach(Service(opened.ctx), engine)
        self.engine = engine
        self._add_backups_button()
        self.ready.emit()
        # Sending waits for the damage check; the window is usable meanwhile.
        self._backups().start_check()
        self._runner.submit(self._backups().verdict, self._on_verdict, self._on_unchecked)

    def _backups(self) -> Backups:
        from smsdesk.engine.backups import Backups

        return Backups(self.home)

    def _on_verdict(self, problems: list[str]) -> None:
        if self._closed:
            return
        if problems:
            self._offer_recovery(problems)
            return
        if self.engine is not None:
            self.engine.start()  # after attach, so the window hears its first ``changed``
        self._backup_if_due()
        self._backup_timer.start()

    def _on_unchecked(self, exc: Exception) -> None:
        # The file could not be read to check it: the views and the engine will say what
        # is wrong as they use it; keeping the window closed would not help.
        log.warning("the database could not be checked: %s", exc)
        if not self._closed and self.engine is not None:
            self.engine.start()

    def _backup_if_due(self) -> None:
        opened = self._opened
        if opened is not None and not self._closed:
            self._runner.submit(opened.engine_ctx.backup_if_due)

    def _add_backups_button(self) -> None:
        """The window's way to back up by hand or go back to a backup."""
        if not self._backups().file_based:
            return  # PostgreSQL: the server keeps the backups, not this computer
        button = QPushButton("Backups")
        button.setObjectName("backupsButton")
        button.setAccessibleName("Back up the database, or go back to a backup")
        button.clicked.connect(lambda: self._show_recovery(None))
        self.window.statusBar().addPermanentWidget(button)
        self.backups_button = button

    def _offer_recovery(self, problems: list[str]) -> None:
        self.error = f"The local database is damaged ({problems[0]})."
        self._show_recovery(problems)

    def _show_recovery(self, problems: list[str] | None) -> RecoveryDialog:
        from smsdesk.ui.recovery_dialog import RecoveryDialog

        dialog = RecoveryDialog(
            self._backups(),
            self._runner,
            problems=problems,
            before_replace=self._stop_engine,
            parent=self.window,
        )
        dialog.restart.connect(self._restart)
        if problems is not None:
            dialog.rejected.connect(lambda: QApplication.exit(1))
        self.recovery = dialog
        dialog.open()  # window-modal, without a nested event loop
        return dialog

    def _stop_engine(self) -> None:
        if self.engine is not None:
            self.engine.stop(timeout=5)

    def _restart(self) -> None:
        self.restart_requested = True
        self.restart.emit()

    def _on_failed(self, exc: Exception) -> None:
        if self._closed:
            return
        from smsdesk.engine.backups import DatabaseDamaged

        if isinstance(exc, DatabaseDamaged):
            self.window.show_start_error(exc.message)
            self._offer_recovery(exc.problems)
            return
        if not isinstance(exc, SmsdeskError):
            log.error("opening storage failed", exc_info=exc)
        self.error = describe(exc)
        self.window.show_start_error(self.error)
        if self.show_error is not None:
            self.show_error(self.window, TITLE, self.error)
        else:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(self.window, TITLE, self.error)
        self.failed.emit(self.error)
        QApplication.exit(1)

    def close(self) -> None:
        """Stop the engine and close both contexts (after the event loop has ended)."""
        with self._lock:
            self._closed = True
        self._backup_timer.stop()
        self._runner.wait()
        if self.engine is not None:
            self.engine.stop(timeout=5)
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.ctx.close()
            opened.engine_ctx.close()
