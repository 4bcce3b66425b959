"""The main window: Compose, Calendar, Queue, Drafts and Settings, the engine's state in the
status bar, and a tray icon that says when a message fails."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QPushButton,
    QStyle,
    QSystemTrayIcon,
    QTabWidget,
    QWidget,
)

from smsdesk.core.lifecycle import State
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.browse import Browser
from smsdesk.engine.service import Service
from smsdesk.engine.views import DraftView, MessageView
from smsdesk.ui.actions import MessageActions
from smsdesk.ui.calendar_view import CalendarView
from smsdesk.ui.compose import ComposeView
from smsdesk.ui.contacts_view import ContactsView
from smsdesk.ui.drafts_view import DraftsView
from smsdesk.ui.engine_control import EngineControl
from smsdesk.ui.queue_view import AskPath, QueueView
from smsdesk.ui.reschedule_dialog import AskTime
from smsdesk.ui.settings_view import SettingsView
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import Confirm

REFRESH_MS = 5000


class MainWindow(QMainWindow):
    def __init__(
        self,
        service: Service,
        *,
        engine: EngineControl | None = None,
        confirm: Confirm | None = None,
        ask_time: AskTime | None = None,
        ask_path: AskPath | None = None,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        super().__init__()
        self.service = service
        self.engine = engine
        self.browser = Browser(service.ctx)
        self.setWindowTitle("smsdesk")
        self.setObjectName("mainWindow")
        self.setAccessibleName("smsdesk")
        self.resize(1100, 720)

        self.tasks = TaskRunner(self)
        self.message_actions = MessageActions(service, self.tasks, self)
        self.compose = ComposeView(service, self.tasks)
        self.queue = QueueView(
            service, self.message_actions, confirm=confirm, ask_time=ask_time, ask_path=ask_path
        )
        self.views: dict[str, QWidget] = {}
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("navigation")
        self.tabs.setAccessibleName("Views")
        self._add_view("Compose", self.compose)
        self._add_calendar(confirm, ask_time)
        self._add_view("Queue", self.queue)
        self._add_drafts(confirm)
        self._add_contacts(ask_path)
        self._add_settings(confirm)
        self.setCentralWidget(self.tabs)

        self.status = QLabel()
        self.status.setObjectName("engineStatus")
        self.status.setAccessibleName("Engine status")
        self.statusBar().addPermanentWidget(self.status, 1)
        self.pause_button = QPushButton("Pause sending")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setAccessibleName("Pause or resume sending")
        self.pause_button.setVisible(engine is not None)
        self.pause_button.clicked.connect(self.toggle_engine)
        self.statusBar().addPermanentWidget(self.pause_button)

        if engine is not None:
            engine.changed.connect(self.refresh)
        self.compose.scheduled.connect(self._on_scheduled)
        self.queue.duplicate_requested.connect(self.duplicate)
        self.message_actions.changed.connect(self.refresh)
        self.message_actions.finished.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.tasks.failed.connect(self._task_failed)

        self._shortcut("Ctrl+N", self.new_message)
        self._shortcut("Ctrl+F", self.find_in_queue)

        self._failed_seen: int | None = None
        self.last_error: str | None = None
        self.tray = self._make_tray()

        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # -- building -------------------------------------------------------------------------

    def _add_view(self, title: str, view: QWidget) -> None:
        self.views[title] = view
        index = self.tabs.addTab(view, title)
        self.tabs.setTabToolTip(index, title)

    def _add_calendar(self, confirm: Confirm | None, ask_time: AskTime | None) -> None:
        self.calendar = CalendarView(self.service, self.message_actions, ask_time=ask_time)
        self._add_view("Calendar", self.calendar)

    def _add_drafts(self, confirm: Confirm | None) -> None:
        self.drafts = DraftsView(self.service, confirm=confirm)
        self._add_view("Drafts", self.drafts)
        self.drafts.resume_requested.connect(self._resume_draft)
        self.compose.draft_saved.connect(lambda _d: self.drafts.refresh())

    def _add_contacts(self, ask_path: AskPath | None) -> None:
        # One injected path hook answers both the open (import) and save (export) prompts.
        self.contacts = ContactsView(self.service, self.tasks, ask_open=ask_path, ask_save=ask_path)
        self._add_view("Contacts", self.contacts)
        self.contacts.message_requested.connect(self.message_to)
        self.contacts.changed.connect(self.compose.reload_book)

    def _add_settings(self, confirm: Confirm | None) -> None:
        self.settings_view = SettingsView(self.service, self.tasks, confirm=confirm)
        self._add_view("Settings", self.settings_view)
        self.settings_view.changed.connect(self._settings_changed)

    def _shortcut(self, keys: str, slot: object) -> None:
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.activated.connect(slot)

    def _make_tray(self) -> QSystemTrayIcon | None:
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
        self.tabs.setCurrentWidget(self.views[title])

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
        self.refresh_status()

    def toggle_engine(self) -> None:
        if self.engine is None:
            return
        if self.engine.running:
            self.engine.pause()
        else:
            self.engine.resume()
        self.refresh_status()

    def refresh(self) -> None:
        """Re-read the database (no network): the queue, calendar, contacts and status bar."""
        self.queue.refresh()
        self.calendar.refresh()
        self.contacts.refresh()
        self.refresh_status()

    def refresh_status(self) -> None:
        summary = self.service.summary()
        zone = resolve_zone(self.service.settings().zone)
        failed = summary.by_state.get(State.FAILED.value, 0)
        if self._failed_seen is not None and failed > self._failed_seen:
            self._notify_failures(failed - self._failed_seen)
        self._failed_seen = failed
        if self.engine is not None and self.engine.last_error:
            self.last_error = self.engine.last_error
        due = summary.next_hand_off
        parts = []
        if self.engine is not None:
            parts.append("Sending: running" if self.engine.running else "Sending: paused")
            self.pause_button.setText("Pause sending" if self.engine.running else "Resume sending")
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

    def _notify_failures(self, count: int) -> None:
        newest = self.service.summary().last_failure
        text = f"{count} message{'s' if count != 1 else ''} failed."
        if newest is not None:
            self.last_error = newest.reason
            text += f" {newest.recipient}: {newest.reason or 'no reason given'}"
        if self.tray is not None:
            self.tray.showMessage(
                "smsdesk: message failed", text, QSystemTrayIcon.MessageIcon.Warning
            )
        self.statusBar().showMessage(text, 15000)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        self.compose.autosave_timer.stop()
        # Work in flight finishes (an answered cancel must be recorded), then we close.
        self.tasks.wait()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
