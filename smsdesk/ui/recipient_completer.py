"""Contact autocomplete in Compose's recipients field: typing "Maria" offers Maria García's
number, and picking it puts the number in place of what was typed.

The field holds a list (commas, semicolons, new lines), so only the entry under the cursor
is completed. The contact book is searched off the Qt thread, once typing pauses.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QPlainTextEdit

from smsdesk.engine.contacts import ContactBook, ContactView
from smsdesk.ui.tasks import TaskRunner

LOOKUP_MS = 150
SHOWN = 12
_SEPARATOR = re.compile(r"[,;\t\r\n]")
# Keys the popup acts on while it is open; the field must not act on them too.
_POPUP_KEYS = (
    Qt.Key.Key_Enter,
    Qt.Key.Key_Return,
    Qt.Key.Key_Escape,
    Qt.Key.Key_Tab,
    Qt.Key.Key_Backtab,
)


def current_entry(text: str, cursor: int) -> tuple[int, str]:
    """Where the entry under ``cursor`` starts, and what it says up to the cursor."""
    start = 0
    for match in _SEPARATOR.finditer(text, 0, cursor):
        start = match.end()
    entry = text[start:cursor]
    lead = len(entry) - len(entry.lstrip())
    return start + lead, entry.strip()


def wants_lookup(entry: str) -> bool:
    """Names (a letter or two) are looked up; a number being typed is left alone."""
    return len(entry) >= 2 and any(ch.isalpha() for ch in entry)


class RecipientCompleter(QObject):
    def __init__(self, edit: QPlainTextEdit, book: ContactBook, tasks: TaskRunner) -> None:
        super().__init__(edit)
        self.edit = edit
        self.book = book
        self.tasks = tasks
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(edit)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.popup.setObjectName("recipientCompletions")
        self.popup.setAccessibleName("Contacts matching what you typed")
        self.completer.activated.connect(self._chosen)
        self._numbers: dict[str, str] = {}
        self._asked = ""  # the entry the last lookup was for; older answers are dropped
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(LOOKUP_MS)
        self.timer.timeout.connect(self._lookup)
        edit.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            if self.popup.isVisible() and event.key() in _POPUP_KEYS:
                return True  # the popup takes these (choose, close)
            if event.text():
                self.timer.start()  # typed, not programmatically filled
        return super().eventFilter(watched, event)

    @property
    def popup(self) -> QAbstractItemView:
        # Asked for each time rather than kept: the completer owns (and may replace) it.
        popup = self.completer.popup()
        assert popup is not None  # QCompleter makes its list view on first request
        return popup

    def _entry(self) -> tuple[int, str]:
        text = self.edit.toPlainText()
        return current_entry(text, _py_index(text, self.edit.textCursor().position()))

    def _lookup(self) -> None:
        _start, entry = self._entry()
        if not wants_lookup(entry):
            self.popup.hide()
            return
        self._asked = entry
        book = self.book
        self.tasks.submit(
            lambda: book.list_contacts(search=entry, limit=SHOWN),
            lambda found: self._found(entry, found),
        )

    def _found(self, entry: str, contacts: list[ContactView]) -> None:
        if entry != self._asked or self._entry()[1] != entry:
            return  # the user typed on meanwhile
        self._numbers = {
            f"{c.name} — {c.number}" if c.name else c.number: c.number
            for c in contacts
            if c.opted_out_at is None
        }
        self.model.setStringList(list(self._numbers))
        if not self._numbers:
            self.popup.hide()
            return
        self.completer.setCompletionPrefix(entry)
        self.popup.setObjectName("recipientCompletions")
        self.popup.setAccessibleName("Contacts matching what you typed")
        rect = self.edit.cursorRect()
        rect.setWidth(
            self.popup.sizeHintForColumn(0) + self.popup.verticalScrollBar().sizeHint().width()
        )
        self.completer.complete(rect)

    def _chosen(self, shown: str) -> None:
        number = self._numbers.get(shown)
        if number is None:
            return
        start, _entry = self._entry()
        cursor = self.edit.textCursor()
        end = cursor.position()
        # Through the cursor, so Ctrl+Z takes the completion back.
        cursor.setPosition(_utf16(self.edit.toPlainText()[:start]))
        cursor.setPosition(end, cursor.MoveMode.KeepAnchor)
        cursor.insertText(f"{number}, ")
        self.edit.setTextCursor(cursor)
        self.popup.hide()


def _utf16(text: str) -> int:
    # Qt positions count UTF-16 units: an emoji takes two.
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _py_index(text: str, utf16_pos: int) -> int:
    units = 0
    for index, ch in enumerate(text):
        if units >= utf16_pos:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)
