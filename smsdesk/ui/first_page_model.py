"""The Queue as it looks before storage is open: its first page, read without the storage
stack, painted by the Queue's own cell code (queue_cells.py), then handed over to the real
Queue with the same selection and scroll position (``hand_over``).

Loaded before the first paint, so it imports Qt and smsdesk.core only (no engine, no view).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.timeparse import resolve_zone
from smsdesk.ui.queue_cells import Column, Shown, cell_data, header_data, queue_table

if TYPE_CHECKING:
    from smsdesk.ui.queue_view import QueueView

Index = QModelIndex | QPersistentModelIndex
OPENING_HINT = "Opening… the filters and actions are ready in a moment."


class FirstPageModel(QAbstractTableModel):
    """The rows read at start-up, shown as the Queue shows them (times in the desk's zone)."""

    def __init__(self, rows: tuple[Shown, ...], desk_zone: str | None) -> None:
        super().__init__()
        self.rows = rows
        self._desk = resolve_zone(desk_zone)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return header_data(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        return cell_data(self.rows[index.row()], Column(index.column()), role, self._desk)


class FirstPageView(QWidget):
    """The Queue tab until storage is open: the real Queue's scope row, its first page, and
    a line saying the rest is opening. The rows can be read, selected and scrolled."""

    def __init__(self, rows: tuple[Shown, ...], total: int, desk_zone: str | None) -> None:
        super().__init__()
        self.setObjectName("queueFirstPage")
        self.setAccessibleName("Queue (opening)")
        self.total = total
        # The real Queue's first row, as it will look: so nothing moves much at the hand-over.
        upcoming = QPushButton("Upcoming and needs attention")
        upcoming.setCheckable(True)
        upcoming.setChecked(True)
        everything = QPushButton("All messages")
        search = QLineEdit()
        search.setPlaceholderText("Search number or text (Ctrl+F)")
        for control in (upcoming, everything, search):
            control.setEnabled(False)
            control.setToolTip(OPENING_HINT)
        scope = QHBoxLayout()
        scope.addWidget(upcoming)
        scope.addWidget(everything)
        scope.addWidget(search, 1)

        self.model = FirstPageModel(rows, desk_zone)
        self.table = queue_table("queueFirstPageTable", "Message queue (first page)", self.model)

        shown = len(rows)
        self.hint = QLabel(
            f"{OPENING_HINT} Showing the first {shown:,} of {total:,} messages."
            if total > shown
            else OPENING_HINT
        )
        self.hint.setObjectName("queueOpening")
        self.hint.setAccessibleName("Queue is opening")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(scope)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.rows[r].id for r in rows]

    def current_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.rows[index.row()].id if index.isValid() else None


@dataclass(frozen=True)
class Place:
    """Where the user was in the first page: taken before it leaves its tab (it is deleted
    then, and a hidden table loses the keyboard)."""

    rows: int  # how many rows the first page had
    selected: tuple[str, ...]  # message ids
    current: str | None
    scroll: tuple[tuple[int, int], tuple[int, int]]  # (value, maximum): vertical, horizontal
    focus: bool


def place(preview: FirstPageView) -> Place:
    table = preview.table
    bars = (table.verticalScrollBar(), table.horizontalScrollBar())
    return Place(
        preview.model.rowCount(),
        tuple(preview.selected_ids()),
        preview.current_id(),
        ((bars[0].value(), bars[0].maximum()), (bars[1].value(), bars[1].maximum())),
        table.window().focusWidget() is table,
    )


def hand_over(was: Place, queue: QueueView) -> None:
    """The real Queue takes the first page's place: the same messages selected (and current)
    and the same row at the top, so the swap shows the same rows where they were. Reads the
    real Queue's first rows to find the messages by id (never by row number alone)."""
    model, table = queue.model, queue.table
    rows: dict[str, int] = {}
    for row in range(min(model.rowCount(), was.rows)):
        m = model.message(row)
        if m is not None:
            rows[m.id] = row
    last = len(Column) - 1
    selection = QItemSelection()
    for message_id in was.selected:
        at = rows.get(message_id)
        if at is not None:
            selection.select(model.index(at, 0), model.index(at, last))
    current = rows.get(was.current or "")
    if current is not None:
        table.selectionModel().setCurrentIndex(
            model.index(current, 0), QItemSelectionModel.SelectionFlag.NoUpdate
        )
    if not selection.isEmpty():
        table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    # The new table may not be laid out yet (its range is empty until it is shown): widen the
    # range so the value holds; the layout then sets the true range, which includes it.
    for (value, maximum), ours in zip(
        was.scroll, (table.verticalScrollBar(), table.horizontalScrollBar()), strict=True
    ):
        if ours.maximum() < value:
            ours.setRange(0, max(maximum, value))
        ours.setValue(value)
    if was.focus:
        table.setFocus()


class AfterPaint(QObject):
    """Calls ``then`` once, after ``widget`` has painted (from the event loop, not inside the
    paint), or after ``at_the_latest_ms`` if it is not painted by then (not shown)."""

    def __init__(self, widget: QWidget, then: Callable[[], None], at_the_latest_ms: int) -> None:
        super().__init__(widget)
        self._then: Callable[[], None] | None = then
        self._widget = widget
        widget.installEventFilter(self)
        QTimer.singleShot(at_the_latest_ms, self, self._call)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self, self._call)
        return False

    def _call(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            self._widget.removeEventFilter(self)
            then()
