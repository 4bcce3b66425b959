"""The Queue's table model over any number of messages: every row exists, few are loaded.

``rowCount`` is the number of messages the filter matches (one COUNT when the filter or the
data changes), so the scroll bar is true and Ctrl+End reaches the last message. Rows are
loaded in pages of ``page_size`` aligned on row numbers, when the view first asks for them.
A page is read by keyset from the nearest row whose (send_at, id) is known — a neighbouring
page, the first row or the last row (a descending keyset) — skipping the rows in between from
the index when the jump is far (a scroll bar dragged to the middle). Only ``max_pages`` pages
stay loaded; the least recently used go, but their first and last keys stay as anchors
(two per page visited: ~1 MiB had every page of a million rows been seen).

A refresh with no new event re-reads only the rows on screen; after a change the model counts
again and keeps the message that was at the top of the screen where the view shows it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from dataclasses import replace
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from smsdesk.core.time_display import when_text
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.browse import Browser, Cursor, QueueFilter, cursor_of
from smsdesk.engine.views import MessageView

Index = QModelIndex | QPersistentModelIndex

# A page costs ~30 µs a row to read (the ORM, mostly): 100 rows keep one page well inside a
# frame on a busy machine, and still cover a tall window's screen.
PAGE_SIZE = 100
# Pages held at once: ~0.2 MiB per 1,000 rows, so 24 pages of 100 stay near half a MiB.
MAX_PAGES = 24
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

# What each column sorts by (engine/browse.py SORTS); ties by send time.
SORT_OF = {
    Column.SEND_TIME: "send_at",
    Column.RECIPIENT: "recipient",
    Column.TEXT: "text",
    Column.PROVIDER: "provider",
    Column.STATE: "state",
    Column.WHERE: "where",
    Column.SEGMENTS: "segments",
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
    # Being changed at the provider: still held there, drawn like "scheduled".
    "cancelling": "#1e8449",
    "rescheduling": "#1e8449",
    "withdrawing": "#1e8449",
    "cancelled": "#7f8c8d",
}


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def recipient_text(m: MessageView) -> str:
    """The number with the contact's name beside it, when the number is a contact's."""
    return f"{m.recipient} ({m.contact_name})" if m.contact_name else m.recipient


class QueueModel(QAbstractTableModel):
    def __init__(
        self,
        browser: Browser,
        zone: str | None = None,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
        flt: QueueFilter | None = None,
    ):
        super().__init__()
        self._browser = browser
        self._zone = resolve_zone(zone)
        self._zone_name = zone
        self._page_size = page_size
        self._max_pages = max(max_pages, 2)
        self._filter = flt or QueueFilter()
        self._total = 0
        # page number -> its rows (None where a row vanished since the count), LRU order.
        self._pages: OrderedDict[int, list[MessageView | None]] = OrderedDict()
        # row -> (send_at, id) known at that row since the last count; sorted rows beside it.
        self._anchors: dict[int, Cursor] = {}
        self._anchor_rows: list[int] = []
        self._mark = -1
        self.resets = 0  # how many times the rows were counted afresh (views compare it)
        self._recount()

    # -- reading --------------------------------------------------------------------------

    @property
    def filter(self) -> QueueFilter:
        return self._filter

    def total(self) -> int:
        """How many messages match the filter, as of the last count (no query)."""
        return self._total

    def message(self, row: int) -> MessageView | None:
        """The message at ``row``, loading its page if needed (None if it vanished)."""
        if not 0 <= row < self._total:
            return None
        number = row // self._page_size
        page = self._pages.get(number)
        if page is None:
            page = self._load(number)
        else:
            self._pages.move_to_end(number)
        offset = row - number * self._page_size
        return page[offset] if offset < len(page) else None

    def loaded(self, row: int) -> MessageView | None:
        """The message at ``row`` if its page is loaded; never queries."""
        page = self._pages.get(row // self._page_size)
        offset = row % self._page_size
        return page[offset] if page is not None and offset < len(page) else None

    def loaded_rows(self) -> int:
        return sum(len(page) for page in self._pages.values())

    def row_of(self, message_id: str) -> int | None:
        """The row of a loaded message (messages in pages not loaded are not searched)."""
        for number, page in self._pages.items():
            for offset, m in enumerate(page):
                if m is not None and m.id == message_id:
                    return number * self._page_size + offset
        return None

    # -- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._total

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
        if not index.isValid():
            return None
        # Loading here (not deferred) paints a jump's rows in the same frame; a page is one
        # indexed query, and loading emits no signal, so it is safe during a paint.
        m = self.message(index.row())
        if m is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(m, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.TEXT:
                return m.text
            if column is Column.SEND_TIME:
                return f"Entered as {format_local(m.send_at, resolve_zone(m.zone))}"
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
            place = resolve_zone(m.recipient_zone) if m.recipient_zone else None
            return when_text(m.send_at, self._zone, place)
        if column is Column.RECIPIENT:
            return recipient_text(m)
        if column is Column.TEXT:
            return first_line(m.text)
        if column is Column.PROVIDER:
            return m.provider
        if column is Column.STATE:
            return m.state
        if column is Column.WHERE:
            return m.where
        return str(m.segments)

    # -- loading pages --------------------------------------------------------------------

    def _bounds(self, number: int) -> tuple[int, int]:
        first = number * self._page_size
        return first, min(first + self._page_size, self._total)

    def _anchor(self, row: int, m: MessageView | None) -> None:
        if m is None or row in self._anchors:
            return
        self._anchors[row] = cursor_of(self._filter, m)
        self._anchor_rows.insert(bisect_left(self._anchor_rows, row), row)

    def _load(self, number: int) -> list[MessageView | None]:
        first, end = self._bounds(number)
        want = end - first
        # The nearest known row below the page and above it; -1 and total stand for the ends.
        at = bisect_left(self._anchor_rows, first)
        below = self._anchor_rows[at - 1] if at > 0 else -1
        at = bisect_left(self._anchor_rows, end)
        above = self._anchor_rows[at] if at < len(self._anchor_rows) else self._total
        skip_below, skip_above = first - below - 1, above - end
        rows: list[MessageView | None]
        if skip_below <= skip_above:
            fetched = self._browser.page(
                self._filter, after=self._anchors.get(below), limit=want, skip=skip_below
            )
            rows = [*fetched, *[None] * (want - len(fetched))]
        else:
            fetched = self._browser.page(
                self._filter,
                after=self._anchors.get(above),
                limit=want,
                skip=skip_above,
                descending=True,
            )
            # Walking backwards from above: a short answer is missing its first rows.
            rows = [*[None] * (want - len(fetched)), *reversed(fetched)]
        self._keep(number, rows)
        return rows

    def _keep(self, number: int, rows: list[MessageView | None]) -> None:
        first = number * self._page_size
        self._anchor(first, rows[0] if rows else None)
        self._anchor(first + len(rows) - 1, rows[-1] if rows else None)
        self._pages[number] = rows
        self._pages.move_to_end(number)
        while len(self._pages) > self._max_pages:
            self._pages.popitem(last=False)

    def _load_around(self, row: int, at: Cursor) -> None:
        """Load the page of ``row`` knowing that message ``at`` is there (after a recount)."""
        number = row // self._page_size
        first, end = self._bounds(number)
        before = self._browser.page(self._filter, after=at, limit=row - first, descending=True)
        since = self._browser.page(self._filter, after=at, limit=end - row, inclusive=True)
        rows: list[MessageView | None] = [
            *[None] * (row - first - len(before)),
            *reversed(before),
            *since,
            *[None] * (end - row - len(since)),
        ]
        self._keep(number, rows)

    def _recount(self) -> None:
        """Forget every page and anchor and count again (call inside a model reset)."""
        self.resets += 1
        self._mark = self._browser.watermark()
        self._total = self._browser.count(self._filter)
        self._pages.clear()
        self._anchors.clear()
        self._anchor_rows.clear()

    # -- changing what is shown -----------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's header click: the same filter in another order (a keyset over that column)."""
        if not 0 <= column < len(Column):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        flt = replace(self._filter, sort=SORT_OF[Column(column)], descending=descending)
        if flt != self._filter:  # already in that order: nothing to read again
            self.set_filter(flt)

    def set_filter(self, flt: QueueFilter) -> None:
        self.beginResetModel()
        self._filter = flt
        self._recount()
        self.endResetModel()

    def set_zone(self, zone: str | None) -> None:
        if zone == self._zone_name:
            return
        self._zone_name = zone
        self._zone = resolve_zone(zone)
        if self._total:
            self.dataChanged.emit(
                self.index(0, Column.SEND_TIME), self.index(self._total - 1, Column.SEND_TIME)
            )

    def stale(self) -> bool:
        """Whether an event was recorded since the last count (a refresh will count again)."""
        return self._browser.watermark() != self._mark

    def refresh(self, first: int = 0, last: int = -1) -> int | None:
        """Bring rows ``first``..``last`` (what is on screen) up to date, cheaply.

        When no event was recorded since the last count, only those rows are read again (by
        id) and the other pages are dropped, to be read afresh when scrolled to. Otherwise
        (new messages, states or times changed) the model counts again and resets, keeping the
        message that was at ``first``; returns its new row then (None when nothing moved).
        """
        last = min(last if last >= 0 else first + self._page_size - 1, self._total - 1)
        numbers = range(first // self._page_size, last // self._page_size + 1) if last >= 0 else ()
        if self._browser.watermark() == self._mark:
            kept = [n for n in numbers if n in self._pages]
            if self._reread(first, last):
                for n in [n for n in self._pages if n not in kept]:
                    del self._pages[n]
                return None
        top = self.loaded(first)
        self.beginResetModel()
        before = self._total
        self._recount()
        row: int | None = None
        fresh = self._browser.by_ids(self._filter, [top.id]).get(top.id) if top else None
        if (
            top is not None
            and fresh is not None
            and cursor_of(self._filter, fresh) == cursor_of(self._filter, top)
        ):
            # Counting walks the index from an end: from the nearer one.
            total = self._total if first > before // 2 else None
            row = self._browser.position(self._filter, cursor_of(self._filter, top), total=total)
            self._load_around(row, cursor_of(self._filter, top))
        self.endResetModel()
        return row

    def _reread(self, first: int, last: int) -> bool:
        """Read the loaded rows ``first``..``last`` again; False if one left the filter or
        moved (only the screen's rows: a refresh stays cheap however much is loaded)."""
        shown = {row: m for row in range(first, last + 1) if (m := self.loaded(row)) is not None}
        fresh = self._browser.by_ids(self._filter, [m.id for m in shown.values()])
        if len(fresh) != len(shown):
            return False
        if any(
            cursor_of(self._filter, fresh[m.id]) != cursor_of(self._filter, m)
            for m in shown.values()
        ):
            return False  # rescheduled (or its state, in a state sort): its row is elsewhere
        changed = [row for row, m in shown.items() if fresh[m.id] != m]
        for row in changed:
            number, offset = divmod(row, self._page_size)
            self._pages[number][offset] = fresh[shown[row].id]
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), 0), self.index(max(changed), len(Column) - 1)
            )
        return True
