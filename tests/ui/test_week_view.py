"""The Calendar's week: hour slots in the desk's zone with message badges, read for the week
shown only; and the day list beside it, which wraps instead of running off sideways."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem
from pytestqt.qtbot import QtBot
from sqlalchemy import event

from smsdesk.core.clock import ManualClock
from smsdesk.core.timeparse import localize, resolve_zone
from smsdesk.engine.calendar_reads import CalendarReads
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.week_view import PER_SLOT

NO_PLACE = "+15551234567"  # a number that belongs to no place: no quiet hours apply


def text_of(item: QTableWidgetItem | None) -> str:
    assert item is not None
    return item.text()


def show_week(qtbot: QtBot, window: MainWindow) -> None:
    window.show_view("Calendar")
    qtbot.mouseClick(window.calendar.week_button, Qt.MouseButton.LeftButton)
    assert window.calendar.showing_week


def test_the_week_has_an_hour_slot_per_hour_with_badges_and_how_many_more(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    for minute in (5, 10, 20, 45):
        at = datetime(2026, 12, 2, 14, minute, tzinfo=UTC)
        service.schedule([NO_PLACE], f"Reminder {minute}", at, "UTC")
    service.schedule([NO_PLACE], "Other", datetime(2026, 12, 4, 9, 30, tzinfo=UTC), "UTC")
    show_week(qtbot, window)
    week = window.calendar.week
    headings = [text_of(week.horizontalHeaderItem(c)) for c in range(week.columnCount())]
    assert headings == ["Mon 30 Nov", "Tue 1 Dec", "Wed 2 Dec", "Thu 3 Dec", "Fri 4 Dec",
                        "Sat 5 Dec", "Sun 6 Dec"]  # fmt: skip
    hours = [text_of(week.verticalHeaderItem(r)) for r in range(week.rowCount())]
    assert hours[0] == "00:00" and hours[14] == "14:00" and len(hours) == 24
    assert week.counts_at(date(2026, 12, 2), 14) == {"queued": 4}
    assert [b.text for b in week.shown(14, 2)] == ["Reminder 5", "Reminder 10"][:PER_SLOT]
    assert text_of(week.item(14, 2)) == (
        "4 messages: 14:05 +15551234567 (queued) Reminder 5; "
        "14:10 +15551234567 (queued) Reminder 10; and 2 more"
    )
    assert text_of(week.item(9, 4)) == "1 message: 09:30 +15551234567 (queued) Other"
    assert text_of(week.item(9, 3)) == ""
    assert window.calendar.week_title.text() == "Mon 30 Nov – Sun 6 Dec"
    # Choosing a slot chooses its day: the day list shows that day's messages.
    qtbot.mouseClick(week.viewport(), Qt.MouseButton.LeftButton,
                     pos=week.visualRect(week.model().index(9, 4)).center())  # fmt: skip
    assert window.calendar.day_list.count() == 1
    assert window.calendar.day_title.text().startswith("Fri 4 Dec 2026")


def test_the_week_buttons_move_a_week_at_a_time(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    service.schedule([NO_PLACE], "Next week", datetime(2026, 12, 8, 10, 0, tzinfo=UTC), "UTC")
    show_week(qtbot, window)
    cal = window.calendar
    assert cal.week.counts_at(date(2026, 12, 8), 10) == {}
    qtbot.mouseClick(cal.next_week, Qt.MouseButton.LeftButton)
    assert cal.week_title.text() == "Mon 7 Dec – Sun 13 Dec"
    assert cal.week.counts_at(date(2026, 12, 8), 10) == {"queued": 1}
    qtbot.mouseClick(cal.previous_week, Qt.MouseButton.LeftButton)
    assert cal.week_title.text() == "Mon 30 Nov – Sun 6 Dec"
    qtbot.mouseClick(cal.month_button, Qt.MouseButton.LeftButton)
    assert not cal.showing_week and not cal.next_week.isVisible()


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        ("UTC", date(2026, 12, 7)),
        ("America/New_York", date(2027, 3, 8)),  # clocks go forward on Sun 14 Mar
        ("America/New_York", date(2027, 11, 1)),  # and back on Sun 7 Nov: 01:00 twice
        ("Asia/Kolkata", date(2026, 12, 7)),  # half an hour off UTC
        ("Asia/Kathmandu", date(2026, 12, 7)),  # three quarters
        ("Australia/Adelaide", date(2027, 9, 27)),  # half an hour off, and DST on Sun 3 Oct
    ],
)
def test_week_counts_per_local_hour_match_the_messages(
    db_ctx: AppContext, zone: str, first: date
) -> None:
    """On a SQLite file and on PostgreSQL, which bucket the hours each their own way."""
    service = Service(db_ctx)
    tz = resolve_zone(zone)
    start = localize(datetime.combine(first, datetime.min.time()), tz)
    end = localize(datetime.combine(first + timedelta(days=7), datetime.min.time()), tz)
    rnd = random.Random(15)
    length = (end - start) // timedelta(minutes=1)  # a week with a clock change is not 7×24 h
    times = sorted(start + timedelta(minutes=rnd.randrange(length)) for _ in range(150))
    times += [start + timedelta(minutes=m) for m in (0, 1, 2, 59)]  # crowd the first hour
    for at in times:
        service.schedule([NO_PLACE], "x", at, "UTC")
    service.schedule([NO_PLACE], "x", end, "UTC")  # the next week's first minute: not counted

    week = CalendarReads(service.ctx).week(start, end, zone, per_slot=2)

    def wall(at: datetime) -> tuple[date, int]:
        local = at.astimezone(tz)
        return local.date(), local.hour

    expected = Counter(wall(at) for at in times)
    got: Counter[tuple[date, int]] = Counter()
    for hour, by_state in week.counts.items():
        got[(hour.date(), hour.hour)] += by_state["queued"]
    assert got == expected
    for hour, badges in week.messages.items():
        assert all(wall(b.send_at) == (hour.date(), hour.hour) for b in badges)
        assert 1 <= len(badges) <= 2
    first_hour = sorted(at for at in times if wall(at) == wall(start))
    assert [b.send_at for b in week.messages[start.astimezone(tz)]] == first_hour[:2]


@pytest.fixture
def statements(service: Service) -> Iterator[list[str]]:
    """The SQL the database is asked while the test runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = service.ctx.db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_the_week_reads_only_the_week_shown_through_the_send_time_index(
    qtbot: QtBot, window: MainWindow, service: Service, statements: list[str]
) -> None:
    """Whatever the queue's size, the week costs what the week holds: every read of messages
    is a range on an index of the send time, never a walk over the whole table."""
    for day in range(0, 60, 3):
        at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC) + timedelta(days=day)
        service.schedule([NO_PLACE], "x", at, "UTC")
    show_week(qtbot, window)
    statements.clear()
    window.calendar.refresh()
    reads = [sql for sql in statements if "FROM message" in sql]
    assert len(reads) >= 3  # the week's counts, its badges, the chosen day's list
    with service.ctx.db.engine.connect() as conn:
        for sql in reads:
            params = tuple("2026-12-01 00:00:00.000000" for _ in range(sql.count("?")))
            plan = " | ".join(
                row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
            assert "SCAN message" not in plan, (sql, plan)
            assert "USING" in plan and "INDEX" in plan, (sql, plan)
    assert window.calendar.week.counts_at(date(2026, 12, 2), 10) == {"queued": 1}


def test_the_day_list_wraps_instead_of_running_off_sideways(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    text = (
        "Dr. Patel is running about thirty minutes late this afternoon; please arrive at "
        "15:30 instead of 15:00 or call the front desk to move your appointment"
    )
    service.schedule([NO_PLACE], text, clock.now() + timedelta(hours=3), "UTC")
    window.show_view("Calendar")
    day_list = window.calendar.day_list
    assert day_list.count() == 1
    item = day_list.item(0)
    assert text in item.text()  # the whole first line, not its first 40 characters
    rect = day_list.visualItemRect(item)
    viewport = day_list.viewport().rect()
    assert day_list.horizontalScrollBar().maximum() == 0
    assert rect.left() >= 0 and rect.right() <= viewport.right()
    # Wrapped onto several lines, each in view.
    assert rect.height() >= 3 * day_list.fontMetrics().height()
