from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.appointments import (
    AppointmentIn,
    parse_offsets,
    read_appointments_csv,
    read_ics,
    reminder_times,
)
from smsdesk.core.contacts_csv import RejectedRow
from smsdesk.core.errors import InvalidInput

DATA = Path(__file__).parent / "data"
LONDON = ZoneInfo("Europe/London")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _ics(
    name: str, region: str = "GB", zone: str = "Europe/London"
) -> tuple[list[AppointmentIn], list[RejectedRow]]:
    return read_ics((DATA / name).read_bytes(), default_region=region, default_zone=zone)


def test_clinic_calendar_with_vtimezone() -> None:
    appointments, rejected = _ics("clinic_v1.ics")

    # The weekly physio (RRULE;COUNT=4) is four appointments, one per occurrence.
    physio = [(a.uid, a.starts_at, a.name) for a in appointments if "#" in a.uid]
    assert physio == [
        (f"appt-7@riverside.example#202612{d:02d}T090000Z", utc(12, d, 9), "Pat Kim")
        for d in (7, 14, 21, 28)
    ]
    assert [a for a in appointments if "#" not in a.uid] == [
        AppointmentIn(
            uid="appt-1@riverside.example",
            number="+447911123456",
            name="Jane Doe",  # the tel: attendee's CN
            starts_at=utc(12, 1, 9, 30),  # GMT in December
            zone="Europe/London",
            location="Riverside Clinic, Room 2",
        ),
        AppointmentIn(
            uid="appt-2@riverside.example",
            number="+447911123457",  # X-SMSDESK-PHONE
            name="John Smith",  # SUMMARY
            starts_at=utc(7, 15, 13, 15),  # 14:15 BST
            zone="Europe/London",
            location="Riverside Clinic",
        ),
        AppointmentIn(
            uid="appt-3@riverside.example",
            number="+447911123458",  # "Phone:" line in the description
            name="Hygienist",  # the mailto: attendee is staff, not the patient
            starts_at=utc(12, 3, 16, 0),
            zone="Europe/London",  # a UTC time says nothing about where
            location="",
        ),
        AppointmentIn(
            uid="appt-4@riverside.example",
            number="+447911123459",
            name="Ann Lee",
            starts_at=utc(12, 4, 11, 0),
            zone="Europe/London",
            location="",
            cancelled=True,
        ),
    ]
    assert [(r.line, r.reason) for r in rejected] == [
        (56, "all-day event: no time for a reminder"),
        (
            64,
            "no phone number (add an ATTENDEE with a tel: URI, an X-SMSDESK-PHONE property "
            "or a 'Phone: …' line in the description)",
        ),
        (78, "no UID; the calendar must give every event one"),
    ]
    assert rejected[0].raw == "appt-5@riverside.example Clinic closed (training day)"
    lines = (DATA / "clinic_v1.ics").read_text().splitlines()
    assert all(lines[r.line - 1].strip() == "BEGIN:VEVENT" for r in rejected)


def test_an_appointment_moved_between_two_exports() -> None:
    before = {a.uid: a for a in _ics("clinic_v1.ics")[0]}
    after = {a.uid: a for a in _ics("clinic_v2.ics")[0]}
    uid = "appt-1@riverside.example"
    assert before[uid].starts_at == utc(12, 1, 9, 30)
    assert after[uid].starts_at == utc(12, 2, 15, 30)
    assert after[uid].number == before[uid].number


def test_floating_times_are_read_in_the_default_zone() -> None:
    appointments, rejected = _ics("floating.ics", "US", "America/New_York")
    assert [(a.uid, a.starts_at, a.zone, a.number) for a in appointments] == [
        ("float-1@example.com", utc(12, 1, 14, 0), "America/New_York", "+14155552671"),
    ]
    assert [r.reason for r in rejected] == [
        "2026-03-08 02:30 does not exist in America/New_York (clocks skip forward at 02:00); "
        "choose another time",
        "unknown time zone 'Mars/Olympus_Mons'; add its VTIMEZONE or use an IANA name",
    ]


def test_a_vtimezone_without_an_iana_name() -> None:
    appointments, rejected = _ics("custom_zone.ics", zone="Europe/Dublin")
    assert rejected == []
    # The file's own rules give the instant (09:30 BST); the zone name falls back.
    assert appointments[0].starts_at == utc(7, 1, 8, 30)
    assert appointments[0].zone == "Europe/Dublin"


def test_reminder_48h_before_an_appointment_just_after_the_clocks_change() -> None:
    (appointment,), _ = _ics("dst_change.ics")
    assert appointment.starts_at == utc(3, 29, 9, 0)  # 10:00 BST, the first BST morning

    ((offset, send),) = reminder_times(
        appointment.starts_at, [timedelta(hours=48)], now=utc(3, 1, 0, 0)
    )
    assert offset == timedelta(hours=48)
    assert send == utc(3, 27, 9, 0)
    assert appointment.starts_at - send == timedelta(hours=48)
    # Exactly 48 real hours, so the wall clock reads 09:00 GMT, not 10:00.
    assert send.astimezone(LONDON).strftime("%H:%M %Z") == "09:00 GMT"


def test_the_higher_sequence_wins_within_one_file() -> None:
    text = (DATA / "clinic_v2.ics").read_text()
    event = text[text.index("BEGIN:VEVENT") : text.index("END:VEVENT") + len("END:VEVENT")]
    older = event.replace("SEQUENCE:1", "SEQUENCE:0").replace("20261202T153000", "20261201T0900")
    doubled = text.replace(event, event + "\r\n" + older)
    appointments, _ = read_ics(doubled.encode(), default_region="GB", default_zone="Europe/London")
    assert [a.starts_at for a in appointments] == [utc(12, 2, 15, 30)]


@pytest.mark.parametrize(
    "data",
    [
        (DATA / "broken.ics").read_bytes(),
        b"",
        b"hello",
        b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",
        b"\xff\xfe\x00B\x00E",
    ],
)
def test_malformed_calendars(data: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_ics(data, default_region="GB", default_zone="Europe/London")
    assert caught.value.field == "file"
    assert "\n" not in str(caught.value)


def test_unknown_default_zone() -> None:
    with pytest.raises(InvalidInput) as caught:
        _ics("clinic_v2.ics", zone="Mars/Base")
    assert caught.value.field == "zone"


def test_appointments_csv() -> None:
    data = (DATA / "appointments.csv").read_bytes()
    appointments, rejected = read_appointments_csv(
        data, default_region="GB", default_zone="Europe/London"
    )
    assert appointments == [
        AppointmentIn(
            "A-100", "+447911123456", "Jane Doe", utc(12, 1, 9, 30), "Europe/London", "Room 2"
        ),
        AppointmentIn(
            "A-101", "+12125551234", "Ben Ode", utc(12, 1, 14, 30), "America/New_York", "Midtown"
        ),
        AppointmentIn(
            "A-102", "+447911123459", "Ann Lee", utc(12, 2, 10, 0), "Europe/London", "Room 1", True
        ),
    ]
    assert [(r.line, r.reason) for r in rejected] == [
        (
            5,
            "'next tuesday' is not a date and time; write it like 2026-12-03 11:30",
        ),
        (
            6,
            "2026-03-29 01:30 does not exist in Europe/London (clocks skip forward at 01:00); "
            "choose another time",
        ),
        (7, "id 'A-101' is already used on line 3"),
        (8, "no id"),
        (9, "Unknown time zone 'Mars/Base'; use an IANA name such as Europe/London"),
        (10, "'12345' is too short for a phone number in GB"),
    ]


def test_appointments_csv_needs_a_phone_and_a_time_column() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_appointments_csv(
            b"name,phone\nAna,+14155552671\n", default_region=None, default_zone="UTC"
        )
    assert caught.value.field == "mapping"
    assert str(caught.value).startswith(
        "Which column holds the appointment date and time? The file's columns are: name, phone"
    )


def test_reminder_times_skip_the_ones_too_late() -> None:
    start = utc(12, 2, 9, 0)
    offsets = [timedelta(days=1), timedelta(hours=2), timedelta(minutes=30)]
    now = utc(12, 2, 7, 0)
    assert reminder_times(start, offsets, now) == [
        (timedelta(days=1), None),
        (timedelta(hours=2), None),  # 07:00 is now: earlier than now + 5 minutes
        (timedelta(minutes=30), utc(12, 2, 8, 30)),
    ]
    assert reminder_times(start, [timedelta(hours=2)], now - timedelta(minutes=5)) == [
        (timedelta(hours=2), utc(12, 2, 7, 0))
    ]
    assert reminder_times(start, [timedelta(hours=2)], now, min_lead=timedelta(0)) == [
        (timedelta(hours=2), utc(12, 2, 7, 0))
    ]
    with pytest.raises(ValueError):
        reminder_times(datetime(2026, 12, 2, 9, 0), offsets, now)


def test_parse_offsets() -> None:
    assert parse_offsets("48h,2h,30m,1d") == [
        timedelta(hours=48),
        timedelta(hours=2),
        timedelta(minutes=30),
        timedelta(days=1),
    ]
    assert parse_offsets(" 1h30m , 2D ,") == [timedelta(minutes=90), timedelta(days=2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "No reminder times"),
        ("soon", "'soon' is not a reminder time"),
        ("2x", "'2x' is not a reminder time"),
        ("h", "'h' is not a reminder time"),
        ("0h", "'0h' is zero"),
        ("-2h", "'-2h' is negative"),
        ("48h,2d", "'2d' is a duplicate reminder (2d is listed twice)"),
        ("400d", "'400d' is more than a year ahead"),
        ("99999999999999999999m", "'99999999999999999999m' is more than a year ahead"),
    ],
)
def test_parse_offsets_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_offsets(text)
    assert str(caught.value).startswith(message)
    assert caught.value.field == "reminders"


@given(st.lists(st.integers(min_value=1, max_value=365 * 24 * 60), min_size=1, unique=True))
def test_parse_offsets_reads_back_minutes(minutes: list[int]) -> None:
    text = ",".join(f"{m}m" for m in minutes)
    assert parse_offsets(text) == [timedelta(minutes=m) for m in minutes]


aware = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@given(aware, aware, st.lists(st.integers(1, 10_000), max_size=5))
def test_reminders_are_exact_and_never_too_late(
    start: datetime, now: datetime, minutes: list[int]
) -> None:
    offsets = [timedelta(minutes=m) for m in minutes]
    for offset, send in reminder_times(start, offsets, now):
        if send is None:
            assert start - offset < now + timedelta(minutes=5)
        else:
            assert send == start - offset
            assert send >= now + timedelta(minutes=5)


# -- the columns and dates people use ---------------------------------------------------------

FRONT_DESK_CSV = (
    b"Patient,Mobile,Date,Time,Room\r\n"
    b"Maria Garcia,+1 (202) 555-0119,12/03/2026,11:30 AM,2\r\n"
    b"Tom Lee,+1 202 555 0120,12/13/2026,2:15 pm,1\r\n"
)


def test_a_us_front_desk_export_reads_month_first() -> None:
    appointments, rejected = read_appointments_csv(
        FRONT_DESK_CSV, default_region="US", default_zone="America/New_York"
    )
    assert rejected == []
    # 12/03/2026 11:30 in the US is 3 December (EST, UTC-5).
    assert [(a.name, a.number, a.starts_at, a.location) for a in appointments] == [
        ("Maria Garcia", "+12025550119", utc(12, 3, 16, 30), "2"),
        ("Tom Lee", "+12025550120", utc(12, 13, 19, 15), "1"),
    ]
    # No id column: the number and the day name the appointment.
    assert appointments[0].uid == "+12025550119@2026-12-03"


def test_the_same_file_in_britain_is_day_first_and_13_is_no_month() -> None:
    appointments, rejected = read_appointments_csv(
        FRONT_DESK_CSV, default_region="GB", default_zone="Europe/London"
    )
    assert [a.starts_at for a in appointments] == [utc(3, 12, 11, 30)]
    assert [(r.line, r.reason) for r in rejected] == [
        (3, "'12/13/2026' is not a real date"),
    ]


def test_without_a_region_an_ambiguous_date_is_refused_unless_the_order_is_chosen() -> None:
    appointments, rejected = read_appointments_csv(
        FRONT_DESK_CSV, default_region=None, default_zone="America/New_York"
    )
    # 12/13 can only be month first; 12/03 could be either, so it is not guessed.
    assert [a.name for a in appointments] == ["Tom Lee"]
    assert "could be day/month or month/day" in rejected[0].reason
    chosen, _ = read_appointments_csv(
        FRONT_DESK_CSV, default_region=None, default_zone="America/New_York", date_order="mdy"
    )
    assert chosen[0].starts_at == utc(12, 3, 16, 30)


def test_columns_named_by_hand_and_one_cell_with_date_and_time() -> None:
    data = "Termin;Kunde;Handy\n03.12.2026 09:15;Jörg Weiß;0151 23456789\n".encode()
    with pytest.raises(InvalidInput) as caught:
        read_appointments_csv(data, default_region="DE", default_zone="Europe/Berlin")
    assert caught.value.field == "mapping"
    assert "Termin, Kunde, Handy" in str(caught.value)
    appointments, rejected = read_appointments_csv(
        data,
        default_region="DE",
        default_zone="Europe/Berlin",
        mapping={"start": "Termin", "name": "Kunde", "number": "Handy"},
    )
    assert rejected == []
    assert [(a.name, a.number, a.starts_at) for a in appointments] == [
        ("Jörg Weiß", "+4915123456789", utc(12, 3, 8, 15))
    ]


def test_appointment_and_phone_headers_are_recognised() -> None:
    data = b"Name,Phone,Appointment\nAna,07911 123456,3 Dec 2026 2:30 pm\n"
    (appointment,), rejected = read_appointments_csv(
        data, default_region="GB", default_zone="Europe/London"
    )
    assert rejected == []
    assert appointment.starts_at == utc(12, 3, 14, 30)


def test_two_appointments_of_one_patient_on_one_day_need_an_id() -> None:
    data = (
        b"Name,Phone,Start\nAna,07911 123456,2026-12-03 09:00\nAna,07911 123456,2026-12-03 15:00\n"
    )
    appointments, rejected = read_appointments_csv(
        data, default_region="GB", default_zone="Europe/London"
    )
    assert len(appointments) == 1
    assert rejected[0].reason.startswith("+447911123456 already has an appointment that day")


def test_a_zoned_ics_time_in_the_spring_forward_gap_is_refused() -> None:
    text = (DATA / "dst_change.ics").read_text().replace("20260329T100000", "20260329T013000")
    appointments, rejected = read_ics(
        text.encode(), default_region="GB", default_zone="Europe/London"
    )
    assert appointments == []
    assert [r.reason for r in rejected] == [
        "2026-03-29 01:30 does not exist in Europe/London (clocks skip forward at 01:00); "
        "choose another time"
    ]
