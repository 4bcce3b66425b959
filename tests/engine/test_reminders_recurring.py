"""A repeating appointment imported from a calendar: a reminder per occurrence, a re-import
never duplicates them, and an EXDATE or a moved occurrence changes that occurrence alone.
Over the real database and scheduling."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from smsdesk.engine.reminder_plan import ImportRequest
from smsdesk.engine.reminders import Reminders
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection

PHYSIO = [
    "UID:physio-1",
    "DTSTART;TZID=Europe/London:20261207T090000",
    "RRULE:FREQ=WEEKLY;COUNT=6",
    "SUMMARY:Weekly physio",
    "ATTENDEE;CN=Pat Kim:tel:+447911123461",
]
MOVED = [  # the 21 December session moved to the Tuesday, 15:00
    "UID:physio-1",
    "RECURRENCE-ID;TZID=Europe/London:20261221T090000",
    "DTSTART;TZID=Europe/London:20261222T150000",
    "SEQUENCE:1",
    "SUMMARY:Weekly physio",
    "ATTENDEE;CN=Pat Kim:tel:+447911123461",
]


def calendar(*events: list[str]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Riverside Clinic//Bookings//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event, "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def request(data: bytes) -> ImportRequest:
    return ImportRequest(data, "ics", (timedelta(days=1),), "See you {appt_time:%H:%M}", "cal")


def reminders_stored(home: Path) -> list[tuple[str, str, str]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        rows: list[tuple[str, str, str]] = conn.execute(
            "SELECT a.source_uid, m.send_at, m.state FROM message m "
            "JOIN appointment a ON a.id = m.appointment_id ORDER BY m.send_at"
        ).fetchall()
        return rows
    finally:
        conn.close()


def test_each_occurrence_gets_its_reminder_once_across_reimports(
    service: Service, isolated_home: Path
) -> None:
    service.update_settings(default_region="GB", zone="Europe/London")
    reminders = Reminders(service)
    first = reminders.apply(request(calendar(PHYSIO)))
    assert (first.appointments, first.created, first.rejected) == (6, 6, [])
    rows = reminders_stored(isolated_home)
    days = ["2026-12-06", "2026-12-13", "2026-12-20", "2026-12-27", "2027-01-03", "2027-01-10"]
    assert [r[1][:16] for r in rows] == [f"{d} 09:00" for d in days]
    assert rows[0][0] == "cal:physio-1#20261207T090000Z"

    again = reminders.apply(request(calendar(PHYSIO)))
    assert (again.created, again.moved, again.cancelled, again.unchanged) == (0, 0, 0, 6)
    assert reminders_stored(isolated_home) == rows  # nothing stored twice

    # One session is moved and another excepted: those two change, the rest stay.
    changed = calendar([*PHYSIO, "EXDATE;TZID=Europe/London:20261228T090000"], MOVED)
    plan = reminders.plan(request(changed))
    assert [(r.previous, r.when) for r in plan.move] == [
        ("Sun 20 Dec 2026 09:00 GMT", "Mon 21 Dec 2026 15:00 GMT")
    ]
    assert [r.who for r in plan.cancel] == ["Pat Kim"]
    done = reminders.apply(request(changed))
    assert (done.created, done.moved, done.cancelled, done.unchanged) == (0, 1, 1, 4)
    after = reminders_stored(isolated_home)
    assert len(after) == 6
    assert [r[2] for r in after if r[0] == "cal:physio-1#20261228T090000Z"] == ["cancelled"]
