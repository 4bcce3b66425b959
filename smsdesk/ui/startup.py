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

Before all that, the worker reads the Queue's first page with plain sqlite3 (or SQLCipher;
engine/first_page.py, no SQLAlchemy) and the window shows it in the Queue tab, so the user can
read the messages that matter at once; the real Queue takes its place, with the same selection
and scroll position, once storage is open.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from smsdesk.core.errors import SmsdeskError
from smsdesk.ui.main_window import TITLES, MainWindow
from smsdesk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from smsdesk.core.clock import Clock
    from smsdesk.engine.backups import Backups
    from smsdesk.engine.context import AppContext
    from smsdesk.engine.first_page import FirstPage
    from smsdesk.ui.compose_draft import ComposeDraft
    from smsdesk.ui.engine_control import EngineControl
    from smsdesk.ui.first_page_model import FirstPageView, Place
    from smsdesk.ui.recovery_dialog import RecoveryDialog

log = logging.getLogger(__name__)
TITLE = "smsdesk cannot start"
# How often a window left open looks whether the daily backup is due (a directory listing).
BACKUP_LOOK_MS = 60 * 60 * 1000
ShowError = Callable[[QWidget, str, str], object]
# What the views import besides Qt: imported by the worker, so the GUI thread need not.
ENGINE_MODULES = (
    "smsdesk.engine.service",
    "smsdesk.engine.outbox",
    "smsdesk.engine.reconcile",
    "smsdesk.engine.reminders",
    "smsdesk.engine.replies",
    "smsdesk.engine.series",
    "smsdesk.engine.calendar_reads",
    "smsdesk.engine.calendar_marks",
    "smsdesk.core.time_display",
    "concurrent.futures",
)
# The views' modules, imported on the GUI thread one per turn of the event loop (the window
# stays responsive between them). Not in the worker: PySide6 creates its classes and enums
# on first use, which is not safe while the GUI thread uses Qt too (a worker importing a Qt
# module while the first page painted crashed the process, 1 start in 4).
VIEW_MODULES = (
    "smsdesk.ui.actions",
    "smsdesk.ui.engine_control",
    "smsdesk.ui.queue_view",
    "smsdesk.ui.compose",
    "smsdesk.ui.calendar_view",
    "smsdesk.ui.contacts_view",
    "smsdesk.ui.drafts_view",
    "smsdesk.ui.optouts_view",
    "smsdesk.ui.reminders_view",
    "smsdesk.ui.replies_view",
    "smsdesk.ui.series_view",
    "smsdesk.ui.settings_view",
    "smsdesk.ui.templates_view",
    "smsdesk.ui.tray",
)
# Storage waits at most this long for the first page to paint (a window not on screen).
PAINT_AT_THE_LATEST_MS = 300


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
    # Import here, off the GUI thread, what the views need besides Qt (the views themselves
    # are imported on the GUI thread: see VIEW_MODULES).
    for name in ENGINE_MODULES:
        importlib.import_module(name)
    from smsdesk.engine.service import Service

    # Describing the accounts loads their providers' modules (httpx and all, a quarter of a
    # second); Compose describes them as it is built, so do it once here first.
    Service(ctx).list_accounts()
    return Opened(ctx, engine_ctx)


class FirstPageAhead:
    """The Queue's first page, read ahead of storage without the storage stack: by start-up's
    worker, first thing once the frame is painted (read in a thread of its own from the
    start instead, it competed with the frame for the interpreter and both came later). The
    key of an encrypted file is read here too (importing the keyring alone takes a fifth of
    a second). ``result`` is None when only storage can read the file (store/first_page.py)."""

    def __init__(self, home: Path, clock: Clock | None = None) -> None:
        self.home = home
        self.clock = clock

    def result(self) -> FirstPage | None:
        from smsdesk.engine.first_page import first_page  # no Qt: see VIEW_MODULES

        return first_page(self.home, self.clock)


def show_first_page(window: MainWindow, page: FirstPage) -> FirstPageView:
    """Put ``page`` in the Queue tab of a window not yet attached."""
    from smsdesk.ui.first_page_model import FirstPageView

    preview = FirstPageView(page.rows, page.total, page.desk_zone)
    _put_in_tab(window, "Queue", preview)
    return preview


def show_compose_draft(window: MainWindow) -> ComposeDraft:
    """Put a Compose that can be typed in already in the Compose tab of a window not yet
    attached (the real one takes over what was typed)."""
    from smsdesk.ui.compose_draft import ComposeDraft

    draft = ComposeDraft()
    _put_in_tab(window, "Compose", draft)
    return draft


def _put_in_tab(window: MainWindow, title: str, page: QWidget) -> None:
    index, current = TITLES.index(title), window.tabs.currentIndex()
    window.tabs.blockSignals(True)  # the shown tab stays the shown tab
    try:
        old = window.tabs.widget(index)
        window.tabs.removeTab(index)
        window.tabs.insertTab(index, page, title)
        window.tabs.setTabToolTip(index, title)
        window.tabs.setCurrentIndex(current)
        if old is not None:
            old.deleteLater()
    finally:
        window.tabs.blockSignals(False)


def _prepare() -> None:
    """Runs in the worker: what the passphrase prompt needs besides Qt (the key file's place,
    which loads the storage stack: a second on the GUI thread, where it held clicks back)."""
    import smsdesk.engine.key_place  # noqa: F401


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
        first_page: FirstPageAhead | None = None,
        before_open: Callable[[], None] | None = None,
        compose_draft: bool = False,
    ) -> None:
        """``first_page``: the Queue's first page, read without the storage stack and shown
        until storage is open; the real Queue then takes over its selection and scroll
        position. ``before_open`` runs on the GUI thread before storage is opened, once the
        modules it needs are imported in the background (the passphrase prompt: app.py).
        ``compose_draft``: Compose can be typed in at once (see compose_draft.py)."""
        super().__init__(window)
        self.window = window
        self.ahead = first_page
        self.first_page: FirstPageView | None = None
        self._hand_over: Callable[[], None] | None = None  # the Queue's, when it is owed
        self.before_open = before_open
        self.compose_draft = show_compose_draft(window) if compose_draft else None
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
        if self.ahead is not None:  # read in the worker; shown on the GUI thread
            self._runner.submit(self.ahead.result, self._on_first_page, self._no_first_page)
        else:
            self._open_storage()

    def _on_first_page(self, page: FirstPage | None) -> None:
        if self._closed:
            return
        if page is not None and not self.window.is_attached:
            self.first_page = preview = show_first_page(self.window, page)
            if self.window.tabs.currentWidget() is preview:
                from smsdesk.ui.first_page_model import AfterPaint

                # The storage stack's imports would hold the interpreter while the rows
                # paint: they start once the rows are on screen.
                AfterPaint(preview.table.viewport(), self._open_storage, PAINT_AT_THE_LATEST_MS)
                return
        self._open_storage()

    def _no_first_page(self, exc: Exception) -> None:
        # The reader answers None for what a file may hold: this is a bug, not the data.
        log.warning("the Queue's first page could not be read ahead: %r", exc)
        if not self._closed:
            self._open_storage()

    def _open_storage(self) -> None:
        if self._closed:
            return
        if self.before_open is None:
            self._runner.submit(self._open, self._on_opened, self._on_failed)
        else:
            self._runner.submit(_prepare, self._on_prepared, self._on_failed)

    def _on_prepared(self, _done: None) -> None:
        if self._closed or self.before_open is None:
            return
        self.before_open()
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
        self._import_views(list(VIEW_MODULES), opened)

    def _import_views(self, left: list[str], opened: Opened) -> None:
        """One view module now, the next on the event loop's next turn, then attach."""
        if self._closed:
            return
        if not left:
            self._attach(opened)
            return
        try:
            importlib.import_module(left.pop(0))
        except Exception as exc:
            self._on_failed(exc)
            return
        QTimer.singleShot(0, self, lambda: self._import_views(left, opened))

    def _attach(self, opened: Opened) -> None:
        from smsdesk.engine.service import Service
        from smsdesk.ui.compose_draft import hand_over as hand_over_typed
        from smsdesk.ui.compose_draft import typed
        from smsdesk.ui.engine_control import EngineControl
        from smsdesk.ui.first_page_model import place

        engine = EngineControl(opened.engine_ctx) if self.start_engine else None
        # Taken before the stand-ins leave their tabs (a hidden field loses the keyboard);
        # they are deleted once this returns.
        preview, self.first_page = self.first_page, None
        where = place(preview) if preview is not None else None
        draft, self.compose_draft = self.compose_draft, None
        was_typed = typed(draft) if draft is not None else None
        self.window.attach(Service(opened.ctx), engine)
        self.engine = engine
        self._add_backups_button()
        self.ready.emit()
        # Sending waits for the damage check; the window is usable meanwhile.
        self._backups().start_check()
        self._runner.submit(self._backups().verdict, self._on_verdict, self._on_unchecked)
        if was_typed is not None:
            hand_over_typed(was_typed, self.window.compose)
        if where is not None:
            # It reads the real Queue's first rows: at once when the Queue is shown (it reads
            # them to paint anyway), else once the file is known sound (a damaged page read
            # here spoiled the connection for the reads after it).
            self._hand_over = lambda: self._hand_over_queue(where)
            if self.window.tabs.currentWidget() is self.window.queue:
                self._hand_over_now()

    def _hand_over_now(self) -> None:
        hand_over, self._hand_over = self._hand_over, None
        if hand_over is not None:
            hand_over()

    def _hand_over_queue(self, where: Place) -> None:
        from smsdesk.ui.first_page_model import hand_over

        try:
            hand_over(where, self.window.queue)
        except SmsdeskError as exc:  # the damage check will say what is wrong
            log.warning("the first page was not handed over: %s", exc)

    def _backups(self) -> Backups:
        from smsdesk.engine.backups import Backups

        return Backups(self.home)

    def _on_verdict(self, problems: list[str]) -> None:
        if self._closed:
            return
        if problems:
            self._offer_recovery(problems)
            return
        self._hand_over_now()
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

    def _offer_key(self) -> None:
        from smsdesk.ui.recovery_dialog import KeyMissingDialog

        dialog = KeyMissingDialog(self._backups(), self._runner, parent=self.window)
        dialog.restart.connect(self._restart)
        dialog.rejected.connect(lambda: QApplication.exit(1))
        self.key_dialog = dialog
        dialog.open()

    def _stop_engine(self) -> None:
        if self.engine is not None:
            self.engine.stop(timeout=5)

    def _restart(self) -> None:
        self.restart_requested = True
        self.restart.emit()

    def _on_failed(self, exc: Exception) -> None:
        if self._closed:
            return
        from smsdesk.engine.backups import DatabaseDamaged, DatabaseKeyMissing

        if self.first_page is not None:  # its rows stay readable; it says why nothing more
            self.first_page.hint.setText(f"smsdesk cannot start: {describe(exc)}")
        if isinstance(exc, DatabaseDamaged):
            self.window.show_start_error(exc.message)
            self._offer_recovery(exc.problems)
            return
        if isinstance(exc, DatabaseKeyMissing):  # not damage: the recovery code, not salvage
            self.error = exc.message
            self.window.show_start_error(exc.message)
            self._offer_key()
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
