"""Start-up: the window paints first, storage opens in the background, then the views fill.

Opening storage means importing SQLAlchemy/sqlmodel (most of a second), migrating if needed
and opening two contexts (the window's and the engine's). All of it runs in a worker thread
while the window already shows "Opening…". If it fails (a database from a newer smsdesk, a
locked keyring, a full disk) the window never becomes usable: the error is shown and the
application exits with status 1.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget

from smsdesk.core.errors import SmsdeskError
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from smsdesk.engine.context import AppContext
    from smsdesk.ui.engine_control import EngineControl

log = logging.getLogger(__name__)
TITLE = "smsdesk cannot start"
ShowError = Callable[[QWidget, str, str], object]


@dataclass
class Opened:
    ctx: AppContext
    engine_ctx: AppContext


def open_storage(home: Path) -> Opened:
    """Runs in the worker: open (and migrate) storage; import what the views need."""
    from smsdesk.engine.context import AppContext

    ctx = AppContext.open(home)
    try:
        # The engine gets its own context: its own database connections, no Qt objects.
        engine_ctx = AppContext.open(ctx.home)
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
    import smsdesk.ui.queue_view
    import smsdesk.ui.settings_view  # noqa: F401
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
        if engine is not None:
            engine.start()  # after attach, so the window hears its first ``changed``
            self.engine = engine
        self.ready.emit()

    def _on_failed(self, exc: Exception) -> None:
        if self._closed:
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
        self._runner.wait()
        if self.engine is not None:
            self.engine.stop(timeout=5)
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.ctx.close()
            opened.engine_ctx.close()
