"""The Calendar's week: seven days by 24 hour slots in the desk's zone, each slot showing its
first messages as badges coloured by state and how many more there are. A message badge can
be dragged to another day and hour."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from smsdesk.engine.calendar_marks import Marks, Planned
from smsdesk.engine.calendar_reads import Badge, WeekSlots
from smsdesk.ui.calendar_colours import CONFIRMED_MARK, SERIES_MARK, state_colour, text_on
from smsdesk.ui.calendar_drag import DragGesture
from smsdesk.ui.month_view import FIRST_DAY, LAST_DAY
from smsdesk.ui.queue_model import first_line

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
PER_SLOT = 2  # message badges per hour slot; the rest are counted
FIRST_HOUR_SHOWN = 7  # a clinic's day starts about here
ENABLED = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def day_heading(day: date) -> str:
    # Spelled out here: %a/%b follow the process locale.
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]}"


def badge_label(m: Badge, local: datetime) -> str:
    return f"{local:%H:%M} {m.recipient}"


class SlotDelegate(QStyledItemDelegate):
    """Paints a slot: one badge per message shown, then "+N more"."""

    def __init__(self, grid: WeekGrid) -> None:
        super().__init__(grid)
        self.grid = grid

    def badge_rects(self, cell: QRect, n: int) -> list[QRect]:
        height = self.grid.fontMetrics().height() + 4
        return [
            QRect(cell.left() + 2, cell.top() + 2 + i * (height + 2), cell.width() - 4, height)
            for i in range(n)
        ]

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        line = self.grid.fontMetrics().height() + 6
        return QSize(self.grid.fontMetrics().horizontalAdvance("00:00 +000000000000") + 8,
                     line * (PER_SLOT + 1) + 2)  # fmt: skip

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        cell = QRect(option.rect)
        palette: QPalette = option.palette
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(cell, palette.color(QPalette.ColorRole.Highlight).lighter(110))
        if self.grid.drop_hint == (index.row(), index.column()):
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRect(cell.adjusted(1, 1, -2, -2))
        shown = self.grid.shown(index.row(), index.column())
        for m, rect in zip(shown, self.badge_rects(cell, len(shown)), strict=True):
            background = state_colour(m.state)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(background)
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(text_on(background))
            # The time always shows; a number too long for the badge loses its middle, as
            # its last digits are what tell two recipients apart.
            metrics = painter.fontMetrics()
            when = self.grid.mark(m.id) + f"{m.send_at.astimezone(self.grid.zone_info):%H:%M} "
            room = rect.width() - 6 - metrics.horizontalAdvance(when)
            number = metrics.elidedText(m.recipient, Qt.TextElideMode.ElideMiddle, max(room, 0))
            painter.drawText(
                rect.adjusted(3, 0, -3, 0), int(Qt.AlignmentFlag.AlignVCenter), when + number
            )
        more = self.grid.total(index.row(), index.column()) - len(shown)
        lines = len(shown)
        if more > 0:
            line = self.badge_rects(cell, len(shown) + 1)[-1]
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(
                line.adjusted(3, 0, -3, 0), int(Qt.AlignmentFlag.AlignVCenter), f"+{more} more"
            )
            lines += 1
        planned = self.grid.planned_at(index.row(), index.column())
        if planned and lines <= PER_SLOT:
            # Not a message yet: an outline, in the text's colour, never dragged.
            line = self.badge_rects(cell, lines + 1)[-1]
            pen = QPen(palette.color(QPalette.ColorRole.Text))
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(line, 3, 3)
            first = planned[0].at.astimezone(self.grid.zone_info)
            extra = f" +{len(planned) - 1}" if len(planned) > 1 else ""
            painter.drawText(
                line.adjusted(3, 0, -3, 0),
                int(Qt.AlignmentFlag.AlignVCenter),
                f"{SERIES_MARK}{first:%H:%M} planned{extra}",
            )
        painter.restore()


class WeekGrid(QTableWidget):
    """Rows are local hours, columns the week's days. Set ``gesture`` to let badges be
    dragged; ``message_at`` says which message badge is under a point of the viewport."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(24, 7, parent)
        self.setObjectName("weekGrid")
        self.setAccessibleName("Week, by hour")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.delegate = SlotDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setVerticalHeaderLabels([f"{hour:02d}:00" for hour in range(24)])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setMinimumSectionSize(40)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(
            self.delegate.sizeHint(QStyleOptionViewItem(), QModelIndex()).height()
        )
        self.days: list[date] = []
        self.zone_info = datetime.now().astimezone().tzinfo  # replaced by show_week
        self.slots = WeekSlots({}, {})
        self._counts: dict[tuple[date, int] | None, dict[str, int]] = {}
        self._shown: dict[tuple[date, int] | None, list[Badge]] = {}
        self.marks = Marks()
        self._planned: dict[tuple[date, int] | None, list[Planned]] = {}
        self.drop_hint: tuple[int, int] | None = None
        self.gesture: DragGesture | None = None
        self._scrolled = False

    def show_week(
        self, first: date, slots: WeekSlots, zone: object, marks: Marks | None = None
    ) -> None:
        self.days = [first + timedelta(days=n) for n in range(7)]
        self.zone_info = zone  # type: ignore[assignment]
        self.slots = slots
        self.marks = marks or Marks()
        self._planned = {}
        for p in self.marks.planned:
            local = p.at.astimezone(self.zone_info)
            self._planned.setdefault((local.date(), local.hour), []).append(p)
        # By (day, hour) on the wall: the hour repeated when clocks go back is one slot.
        self._counts = {}
        for at, by_state in slots.counts.items():
            merged = self._counts.setdefault((at.date(), at.hour), {})
            for state, n in by_state.items():
                merged[state] = merged.get(state, 0) + n
        self._shown = {}
        for at, messages in sorted(slots.messages.items()):
            shown = self._shown.setdefault((at.date(), at.hour), [])
            shown.extend(messages[: PER_SLOT - len(shown)])
        self.setHorizontalHeaderLabels([day_heading(d) for d in self.days])
        for column, day in enumerate(self.days):
            for hour in range(24):
                item = self.item(hour, column)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(hour, column, item)
                # The words a screen reader (and a tooltip) gives for what the badges show.
                item.setText(self._describe(hour, column))
                item.setToolTip(item.text())
                item.setData(Qt.ItemDataRole.UserRole, (day.isoformat(), hour))
                # Past the calendar's last day nothing can be chosen (nor any message be).
                item.setFlags(ENABLED if FIRST_DAY <= day <= LAST_DAY else Qt.ItemFlag.NoItemFlags)
        if not self._scrolled:
            self._scrolled = True
            self.scrollTo(
                self.model().index(FIRST_HOUR_SHOWN, 0), QAbstractItemView.ScrollHint.PositionAtTop
            )
        self.viewport().update()

    def shown(self, row: int, column: int) -> list[Badge]:
        return list(self._shown.get(self._slot(row, column), []))

    def planned_at(self, row: int, column: int) -> list[Planned]:
        """Occurrences planned in a slot (not stored yet)."""
        return list(self._planned.get(self._slot(row, column), []))

    def mark(self, message_id: str) -> str:
        """↻ for an occurrence of a series, ✓ for a confirmed appointment's reminder."""
        return (SERIES_MARK if message_id in self.marks.series else "") + (
            CONFIRMED_MARK if message_id in self.marks.confirmed else ""
        )

    def total(self, row: int, column: int) -> int:
        return sum(self._counts.get(self._slot(row, column), {}).values())

    def counts_at(self, day: date, hour: int) -> dict[str, int]:
        return dict(self._counts.get((day, hour), {}))

    def _slot(self, row: int, column: int) -> tuple[date, int] | None:
        return (self.days[column], row) if self.days and 0 <= column < 7 else None

    def _describe(self, row: int, column: int) -> str:
        shown, total = self.shown(row, column), self.total(row, column)
        planned = "; ".join(
            f"{SERIES_MARK} planned {p.at.astimezone(self.zone_info):%H:%M} {p.name} "
            "(not stored yet)"
            for p in self.planned_at(row, column)
        )
        if not total:
            return planned
        names = "; ".join(
            f"{self.mark(m.id)}{badge_label(m, m.send_at.astimezone(self.zone_info))} "
            f"({m.state}) {first_line(m.text)[:30]}"
            + (f" [{self.marks.series[m.id]}]" if m.id in self.marks.series else "")
            + (" (appointment confirmed)" if m.id in self.marks.confirmed else "")
            for m in shown
        )
        more = f"; and {total - len(shown)} more" if total > len(shown) else ""
        text = f"{total} message{'s' if total != 1 else ''}: {names}{more}"
        return f"{text}; {planned}" if planned else text

    def slot_at(self, pos: QPoint) -> tuple[date, int] | None:
        """The (day, hour) under a point of the viewport."""
        index = self.indexAt(pos)
        if not index.isValid() or not self.days:
            return None
        return self.days[index.column()], index.row()

    def message_at(self, pos: QPoint) -> Badge | None:
        index = self.indexAt(pos)
        if not index.isValid():
            return None
        shown = self.shown(index.row(), index.column())
        for m, rect in zip(shown, self.delegate.badge_rects(self.visualRect(index), len(shown)),
                           strict=True):  # fmt: skip
            if rect.contains(pos):
                return m
        return None

    def badge_rect(self, message_id: str) -> QRect | None:
        """Where a message's badge is painted, in viewport coordinates (None: not shown)."""
        for row in range(24):
            for column in range(7):
                shown = self.shown(row, column)
                rects = self.delegate.badge_rects(
                    self.visualRect(self.model().index(row, column)), len(shown)
                )
                for m, rect in zip(shown, rects, strict=True):
                    if m.id == message_id:
                        return rect
        return None

    def set_drop_hint(self, slot: tuple[int, int] | None) -> None:
        if slot != self.drop_hint:
            self.drop_hint = slot
            self.viewport().update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        if self.gesture is not None and event.button() == Qt.MouseButton.LeftButton:
            m = self.message_at(event.position().toPoint())
            if m is not None:
                self.gesture.press([m.id], event.globalPosition().toPoint())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.gesture is not None and self.gesture.move(
            event.globalPosition().toPoint(), event.buttons()
        ):
            return  # dragging a badge: no rubber-band selection meanwhile
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.gesture is not None and self.gesture.release(event.globalPosition().toPoint()):
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.gesture is not None and self.gesture.dragging:
            self.gesture.cancel()
            return
        super().keyPressEvent(event)
