"""Repeating appointments in an iCalendar file: each occurrence within the window is an
appointment of its own, EXDATE removes one, a RECURRENCE-ID override moves or cancels one,
and each keeps the same key in every export."""

from __future__ import annotations

from datetime import UTC, datetime

from smsdesk.core.appointments import AppointmentIn, read_ics
from smsdesk.core.contacts_csv import RejectedRow

WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))


def calendar(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Riverside Clinic//Bookings//EN\r\n"
        f"{body}END:VCALENDAR\r\n"
    ).encode()


PHYSIO = """UID:physio-1
DTSTART;TZID=Europe/London:20270315T090000
RRULE:FREQ=WEEKLY
SUMMARY:Weekly physio
ATTENDEE;CN=Pat Kim:tel:+447911123461"""


def read(
    data: bytes, window: tuple[datetime, datetime] = WINDOW
) -> tuple[list[AppointmentIn], list[RejectedRow]]:
    return read_ics(data, default_region="GB", default_zone="Europe/London", window=window)


def test_a_weekly_appointment_is_one_appointment_per_occurrence_in_the_window() -> None:
    found, rejected = read(calendar(PHYSIO))
    assert rejected == []
    # 09:00 London: GMT until 28 March, then BST (08:00Z); no end, so up to the window's end.
    assert [(a.uid, a.starts_at.isoformat()) for a in found] == [
        ("physio-1#20270315T090000Z", "2027-03-15T09:00:00+00:00"),
        ("physio-1#20270322T090000Z", "2027-03-22T09:00:00+00:00"),
        ("physio-1#20270329T080000Z", "2027-03-29T08:00:00+00:00"),
        ("physio-1#20270405T080000Z", "2027-04-05T08:00:00+00:00"),
        ("physio-1#20270412T080000Z", "2027-04-12T08:00:00+00:00"),
        ("physio-1#20270419T080000Z", "2027-04-19T08:00:00+00:00"),
        ("physio-1#20270426T080000Z", "2027-04-26T08:00:00+00:00"),
    ]
    assert {(a.name, a.number, a.zone) for a in found} == {
        ("Pat Kim", "+447911123461", "Europe/London")
    }


def test_exdate_and_overrides_change_only_their_occurrence() -> None:
    data = calendar(
        PHYSIO + "\r\nEXDATE;TZID=Europe/London:20270322T090000",
        # Moved to the Tuesday afternoon; known by its original start.
        """UID:physio-1
RECURRENCE-ID;TZID=Europe/London:20270405T090000
DTSTART;TZID=Europe/London:20270406T140000
SEQUENCE:1
SUMMARY:Weekly physio
ATTENDEE;CN=Pat Kim:tel:+447911123461""",
        """UID:physio-1
RECURRENCE-ID;TZID=Europe/London:20270412T090000
DTSTART;TZID=Europe/London:20270412T090000
STATUS:CANCELLED
SUMMARY:Weekly physio
ATTENDEE;CN=Pat Kim:tel:+447911123461""",
    )
    found, rejected = read(data)
    assert rejected == []
    by_key = {a.uid: a for a in found}
    assert "physio-1#20270322T090000Z" not in by_key  # EXDATE
    moved = by_key["physio-1#20270405T080000Z"]
    assert moved.starts_at == datetime(2027, 4, 6, 13, 0, tzinfo=UTC)
    assert not moved.cancelled
    assert by_key["physio-1#20270412T080000Z"].cancelled
    assert by_key["physio-1#20270419T080000Z"].starts_at == datetime(2027, 4, 19, 8, tzinfo=UTC)
    # The same file read again gives the same keys: a re-import updates, never duplicates.
    assert [a.uid for a in read(data)[0]] == [a.uid for a in found]


def test_only_the_window_is_expanded_and_a_count_ends_the_series() -> None:
    counted = PHYSIO.replace("RRULE:FREQ=WEEKLY", "RRULE:FREQ=WEEKLY;COUNT=3")
    later = (datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 12, 1, tzinfo=UTC))
    found, _ = read(calendar(counted), later)
    assert [a.uid for a in found] == ["physio-1#20270322T090000Z", "physio-1#20270329T080000Z"]


def test_a_bad_rule_or_an_all_day_series_is_refused_once_and_the_rest_is_read() -> None:
    data = calendar(
        PHYSIO.replace("RRULE:FREQ=WEEKLY", "RRULE:FREQ=WEEKLY;COUNT=x"),
        """UID:closed
DTSTART;VALUE=DATE:20270315
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Clinic closed""",
        """UID:single
DTSTART:20270316T100000Z
SUMMARY:Jane
ATTENDEE;CN=Jane Doe:tel:+447911123456""",
    )
    found, rejected = read(data)
    assert [a.uid for a in found] == ["single"]
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (4, "repeating event smsdesk cannot expand"),
        (11, "all-day event"),
    ]
