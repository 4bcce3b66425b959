"""The Calendar marks a series' occurrences (↻, the series named in the tooltip), shows the
ones it will store later as "planned" (computed from its rule, never dragged), and a
reminder of an appointment the patient confirmed as confirmed."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTableWidgetItem
from pytestqt.qtbot import QtBot
from sqlmodel import select

from smsdesk.engine.reminder_plan import ImportRequest
from smsdesk.engine.reminders import Reminders
from smsdesk.engine.series import SeriesBook, SeriesRequest
from smsdesk.engine.service import Service
from smsdesk.store.models import AppointmentAnswer, Message, Reply
from smsdesk.ui.day_list import MESSAGE_ID_ROLE
from smsdesk.ui.main_window import MainWindow
from tests.ui.test_calendar_drag import day_item_centre, drag, week_cell

NO_PLACE = "+15551234567"  # a number that belongs to no place: no quiet hours apply


def _daily(service: Service) -> None:
    """A daily series at 09:00 UTC from 2 December: stored 35 days ahead, to 5 January."""
    SeriesBook(service).add(
        SeriesRequest(
            text="Daily rota",
            rule="daily",
            start=datetime(2026, 12, 2, 9, 0),
            zone="UTC",
            numbers=(NO_PLACE,),
        )
    )


def _text(item: QTableWidgetItem | None) -> str:
    assert item is not None
    return item.text()


def test_the_week_marks_stored_occurrences_and_shows_planned_ones(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    _daily(service)
    window.show_view("Calendar")
    cal = window.calendar
    qtbot.mouseClick(cal.week_button, Qt.MouseButton.LeftButton)
    for _ in range(5):
        qtbot.mouseClick(cal.next_week, Qt.MouseButton.LeftButton)
    week = cal.week
    assert week.days[0] == date(2027, 1, 4)
    # Monday 4 January is stored; from Tuesday 5 January the series is only planned.
    assert _text(week.item(9, 0)) == (
        "1 message: ↻09:00 +15551234567 (queued) Daily rota [Daily: Daily rota]"
    )
    assert _text(week.item(9, 1)) == "↻ planned 09:00 Daily: Daily rota (not stored yet)"
    assert week.counts_at(date(2027, 1, 5), 9) == {}  # not a message
    assert [p.at for p in week.planned_at(9, 6)] == [datetime(2027, 1, 10, 9, tzinfo=UTC)]

    # Its day lists it, marked planned: it cannot be selected or dragged.
    qtbot.mouseClick(week.viewport(), Qt.MouseButton.LeftButton,
                     pos=week_cell(window, date(2027, 1, 5), 9))  # fmt: skip
    assert cal.selected_day() == date(2027, 1, 5)
    assert cal.day_list.count() == 1
    item = cal.day_list.item(0)
    assert item.text().startswith("↻ 09:00  +15551234567  ·  planned, not stored yet")
    assert item.data(MESSAGE_ID_ROLE) is None
    assert not item.flags() & Qt.ItemFlag.ItemIsSelectable
    assert "edit the series in Series" in item.toolTip()
    before = len(service.list_messages())
    drag(window, cal.day_list.viewport(), day_item_centre(window),
         week.viewport(), week_cell(window, date(2027, 1, 7), 11))  # fmt: skip
    assert cal.status_label.text() == ""  # nothing was moved, nothing refused
    assert len(service.list_messages()) == before
    assert week.counts_at(date(2027, 1, 7), 11) == {}


def test_the_month_marks_days_with_occurrences_and_planned_ones(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    _daily(service)
    window.show_view("Calendar")
    month = window.calendar.calendar
    stored = month.dateTextFormat(QDate(2026, 12, 20)).toolTip()
    assert stored == "1 message: 1 queued\n↻ occurrences of: Daily: Daily rota"
    planned = month.dateTextFormat(QDate(2027, 1, 8)).toolTip()
    assert planned == "↻ 1 planned (not stored yet): Daily: Daily rota"
    # A day stored and the day planned are told apart; a day before the series has neither.
    assert "↻" not in month.dateTextFormat(QDate(2026, 12, 1)).toolTip()
    # Clicking a planned day lists it in the day list, as planned.
    rect = month.cell_rect(date(2027, 1, 8))
    assert rect is not None
    QTest.mouseClick(month.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.calendar.selected_day() == date(2027, 1, 8))
    assert "planned, not stored yet" in window.calendar.day_list.item(0).text()


def _confirmed_reminder(service: Service) -> str:
    """A reminder for a 10 December appointment, which the patient then confirmed."""
    service.update_settings(default_region="GB", zone="UTC")
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Clinic//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:a1\r\nDTSTART:20261210T150000Z\r\nSUMMARY:Jane\r\n"
        b"ATTENDEE;CN=Jane Doe:tel:+447911123456\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    Reminders(service).apply(
        ImportRequest(data, "ics", (timedelta(days=1),), "See you tomorrow", "cal")
    )
    ctx = service.ctx
    now = ctx.clock.now()
    with ctx.db.write() as s:
        message = s.exec(select(Message)).one()
        reply = Reply(account_id=message.account_id, provider_id="r1", sender=message.recipient,
                      to="", text="YES", received_at=now, stored_at=now,
                      appointment_id=message.appointment_id, action="confirmed")  # fmt: skip
        s.add(reply)
        s.flush()
        assert reply.id is not None
        assert message.appointment_id is not None
        s.add(AppointmentAnswer(appointment_id=message.appointment_id, status="confirmed",
                                reply_id=reply.id, at=now))  # fmt: skip
    return str(message.id)


def test_a_confirmed_appointments_reminder_is_shown_confirmed(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    _confirmed_reminder(service)
    window.show_view("Calendar")
    cal = window.calendar
    month = cal.calendar
    rect = month.cell_rect(date(2026, 12, 9))
    assert rect is not None
    QTest.mouseClick(month.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: cal.selected_day() == date(2026, 12, 9))
    assert cal.day_list.item(0).text().startswith("✓ confirmed  15:00  +447911123456")
    qtbot.mouseClick(cal.week_button, Qt.MouseButton.LeftButton)
    assert "(appointment confirmed)" in _text(cal.week.item(15, 2))
