"""The Queue grouped by batch: one row per compose action, which expands to its messages.

Batches are read a page at a time as the list is scrolled (Qt's fetchMore), newest first;
a batch's messages are read when it is first expanded. Neither grows with the queue's size.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.browse import Browser
from smsdesk.engine.views import BatchView, MessageView
from smsdesk.ui.queue_cells import display, header_data
from smsdesk.ui.queue_model import SERIES_MARK, Column, first_line

Index = QModelIndex | QPersistentModelIndex
BATCH_PAGE = 100
# A batch shows up to this many of its messages; the rest are in the Queue's message list.
BATCH_MESSAGES = 1000
TOP = 0  # internal id of a batch row; a message row's is its batch's row + 1


def state_summary(by_state: dict[str, int]) -> str:
    """ "3 scheduled, 1 failed": the batch's messages by state, the most common first."""
    ordered = sorted(by_state.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n} {state}" for state, n in ordered)


class BatchTreeModel(QAbstractItemModel):
    def __init__(self, browser: Browser, zone: str | None = None) -> None:
        super().__init__()
        self._browser = browser
        self._zone = resolve_zone(zone)
        self._batches: list[BatchView] = []
        self._children: dict[int, list[MessageView]] = {}  # batch row -> its messages
        self._more = True

    # -- reading --------------------------------------------------------------------------

    def batch(self, index: Index) -> BatchView | None:
        if not index.isValid() or index.internalId() != TOP:
            return None
        return self._batches[index.row()]

    def message(self, index: Index) -> MessageView | None:
        if not index.isValid() or index.internalId() == TOP:
            return None
        children = self._children.get(int(index.internalId()) - 1, [])
        return children[index.row()] if index.row() < len(children) else None

    def reload(self, zone: str | None) -> None:
        self.beginResetModel()
        self._zone = resolve_zone(zone)
        self._batches.clear()
        self._children.clear()
        self._more = True
        self.endResetModel()

    # -- Qt model -------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008 - Qt's signature
        if not parent.isValid():
            if 0 <= row < len(self._batches) and 0 <= column < len(Column):
                return self.createIndex(row, column, TOP)
            return QModelIndex()
        if parent.internalId() != TOP:
            return QModelIndex()
        children = self._children.get(parent.row(), [])
        if 0 <= row < len(children) and 0 <= column < len(Column):
            return self.createIndex(row, column, parent.row() + 1)
        return QModelIndex()

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not child.isValid() or child.internalId() == TOP:
            return QModelIndex()
        return self.createIndex(int(child.internalId()) - 1, 0, TOP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if not parent.isValid():
            return len(self._batches)
        if parent.internalId() == TOP and parent.column() == 0:
            return len(self._children.get(parent.row(), []))
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return len(Column)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        if not parent.isValid():
            return bool(self._batches) or self._more
        return parent.internalId() == TOP and parent.column() == 0

    def canFetchMore(self, parent: Index) -> bool:
        if not parent.isValid():
            return self._more
        return parent.internalId() == TOP and parent.row() not in self._children

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid():
            last = self._batches[-1] if self._batches else None
            page = self._browser.batches(
                after=(last.created_at, last.id) if last else None, limit=BATCH_PAGE
            )
            self._more = len(page) == BATCH_PAGE
            if page:
                first = len(self._batches)
                self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
                self._batches += page
                self.endInsertRows()
            return
        if parent.internalId() != TOP or parent.row() in self._children:
            return
        batch = self._batches[parent.row()]
        messages = self._browser.batch_messages(batch.id, limit=BATCH_MESSAGES)
        at = self.index(parent.row(), 0)
        if messages:
            self.beginInsertRows(at, 0, len(messages) - 1)
            self._children[parent.row()] = messages
            self.endInsertRows()
        else:
            self._children[parent.row()] = []

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        column = Column(index.column())
        batch = self.batch(index)
        if batch is not None:
            return self._batch_text(batch, column)
        m = self.message(index)
        return None if m is None else self._message_text(m, column)

    def _batch_text(self, b: BatchView, column: Column) -> str:
        if column is Column.SEND_TIME:
            if b.first_send_at is None or b.last_send_at is None:
                return ""
            first = format_local(b.first_send_at, self._zone)
            if b.last_send_at == b.first_send_at:
                return first
            return f"{first} – {format_local(b.last_send_at, self._zone)}"
        if column is Column.RECIPIENT:
            return f"{b.messages} message{'s' if b.messages != 1 else ''}"
        if column is Column.TEXT:
            return first_line(b.text)
        if column is Column.PROVIDER:
            return b.provider
        if column is Column.STATE:
            return state_summary(b.by_state)
        return ""

    def _message_text(self, m: MessageView, column: Column) -> str:
        text = display(m, column, self._zone)  # the same cells as the flat Queue
        if m.series is not None and column is Column.TEXT:
            return f"{SERIES_MARK} {text}"
        return text
