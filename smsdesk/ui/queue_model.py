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
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.browse import Browser, Cursor, QueueFilter, cursor_of
from smsdesk.engine.views import MessageView

# The cells' presentation is shared with the first page painted at start-up.
from smsdesk.ui.queue_cells import HEADERS as HEADERS
from smsdesk.ui.queue_cells import MESSAGE_ID_ROLE as MESSAGE_ID_ROLE
from smsdesk.ui.queue_cells import STATE_COLOURS as STATE_COLOURS
from smsdesk.ui.queue_cells import Column as Column
from smsdesk.ui.queue_cells import cell_data, header_data
from smsdesk.ui.queue_cells import first_line as first_line
from smsdesk.ui.queue_cells import recipient_text as recipient_text

Index = QModelIndex | QPersistentModelIndex

# A page costs ~30 µs a row to read (the ORM, mostly): 100 rows keep one page well inside a
# frame on a busy machine, and still cover a tall window's screen.
PAGE_SIZE = 100
# Pages held at once: ~0.2 MiB per 1,000 rows, so 24 pages of 100 stay near half a MiB.
MAX_PAGES = 24
# Above this many rows, the sort keys of every LANDMARKS-th part of them are read in the
# background after each count (one walk of the index, like the count): a scroll bar dragged
# anywhere then skips at most half a stretch, never hundreds of thousands of entries.
SURVEY_FROM = 5_000
LANDMARKS = 200
LANDMARK_EVERY = 500  # at least this many rows between two landmarks
# Runs work off the GUI thread and hands its result back on it (ui.tasks.TaskRunner.submit).
Submit = Callable[[Callable[[], Any], Callable[[Any], None], Callable[[Exception], None]], object]
SERIES_MARK = "↻"  # before the text of a message that is an occurrence of a series


def series_words(label: str) -> str:
    return f"Repeats: an occurrence of the series “{label}”"


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


class QueueModel(QAbstractTableModel):
    def __init__(
        self,
        browser: Browser,
        zone: str | None = None,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
        flt: QueueFilter | None = None,
        submit: Submit | None = None,
        survey_from: int = SURVEY_FROM,
        landmark_every: int = LANDMARK_EVERY,
    ):
        super().__init__()
        self._browser = browser
        self._submit = submit
        self._survey_from = survey_from
        self._landmark_every = landmark_every
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
        # The watermark ``stale`` read, for the ``refresh`` that follows it (then None).
        self.seen_mark: int | None = None
        self.resets = 0  # how many times the rows were counted afresh (views compare it)
        self.landmarks_ready = 0  # the last count whose landmarks arrived (tests compare it)
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
        return header_data(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        # Loading here (not deferred) paints a jump's rows in the same frame; a page is one
        # indexed query, and loading emits no signal, so it is safe during a paint.
        m = self.message(index.row())
        if m is None:
            return None
        column = Column(index.column())
        if m.series is not None and column is Column.TEXT:
            # An occurrence of a series: marked, and the series named (read with the page).
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{SERIES_MARK} {cell_data(m, column, role, self._zone)}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{m.text}\n\n{SERIES_MARK} {series_words(m.series)}"
        return cell_data(m, column, role, self._zone)

    # -- loading pages --------------------------------------------------------------------

    def _bounds(self, number: int) -> tuple[int, int]:
        first = number * self._page_size
        return first, min(first + self._page_size, self._total)

    def _anchor(self, row: int, m: MessageView | None) -> None:
        if m is not None:
            self._anchor_key(row, cursor_of(self._filter, m))

    def _anchor_key(self, row: int, key: Cursor) -> None:
        if row in self._anchors:
            return
        self._anchors[row] = key
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
        self._survey()

    def _survey(self) -> None:
        """Ask for the landmarks of this count in the background (large counts only)."""
        if self._submit is None or self._total < self._survey_from:
            return
        every = max(self._landmark_every, self._total // LANDMARKS)
        browser, flt, count, mark = self._browser, self._filter, self.resets, self._mark

        def arrived(found: tuple[int, list[Cursor], int]) -> None:
            before, keys, after = found
            # Only for the count they were read for, with nothing changed meanwhile (else
            # a landmark's row number could be off): the next count asks again.
            if count != self.resets or before != mark or after != mark:
                return
            for n, key in enumerate(keys):
                if n * every < self._total:
                    self._anchor_key(n * every, key)
            self.landmarks_ready = count

        # A failure costs only speed (a drag skips from the nearest page instead): not shown.
        self._submit(lambda: browser.landmarks(flt, every), arrived, lambda _exc: None)

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

    @property
    def zone_name(self) -> str | None:
        """The zone the send times are shown in (None: the system's)."""
        return self._zone_name

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
        """Whether an event was recorded since the last count (a refresh will count again).
        The watermark read here is the one the next ``refresh`` uses (one read per refresh)."""
        self.seen_mark = self._browser.watermark()
        return self.seen_mark != self._mark

    def refresh(self, first: int = 0, last: int = -1) -> int | None:
        """Bring rows ``first``..``last`` (what is on screen) up to date, cheaply.

        When no event was recorded since the last count, only those rows are read again (by
        id) and the other pages are dropped, to be read afresh when scrolled to. Otherwise
        (new messages, states or times changed) the model counts again and resets, keeping the
        message that was at ``first``; returns its new row then (None when nothing moved).
        """
        last = min(last if last >= 0 else first + self._page_size - 1, self._total - 1)
        numbers = range(first // self._page_size, last // self._page_size + 1) if last >= 0 else ()
        mark, self.seen_mark = self.seen_mark, None
        if (mark if mark is not None else self._browser.watermark()) == self._mark:
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
