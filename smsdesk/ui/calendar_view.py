"""Calendar: a month with the number of messages per day, coloured by state, and the chosen
day's messages beside it. Moving a message (edit, or drag onto a day) reschedules it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, QMimeData, QPoint, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QPainter,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCalendarWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import format_local, localize, resolve_zone
from smsdesk.engine.browse import QueueFilter
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.actions import MessageActions
from smsdesk.ui.queue_model import STATE_COLOURS, first_line
from smsdesk.ui.reschedule_dialog import AskTime
from smsdesk.ui.reschedule_dialog import ask_with_dialog as ask_time_with_dialog

MESSAGE_MIME = "application/x-smsdesk-message-ids"
MESSAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
DAY_LIMIT = 500  # a day list longer than this is for the Queue's filters


def _day(qdate: QDate) -> date:
    return date(qdate.year(), qdate.month(), qdate.day())


def describe_counts(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    detail = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{total} message{'s' if total != 1 else ''}: {detail}"


class CountsCalendar(QCalendarWidget):
    """A month view that paints, in each day, how many messages go out, coloured by state.

    Messages dragged from the day list can be dropped on a day: same wall time, new day.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monthCalendar")
        self.setAccessibleName("Month")
        self.setGridVisible(True)
        self.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self.counts: dict[date, dict[str, int]] = {}
        self.on_drop: object = None  # set by CalendarView: (ids, QDate) -> None
        self._grid = self.findChild(QTableView)
        if self._grid is not None:
            # Drops land on the month grid, which is a child view of the calendar.
            self._grid.setAcceptDrops(True)
            self._grid.viewport().setAcceptDrops(True)
            self._grid.viewport().installEventFilter(self)

    def set_counts(self, counts: dict[date, dict[str, int]]) -> None:
        for day in set(self.counts) - set(counts):
            self.setDateTextFormat(QDate(day.year, day.month, day.day), QTextCharFormat())
        self.counts = counts
        for day, by_state in counts.items():
            fmt = QTextCharFormat()
            fmt.setFontWeight(700)
            # The tooltip says in words what the colours say, for screen readers and tests.
            fmt.setToolTip(describe_counts(by_state))
            self.setDateTextFormat(QDate(day.year, day.month, day.day), fmt)
        self.updateCells()

    def paintCell(self, painter: QPainter, rect: QRect, qdate: QDate) -> None:
        super().paintCell(painter, rect, qdate)
        day = _day(qdate)
        by_state = self.counts.get(day)
        if not by_state:
            return
        total = sum(by_state.values())
        painter.save()
        # A bar along the bottom, split by state, and the total in the corner.
        bar = QRect(rect.left() + 2, rect.bottom() - 5, rect.width() - 4, 4)
        x = bar.left()
        for state, n in sorted(by_state.items()):
            width = max(1, round(bar.width() * n / total))
            painter.fillRect(QRect(x, bar.top(), width, bar.height()), QColor(STATE_COLOURS[state]))
            x += width
        painter.setPen(QColor("#333333"))
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.75, 6))
        painter.setFont(font)
        painter.drawText(
            rect.adjusted(0, 1, -3, -6),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop),
            str(total),
        )
        painter.restore()

    def date_at(self, pos: QPoint) -> QDate | None:
        """The day under a point of the grid's viewport."""
        if self._grid is None:
            return None
        index = self._grid.indexAt(pos)
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

    def eventFilter(self, watched: object, event: object) -> bool:
        if isinstance(event, (QDragEnterEvent, QDragMoveEvent)):
            if event.mimeData().hasFormat(MESSAGE_MIME):
                event.acceptProposedAction()
                return True
        elif isinstance(event, QDropEvent) and event.mimeData().hasFormat(MESSAGE_MIME):
            target = self.date_at(event.position().toPoint())
            ids = bytes(event.mimeData().data(MESSAGE_MIME).data()).decode().split()
            if target is not None and callable(self.on_drop):
                self.on_drop(ids, target)
                event.acceptProposedAction()
            return True
        return bool(super().eventFilter(watched, event))  # type: ignore[arg-type]


class DayList(QListWidget):
    """The chosen day's messages; dragging one carries its id to the calendar."""

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        data = QMimeData()
        ids = " ".join(str(item.data(MESSAGE_ID_ROLE)) for item in items)
        data.setData(MESSAGE_MIME, ids.encode())
        return data

    def mimeTypes(self) -> list[str]:
        return [MESSAGE_MIME]


class CalendarView(QWidget):
    def __init__(
        self,
        service: Service,
        actions: MessageActions,
        *,
        ask_time: AskTime | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.message_actions = actions
        self.browser = service.browser()
        self.ask_time = ask_time or ask_time_with_dialog(self)
        self.setObjectName("calendarView")
        self.setAccessibleName("Calendar")
        self._messages: list[MessageView] = []

        self.calendar = CountsCalendar()
        self.calendar.on_drop = self.move_to_day
        self.today_label = QLabel()
        self.today_label.setObjectName("todayLabel")
        self.today_label.setAccessibleName("Today and time zone")
        self.today_button = QPushButton("Today")
        self.today_button.setObjectName("todayButton")
        self.today_button.setAccessibleName("Go to today")
        self.day_title = QLabel()
        self.day_title.setObjectName("dayTitle")
        self.day_title.setAccessibleName("Chosen day")
        self.day_list = DayList()
        self.day_list.setObjectName("dayList")
        self.day_list.setAccessibleName("Messages on the chosen day")
        self.day_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.day_list.setDragEnabled(True)
        self.day_list.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.edit_button = QPushButton("Change time…")
        self.edit_button.setObjectName("changeTimeButton")
        self.edit_button.setAccessibleName("Change time")
        self.edit_button.setToolTip("Or drag a message onto another day")
        self.status_label = QLabel()
        self.status_label.setObjectName("calendarStatus")
        self.status_label.setAccessibleName("Last change")
        self.status_label.setWordWrap(True)

        left = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.today_label, 1)
        top.addWidget(self.today_button)
        left.addLayout(top)
        left.addWidget(self.calendar, 1)
        right = QVBoxLayout()
        right.addWidget(self.day_title)
        right.addWidget(self.day_list, 1)
        right.addWidget(self.edit_button)
        right.addWidget(self.status_label)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)

        # Today is picked before the signals are connected: the data is read when the
        # window first shows this view (refresh), not while the window is being built.
        today = self.today()
        self.calendar.setSelectedDate(QDate(today.year, today.month, today.day))
        self.calendar.selectionChanged.connect(self._show_day)
        self.calendar.currentPageChanged.connect(lambda _y, _m: self.refresh())
        self.today_button.clicked.connect(self.go_to_today)
        self.edit_button.clicked.connect(self.edit_selected)
        self.day_list.itemSelectionChanged.connect(self._update_buttons)
        actions.finished.connect(self.status_label.setText)
        self._update_buttons()

    @property
    def zone(self) -> str:
        return resolve_zone(self.service.settings().zone).key

    def today(self) -> date:
        return self.service.clock.now().astimezone(resolve_zone(self.zone)).date()

    def go_to_today(self) -> None:
        today = self.today()
        self.calendar.setSelectedDate(QDate(today.year, today.month, today.day))
        self.refresh()

    def _local_midnight(self, day: date) -> datetime:
        return localize(datetime.combine(day, time()), resolve_zone(self.zone))

    def refresh(self) -> None:
        today = self.today()
        self.today_label.setText(f"Today is {today:%d %b %Y} · times in {self.zone}")
        first = date(self.calendar.yearShown(), self.calendar.monthShown(), 1)
        # The grid shows up to a week either side of the month.
        start = self._local_midnight(first - timedelta(days=7))
        end = self._local_midnight(first + timedelta(days=45))
        self.calendar.set_counts(self.browser.day_counts(start, end, self.zone))
        self._show_day()

    def counts_on(self, day: date) -> dict[str, int]:
        return dict(self.calendar.counts.get(day, {}))

    def _show_day(self) -> None:
        day = _day(self.calendar.selectedDate())
        selected = {m.id for m in self.selected_messages()}
        start = self._local_midnight(day)
        end = self._local_midnight(day + timedelta(days=1))
        self._messages = self.browser.page(QueueFilter(start=start, end=end), limit=DAY_LIMIT)
        zone = resolve_zone(self.zone)
        self.day_title.setText(f"{format_local(start, zone)[:-10].strip()}: "
                               f"{len(self._messages)} message(s)")  # fmt: skip
        self.day_list.clear()
        for m in self._messages:
            local = m.send_at.astimezone(zone)
            item = QListWidgetItem(
                f"{local:%H:%M}  {m.recipient}  [{m.state}, {m.where}]  {first_line(m.text)[:40]}"
            )
            item.setData(MESSAGE_ID_ROLE, m.id)
            item.setForeground(QColor(STATE_COLOURS.get(m.state, "#000000")))
            item.setToolTip(m.text)
            self.day_list.addItem(item)
            if m.id in selected:
                item.setSelected(True)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.edit_button.setEnabled(bool(self.day_list.selectedItems()))

    def selected_messages(self) -> list[MessageView]:
        ids = {item.data(MESSAGE_ID_ROLE) for item in self.day_list.selectedItems()}
        return [m for m in self._messages if m.id in ids]

    def edit_selected(self) -> None:
        chosen = self.selected_messages()
        if not chosen:
            return
        send_at = self.ask_time(chosen)
        if send_at is not None:
            self.message_actions.reschedule([m.id for m in chosen], send_at)

    def move_to_day(self, ids: list[str], target: QDate) -> None:
        """Dropped on a day: the same wall time (in the message's own zone) on that day."""
        by_id = {m.id: m for m in self._messages}
        day = _day(target)
        for message_id in ids:
            m = by_id.get(message_id)
            if m is None:
                continue
            own = resolve_zone(m.zone)
            wall = datetime.combine(day, m.send_at.astimezone(own).time())
            try:
                send_at = localize(wall, own)
            except InvalidInput as exc:
                self.status_label.setText(str(exc))
                continue
            self.message_actions.reschedule([m.id], send_at)
