"""The main window: Compose, Calendar, Queue, Drafts and Settings, the engine's state in the
status bar, and a tray icon that says when a message fails.

The window paints before the database is open: it starts as a shell (tabs that say
"Opening…", a status bar) and ``attach`` fills in the real views once storage is ready. This
module therefore imports only Qt at load time; the views, and through them SQLAlchemy and
sqlmodel, are imported in ``attach`` (start-up imports them off the GUI thread beforehand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

# Only what the shell needs: even ``Qt`` (the enum namespace) costs 17 ms to load.
from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from smsdesk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from PySide6.QtWidgets import QSystemTrayIcon

    from smsdesk.engine.service import Service
    from smsdesk.engine.views import DraftView, MessageView, Summary
    from smsdesk.ui.actions import MessageActions
    from smsdesk.ui.calendar_view import CalendarView
    from smsdesk.ui.compose import ComposeView
    from smsdesk.ui.contacts_view import ContactsView
    from smsdesk.ui.drafts_view import DraftsView
    from smsdesk.ui.engine_control import EngineControl
    from smsdesk.ui.queue_view import AskPath, QueueView
    from smsdesk.ui.reschedule_dialog import AskTime
    from smsdesk.ui.settings_view import SettingsView
    from smsdesk.ui.widgets import Confirm

REFRESH_MS = 5000
TITLES = ("Compose", "Calendar", "Queue", "Drafts", "Contacts", "Settings")
OPENING = "Opening…"


class Opening(QWidget):
    """What a tab shows until storage is open (or why it could not be opened)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setObjectName(f"opening{title}")
        self.label = QLabel(OPENING)
        self.label.setAccessibleName(f"{title} is opening")
        self.label.setWordWrap(True)
        # Centred by stretches, which needs no Qt.AlignmentFlag (see the imports).
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.label)
        row.addStretch(1)
        column = QVBoxLayout(self)
        column.addStretch(1)
        column.addLayout(row)
        column.addStretch(2)

    def setText(self, text: str) -> None:
        self.label.setText(text)

    def text(self) -> str:
        return self.label.text()


class MainWindow(QWidget):
    """A plain top-level widget with tabs over a status bar. Not a QMainWindow: its first
    paint costs 30 ms more (measured offscreen), a fifth of a bare window's whole start."""

    attached = Signal()  # the real views are in place
    first_painted = Signal()  # the shell is on screen: start-up may start its slow part

    service: Service
    message_actions: MessageActions
    compose: ComposeView
    calendar: CalendarView
    queue: QueueView
    drafts: DraftsView
    contacts: ContactsView
    settings_view: SettingsView

    def __init__(
        self,
        service: Service | None = None,
        *,
        engine: EngineControl | None = None,
        confirm: Confirm | None = None,
        ask_time: AskTime | None = None,
        ask_path: AskPath | None = None,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        """Without a service the window is the shell; ``attach`` completes it."""
        super().__init__()
        self.engine = engine
        self._confirm = confirm
        self._ask_time = ask_time
        self._ask_path = ask_path
        self.is_attached = False
        self._painted = False
        self.setWindowTitle("smsdesk")
        self.setObjectName("mainWindow")
        self.setAccessibleName("smsdesk")
        self._fit_to_screen(QSize(1100, 720))

        self.tasks = TaskRunner(self)
        # The status bar's counts get their own single thread: one summary at a time, and the
        # user's own work (``tasks.pending``) is never held up behind a status read.
        self.status_tasks = TaskRunner(self, max_threads=1)
        self.views: dict[str, QWidget] = {}
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("navigation")
        self.tabs.setAccessibleName("Views")
        for title in TITLES:
            index = self.tabs.addTab(Opening(title), title)
            self.tabs.setTabToolTip(index, title)
        self._status_bar = QStatusBar(self)
        self._status_bar.setObjectName("statusBar")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self._status_bar)

        self.status = QLabel(OPENING)
        self.status.setObjectName("engineStatus")
        self.status.setAccessibleName("Engine status")
        self.statusBar().addPermanentWidget(self.status, 1)
        self.pause_button = QPushButton("Pause sending")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setAccessibleName("Pause or resume sending")
        self.pause_button.setVisible(False)
        self.pause_button.clicked.connect(self.toggle_engine)
        self.statusBar().addPermanentWidget(self.pause_button)

        self._failed_seen: int | None = None
        self.last_error: str | None = None
        self.summary: Summary | None = None
        self._summary_running = False
        self._summary_again = False
        # Views re-read on the timer while shown; the others wait until they are next shown.
        self._loaders: dict[QWidget, Callable[[], None]] = {}
        self._live: set[QWidget] = set()
        self._stale: set[QWidget] = set()
        self.tray: QSystemTrayIcon | None = None  # made in attach: not needed to paint

        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh_visible)
        self.tabs.currentChanged.connect(lambda _index: self._load_current())
        if service is not None:
            self.attach(service, engine)

    # -- building -------------------------------------------------------------------------

    def attach(self, service: Service, engine: EngineControl | None = None) -> None:
        """Storage is open: put the real views in place and load the one that is shown."""
        from smsdesk.ui.actions import MessageActions
        from smsdesk.ui.calendar_view import CalendarView
        from smsdesk.ui.compose import ComposeView
        from smsdesk.ui.contacts_view import ContactsView
        from smsdesk.ui.drafts_view import DraftsView
        from smsdesk.ui.queue_view import QueueView
        from smsdesk.ui.settings_view import SettingsView

        assert not self.is_attached, "attach() is called once"
        self.service = service
        self.engine = engine
        confirm, ask_time, ask_path = self._confirm, self._ask_time, self._ask_path
        self.message_actions = MessageActions(service, self.tasks, self)
        self.compose = ComposeView(service, self.tasks)
        self.calendar = CalendarView(service, self.message_actions, ask_time=ask_time)
        # The Queue reads its first page as it is built (see queue_view.py).
        self.queue = QueueView(
            service, self.message_actions, confirm=confirm, ask_time=ask_time, ask_path=ask_path
        )
        self.drafts = DraftsView(service, confirm=confirm)
        # One injected path hook answers both the open (import) and save (export) prompts.
        self.contacts = ContactsView(service, self.tasks, ask_open=ask_path, ask_save=ask_path)
        self.settings_view = SettingsView(service, self.tasks, confirm=confirm)
        views = (self.compose, self.calendar, self.queue, self.drafts, self.contacts,
                 self.settings_view)  # fmt: skip
        self._replace_tabs(views)
        self._loaders = {
            self.calendar: self.calendar.refresh,
            self.queue: self.queue.refresh,
            self.drafts: self.drafts.refresh,
            self.contacts: self.contacts.refresh,
            self.settings_view: self.settings_view.refresh,
        }
        self._live = {self.calendar, self.queue, self.contacts}
        self._stale = set(self._loaders) - {self.queue}

        if engine is not None:
            engine.changed.connect(self.refresh_visible)
        self.compose.scheduled.connect(self._on_scheduled)
        self.compose.draft_saved.connect(lambda _d: self.drafts.refresh())
        self.drafts.resume_requested.connect(self._resume_draft)
        self.contacts.message_requested.connect(self.message_to)
        self.contacts.changed.connect(self.compose.reload_book)
        self.settings_view.changed.connect(self._settings_changed)
        self.queue.duplicate_requested.connect(self.duplicate)
        self.message_actions.changed.connect(self.refresh)
        self.message_actions.finished.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.tasks.failed.connect(self._task_failed)
        self._shortcut("Ctrl+N", self.new_message)
        self._shortcut("Ctrl+F", self.find_in_queue)
        self._shortcut("F5", self.refresh)

        self.pause_button.setVisible(engine is not None)
        self.tray = self._make_tray()
        self.is_attached = True
        self._load_current()
        self.refresh_status()
        self._timer.start()
        self.attached.emit()

    def _replace_tabs(self, views: tuple[QWidget, ...]) -> None:
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)  # the shown tab is loaded once, after the swap
        try:
            for index, (title, view) in enumerate(zip(TITLES, views, strict=True)):
                old = self.tabs.widget(index)
                self.tabs.removeTab(index)
                self.tabs.insertTab(index, view, title)
                self.tabs.setTabToolTip(index, title)
                if old is not None:
                    old.deleteLater()
                self.views[title] = view
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(False)

    def statusBar(self) -> QStatusBar:  # QMainWindow's name, so callers read the same
        return self._status_bar

    def show_start_error(self, text: str) -> None:
        """Storage could not be opened: say so where the views would have been."""
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if isinstance(page, Opening):
                page.setText(f"smsdesk cannot start: {text}")
        self.status.setText("Not started.")

    def _fit_to_screen(self, wanted: QSize) -> None:
        """The preferred size where it fits; else the screen's free area, less a margin
        (at 150 % on a 1400×900 screen, 1100×720 would put Schedule off-screen)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else None
        if free is None or free.isEmpty():
            self.resize(wanted)
            return
        size = wanted.boundedTo(QSize(int(free.width() * 0.95), int(free.height() * 0.92)))
        self.resize(size)
        frame = self.frameGeometry()
        frame.moveCenter(free.center())
        self.move(frame.topLeft())

    def _shortcut(self, keys: str, slot: Callable[[], None]) -> None:
        from PySide6.QtGui import QKeySequence, QShortcut

        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.activated.connect(slot)

    def _make_tray(self) -> QSystemTrayIcon | None:
        from PySide6.QtWidgets import QStyle, QSystemTrayIcon

        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
        tray = QSystemTrayIcon(icon, self)
        tray.setToolTip("smsdesk")
        tray.activated.connect(lambda _reason: self.bring_to_front())
        tray.show()
        return tray

    # -- navigation -----------------------------------------------------------------------

    def show_view(self, title: str) -> None:
        self.tabs.setCurrentIndex(TITLES.index(title))

    def new_message(self) -> None:
        self.show_view("Compose")
        self.compose.new_message()

    def message_to(self, numbers: str) -> None:
        """A new message to ``numbers`` (one, or several comma separated)."""
        self.show_view("Compose")
        self.compose.new_message()
        self.compose.recipients_edit.setPlainText(numbers)
        self.compose.message_edit.setFocus()

    def find_in_queue(self) -> None:
        self.show_view("Queue")
        self.queue.focus_search()

    def duplicate(self, messages: list[MessageView]) -> None:
        self.show_view("Compose")
        self.compose.duplicate(messages)

    def _resume_draft(self, draft: DraftView) -> None:
        self.show_view("Compose")
        self.compose.load_draft(draft)

    def bring_to_front(self) -> None:
        """A second launch or the tray icon: show this window on top."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- keeping up to date ---------------------------------------------------------------

    def _load_current(self) -> None:
        """Load the shown tab if it has not been read since it last changed."""
        view = self.tabs.currentWidget()
        if view in self._stale:
            self._stale.discard(view)
            self._loaders[view]()

    def _on_scheduled(self, _result: object) -> None:
        if self.engine is not None:
            self.engine.wake()  # hand off now rather than at the next idle wake-up
        self.drafts.refresh()
        self.refresh()

    def _settings_changed(self) -> None:
        self.compose.reload_accounts()
        self.queue.reload_providers()
        self.refresh()

    def _task_failed(self, exc: object) -> None:
        self.last_error = str(exc)
        self.show_status()

    def toggle_engine(self) -> None:
        if self.engine is None:
            return
        if self.engine.running:
            self.engine.pause()
        else:
            self.engine.resume()
        self.show_status()

    def refresh(self) -> None:
        """Re-read now the views that show messages and contacts (after the user changed
        something, or F5), and the status bar in the background."""
        if not self.is_attached:
            return
        for view in self._live:
            self._stale.discard(view)
            self._loaders[view]()
        self.refresh_status()

    def refresh_visible(self) -> None:
        """The periodic refresh and the engine's ``changed``: re-read only the shown tab; the
        others are re-read when they are next shown."""
        if not self.is_attached:
            return
        self._stale |= self._live
        self._load_current()
        self.refresh_status()

    def refresh_status(self) -> None:
        """Count in the background what the status bar shows; one count at a time."""
        if not self.is_attached:
            return
        if self._summary_running:
            self._summary_again = True  # counted once more when this one is done
            return
        self._summary_running = True
        self.status_tasks.submit(self.service.summary, self._summary_ready, self._summary_failed)

    def _summary_ready(self, summary: Summary) -> None:
        from smsdesk.core.lifecycle import State

        self._summary_done()
        self.summary = summary
        failed = summary.by_state.get(State.FAILED.value, 0)
        if self._failed_seen is not None and failed > self._failed_seen:
            self._notify_failures(failed - self._failed_seen, summary)
        self._failed_seen = failed
        self.show_status()

    def _summary_failed(self, exc: Exception) -> None:
        self._summary_done()
        self.last_error = str(exc)
        self.show_status()

    def _summary_done(self) -> None:
        self._summary_running = False
        if self._summary_again:
            self._summary_again = False
            self.refresh_status()

    def show_status(self) -> None:
        """Write the status bar from the last counts (no database access)."""
        from smsdesk.core.timeparse import format_local, resolve_zone

        if not self.is_attached:
            return
        if self.engine is not None and self.engine.last_error:
            self.last_error = self.engine.last_error
        parts = []
        if self.engine is not None:
            parts.append("Sending: running" if self.engine.running else "Sending: paused")
            self.pause_button.setText("Pause sending" if self.engine.running else "Resume sending")
        summary = self.summary
        if summary is None:
            parts.append("Counting messages…")
        else:
            zone = resolve_zone(self.service.settings().zone)
            due = summary.next_hand_off
            parts += [
                f"Held on this computer: {summary.held_here}",
                f"at provider: {summary.at_provider}",
                f"next hand-off: {format_local(due, zone) if due else 'nothing due'}",
            ]
            if summary.needs_attention:
                parts.append(f"needs attention: {summary.needs_attention}")
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        self.status.setText(" · ".join(parts))

    def _notify_failures(self, count: int, summary: Summary) -> None:
        from PySide6.QtWidgets import QSystemTrayIcon

        newest = summary.last_failure
        text = f"{count} message{'s' if count != 1 else ''} failed."
        if newest is not None:
            self.last_error = newest.reason
            text += f" {newest.recipient}: {newest.reason or 'no reason given'}"
        if self.tray is not None:
            self.tray.showMessage(
                "smsdesk: message failed", text, QSystemTrayIcon.MessageIcon.Warning
            )
        self.statusBar().showMessage(text, 15000)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        if self.is_attached:
            self.compose.autosave_timer.stop()
        # Work in flight finishes (an answered cancel must be recorded), then we close.
        self.tasks.wait()
        self.status_tasks.wait()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
