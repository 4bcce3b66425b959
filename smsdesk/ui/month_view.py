"""The Calendar's month: how many messages go out each day, as a badge in the colour of the
day's main state over a bar split by state."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QTextCharFormat
from PySide6.QtWidgets import QCalendarWidget, QTableView, QWidget

from smsdesk.ui.calendar_colours import SERIES_MARK, state_colour, text_on

FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9998, 12, 31)


def day_of(qdate: QDate) -> date:
    return date(qdate.year(), qdate.month(), qdate.day())


def describe_counts(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    detail = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{total} message{'s' if total != 1 else ''}: {detail}"


def busiest(by_state: dict[str, int]) -> str:
    """The state most of a day's messages are in (ties: by name, so it is stable)."""
    return min(by_state, key=lambda state: (-by_state[state], state))


class CountsCalendar(QCalendarWidget):
    """A month view that paints, in each day, how many messages go out, as a badge in the
    colour of the day's main state over a bar split by state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monthCalendar")
        self.setAccessibleName("Month")
        self.setGridVisible(True)
        self.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        # Qt's range reaches years Python's dates cannot hold (before 1, after 9999); a page
        # is read with a week either side, so the ends stay a year inside them.
        self.setDateRange(QDate(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day),
                          QDate(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day))  # fmt: skip
        self.counts: dict[date, dict[str, int]] = {}
        # Occurrences of series: stored ones (series names) and planned ones, per day.
        self.series_days: dict[date, list[str]] = {}
        self.planned_days: dict[date, list[str]] = {}
        self.drop_hint: date | None = None
        # What the last paint drew per day: (badge rect, text colour, background colour).
        self.badges: dict[date, tuple[QRect, QColor, QColor]] = {}
        grid = self.findChild(QTableView)
        assert grid is not None, "QCalendarWidget draws its month in a table view"
        self.grid: QTableView = grid

    def set_counts(
        self,
        counts: dict[date, dict[str, int]],
        series_days: dict[date, list[str]] | None = None,
        planned_days: dict[date, list[str]] | None = None,
    ) -> None:
        before = set(self.counts) | set(self.series_days) | set(self.planned_days)
        self.counts = counts
        self.series_days = series_days or {}
        self.planned_days = planned_days or {}
        marked = set(counts) | set(self.series_days) | set(self.planned_days)
        for day in before - marked:
            self.setDateTextFormat(QDate(day.year, day.month, day.day), QTextCharFormat())
        for day in marked:
            fmt = QTextCharFormat()
            fmt.setFontWeight(700)
            # The tooltip says in words what the colours say, for screen readers and tests.
            fmt.setToolTip(self.describe_day(day))
            self.setDateTextFormat(QDate(day.year, day.month, day.day), fmt)
        self.updateCells()

    def describe_day(self, day: date) -> str:
        lines = [describe_counts(self.counts[day])] if self.counts.get(day) else []
        names = sorted(set(self.series_days.get(day, ())))
        if names:
            lines.append(f"{SERIES_MARK} occurrences of: {'; '.join(names)}")
        planned = self.planned_days.get(day, [])
        if planned:
            lines.append(
                f"{SERIES_MARK} {len(planned)} planned (not stored yet): "
                + "; ".join(sorted(set(planned)))
            )
        return "\n".join(lines)

    def set_drop_hint(self, day: date | None) -> None:
        if day != self.drop_hint:
            self.drop_hint = day
            self.updateCells()

    def paintCell(self, painter: QPainter, rect: QRect, qdate: QDate) -> None:
        super().paintCell(painter, rect, qdate)
        day = day_of(qdate)
        if day == self.drop_hint:
            painter.save()
            painter.setPen(self.palette().color(QPalette.ColorRole.Highlight))
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
            painter.restore()
        if day in self.series_days or day in self.planned_days:
            self._mark_series(painter, rect, day)
        by_state = self.counts.get(day)
        if not by_state:
            self.badges.pop(day, None)
            return
        total = sum(by_state.values())
        painter.save()
        # A bar along the bottom, split by state.
        bar = QRect(rect.left() + 2, rect.bottom() - 5, rect.width() - 4, 4)
        x = bar.left()
        for state, n in sorted(by_state.items()):
            width = max(1, round(bar.width() * n / total))
            painter.fillRect(QRect(x, bar.top(), width, bar.height()), state_colour(state))
            x += width
        # The total as a badge: its text is black or white for its own background, so it
        # reads the same on a light or a dark theme.
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6))
        font.setBold(True)
        painter.setFont(font)
        text = str(total)
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 6
        badge = QRect(rect.right() - width - 2, rect.top() + 2, width, metrics.height())
        background = state_colour(busiest(by_state))
        foreground = text_on(background)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(badge, 3, 3)
        painter.setPen(foreground)
        painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()
        self.badges[day] = (badge, foreground, background)

    def _mark_series(self, painter: QPainter, rect: QRect, day: date) -> None:
        """↻ in the corner of a day with occurrences; a dashed frame when some are only
        planned (not stored yet)."""
        painter.save()
        colour = self.palette().color(QPalette.ColorRole.Text)
        painter.setPen(colour)
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6))
        painter.setFont(font)
        corner = rect.adjusted(3, 1, 0, 0)
        painter.drawText(
            corner, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), SERIES_MARK
        )
        if day in self.planned_days:
            pen = QPen(colour)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(rect.adjusted(2, 2, -3, -3))
        painter.restore()

    def date_at(self, pos: QPoint) -> QDate | None:
        """The day under a point of the grid's viewport."""
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return None
        first = QDate(self.yearShown(), self.monthShown(), 1)
        # The grid starts on the week containing the 1st (with a header row on top).
        offset = (first.dayOfWeek() - int(self.firstDayOfWeek().value)) % 7
        if offset == 0:
            offset = 7  # Qt shows a full week of the previous month in that case
        row, column = index.row(), index.column()
        if (
            self.horizontalHeaderFormat()
            != QCalendarWidget.HorizontalHeaderFormat.NoHorizontalHeader
        ):
            row -= 1
        if row < 0:
            return None
        return first.addDays(row * 7 + column - offset)

    def cell_rect(self, day: date) -> QRect | None:
        """Where ``day`` is in the grid's viewport (None: not on the page shown)."""
        model = self.grid.model()
        for row in range(model.rowCount()):
            for column in range(model.columnCount()):
                rect = self.grid.visualRect(model.index(row, column))
                found = self.date_at(rect.center())
                if found is not None and day_of(found) == day:
                    return rect
        return None
