"""Moving messages in the Calendar with the mouse: pressed, moved and released through the
window (as a pointer would), onto a day of the month or an hour of the week. A time the
message cannot go to is refused with the reason, and nothing changes."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.main_window import MainWindow
from tests.simulators.telnyx import TelnyxSimulator

NEW_YORK = "+12125550143"  # a New York number: quiet hours are New York's nights
NO_PLACE = "+15551234567"  # a number that belongs to no place: no quiet hours apply
TELNYX_KEY = "KEY01a7c2-telnyx-calendar-3d9e"


def drag(window: MainWindow, source: QWidget, start: QPoint, target: QWidget, end: QPoint) -> None:
    """Press, move in steps and release through the window's own event path, so Qt picks the
    widget under the pointer and keeps the mouse with it until release, as for a user."""
    handle = window.windowHandle()
    assert handle is not None
    first, last = source.mapTo(window, start), target.mapTo(window, end)
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(handle, left, none, first)
    for step in range(1, 6):
        QTest.mouseMove(handle, first + (last - first) * step / 5)
    QTest.mouseRelease(handle, left, none, last)


def shown(service: Service, message_id: str) -> MessageView:
    [message] = service.show(message_id)
    return message


def day_item_centre(window: MainWindow, row: int = 0) -> QPoint:
    day_list = window.calendar.day_list
    return day_list.visualItemRect(day_list.item(row)).center()


def month_cell(window: MainWindow, day: date) -> QPoint:
    rect = window.calendar.calendar.cell_rect(day)
    assert rect is not None, f"{day} is not on the month shown"
    return rect.center()


def week_cell(window: MainWindow, day: date, hour: int) -> QPoint:
    week = window.calendar.week
    index = week.model().index(hour, week.days.index(day))
    # The user scrolls the hour into view first (away from the edges, which scroll a drag).
    week.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
    return week.visualRect(index).center()


def open_calendar(window: MainWindow, *, week: bool = False) -> None:
    window.show_view("Calendar")
    if week:
        QTest.mouseClick(window.calendar.week_button, Qt.MouseButton.LeftButton)
        assert window.calendar.showing_week


def test_dragging_a_message_onto_a_day_of_the_month_moves_it_there(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    [m] = service.schedule([NEW_YORK], "Checkup", clock.now() + timedelta(hours=6), "UTC").messages
    open_calendar(window)
    cal = window.calendar
    assert cal.day_list.count() == 1
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.calendar.grid.viewport(), month_cell(window, date(2026, 12, 10)))  # fmt: skip
    qtbot.waitUntil(lambda: cal.counts_on(date(2026, 12, 10)) == {"queued": 1})
    # The same time of day, on the desk's clock.
    assert shown(service, m.message.id).send_at == datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
    assert cal.counts_on(date(2026, 12, 1)) == {}
    assert cal.status_label.text().startswith("Rescheduled 1 message")


def test_dragging_a_badge_in_the_week_to_another_day_and_hour(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    at = datetime(2026, 12, 1, 15, 40, tzinfo=UTC)  # 10:40 in New York
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    open_calendar(window, week=True)
    week = window.calendar.week
    assert week.days[0] == date(2026, 11, 30)  # the week of Tue 1 Dec, from Monday
    assert week.counts_at(date(2026, 12, 1), 15) == {"queued": 1}
    target = week_cell(window, date(2026, 12, 3), 18)
    week.scrollTo(week.model().index(15, 1))  # both hours in view
    target = week.visualRect(week.model().index(18, 3)).center()
    badge = week.badge_rect(m.message.id)
    assert badge is not None and week.viewport().rect().contains(target)
    drag(window, week.viewport(), badge.center(), week.viewport(), target)
    qtbot.waitUntil(lambda: week.counts_at(date(2026, 12, 3), 18) == {"queued": 1})
    # The hour dropped on, the minutes kept.
    assert shown(service, m.message.id).send_at == datetime(2026, 12, 3, 18, 40, tzinfo=UTC)
    assert week.counts_at(date(2026, 12, 1), 15) == {}


def test_dragging_to_the_bottom_of_the_week_scrolls_it_to_later_hours(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    at = datetime(2026, 12, 2, 8, 20, tzinfo=UTC)
    [m] = service.schedule([NO_PLACE], "Early", at, "UTC").messages
    open_calendar(window, week=True)
    week = window.calendar.week
    late = week.model().index(22, 3)  # Thu 3 Dec, 22:00: below what is in view
    assert not week.viewport().rect().intersects(week.visualRect(late))
    badge = week.badge_rect(m.message.id)
    assert badge is not None
    handle = window.windowHandle()
    assert handle is not None
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(handle, left, none, week.viewport().mapTo(window, badge.center()))
    bottom = QPoint(week.viewport().width() // 2, week.viewport().height() - 4)
    for _ in range(200):  # held at the bottom edge, as a user waits for it to scroll
        if week.viewport().rect().contains(week.visualRect(late)):
            break
        QTest.mouseMove(handle, week.viewport().mapTo(window, bottom))
        QTest.mouseMove(handle, week.viewport().mapTo(window, bottom - QPoint(1, 0)))
    target = week.visualRect(late).center()
    assert week.viewport().rect().contains(target)
    QTest.mouseMove(handle, week.viewport().mapTo(window, target))
    QTest.mouseRelease(handle, left, none, week.viewport().mapTo(window, target))
    qtbot.waitUntil(lambda: week.counts_at(date(2026, 12, 3), 22) == {"queued": 1})
    assert shown(service, m.message.id).send_at == datetime(2026, 12, 3, 22, 20, tzinfo=UTC)


def test_the_week_and_the_day_list_show_the_desks_zone(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    """10:00 in Tokyo is 01:00 UTC: on the desk's clock (Tokyo) it is the morning of 2 Dec,
    as the Queue says, and a drop onto 09:00 of 3 Dec is 09:00 Tokyo time (19:00 in New
    York, outside quiet hours there)."""
    service.update_settings(zone="Asia/Tokyo")
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    open_calendar(window, week=True)
    cal = window.calendar
    assert cal.week.counts_at(date(2026, 12, 2), 10) == {"queued": 1}
    cal.select_day(date(2026, 12, 2))
    assert cal.day_list.item(0).text().startswith("10:00  +12125550143")
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.week.viewport(), week_cell(window, date(2026, 12, 3), 9))  # fmt: skip
    qtbot.waitUntil(lambda: cal.week.counts_at(date(2026, 12, 3), 9) == {"queued": 1})
    assert shown(service, m.message.id).send_at == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


def _unchanged(service: Service, message_id: str, send_at: datetime, events: int) -> bool:
    now = shown(service, message_id)
    return now.send_at == send_at and len(now.events) == events


def test_a_drop_into_the_past_is_refused_with_the_reason(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    at = clock.now() + timedelta(hours=6)
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    events = len(shown(service, m.message.id).events)
    open_calendar(window)
    cal = window.calendar
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.calendar.grid.viewport(), month_cell(window, date(2026, 11, 30)))  # fmt: skip
    assert cal.status_label.text() == (
        "Not moved: The send time Mon 30 Nov 2026 15:00 UTC is in the past; "
        "it is now Tue 1 Dec 2026 09:00 UTC."
    )
    assert window.tasks.pending == 0  # no change was even started
    assert _unchanged(service, m.message.id, at, events)
    assert cal.counts_on(date(2026, 12, 1)) == {"queued": 1}


def test_a_drop_into_the_recipients_quiet_hours_is_refused(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    """03:00 UTC is 22:00 in New York: the engine would move it to 08:00 there, so the drop
    says so and leaves it where it was."""
    at = clock.now() + timedelta(hours=6)
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    events = len(shown(service, m.message.id).events)
    open_calendar(window, week=True)
    cal = window.calendar
    cal.select_day(date(2026, 12, 1))
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.week.viewport(), week_cell(window, date(2026, 12, 3), 3))  # fmt: skip
    assert cal.status_label.text() == (
        "Not moved: Wed 2 Dec 2026 22:00 EST is inside quiet hours for +12125550143 "
        "(21:00–08:00 their time)."
    )
    assert window.tasks.pending == 0
    assert _unchanged(service, m.message.id, at, events)


def test_a_message_that_cannot_move_any_more_is_refused(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    at = clock.now() + timedelta(hours=6)
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    [cancelled] = service.cancel(m.message.id)
    assert cancelled.ok
    events = len(shown(service, m.message.id).events)
    open_calendar(window)
    cal = window.calendar
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.calendar.grid.viewport(), month_cell(window, date(2026, 12, 4)))  # fmt: skip
    assert cal.status_label.text() == "Not moved: it is cancelled and cannot be moved."
    assert window.tasks.pending == 0
    assert _unchanged(service, m.message.id, at, events)


@pytest.fixture
def telnyx(clock: ManualClock, service: Service) -> Iterator[TelnyxSimulator]:
    simulator = TelnyxSimulator(clock, api_key=TELNYX_KEY)
    simulator.start()
    service.add_account("Telnyx", "telnyx", api_key=TELNYX_KEY, base_url=simulator.base_url,
                        sender="+12025550100", make_default=True)  # fmt: skip
    yield simulator
    simulator.stop()


def test_a_drop_beyond_the_providers_horizon_is_refused(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock, telnyx: TelnyxSimulator
) -> None:
    """Telnyx holds messages at most 5 days ahead: a drop 9 days out would take it back from
    Telnyx to this computer, so it is refused and Telnyx keeps it as it was."""
    at = clock.now() + timedelta(hours=6)
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    Dispatcher(service.ctx).run_once()
    assert shown(service, m.message.id).state == "scheduled"
    [live] = telnyx.live()
    events = len(shown(service, m.message.id).events)
    open_calendar(window)
    cal = window.calendar
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.calendar.grid.viewport(), month_cell(window, date(2026, 12, 10)))  # fmt: skip
    assert cal.status_label.text() == (
        "Not moved: Telnyx schedules at most 5 days ahead; moved there it would come back "
        "to this computer, which must then be on (use Change time… for that)."
    )
    assert window.tasks.pending == 0
    assert _unchanged(service, m.message.id, at, events)
    assert telnyx.live() == [live]


def test_releasing_outside_the_calendar_moves_nothing(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    at = clock.now() + timedelta(hours=6)
    [m] = service.schedule([NEW_YORK], "Checkup", at, "UTC").messages
    events = len(shown(service, m.message.id).events)
    open_calendar(window)
    cal = window.calendar
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         cal.edit_button, cal.edit_button.rect().center())  # fmt: skip
    assert window.tasks.pending == 0
    assert _unchanged(service, m.message.id, at, events)
    assert cal.status_label.text() == ""
    assert not cal.gesture.dragging
