"""The Queue's table model: keyset pages from the Browser, fetched as the user scrolls.

The model never loads the whole table: it asks for one page, and Qt asks for the next
(``canFetchMore``/``fetchMore``) when the view scrolls near the end.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.views import MessageView

Index = QModelIndex | QPersistentModelIndex

PAGE_SIZE = 200
MESSAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class Column(IntEnum):
    SEND_TIME = 0
    RECIPIENT = 1
    TEXT = 2
    PROVIDER = 3
    STATE = 4
    WHERE = 5
    SEGMENTS = 6


HEADERS = {
    Column.SEND_TIME: "Send time",
    Column.RECIPIENT: "Recipient",
    Column.TEXT: "Text",
    Column.PROVIDER: "Provider",
    Column.STATE: "State",
    Column.WHERE: "Where it lives",
    Column.SEGMENTS: "Segments",
}

# One colour per kind of state, shared with the calendar so both views read alike.
STATE_COLOURS = {
    "draft": "#7f8c8d",
    "queued": "#2471a3",
    "handing_off": "#2471a3",
    "scheduled": "#1e8449",
    "sent": "#117864",
    "delivered": "#117864",
    "failed": "#c0392b",
    "expired": "#c0392b",
    "unknown": "#b9770e",
    "cancelled": "#7f8c8d",
}


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


class QueueModel(QAbstractTableModel):
    def __init__(self, browser: Browser, zone: str | None = None, page_size: int = PAGE_SIZE):
        super().__init__()
        self._browser = browser
        self._zone = resolve_zone(zone)
        self._page_size = page_size
        self._filter = QueueFilter()
        self._rows: list[MessageView] = []
        self._exhausted = False
        self._fetch_page()

    # -- reading --------------------------------------------------------------------------

    @property
    def filter(self) -> QueueFilter:
        return self._filter

    def message(self, row: int) -> MessageView:
        return self._rows[row]

    def row_of(self, message_id: str) -> int | None:
        for row, m in enumerate(self._rows):
            if m.id == message_id:
                return row
        return None

    def total(self) -> int:
        """How many messages match the filter (a COUNT, not a load)."""
        return self._browser.count(self._filter)

    # -- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(Column)
        ):
            return HEADERS[Column(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        m = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(m, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.TEXT:
                return m.text
            if column is Column.SEND_TIME:
                return f"{format_local(m.send_at, resolve_zone(m.zone))} (entered in {m.zone})"
            if column is Column.STATE and (m.last_error or m.attention):
                return m.attention or m.last_error
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATE:
            return QBrush(QColor(STATE_COLOURS.get(m.state, "#000000")))
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.SEGMENTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == MESSAGE_ID_ROLE:
            return m.id
        return None

    def _display(self, m: MessageView, column: Column) -> str:
        if column is Column.SEND_TIME:
            return format_local(m.send_at, self._zone)
        if column is Column.RECIPIENT:
            return m.recipient
        if column is Column.TEXT:
            return first_line(m.text)
        if column is Column.PROVIDER:
            return m.provider
        if column is Column.STATE:
            return m.state
        if column is Column.WHERE:
            return m.where
        return str(m.segments)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008 - Qt's signature
        if not parent.isValid():
            self._fetch_page()

    # -- changing what is shown -----------------------------------------------------------

    def _fetch_page(self) -> None:
        if self._exhausted:
            return
        after = (self._rows[-1].send_at, self._rows[-1].id) if self._rows else None
        page = self._browser.page(self._filter, after=after, limit=self._page_size)
        if len(page) < self._page_size:
            self._exhausted = True
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def set_filter(self, flt: QueueFilter) -> None:
        self.beginResetModel()
        self._filter = flt
        self._rows = []
        self._exhausted = False
        self.endResetModel()
        self._fetch_page()

    def set_zone(self, zone: str | None) -> None:
        self._zone = resolve_zone(zone)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, Column.SEND_TIME), self.index(len(self._rows) - 1, Column.SEND_TIME)
            )

    def refresh(self) -> None:
        """Re-read the rows already loaded (states move on while the window is open).

        Rows keep their place when the same messages are still there, so selections survive;
        otherwise (new messages, filter no longer matching) the model resets.
        """
        limit = max(len(self._rows), self._page_size)
        fresh = self._browser.page(self._filter, limit=limit)
        if [m.id for m in fresh] == [m.id for m in self._rows]:
            if fresh != self._rows:
                self._rows = fresh
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1)
                )
            return
        self.beginResetModel()
        self._rows = fresh
        self._exhausted = len(fresh) < limit
        self.endResetModel()
