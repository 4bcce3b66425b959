"""Calendar: a month with the number of messages per day, or a week by hour slots, coloured by
state, and the chosen day's messages beside it. Moving a message (edit, or drag onto a day
or an hour) reschedules it. Every day and time shown is in the desk's zone, as in the Queue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import QDate, QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import day_start, localize, resolve_zone
from smsdesk.engine.browse import QueueFilter
from smsdesk.engine.calendar_marks import Marks, marks
from smsdesk.engine.calendar_reads import CalendarReads
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.actions import MessageActions
from smsdesk.ui.calendar_colours import CONFIRMED_MARK, SERIES_MARK, Legend, state_icon
from smsdesk.ui.calendar_drag import DragGesture
from smsdesk.ui.day_list import MESSAGE_ID_ROLE, DayList
from smsdesk.ui.month_view import CountsCalendar, day_of
from smsdesk.ui.queue_model import first_line
from smsdesk.ui.reschedule_dialog import AskTime
from smsdesk.ui.reschedule_dialog import ask_with_dialog as ask_time_with_dialog
from smsdesk.ui.week_view import FIRST_HOUR_SHOWN, PER_SLOT, WeekGrid, day_heading

DAY_LIMIT = 500  # a day list longer than this is for the Queue's filters


def _button(text: str, name: str, accessible: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    return button


def _arrow(text: str, name: str, accessible: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(name)
    button.setAccessibleName(accessible)
    button.setToolTip(accessible)
    return button


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
        self.reads = CalendarReads(service.ctx)
        self.ask_time = ask_time or ask_time_with_dialog(self)
        self.setObjectName("calendarView")
        self.setAccessibleName("Calendar")
        self._messages: list[MessageView] = []
        # The times of the messages on screen, for drops: the day list's, the week's badges'.
        self._day_known: dict[str, datetime] = {}
        self._week_known: dict[str, datetime] = {}
        # What is on screen, so a change of day reads only what it changes; None: read again.
        self._page_read: tuple[int, int] | None = None  # the month whose counts are shown
        self._week_read: date | None = None  # the first day of the week shown
        self._day_read: date | None = None  # the day the day list shows
        self.gesture = DragGesture(self.drop_at, self._hover)

        self.calendar = CountsCalendar()
        self.week = WeekGrid()
        self.week.gesture = self.gesture
        self.views = QStackedWidget()
        self.views.addWidget(self.calendar)
        self.views.addWidget(self.week)
        self.month_button = _button("Month", "monthButton", "Show the month")
        self.week_button = _button("Week", "weekButton", "Show the week by hour")
        self.mode = QButtonGroup(self)
        for button in (self.month_button, self.week_button):
            button.setCheckable(True)
            self.mode.addButton(button)
        self.month_button.setChecked(True)
        self.previous_week = _arrow("◀", "previousWeekButton", "Previous week")
        self.next_week = _arrow("▶", "nextWeekButton", "Next week")
        self.week_title = QLabel()
        self.week_title.setObjectName("weekTitle")
        self.today_label = QLabel()
        self.today_label.setObjectName("todayLabel")
        self.today_label.setAccessibleName("Today and time zone")
        self.today_label.setWordWrap(True)
        self.today_button = _button("Today", "todayButton", "Go to today")
        self.legend = Legend()
        self.day_title = QLabel()
        self.day_title.setObjectName("dayTitle")
        self.day_title.setAccessibleName("Chosen day")
        self.day_title.setWordWrap(True)
        self.day_list = DayList()
        self.day_list.gesture = self.gesture
        self.day_list.setObjectName("dayList")
        self.day_list.setAccessibleName("Messages on the chosen day")
        self.day_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.edit_button = _button("Change time…", "changeTimeButton", "Change time")
        self.edit_button.setToolTip("Or drag a message onto another day or hour")
        self.status_label = QLabel()
        self.status_label.setObjectName("calendarStatus")
        self.status_label.setAccessibleName("Last change")
        self.status_label.setWordWrap(True)

        # Two short rows, so the controls never make the window wider than the grid needs.
        top = QHBoxLayout()
        top.addWidget(self.month_button)
        top.addWidget(self.week_button)
        top.addStretch(1)
        controls: tuple[QWidget, ...] = (self.previous_week, self.week_title, self.next_week,
                                         self.today_button)  # fmt: skip
        for control in controls:
            top.addWidget(control)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.today_label)
        left_layout.addWidget(self.views, 1)
        left_layout.addWidget(self.legend)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.day_title)
        right_layout.addWidget(self.day_list, 1)
        right_layout.addWidget(self.edit_button)
        right_layout.addWidget(self.status_label)
        # A splitter: the day list can be widened, and its text wraps to whatever it gets.
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("calendarSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        # Today is picked before the signals are connected: the data is read when the
        # window first shows this view (refresh), not while the window is being built.
        today = self.today()
        self.calendar.setSelectedDate(QDate(today.year, today.month, today.day))
        self.calendar.selectionChanged.connect(self._show_selected)
        self.calendar.currentPageChanged.connect(self._page_turned)
        self.week.currentCellChanged.connect(self._slot_chosen)
        self.month_button.toggled.connect(self._mode_changed)
        self.previous_week.clicked.connect(lambda: self._move_week(-7))
        self.next_week.clicked.connect(lambda: self._move_week(7))
        self.today_button.clicked.connect(self.go_to_today)
        self.edit_button.clicked.connect(self.edit_selected)
        self.day_list.itemSelectionChanged.connect(self._update_buttons)
        actions.finished.connect(self.status_label.setText)
        self._show_mode_controls()
        self._update_buttons()

    # -- what is shown ---------------------------------------------------------------------

    @property
    def zone(self) -> str:
        return resolve_zone(self.service.settings().zone).key

    @property
    def showing_week(self) -> bool:
        return self.views.currentWidget() is self.week

    def today(self) -> date:
        return self.service.clock.now().astimezone(resolve_zone(self.zone)).date()

    def selected_day(self) -> date:
        return day_of(self.calendar.selectedDate())

    def week_start(self) -> date:
        day = self.selected_day()
        first = int(self.calendar.firstDayOfWeek().value)  # 1 = Monday … 7 = Sunday
        return day - timedelta(days=(day.isoweekday() - first) % 7)

    def go_to_today(self) -> None:
        self.select_day(self.today())

    def select_day(self, day: date) -> None:
        self.calendar.setSelectedDate(QDate(day.year, day.month, day.day))
        self._show_selected()  # Qt says nothing when the day was already selected

    def _move_week(self, days: int) -> None:
        self.select_day(self.selected_day() + timedelta(days=days))

    def _mode_changed(self, month: bool) -> None:
        self.views.setCurrentWidget(self.calendar if month else self.week)
        self._show_mode_controls()
        self.refresh()

    def _show_mode_controls(self) -> None:
        week = self.showing_week
        for widget in (self.previous_week, self.next_week, self.week_title):
            widget.setVisible(week)

    def _page_turned(self, year: int, month: int) -> None:
        """The month arrows, the month menu and the year box turn the page without choosing
        a day (Qt moves only its keyboard cursor): the same day of the month is chosen there,
        the last day for a shorter month, so the day highlighted is always the day listed."""
        day = self.selected_day()
        if (day.year, day.month) != (year, month):
            last = QDate(year, month, 1).daysInMonth()
            self.calendar.setSelectedDate(QDate(year, month, min(day.day, last)))
        self._show_selected()

    def _show_selected(self) -> None:
        """The one place that follows the selected day: every way of choosing a day or
        turning a page (arrows, keys, a click on any cell, Today, the week's buttons and
        slots, a refresh) ends here. It reads what no longer matches the day: the month's
        counts, the week, the day list."""
        day = self.selected_day()
        if self.showing_week:
            first = self.week_start()
            if first != self._week_read:
                self._read_week(first)
            self._highlight_in_week(day)
        else:
            page = (self.calendar.yearShown(), self.calendar.monthShown())
            if page != self._page_read:
                self._read_month(*page)
        if day != self._day_read:
            self._show_day()

    def _highlight_in_week(self, day: date) -> None:
        """The week highlights a slot of the selected day: the same hour, or the morning."""
        column = self.week.days.index(day)
        row = self.week.currentRow() if self.week.currentRow() >= 0 else FIRST_HOUR_SHOWN
        if (row, column) != (self.week.currentRow(), self.week.currentColumn()):
            self.week.setCurrentCell(row, column)

    def _slot_chosen(self, row: int, column: int, _row: int, _column: int) -> None:
        if 0 <= column < len(self.week.days) and row >= 0:
            day = self.week.days[column]
            if day != self.selected_day():
                self.calendar.setSelectedDate(QDate(day.year, day.month, day.day))

    def _day_start(self, day: date) -> datetime:
        return day_start(day, resolve_zone(self.zone))

    def refresh(self) -> None:
        """Read again what is visible: the month's counts or the week's slots, and the
        selected day's messages."""
        today = self.today()
        self.today_label.setText(f"Today is {today:%d %b %Y} · times in {self.zone}")
        self._page_read = self._week_read = self._day_read = None
        self._show_selected()

    def _read_week(self, first: date) -> None:
        start, end = self._day_start(first), self._day_start(first + timedelta(7))
        slots = self.reads.week(start, end, self.zone, per_slot=PER_SLOT)
        marked = marks(self.service.ctx, start, end)
        self.week.show_week(first, slots, resolve_zone(self.zone), marked)
        last = first + timedelta(days=6)
        self.week_title.setText(f"{day_heading(first)} – {day_heading(last)}")
        self._week_known = {m.id: m.send_at for shown in slots.messages.values() for m in shown}
        self._week_read = first

    def _read_month(self, year: int, month: int) -> None:
        first = date(year, month, 1)
        # The grid shows up to a week either side of the month.
        start = self._day_start(first - timedelta(days=7))
        end = self._day_start(first + timedelta(days=45))
        counts = self.browser.day_counts(start, end, self.zone)
        self.calendar.set_counts(counts, *self._by_day(marks(self.service.ctx, start, end)))
        self._page_read = (year, month)

    def _by_day(self, shown: Marks) -> tuple[dict[date, list[str]], dict[date, list[str]]]:
        """The series' stored and planned occurrences per local day."""
        zone = resolve_zone(self.zone)
        stored: dict[date, list[str]] = {}
        for _id, at, name in shown.stored:
            stored.setdefault(at.astimezone(zone).date(), []).append(name)
        planned: dict[date, list[str]] = {}
        for p in shown.planned:
            planned.setdefault(p.at.astimezone(zone).date(), []).append(p.name)
        return stored, planned

    def counts_on(self, day: date) -> dict[str, int]:
        return dict(self.calendar.counts.get(day, {}))

    def _show_day(self) -> None:
        day = self.selected_day()
        selected = {m.id for m in self.selected_messages()}
        start = self._day_start(day)
        end = self._day_start(day + timedelta(days=1))
        self._messages = self.browser.page(QueueFilter(start=start, end=end), limit=DAY_LIMIT)
        self._day_known = {m.id: m.send_at for m in self._messages}
        self._day_read = day
        zone = resolve_zone(self.zone)
        more = "+" if len(self._messages) >= DAY_LIMIT else ""
        # Named from the day itself: a zone's abbreviation varies in length ("+0545").
        self.day_title.setText(
            f"{day_heading(day)} {day.year}: {len(self._messages)}{more} message(s)"
        )
        self.day_list.clear()
        shown = marks(self.service.ctx, start, end)
        rows: list[tuple[datetime, int, QListWidgetItem]] = []
        for m in self._messages:
            local = m.send_at.astimezone(zone)
            series = shown.series.get(m.id)
            mark = (f"{SERIES_MARK} " if series else "") + (
                f"{CONFIRMED_MARK} confirmed  " if m.id in shown.confirmed else ""
            )
            # The text keeps the theme's colour (readable light or dark); the dot says the
            # state's colour, as in the legend.
            item = QListWidgetItem(
                state_icon(m.state),
                f"{mark}{local:%H:%M}  {m.recipient}  ·  {m.state.replace('_', ' ')}, "
                f"{m.where}\n{first_line(m.text)}",
            )
            item.setData(MESSAGE_ID_ROLE, m.id)
            item.setToolTip(f"Series: {series}\n{m.text}" if series else m.text)
            rows.append((m.send_at, 0, item))
        for p in shown.planned:
            # Computed from the series' rule: no message yet, so nothing to drag or change
            # here (Series skips this date or edits the series).
            item = QListWidgetItem(
                f"{SERIES_MARK} {p.at.astimezone(zone):%H:%M}  {p.recipients}  ·  planned, "
                f"not stored yet\n{p.name}"
            )
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip(
                f"Planned occurrence of the series “{p.name}”. It is stored as a message "
                "35 days ahead; to change it, skip this date or edit the series in Series."
            )
            rows.append((p.at, 1, item))
        for _at, _kind, item in sorted(rows, key=lambda r: (r[0], r[1])):
            self.day_list.addItem(item)
            if item.data(MESSAGE_ID_ROLE) in selected:
                item.setSelected(True)
        self._update_buttons()

    def _time_shown(self, message_id: str) -> datetime | None:
        """The send time of a message on screen (in the day list or a week badge)."""
        return self._day_known.get(message_id) or self._week_known.get(message_id)

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

    # -- moving with the mouse ---------------------------------------------------------

    def target_at(self, at: QPoint) -> tuple[date, int | None] | None:
        """The day (and, on the week, the hour) under a global position."""
        if self.showing_week:
            viewport = self.week.viewport()
            local = viewport.mapFromGlobal(at)
            if viewport.isVisible() and viewport.rect().contains(local):
                return self.week.slot_at(local)
            return None
        grid = self.calendar.grid
        local = grid.viewport().mapFromGlobal(at)
        if grid.viewport().isVisible() and grid.viewport().rect().contains(local):
            found = self.calendar.date_at(local)
            return (day_of(found), None) if found is not None else None
        return None

    def _hover(self, at: QPoint | None) -> None:
        if at is not None and self.showing_week:
            self._scroll_near_edge(at)
        target = self.target_at(at) if at is not None else None
        if self.showing_week:
            slot = None
            if target is not None and target[1] is not None:
                slot = (target[1], self.week.days.index(target[0]))
            self.week.set_drop_hint(slot)
        else:
            self.calendar.set_drop_hint(target[0] if target is not None else None)

    def _scroll_near_edge(self, at: QPoint) -> None:
        """Dragging near the top or bottom of the week scrolls it, so every hour can be
        reached with the button held."""
        viewport = self.week.viewport()
        local = viewport.mapFromGlobal(at)
        band = self.week.fontMetrics().height() * 2
        if not 0 <= local.x() < viewport.width():
            return
        bar = self.week.verticalScrollBar()
        step = max(self.week.verticalHeader().defaultSectionSize() // 3, 1)
        if -band <= local.y() < band:
            bar.setValue(bar.value() - step)
        elif viewport.height() - band <= local.y() < viewport.height() + band:
            bar.setValue(bar.value() + step)

    def drop_at(self, ids: list[str], at: QPoint) -> None:
        target = self.target_at(at)
        if target is None:
            return  # released outside the month or the week: nothing moves
        self.move_to(ids, target[0], target[1])

    def move_to(self, ids: list[str], day: date, hour: int | None = None) -> None:
        """Dropped on a day (same time of day) or an hour of a day (same minutes), on the
        desk's clock as the Calendar shows it. A time a message cannot go to is refused,
        with why, and nothing moves."""
        zone = resolve_zone(self.zone)
        moves: dict[str, datetime] = {}
        for message_id in ids:
            was = self._time_shown(message_id)
            if was is None:
                continue
            shown = was.astimezone(zone)
            wall = datetime.combine(day, shown.time().replace(tzinfo=None))
            if hour is not None:
                wall = wall.replace(hour=hour)
            try:
                send_at = localize(wall, zone)
            except InvalidInput as exc:
                self._refuse(f"{exc}".rstrip("."))
                return
            if send_at != was:
                moves[message_id] = send_at
        if not moves:
            return
        refused = self.reads.refusals(moves, self.zone)
        if refused:
            first = next(iter(refused.values()))
            others = f" ({len(refused)} of {len(moves)} messages cannot)" if len(moves) > 1 else ""
            self._refuse(f"{first}{others}")
            return
        by_time: dict[datetime, list[str]] = {}
        for message_id, send_at in moves.items():
            by_time.setdefault(send_at, []).append(message_id)
        for send_at, group in by_time.items():
            self.message_actions.reschedule(group, send_at)

    def _refuse(self, why: str) -> None:
        self.status_label.setText(f"Not moved: {why}.")

    def move_to_day(self, ids: list[str], target: QDate) -> None:
        """Dropped on a day of the month: the same time of day on ``target``."""
        self.move_to(ids, day_of(target))
