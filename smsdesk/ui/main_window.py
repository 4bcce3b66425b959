"""The main window: Compose, Calendar, Queue, Drafts and Settings, the engine's state in the
status bar, and a tray icon that says when a message fails.

Its manners: it opens where it was left (window_state.py), fits the screen (the views scroll
rather than push the window off it), and closing it while messages are held on this computer
asks whether to keep sending from the tray (tray.py), since they only go out while it runs.

The window paints before the database is open: it starts as a shell (tabs that say
"Opening…", a status bar) and ``attach`` fills in the real views once storage is ready. This
module therefore imports only Qt at load time; the views, and through them SQLAlchemy and
sqlmodel, are imported in ``attach`` (start-up imports them off the GUI thread beforehand).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

# Only what the shell needs: even ``Qt`` (the enum namespace) costs 17 ms to load.
from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from smsdesk.ui.status_line import StatusLine
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.update_notice import UpdateNotice
from smsdesk.ui.window_state import WindowState

if TYPE_CHECKING:
    from smsdesk.engine.service import Service
    from smsdesk.engine.views import DraftView, MessageView, Summary
    from smsdesk.ui.actions import MessageActions
    from smsdesk.ui.calendar_view import CalendarView
    from smsdesk.ui.compose import ComposeView
    from smsdesk.ui.contacts_view import ContactsView
    from smsdesk.ui.doctor_dialog import DoctorDialog
    from smsdesk.ui.drafts_view import DraftsView
    from smsdesk.ui.engine_control import EngineControl
    from smsdesk.ui.first_run import FirstRunDialog
    from smsdesk.ui.optouts_view import OptOutsView
    from smsdesk.ui.queue_view import AskPath, QueueView
    from smsdesk.ui.reminders_view import RemindersView
    from smsdesk.ui.replies_view import RepliesView
    from smsdesk.ui.reschedule_dialog import AskTime
    from smsdesk.ui.settings_view import SettingsView
    from smsdesk.ui.templates_view import TemplatesView
    from smsdesk.ui.tray import KeepSendingDialog, Tray
    from smsdesk.ui.widgets import Confirm

REFRESH_MS = 5000
# The window's own notes (a failed task, a failure notice) leave the status bar after this.
STATUS_EXPIRY_MS = 60_000
TITLES = (
    "Compose",
    "Calendar",
    "Queue",
    "Drafts",
    "Contacts",
    "Reminders",
    "Series",
    "Templates",
    "Opt-outs",
    "Replies",
    "Settings",
)
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
    quit_requested = Signal()  # the user chose Quit (tray menu or the closing question)

    service: Service
    message_actions: MessageActions
    compose: ComposeView
    calendar: CalendarView
    queue: QueueView
    drafts: DraftsView
    contacts: ContactsView
    reminders: RemindersView
    templates: TemplatesView
    opt_outs: OptOutsView
    replies: RepliesView
    settings_view: SettingsView
    first_run: FirstRunDialog
    doctor: DoctorDialog

    def __init__(
        self,
        service: Service | None = None,
        *,
        engine: EngineControl | None = None,
        confirm: Confirm | None = None,
        ask_time: AskTime | None = None,
        ask_path: AskPath | None = None,
        refresh_ms: int = REFRESH_MS,
        state_folder: Path | None = None,
        tray_available: bool | None = None,
        status_expiry_ms: int = STATUS_EXPIRY_MS,
    ) -> None:
        """Without a service the window is the shell; ``attach`` completes it.

        ``state_folder`` holds window.ini (default: the data folder); ``tray_available``
        overrides asking the desktop whether it has a system tray."""
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
        if state_folder is None:
            from smsdesk.engine.places import home_dir

            state_folder = home_dir()
        self.window_state = WindowState(state_folder)
        if not self.window_state.restore(self):
            self._fit_to_screen(QSize(1100, 720))
        self._tray_available = tray_available
        self._quitting = False  # set once the user chose to quit: close without asking
        self._user_close = False  # Ctrl+W: asks like the title bar's close button
        self.keep_sending: KeepSendingDialog | None = None

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
        # The views scroll when the screen is smaller than they need (150 % on a laptop):
        # the window itself, status bar included, then always fits the screen.
        self.view_scroll = QScrollArea(self)
        self.view_scroll.setObjectName("viewScroll")
        self.view_scroll.setWidgetResizable(True)
        self.view_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.view_scroll.setWidget(self.tabs)
        # "A newer version is installed / released": hidden until app.py starts its looks.
        self.update_notice = UpdateNotice(self.tasks, state_folder, parent=self)
        self.update_notice.quit_for_restart.connect(self.quit_app)
        layout.addWidget(self.update_notice)
        layout.addWidget(self.view_scroll, 1)
        layout.addWidget(self._status_bar)

        self.status = StatusLine(OPENING)
        self.status.setObjectName("engineStatus")
        self.status.setAccessibleName("Engine status")
        self.statusBar().addPermanentWidget(self.status, 1)
        self.pause_button = QPushButton("Pause sending")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setAccessibleName("Pause or resume sending")
        self.pause_button.setVisible(False)
        self.pause_button.clicked.connect(self.toggle_engine)
        self.statusBar().addPermanentWidget(self.pause_button)
        self.about_button = QPushButton("About")
        self.about_button.setObjectName("aboutButton")
        self.about_button.setAccessibleName("About smsdesk")
        self.about_button.setFlat(True)
        self.about_button.clicked.connect(self.show_about)
        self.statusBar().addPermanentWidget(self.about_button)

        self._failed_seen: int | None = None
        self.last_error: str | None = None
        # The window's own last error leaves the status bar after a while; the engine's stays
        # as long as the engine reports it (it is a present condition, not an old message).
        self._error_expiry = QTimer(self)
        self._error_expiry.setSingleShot(True)
        self._error_expiry.setInterval(status_expiry_ms)
        self._error_expiry.timeout.connect(self._expire_error)
        self.summary: Summary | None = None
        self._summary_running = False
        self._summary_again = False
        # Views re-read on the timer while shown; the others wait until they are next shown.
        self._loaders: dict[QWidget, Callable[[], None]] = {}
        self._live: set[QWidget] = set()
        self._stale: set[QWidget] = set()
        self.tray: Tray | None = None  # made in attach: not needed to paint

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
        from smsdesk.ui.optouts_view import OptOutsView
        from smsdesk.ui.queue_view import QueueView
        from smsdesk.ui.reminders_view import RemindersView
        from smsdesk.ui.replies_view import RepliesView
        from smsdesk.ui.series_view import SeriesView
        from smsdesk.ui.settings_view import SettingsView
        from smsdesk.ui.templates_view import TemplatesView

        assert not self.is_attached, "attach() is called once"
        from PySide6.QtCore import Qt  # here, not at load: see the imports

        self.view_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a frame, not a control
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
        self.contacts = ContactsView(
            service,
            self.tasks,
            ask_open=ask_path,
            ask_save=ask_path,
            confirm=confirm,
            state_folder=self.window_state.path.parent,  # its columns beside the window's place
        )
        self.reminders = RemindersView(service, self.tasks, ask_open=ask_path)
        self.series = SeriesView(service, self.tasks, confirm=confirm)
        self.templates = TemplatesView(service.contact_book(), self.tasks, confirm=confirm)
        self.opt_outs = OptOutsView(service, confirm=confirm)
        self.replies = RepliesView(service)
        self.settings_view = SettingsView(service, self.tasks, confirm=confirm)
        views = (self.compose, self.calendar, self.queue, self.drafts, self.contacts,
                 self.reminders, self.series, self.templates, self.opt_outs, self.replies,
                 self.settings_view)  # fmt: skip
        self._replace_tabs(views)
        self._loaders = {
            self.calendar: self.calendar.refresh,
            self.queue: self.queue.refresh,
            self.drafts: self.drafts.refresh,
            self.contacts: self.contacts.refresh,
            self.reminders: self.reminders.refresh,
            self.series: self.series.refresh,
            self.templates: self.templates.refresh,
            self.opt_outs: self.opt_outs.refresh,
            self.replies: self.replies.refresh,
            self.settings_view: self.settings_view.refresh,
        }
        self._live = {self.calendar, self.queue, self.contacts, self.reminders}
        self._stale = set(self._loaders) - {self.queue}

        if engine is not None:
            engine.changed.connect(self.refresh_visible)
        self.compose.scheduled.connect(self._on_scheduled)
        self.compose.undone.connect(lambda _o: self.refresh())  # the batch shows cancelled
        self.compose.draft_saved.connect(lambda _d: self.drafts.refresh())
        self.drafts.resume_requested.connect(self._resume_draft)
        self.contacts.message_requested.connect(self.message_to)
        self.contacts.changed.connect(self.compose.reload_book)
        self.settings_view.changed.connect(self._settings_changed)
        self.settings_view.check_button.clicked.connect(self.check_computer)
        self.settings_view.guide_button.clicked.connect(self.show_first_run)
        self.reminders.changed.connect(self.refresh)  # new reminders are in Queue and Calendar
        self.series.changed.connect(self.refresh)  # occurrences are in Queue and Calendar
        # Compose's template list and opt-out counts come from the contact book.
        self.templates.changed.connect(self.compose.reload_book)
        self.contacts.changed.connect(self.templates.contacts_changed)
        self.opt_outs.changed.connect(self.compose.reload_book)
        self.opt_outs.changed.connect(self.refresh)  # Contacts shows who opted out
        self.replies.reply_requested.connect(self.message_to)
        self.replies.unread_changed.connect(self._replies_unread)
        self.replies.update_unread()
        self.queue.duplicate_requested.connect(self.duplicate)
        self.message_actions.changed.connect(self.refresh)
        self.message_actions.finished.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.tasks.failed.connect(self._task_failed)
        self._shortcut("Ctrl+N", self.new_message)
        self._shortcut("Ctrl+F", self.find_in_queue)
        self._shortcut("F5", self.refresh)
        self._shortcut("Ctrl+W", self.request_close)
        self._shortcut("F1", self.show_about)

        self.pause_button.setVisible(engine is not None)
        self.tray = self._make_tray()
        if self.tray is not None:  # new replies: a notice; clicking it opens Replies
            self.replies.arrived.connect(self.tray.notify_replies)
            self.tray.replies_clicked.connect(lambda: self.show_view("Replies"))
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

    def _make_tray(self) -> Tray | None:
        from PySide6.QtWidgets import QSystemTrayIcon

        from smsdesk.ui.tray import Tray

        available = self._tray_available
        if available is None:
            available = QSystemTrayIcon.isSystemTrayAvailable()
        if not available:
            return None
        tray = Tray(self, self.bring_to_front, self.quit_app)
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

    def _replies_unread(self, count: int) -> None:
        index = TITLES.index("Replies")
        self.tabs.setTabText(index, f"Replies ({count})" if count else "Replies")
        self.tabs.setTabToolTip(index, f"{count} repl{'ies' if count != 1 else 'y'} not handled")

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
        from PySide6.QtWidgets import QApplication

        QApplication.setQuitOnLastWindowClosed(True)  # shown again: closing it quits again
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # -- first run and "Check this computer" ----------------------------------------------

    def offer_first_run(self) -> None:
        """At start (see app.py): the first-run guide, unless it was completed before."""
        if self.is_attached:
            self.tasks.submit(
                self.service.settings,
                lambda s: None if s.first_run_done else self.show_first_run(),
            )

    def show_first_run(self) -> None:
        from smsdesk.ui.first_run import FirstRunDialog

        dialog = FirstRunDialog(self.service, self.tasks, self)
        dialog.completed.connect(self._first_run_completed)
        dialog.finished.connect(dialog.deleteLater)
        self.first_run = dialog
        dialog.open()

    def _first_run_completed(self, _choice: str) -> None:
        """Ends on Compose with a sample message to a Sandbox number, on the Sandbox."""
        from smsdesk.ui.first_run import SAMPLE_NUMBER, SAMPLE_TEXT

        self._settings_changed()
        self.settings_view.refresh()
        self.message_to(SAMPLE_NUMBER)
        sandbox = next((a.name for a in self.service.list_accounts() if a.kind == "sandbox"), None)
        if sandbox is not None:
            self.compose.account_combo.setCurrentText(sandbox)
        self.compose.message_edit.setPlainText(SAMPLE_TEXT)
        self.compose.schedule_button.setFocus()

    def check_computer(self) -> None:
        from smsdesk.ui.doctor_dialog import DoctorDialog

        sending = None if self.engine is None else self.engine.running
        dialog = DoctorDialog(self.service, self.tasks, sending=sending, parent=self)
        dialog.finished.connect(dialog.deleteLater)
        self.doctor = dialog
        dialog.open()
        dialog.run()

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
        self._note_error(str(exc))
        self.show_status()

    def _note_error(self, text: str | None) -> None:
        self.last_error = text
        self._error_expiry.start()

    def _expire_error(self) -> None:
        self.last_error = None
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
        self._note_error(str(exc))
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
        error = (self.engine.last_error if self.engine is not None else None) or self.last_error
        if error:
            parts.append(f"last error: {error}")
        self.status.setText(" · ".join(parts))

    def _notify_failures(self, count: int, summary: Summary) -> None:
        from PySide6.QtWidgets import QSystemTrayIcon

        newest = summary.last_failure
        text = f"{count} message{'s' if count != 1 else ''} failed."
        if newest is not None:
            self._note_error(newest.reason)
            text += f" {newest.recipient}: {newest.reason or 'no reason given'}"
        if self.tray is not None:
            self.tray.notify("smsdesk: message failed", text, QSystemTrayIcon.MessageIcon.Warning)
        self.statusBar().showMessage(text, 15000)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()

    # -- closing ----------------------------------------------------------------------------

    def show_about(self) -> None:
        from smsdesk.ui.about_dialog import AboutDialog

        dialog = AboutDialog(self)
        dialog.finished.connect(dialog.deleteLater)
        self.about = dialog
        dialog.open()

    def held_here(self) -> int:
        """Messages held on this computer, from the last count (no database access)."""
        return self.summary.held_here if self.summary is not None else 0

    def request_close(self) -> None:
        """Ctrl+W: close as the title bar's button does, asking first if need be."""
        self._user_close = True
        try:
            self.close()
        finally:
            self._user_close = False

    def quit_app(self) -> None:
        """The tray's Quit, or Quit in the closing question: close for good, then ask the
        application to end (app.py listens; hidden in the tray, no last window closes)."""
        self._quitting = True
        self.close()
        self.quit_requested.emit()

    def _ask_before_closing(self) -> None:
        from smsdesk.ui.tray import KeepSendingDialog

        dialog = KeepSendingDialog(self.held_here(), tray=self.tray is not None, parent=self)
        dialog.finished.connect(lambda _result: self._closing_answered(dialog.choice))
        dialog.finished.connect(dialog.deleteLater)
        self.keep_sending = dialog
        dialog.open()

    def _closing_answered(self, choice: str) -> None:
        from PySide6.QtWidgets import QApplication, QSystemTrayIcon

        from smsdesk.ui.tray import KEEP, QUIT

        self.keep_sending = None  # answered (or cancelled): the next close asks again
        if choice == KEEP and self.tray is not None:
            self.window_state.save(self)
            QApplication.setQuitOnLastWindowClosed(False)  # the tray's Quit ends it
            self.hide()
            self.tray.notify(
                "smsdesk keeps sending",
                "Messages held on this computer go out on time. Quit from this icon's menu.",
                QSystemTrayIcon.MessageIcon.Information,
            )
        elif choice == QUIT:
            self.quit_app()

    def closeEvent(self, event: QCloseEvent) -> None:
        asked_by_user = event.spontaneous() or self._user_close
        if asked_by_user and not self._quitting and self.is_attached and self.held_here() > 0:
            event.ignore()  # closed, or kept in the tray, once the user has answered
            if self.keep_sending is None:
                self._ask_before_closing()
            return
        if self.isVisible():
            self.window_state.save(self)
        self._timer.stop()
        if self.is_attached:
            self.compose.autosave_timer.stop()
        # Work in flight finishes (an answered cancel must be recorded), then we close.
        self.tasks.wait()
        self.status_tasks.wait()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
