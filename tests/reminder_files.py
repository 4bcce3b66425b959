"""Appointment files for reminder tests, written as calendars and front desks write them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    uid: str
    name: str
    phone: str
    start: datetime  # naive: local wall time in TZID
    zone: str = "Europe/London"
    status: str = ""


def ics(*events: Event) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Riverside Clinic//Bookings//EN"]
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e.uid}",
            "DTSTAMP:20261101T120000Z",
            f"DTSTART;TZID={e.zone}:{e.start:%Y%m%dT%H%M%S}",
            f"SUMMARY:Appointment: {e.name}",
            f"ATTENDEE;CN={e.name}:tel:{e.phone}",
            "LOCATION:Riverside Clinic",
        ]
        if e.status:
            lines.append(f"STATUS:{e.status}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


JANE = "+447911123456"
JOHN = "+447911123457"
ANN = "+447911123458"  # opts out in the tests
FAR = "+447911123459"  # booked 400 days ahead
EARLY = "+447911123460"  # a 07:30 appointment


def clinic(*, jane_at: datetime = datetime(2026, 12, 10, 10, 0)) -> bytes:
    """Five appointments: two ordinary, one whose patient opted out, one 400 days ahead and
    one at 07:30 (its 2-hour reminder falls in quiet hours)."""
    return ics(
        Event("a1", "Jane Doe", JANE, jane_at),
        Event("a2", "John Smith", JOHN, datetime(2026, 12, 11, 15, 0)),
        Event("a3", "Ann Lee", ANN, datetime(2026, 12, 12, 11, 0)),
        Event("a4", "Far Future", FAR, datetime(2028, 1, 5, 10, 0)),
        Event("a5", "Early Bird", EARLY, datetime(2026, 12, 14, 7, 30)),
    )
