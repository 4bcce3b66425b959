"""The Calendar's day list always lists the day the grid highlights: after the month arrows,
the year box, the keys, a click on any cell (the next or previous month's too), Today, the
week's buttons and slots, a drop, and a refresh. Turning the page keeps the day of the month
(the last day of a shorter month), as Qt's own Page Up/Down do."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox, QToolButton
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.calendar_view import CalendarView
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.month_view import day_of
from smsdesk.ui.week_view import day_heading
from tests.ui.test_calendar_drag import day_item_centre, drag, month_cell

NO_PLACE = "+15551234567"  # a number that belongs to no place: no quiet hours apply
LEFT = Qt.MouseButton.LeftButton
TODAY = date(2026, 12, 1)  # the test clock's day

# Messages on days where a wrong day list shows: the months' first and last days, a short
# month's end, the spill-over days at the edges of December and January.
DAYS = (date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 28), date(2026, 12, 31),
        date(2027, 1, 1), date(2027, 1, 5), date(2027, 1, 31), date(2027, 2, 1),
        date(2027, 2, 28), date(2027, 3, 1), date(2027, 3, 28))  # fmt: skip


def store(service: Service, day: date, text: str | None = None, hour: int = 10) -> str:
    text = text or f"For {day.isoformat()}"
    service.schedule(
        [NO_PLACE], text, datetime(day.year, day.month, day.day, hour, tzinfo=UTC), "UTC"
    )
    return text


@pytest.fixture
def stored(service: Service) -> dict[date, list[str]]:
    """Each day's message texts, as the day list should list them (by time)."""
    by_day = {day: [store(service, day)] for day in DAYS}
    by_day[TODAY].append(store(service, TODAY, "Second on the first", hour=15))
    return by_day


def arrow(cal: CalendarView, name: str) -> QToolButton:
    button = cal.calendar.findChild(QToolButton, name)
    assert button is not None and button.isVisible(), name
    return button


def highlighted(cal: CalendarView) -> date | None:
    """The day the visible grid highlights: the month's selected cell, or the week's."""
    if cal.showing_week:
        indexes = cal.week.selectionModel().selectedIndexes()
        return cal.week.days[indexes[0].column()] if len(indexes) == 1 else None
    grid = cal.calendar.grid
    indexes = grid.selectionModel().selectedIndexes()
    if len(indexes) != 1:
        return None
    found = cal.calendar.date_at(grid.visualRect(indexes[0]).center())
    return day_of(found) if found is not None else None


def listed(cal: CalendarView) -> list[str]:
    """The texts the day list shows (each row's second line)."""
    return [cal.day_list.item(r).text().split("\n")[1] for r in range(cal.day_list.count())]


def assert_shows(cal: CalendarView, day: date, stored: dict[date, list[str]]) -> None:
    """What the window says is what it shows: one day highlighted, chosen, named and listed,
    and on the page (the month of the day, or its week)."""
    assert day_of(cal.calendar.selectedDate()) == day
    assert highlighted(cal) == day
    expected = stored.get(day, [])
    assert cal.day_title.text() == f"{day_heading(day)} {day.year}: {len(expected)} message(s)"
    assert listed(cal) == expected
    if cal.showing_week:
        assert day in cal.week.days
    else:
        assert (cal.calendar.yearShown(), cal.calendar.monthShown()) == (day.year, day.month)


def open_month(window: MainWindow) -> CalendarView:
    window.show_view("Calendar")
    cal = window.calendar
    assert not cal.showing_week
    return cal


def test_the_month_arrows_choose_the_same_day_of_the_new_month(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    assert_shows(cal, TODAY, stored)
    steps = [
        ("qt_calendar_nextmonth", date(2027, 1, 1)),
        ("qt_calendar_nextmonth", date(2027, 2, 1)),
        ("qt_calendar_prevmonth", date(2027, 1, 1)),
        ("qt_calendar_prevmonth", date(2026, 12, 1)),
        ("qt_calendar_prevmonth", date(2026, 11, 1)),  # the past: nothing listed
        ("qt_calendar_nextmonth", date(2026, 12, 1)),
    ]
    for name, day in steps:
        qtbot.mouseClick(arrow(cal, name), LEFT)
        assert_shows(cal, day, stored)
    # The 31st: a shorter month's last day, then that day of the month onwards.
    qtbot.mouseClick(cal.calendar.grid.viewport(), LEFT, pos=month_cell(window, date(2026, 12, 31)))
    assert_shows(cal, date(2026, 12, 31), stored)
    for name, day in [
        ("qt_calendar_nextmonth", date(2027, 1, 31)),
        ("qt_calendar_nextmonth", date(2027, 2, 28)),
        ("qt_calendar_nextmonth", date(2027, 3, 28)),
        ("qt_calendar_prevmonth", date(2027, 2, 28)),
    ]:
        qtbot.mouseClick(arrow(cal, name), LEFT)
        assert_shows(cal, day, stored)


def test_the_keys_move_from_the_day_the_arrows_chose(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    grid = cal.calendar.grid
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 1, 1), stored)
    grid.setFocus()
    keys = [
        (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, date(2027, 1, 2)),
        (Qt.Key.Key_PageDown, Qt.KeyboardModifier.NoModifier, date(2027, 2, 2)),
        (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier, date(2027, 2, 28)),
        (Qt.Key.Key_PageUp, Qt.KeyboardModifier.NoModifier, date(2027, 1, 28)),
        (Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier, date(2027, 1, 1)),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier, date(2026, 12, 31)),  # into December
        (Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier, date(2027, 1, 7)),
    ]
    for key, modifier, day in keys:
        qtbot.keyClick(grid, key, modifier)
        assert_shows(cal, day, stored)
    qtbot.mouseClick(arrow(cal, "qt_calendar_prevmonth"), LEFT)
    assert_shows(cal, date(2026, 12, 7), stored)
    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert_shows(cal, date(2026, 12, 31), stored)


def test_a_click_on_the_next_or_previous_months_days_chooses_that_day(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    viewport = cal.calendar.grid.viewport()
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 1, 1), stored)
    # January's page begins with the end of December: clicking it goes back to December.
    qtbot.mouseClick(viewport, LEFT, pos=month_cell(window, date(2026, 12, 28)))
    assert_shows(cal, date(2026, 12, 28), stored)
    qtbot.mouseClick(viewport, LEFT, pos=month_cell(window, date(2027, 1, 5)))
    assert_shows(cal, date(2027, 1, 5), stored)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 2, 5), stored)
    qtbot.mouseClick(viewport, LEFT, pos=month_cell(window, date(2027, 3, 1)))
    assert_shows(cal, date(2027, 3, 1), stored)


def test_the_year_box_turns_the_page_and_chooses_that_day_there(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 3, 1), stored)
    qtbot.mouseClick(arrow(cal, "qt_calendar_yearbutton"), LEFT)
    year = cal.calendar.findChild(QSpinBox, "qt_calendar_yearedit")
    assert year is not None and year.isVisible()
    year.selectAll()
    qtbot.keyClicks(year, "2026")
    qtbot.keyClick(year, Qt.Key.Key_Return)
    assert_shows(cal, date(2026, 3, 1), stored)


def test_today_comes_back_from_another_month_and_another_slot_of_the_week(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 2, 1), stored)
    qtbot.mouseClick(cal.today_button, LEFT)
    assert_shows(cal, TODAY, stored)
    qtbot.mouseClick(cal.week_button, LEFT)
    assert_shows(cal, TODAY, stored)
    week = cal.week
    # A slot on Thursday 31 Dec, four weeks on, then Today.
    for _ in range(4):
        qtbot.mouseClick(cal.next_week, LEFT)
    assert_shows(cal, date(2026, 12, 29), stored)
    thursday = week.visualRect(week.model().index(week.currentRow(), 3)).center()
    qtbot.mouseClick(week.viewport(), LEFT, pos=thursday)
    assert_shows(cal, date(2026, 12, 31), stored)
    qtbot.mouseClick(cal.today_button, LEFT)
    assert_shows(cal, TODAY, stored)
    assert cal.week_title.text() == "Mon 30 Nov – Sun 6 Dec"


def test_the_week_shows_the_week_of_the_day_the_month_chose(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 1, 1), stored)
    qtbot.mouseClick(cal.week_button, LEFT)
    assert cal.week_title.text() == "Mon 28 Dec – Sun 3 Jan"
    assert_shows(cal, date(2027, 1, 1), stored)
    assert cal.week.counts_at(date(2027, 1, 1), 10) == {"queued": 1}
    qtbot.mouseClick(cal.previous_week, LEFT)  # into December: the month page follows
    assert_shows(cal, date(2026, 12, 25), stored)
    qtbot.mouseClick(cal.month_button, LEFT)
    assert_shows(cal, date(2026, 12, 25), stored)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    qtbot.mouseClick(cal.week_button, LEFT)
    assert cal.week_title.text() == "Mon 25 Jan – Sun 31 Jan"
    assert_shows(cal, date(2027, 1, 25), stored)


def test_a_refresh_and_a_drop_keep_the_highlighted_day_listed(
    qtbot: QtBot, window: MainWindow, service: Service, stored: dict[date, list[str]]
) -> None:
    cal = open_month(window)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(2027, 1, 1), stored)
    stored[date(2027, 1, 1)].append(store(service, date(2027, 1, 1), "Added meanwhile", 16))
    qtbot.keyClick(window, Qt.Key.Key_F5)  # as the periodic refresh does
    assert_shows(cal, date(2027, 1, 1), stored)
    window.refresh_visible()  # the periodic refresh's own call
    assert_shows(cal, date(2027, 1, 1), stored)
    # Drag the day's first message onto the 5th: the 1st stays chosen, without it.
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.calendar.grid.viewport(), month_cell(window, date(2027, 1, 5)))  # fmt: skip
    qtbot.waitUntil(lambda: cal.counts_on(date(2027, 1, 5)) == {"queued": 2})
    stored[date(2027, 1, 5)].insert(0, stored[date(2027, 1, 1)].pop(0))
    assert_shows(cal, date(2027, 1, 1), stored)


def test_a_walk_of_every_way_of_choosing_a_day(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    """Arrows, keys, clicks on any cell, Today, the week's buttons and slots, switching views
    and refreshing, in a random order: after each, the highlighted day is the one listed."""
    cal = open_month(window)
    rnd = random.Random(7)
    keys = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
            Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End)  # fmt: skip
    done: set[str] = set()
    visited: set[date] = set()
    for _ in range(80):
        if cal.showing_week:
            kind = rnd.choice(["next week", "previous week", "slot", "today", "month", "F5"])
        else:
            kind = rnd.choice(["next", "previous", "next", "previous", "key", "cell",
                               "today", "week", "F5"])  # fmt: skip
        done.add(kind)
        if kind in ("next", "previous"):
            qtbot.mouseClick(arrow(cal, f"qt_calendar_{kind[:4]}month"), LEFT)
        elif kind == "key":
            qtbot.keyClick(cal.calendar.grid, rnd.choice(keys))
        elif kind == "cell":
            grid = cal.calendar.grid
            index = grid.model().index(rnd.randrange(1, 7), rnd.randrange(7))  # row 0: names
            qtbot.mouseClick(grid.viewport(), LEFT, pos=grid.visualRect(index).center())
        elif kind == "today":
            qtbot.mouseClick(cal.today_button, LEFT)
        elif kind in ("week", "month"):
            qtbot.mouseClick(cal.week_button if kind == "week" else cal.month_button, LEFT)
        elif kind in ("next week", "previous week"):
            qtbot.mouseClick(cal.next_week if kind == "next week" else cal.previous_week, LEFT)
        elif kind == "slot":
            index = cal.week.model().index(rnd.randrange(7, 19), rnd.randrange(7))
            cal.week.scrollTo(index)
            qtbot.mouseClick(cal.week.viewport(), LEFT, pos=cal.week.visualRect(index).center())
        else:
            qtbot.keyClick(window, Qt.Key.Key_F5)
        day = day_of(cal.calendar.selectedDate())
        assert_shows(cal, day, stored)
        visited.add(day)
    # Every kind of step was taken, in both views, over many days, some with messages.
    assert done == {"next", "previous", "key", "cell", "today", "week", "F5", "next week",
                    "previous week", "slot", "month"}  # fmt: skip
    assert len(visited) >= 20 and len(visited & set(stored)) >= 3


def test_the_day_is_named_and_read_whole_in_any_zone(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    """Kathmandu's abbreviation is "+0545", and in Santiago Sun 5 Sep 2027 has no midnight
    (clocks skip from 00:00 to 01:00): each day is still named and listed whole."""
    service.update_settings(zone="Asia/Kathmandu")
    cal = open_month(window)
    store(service, date(2026, 12, 5))
    cal.select_day(date(2026, 12, 5))
    assert cal.day_title.text() == "Sat 5 Dec 2026: 1 message(s)"
    service.update_settings(zone="America/Santiago")
    first = datetime(2027, 9, 5, 4, 0, tzinfo=UTC)  # 01:00 there: the day's first minute
    service.schedule([NO_PLACE], "At the start of the day", first, "UTC")
    service.schedule([NO_PLACE], "The evening before", first - timedelta(minutes=1), "UTC")
    cal.select_day(date(2027, 9, 5))
    assert cal.day_title.text() == "Sun 5 Sep 2027: 1 message(s)"
    assert listed(cal) == ["At the start of the day"]
    assert cal.counts_on(date(2027, 9, 5)) == {"queued": 1}


def test_the_last_day_the_calendar_reaches_is_listed_too(
    qtbot: QtBot, window: MainWindow, stored: dict[date, list[str]]
) -> None:
    """Qt's calendar runs to 31 Dec 9999, where the day after cannot be counted: it stops a
    year before, and the arrows and keys stay on its last day."""
    cal = open_month(window)
    qtbot.mouseClick(arrow(cal, "qt_calendar_yearbutton"), LEFT)
    year = cal.calendar.findChild(QSpinBox, "qt_calendar_yearedit")
    assert year is not None and year.maximum() == 9998
    year.selectAll()
    qtbot.keyClicks(year, "9998")
    qtbot.keyClick(year, Qt.Key.Key_Return)
    assert_shows(cal, date(9998, 12, 1), stored)
    grid = cal.calendar.grid
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert_shows(cal, date(9998, 12, 31), stored)
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_PageDown)
    qtbot.mouseClick(arrow(cal, "qt_calendar_nextmonth"), LEFT)
    assert_shows(cal, date(9998, 12, 31), stored)
    qtbot.mouseClick(cal.week_button, LEFT)
    assert cal.week_title.text() == "Mon 28 Dec – Sun 3 Jan"
    assert_shows(cal, date(9998, 12, 31), stored)
    week = cal.week  # a slot past the last day: the last day stays chosen and highlighted
    sunday = week.visualRect(week.model().index(week.currentRow(), 6)).center()
    qtbot.mouseClick(week.viewport(), LEFT, pos=sunday)
    assert_shows(cal, date(9998, 12, 31), stored)
