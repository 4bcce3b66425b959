"""Replies: what patients texted back, as conversations per contact — who, the message each
reply answers, the reply as written, and what smsdesk did with it (opted out, opted back in,
confirmed, wants to reschedule; free text is shown, never guessed at). Search, filter by
action, "Reply" (Compose to that number), and mark as handled; the tab shows how many are
not handled yet. A template's automatic answer is shown beside the reply it answered, with
where it is (sending, sent, delivered). Replies that a pull brought in are announced once
per pull (``arrived``: the window's tray shows a notice)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.reply_book import ReplyBook, ReplyView
from smsdesk.engine.service import Service

REPLY_ROLE = Qt.ItemDataRole.UserRole + 1  # the reply's id (a reply row)
NUMBER_ROLE = Qt.ItemDataRole.UserRole + 2  # the contact's number (every row)
COLUMNS = ("Contact", "Number", "Answers", "Reply", "Action", "Answered with", "Received")
ANSWER_STATES = {
    "queued": "sending",
    "handing_off": "sending",
    "scheduled": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "failed": "not sent",
    "expired": "not sent",
    "cancelled": "not sent",
    "unknown": "not known yet",
}
ACTION_WORDS = {
    "opted_out": "Opted out",
    "opted_in": "Opted back in",
    "confirmed": "Confirmed",
    "reschedule_requested": "Wants to reschedule",
}
FILTERS = (
    ("Every reply", None),
    ("Opted out", "opted_out"),
    ("Opted back in", "opted_in"),
    ("Confirmed", "confirmed"),
    ("Wants to reschedule", "reschedule_requested"),
    ("No action (free text)", "none"),
)
COUNT_MS = 5000  # the unread count on the tab is read again this often (one small count)


def action_words(action: str | None) -> str:
    return ACTION_WORDS.get(action or "", "—")


def answer_words(reply: ReplyView) -> str:
    """e.g. "Thanks Ada, see you Tuesday. (sent)"; "" when nothing was sent back."""
    if not reply.answer:
        return ""
    return f"{reply.answer} ({ANSWER_STATES.get(reply.answer_state or '', 'sending')})"


class RepliesView(QWidget):
    reply_requested = Signal(str)  # a number: open Compose to it
    unread_changed = Signal(int)
    arrived = Signal(list)  # the replies a pull brought in (ReplyView, newest first)

    def __init__(self, service: Service, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.book = ReplyBook(service.ctx)
        self.unread = -1
        self.seen: int | None = None  # the newest reply already announced
        self.setObjectName("repliesView")
        self.setAccessibleName("Replies")

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("repliesSearch")
        self.search_edit.setAccessibleName("Search replies")
        self.search_edit.setPlaceholderText("Search by text, number or name")
        self.search_edit.setClearButtonEnabled(True)
        self.action_filter = QComboBox()
        self.action_filter.setObjectName("repliesActionFilter")
        self.action_filter.setAccessibleName("Show replies with this action")
        for label, value in FILTERS:
            self.action_filter.addItem(label, value)
        self.unread_only = QCheckBox("Not handled only")
        self.unread_only.setObjectName("repliesUnreadOnly")
        self.unread_only.setAccessibleName("Show only replies not yet handled")
        self.tree = QTreeWidget()
        self.tree.setObjectName("repliesTree")
        self.tree.setAccessibleName("Conversations")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.reply_button = QPushButton("Reply…")
        self.reply_button.setObjectName("replyButton")
        self.reply_button.setAccessibleName("Write to the selected contact")
        self.handled_button = QPushButton("Mark as handled")
        self.handled_button.setObjectName("markHandledButton")
        self.handled_button.setAccessibleName("Mark the selected replies as handled")
        self.count_label = QLabel()
        self.count_label.setObjectName("repliesCount")
        # What smsdesk did about the selected reply, in full (what was cancelled, answered).
        self.detail_label = QLabel()
        self.detail_label.setObjectName("replyDetail")
        self.detail_label.setAccessibleName("What smsdesk did about the selected reply")
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shown: dict[int, ReplyView] = {}
        self.note_label = QLabel()
        self.note_label.setObjectName("repliesNote")
        self.note_label.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.action_filter)
        top.addWidget(self.unread_only)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reply_button)
        buttons.addWidget(self.handled_button)
        buttons.addStretch(1)
        buttons.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.note_label)

        self.search_edit.textChanged.connect(lambda _t: self.refresh())
        self.action_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.unread_only.toggled.connect(lambda _on: self.refresh())
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.reply_button.clicked.connect(self._reply)
        self.handled_button.clicked.connect(self.mark_selected_handled)
        self._counter = QTimer(self)
        self._counter.setInterval(COUNT_MS)
        self._counter.timeout.connect(self.update_unread)
        self._counter.start()
        self._update_buttons()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)  # the engine stores replies while another tab is shown
        self.refresh()

    def update_unread(self) -> None:
        count = self.book.unread_count()
        if count != self.unread:
            self.unread = count
            self.unread_changed.emit(count)
        self.check_arrivals()

    def check_arrivals(self) -> None:
        """Announce the replies stored since the last look, once the pull that stored them
        has ended (an Infobip pull stores batch by batch: one notice, not one per batch).
        Those stored before the window opened are the tab's count, not news."""
        newest = self.book.newest_id()
        if self.seen is None:
            self.seen = newest
            return
        if newest <= self.seen or self.book.pulling():
            return
        found = self.book.replies(after_id=self.seen)
        self.seen = newest
        if found:
            self.arrived.emit(found)

    def refresh(self) -> None:
        found = self.book.replies(
            unread_only=self.unread_only.isChecked(),
            search=self.search_edit.text(),
            action=self.action_filter.currentData(),
        )
        zone = resolve_zone(self.service.settings().zone)
        self.tree.clear()
        self.shown = {r.id: r for r in found}
        people: dict[str, QTreeWidgetItem] = {}
        waiting: dict[str, int] = {}
        for reply in found:  # newest first: each contact is placed by its newest reply
            person = people.get(reply.sender)
            if person is None:
                person = QTreeWidgetItem([reply.name or "Not a contact", reply.sender])
                person.setData(0, NUMBER_ROLE, reply.sender)
                people[reply.sender] = person
                self.tree.addTopLevelItem(person)
            person.addChild(self._row(reply, zone))
            waiting[reply.sender] = waiting.get(reply.sender, 0) + (not reply.handled)
        for number, person in people.items():
            if waiting[number]:
                person.setText(3, f"{waiting[number]} not handled")
                self._bold(person)
            person.setExpanded(True)
        self.count_label.setText(f"{len(found)} repl{'ies' if len(found) != 1 else 'y'}")
        problems = self.book.pull_problems()
        self.note_label.setText(
            "; ".join(
                f"Replies from {name} could not be fetched: {why}" for name, why in problems.items()
            )
        )
        self.update_unread()
        self._update_buttons()

    def _row(self, reply: ReplyView, zone: ZoneInfo) -> QTreeWidgetItem:
        answers = reply.answers or "(no message of ours to this number in the last days)"
        item = QTreeWidgetItem(
            [
                "",
                "",
                answers,
                reply.text,
                action_words(reply.action),
                answer_words(reply),
                format_local(reply.received_at, zone),
            ]
        )
        item.setData(0, REPLY_ROLE, reply.id)
        item.setData(0, NUMBER_ROLE, reply.sender)
        item.setToolTip(4, reply.detail or action_words(reply.action))
        item.setToolTip(3, reply.text)
        if not reply.handled:
            self._bold(item)
        return item

    @staticmethod
    def _bold(item: QTreeWidgetItem) -> None:
        font = QFont(item.font(0))
        font.setBold(True)
        for column in range(len(COLUMNS)):
            item.setFont(column, font)

    def selected_number(self) -> str | None:
        items = self.tree.selectedItems()
        value = items[0].data(0, NUMBER_ROLE) if items else None
        return value if isinstance(value, str) else None

    def _selected_reply_ids(self) -> list[int]:
        items = self.tree.selectedItems()
        if not items:
            return []
        item = items[0]
        rows = [item] if item.parent() is not None else []
        rows += [c for c in (item.child(i) for i in range(item.childCount())) if c is not None]
        return [int(r.data(0, REPLY_ROLE)) for r in rows if r.data(0, REPLY_ROLE) is not None]

    def _update_buttons(self) -> None:
        self.reply_button.setEnabled(self.selected_number() is not None)
        self.handled_button.setEnabled(bool(self._selected_reply_ids()))
        items = self.tree.selectedItems()
        chosen = items[0].data(0, REPLY_ROLE) if items else None
        reply = self.shown.get(chosen) if isinstance(chosen, int) else None
        self.detail_label.setText(
            f"{action_words(reply.action)}: {reply.detail}" if reply and reply.detail else ""
        )

    def _reply(self) -> None:
        number = self.selected_number()
        if number:
            self.reply_requested.emit(number)

    def mark_selected_handled(self) -> None:
        ids = self._selected_reply_ids()
        if not ids:
            return
        self.book.mark_handled(ids)
        self.refresh()
