"""Appointments read from a calendar export (iCalendar) or a CSV, as plain values.

iCalendar (.ics) files
    Every VEVENT is one appointment. UID is required (it is how a re-imported file updates
    an appointment). The start is DTSTART: with a TZID (defined by a VTIMEZONE in the file,
    or an IANA name such as Europe/London), in UTC ("Z"), or floating (no zone), which is
    read in ``default_zone``. The recipient's ``zone`` is that IANA zone, or
    ``default_zone`` when the file's zone has no IANA name.

    The phone number is taken from, first match wins:

    1. an ATTENDEE whose address is a ``tel:`` URI (``ATTENDEE;CN=Jane Doe:tel:+447911123456``);
    2. an ``X-SMSDESK-PHONE`` property;
    3. a ``Phone: …`` or ``Tel: …`` line in DESCRIPTION.

    The name is that attendee's CN, else SUMMARY (other attendees are usually staff).
    Events with STATUS:CANCELLED come back with ``cancelled=True`` so their reminders can
    be cancelled. A repeating event (RRULE, RDATE, EXDATE, and RECURRENCE-ID overrides) is
    expanded by ``recurring-ical-events`` within ``window`` into one appointment per
    occurrence, known as ``UID#<its RECURRENCE-ID>`` (the original start, in UTC), so a
    re-imported file, an override moving one occurrence or an EXDATE removing one, changes
    that occurrence alone. Refused, with a reason: all-day events (no time to remind
    before), unknown TZIDs, local times the clocks skip over (with a TZID or floating)
    and floating times that happen twice (a time with a TZID that happens twice is its
    first occurrence, as RFC 5545 says). When a UID appears twice the higher SEQUENCE wins
    (the later one on a tie).

CSV files
    Columns id, name (or patient …), phone (or mobile …), start (or appointment …) or
    separate date and time columns, zone, location, status; headers are matched by the
    names people use, and ``mapping`` names the column of any field outright. The start is
    ISO 8601 with an offset, or a local time in the row's zone (else ``default_zone``)
    written as people do ("12/03/2026 11:30", "3 Dec 2026 2:15 pm"), numeric dates in the
    desk region's order (see :mod:`smsdesk.core.local_dates`). Without an id column an
    appointment is known by its phone number and day, so a new time on the same day moves
    its reminders. A status of "cancelled" marks the appointment cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import icalendar

from smsdesk.core.contacts_csv import (
    ALIASES,
    CsvTable,
    RejectedRow,
    match_columns,
    read_csv_table,
)
from smsdesk.core.csv_numbers import repair_number
from smsdesk.core.errors import InvalidInput
from smsdesk.core.local_dates import (
    DateOrder,
    date_order_for,
    read_date,
    read_date_time,
    read_time,
)
from smsdesk.core.timeparse import localize, parse_when, resolve_zone

_FILE: Final = "file"
_REMINDERS: Final = "reminders"

# Only a Phone:/Tel: label at the start of a description line, so "Hotel: …" is not read.
_PHONE_LINE = re.compile(r"^[ \t]*(?:phone|tel)[ \t]*:[ \t]*(.+?)[ \t]*$", re.I | re.M)
_ISO_START = re.compile(r"\s*\d{4}-\d{1,2}-\d{1,2}[Tt ]\s*\d{2}:\d{2}")
_BEGIN_EVENT = re.compile(r"^BEGIN:VEVENT\s*$", re.I | re.M)
# Zones that say "no particular place"; the recipient's zone then falls back to the default.
_PLACELESS: Final = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "Etc/Zulu", "Zulu"})
_NO_NUMBER: Final = (
    "no phone number (add an ATTENDEE with a tel: URI, an X-SMSDESK-PHONE property or a "
    "'Phone: …' line in the description)"
)

MAX_OFFSET: Final = timedelta(days=365)
_OFFSET = re.compile(
    r"(?:(?P<d>[0-9]+)\s*d)?\s*(?:(?P<h>[0-9]+)\s*h)?\s*(?:(?P<m>[0-9]+)\s*m)?", re.I
)

_CSV_ALIASES: Final = {
    "uid": ("id", "uid", "appointment id", "booking id", "booking ref", "reference", "ref"),
    "name": ("name", "full name", "patient", "patient name", "customer", "client", "client name"),
    "number": (
        *ALIASES["number"],
        "mobile phone",
        "cell phone",
        "phone no",
        "patient phone",
        "patient mobile",
    ),
    "start": (
        "start",
        "starts",
        "starts at",
        "start time",
        "datetime",
        "date time",
        "date and time",
        "when",
        "appointment",
        "appointment time",
        "appointment date time",
    ),
    "date": ("date", "appointment date", "day"),
    "time": ("time",),
    "zone": ALIASES["zone"],
    "location": ("location", "place", "where", "clinic", "site", "room"),
    "status": ("status", "state"),
}
CSV_FIELDS: Final = tuple(_CSV_ALIASES)


@dataclass(frozen=True)
class AppointmentIn:
    uid: str
    number: str  # E.164
    name: str
    starts_at: datetime  # aware UTC
    zone: str  # IANA name of the recipient's zone
    location: str
    cancelled: bool = False
    line: int = field(default=0, compare=False)  # where it is in the file, for messages


class _Reject(Exception):
    """One event or row refused; carries the reason into a RejectedRow."""


def _number(raw: str, default_region: str | None) -> str:
    try:
        # The Sandbox's fictional +1 555 numbers are read too: whether a number can be sent
        # is decided for the account when the reminders are scheduled.
        return repair_number(raw, default_region, allow_test_numbers=True).number
    except InvalidInput as exc:
        if exc.field == "region":  # a bad setting, not a bad appointment
            raise
        raise _Reject(exc.message) from None


# ---------------------------------------------------------------- iCalendar


def _text(event: icalendar.cal.Component, name: str) -> str:
    value = event.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _iana(tzinfo: object, tzid: str | None) -> str | None:
    if isinstance(tzinfo, ZoneInfo) and tzinfo.key:
        return None if tzinfo.key in _PLACELESS else tzinfo.key
    if tzid and tzid not in _PLACELESS:  # a VTIMEZONE whose TZID is also an IANA name
        try:
            resolve_zone(tzid)
        except InvalidInput:
            return None
        return tzid
    return None


def _start(event: icalendar.cal.Component, default_zone: ZoneInfo) -> tuple[datetime, str | None]:
    prop = event.get("DTSTART")
    if prop is None:
        raise _Reject("no start time (DTSTART)")
    try:
        start = prop.dt
    except ValueError as exc:  # icalendar's BrokenCalendarProperty
        raise _Reject(f"unreadable start time: {exc}") from None
    if not isinstance(start, datetime):
        if isinstance(start, date):
            raise _Reject("all-day event: no time for a reminder")
        raise _Reject("the start (DTSTART) is not a date and time")
    tzid = prop.params.get("TZID")
    if start.tzinfo is None:
        if tzid:  # icalendar leaves times with a TZID it cannot resolve naive
            raise _Reject(f"unknown time zone '{tzid}'; add its VTIMEZONE or use an IANA name")
        try:
            return localize(start, default_zone), None
        except InvalidInput as exc:
            raise _Reject(exc.message) from None
    _refuse_gap(start)
    return start.astimezone(UTC), _iana(start.tzinfo, str(tzid) if tzid else None)


def _refuse_gap(start: datetime) -> None:
    """A zoned start the clocks skip over is refused: Python would silently read it an
    hour off. (A time that happens twice is the first occurrence, as RFC 5545 says.)"""
    wall = start.replace(tzinfo=None, fold=0)
    if start.astimezone(UTC).astimezone(start.tzinfo).replace(tzinfo=None, fold=0) == wall:
        return
    if isinstance(start.tzinfo, ZoneInfo):
        try:
            localize(wall, start.tzinfo)
        except InvalidInput as exc:
            raise _Reject(exc.message) from None
    raise _Reject(
        f"{wall:%Y-%m-%d %H:%M} does not exist in {start.tzname() or 'its time zone'} "
        "(the clocks skip over it); choose another time"
    )


def _contact(event: icalendar.cal.Component) -> tuple[str, str]:
    """(raw number, name) from the event; raises _Reject when there is no number."""
    attendees = event.get("ATTENDEE")
    if attendees is None:
        attendees = []
    elif not isinstance(attendees, list):
        attendees = [attendees]
    name = _text(event, "SUMMARY")
    for attendee in attendees:
        address = str(attendee).strip()
        if address.lower().startswith("tel:"):
            cn = str(attendee.params.get("CN", "")).strip()
            return address[4:].split(";")[0], cn or name
    phone = _text(event, "X-SMSDESK-PHONE")
    if phone:
        return phone, name
    found = _PHONE_LINE.search(_text(event, "DESCRIPTION"))
    if found:
        return found[1], name
    raise _Reject(_NO_NUMBER)


def _sequence(event: icalendar.cal.Component) -> int:
    try:
        return int(str(event.get("SEQUENCE", 0)))
    except ValueError:
        return 0


def _event(
    event: icalendar.cal.Component,
    default_region: str | None,
    zone: ZoneInfo,
    zone_name: str,
) -> AppointmentIn:
    uid = _text(event, "UID")
    if not uid:
        raise _Reject("no UID; the calendar must give every event one")
    starts_at, event_zone = _start(event, zone)
    raw_number, name = _contact(event)
    number = _number(raw_number, default_region)
    return AppointmentIn(
        uid=uid,
        number=number,
        name=name,
        starts_at=starts_at,
        zone=event_zone or zone_name,
        location=_text(event, "LOCATION"),
        cancelled=_text(event, "STATUS").upper() == "CANCELLED",
    )


def read_ics(
    data: bytes,
    *,
    default_region: str | None,
    default_zone: str,
    window: tuple[datetime, datetime] | None = None,
) -> tuple[list[AppointmentIn], list[RejectedRow]]:
    """The appointments in an iCalendar file and the events refused, with reasons. Repeating
    events give their occurrences starting in ``window`` (aware instants; None: the year
    from each one's first start)."""
    # Imported here: icalendar takes a tenth of a second or more to import, and the window
    # loads this module on its way to showing the Queue.
    import icalendar

    zone = resolve_zone(default_zone)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError:  # icalendar reports every unreadable file as a ValueError
        raise InvalidInput(
            "The file is not a valid iCalendar (.ics) file; export the calendar again",
            field=_FILE,
        ) from None
    if calendar.name != "VCALENDAR":
        raise InvalidInput("The file is not an iCalendar file: it has no VCALENDAR", field=_FILE)

    # RejectedRow wants a line: where each VEVENT begins, in the order walk() visits them.
    text = data.decode("utf-8", errors="replace")
    starts = [text.count("\n", 0, m.start()) + 1 for m in _BEGIN_EVENT.finditer(text)]
    kept: dict[str, tuple[int, AppointmentIn]] = {}
    rejected: list[RejectedRow] = []
    events = list(calendar.walk("VEVENT"))
    repeating: dict[str, int] = {}  # UID -> the line of its first VEVENT
    for index, event in enumerate(events):
        uid = _text(event, "UID")
        if uid and any(key in event for key in _REPEATS):
            repeating.setdefault(uid, starts[index] if index < len(starts) else 0)
    found: list[tuple[int, icalendar.cal.Component, str | None]] = [
        (starts[index] if index < len(starts) else 0, event, None)
        for index, event in enumerate(events)
        if _text(event, "UID") not in repeating
    ]
    for uid, line in repeating.items():
        try:
            found += [(line, e, key) for e, key in _occurrences(calendar, uid, window, zone)]
        except _Reject as exc:
            rejected.append(RejectedRow(line, uid, str(exc)))
    said: set[tuple[int, str]] = set()  # an all-day series is refused once, not per day
    for line, event, key in found:
        try:
            appointment = _event(event, default_region, zone, zone.key or default_zone)
        except _Reject as exc:
            if (line, str(exc)) not in said:
                said.add((line, str(exc)))
                raw = " ".join(filter(None, (_text(event, "UID"), _text(event, "SUMMARY"))))
                rejected.append(RejectedRow(line, raw, str(exc)))
            continue
        appointment = replace(appointment, line=line, uid=key or appointment.uid)
        sequence = _sequence(event)
        earlier = kept.get(appointment.uid)
        if earlier is None or sequence >= earlier[0]:
            kept[appointment.uid] = (sequence, appointment)
    rejected.sort(key=lambda r: r.line)
    found_order = sorted((a for _, a in kept.values()), key=lambda a: (a.line, a.starts_at))
    return found_order, rejected


_REPEATS: Final = ("RRULE", "RDATE", "RECURRENCE-ID")


def _occurrences(
    calendar: icalendar.Calendar,
    uid: str,
    window: tuple[datetime, datetime] | None,
    zone: ZoneInfo,
) -> list[tuple[icalendar.cal.Component, str]]:
    """The occurrences of one repeating event in ``window``, each with its key
    (``UID#<RECURRENCE-ID>``). One event's unreadable rule refuses that event alone."""
    import icalendar
    import recurring_ical_events  # type: ignore[import-untyped]

    alone = icalendar.Calendar()
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE" or (
            component.name == "VEVENT" and _text(component, "UID") == uid
        ):
            alone.add_component(component)
    if window is None:
        first = min(_first_start(e, zone) for e in alone.walk("VEVENT"))
        window = (first, first + MAX_OFFSET)
    try:
        expanded = recurring_ical_events.of(alone).between(*window)
    except (ValueError, TypeError, KeyError) as exc:  # the library's InvalidCalendar is one
        raise _Reject(f"repeating event smsdesk cannot expand: {exc}") from None
    return [(event, f"{uid}#{_occurrence_id(event)}") for event in expanded]


def _first_start(event: icalendar.cal.Component, zone: ZoneInfo) -> datetime:
    start = getattr(event.get("DTSTART"), "dt", None)
    if isinstance(start, datetime):
        return start if start.tzinfo is not None else start.replace(tzinfo=zone)
    if isinstance(start, date):
        return datetime.combine(start, datetime.min.time(), zone)
    raise _Reject("no start time (DTSTART)")


def _occurrence_id(event: icalendar.cal.Component) -> str:
    """The occurrence's original start (its RECURRENCE-ID): UTC when it has a zone."""
    prop = event.get("RECURRENCE-ID") or event.get("DTSTART")
    when = getattr(prop, "dt", None)
    if isinstance(when, datetime):
        if when.tzinfo is not None:
            return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return when.strftime("%Y%m%dT%H%M%S")
    if isinstance(when, date):
        return when.strftime("%Y%m%d")
    return str(when)


# ---------------------------------------------------------------- CSV


@dataclass(frozen=True)
class CsvColumns:
    columns: list[str]  # the file's headers
    mapping: dict[str, str]  # field -> header, for the fields a column was found for


def _columns(data: bytes, mapping: Mapping[str, str] | None) -> tuple[CsvTable, dict[str, int]]:
    table = read_csv_table(data)
    found = match_columns(table.header, _CSV_ALIASES, mapping)
    missing = [label for field, label in (("number", "phone"),) if field not in found]
    if not any(f in found for f in ("start", "date")):
        missing.append("appointment date and time")
    if missing:
        raise InvalidInput(
            f"Which column holds the {' and the '.join(missing)}? The file's columns are: "
            f"{', '.join(h for h in table.header if h) or 'none'} (choose it in the mapping, "
            "or --map number=COLUMN, --map start=COLUMN)",
            field="mapping",
        )
    return table, found


def csv_columns(data: bytes, mapping: Mapping[str, str] | None = None) -> CsvColumns:
    """The file's headers and which one each field would be read from; raises when the
    phone or the appointment time has no column (the mapping step then asks)."""
    try:
        table, found = _columns(data, mapping)
    except InvalidInput as exc:
        if exc.field != "mapping":
            raise
        table = read_csv_table(data)
        found = match_columns(table.header, _CSV_ALIASES, mapping)
    return CsvColumns(table.header, {f: table.header[i] for f, i in found.items()})


def _csv_start(start: str, day: str, at: str, zone: ZoneInfo, order: DateOrder | None) -> datetime:
    """The appointment's instant from a start cell, or date and time cells."""
    try:
        if start:
            if _ISO_START.match(start):
                return parse_when(start, zone)
            if day and not any(c.isalpha() for c in start.replace("am", "").replace("pm", "")):
                try:  # a "Start time" column beside a "Date" column
                    return localize(datetime.combine(read_date(day, order), read_time(start)), zone)
                except InvalidInput:
                    pass
            return localize(read_date_time(start, order), zone)
        if not day:
            raise _Reject("no appointment date")
        if at:
            return localize(datetime.combine(read_date(day, order), read_time(at)), zone)
        return localize(read_date_time(day, order), zone)
    except InvalidInput as exc:
        raise _Reject(exc.message) from None


def read_appointments_csv(
    data: bytes,
    *,
    default_region: str | None,
    default_zone: str,
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
) -> tuple[list[AppointmentIn], list[RejectedRow]]:
    """The appointments in a CSV file and the rows refused, with reasons. ``date_order``
    defaults to the region's."""
    zone = resolve_zone(default_zone)
    order = date_order or date_order_for(default_region)
    table, found = _columns(data, mapping)

    appointments: list[AppointmentIn] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    for line, cells in table.rows:

        def cell(name: str, cells: list[str] = cells) -> str:
            at = found.get(name)
            return cells[at].strip() if at is not None and at < len(cells) else ""

        try:
            uid = cell("uid")
            if "uid" in found and not uid:
                raise _Reject("no id")
            if uid in seen:
                raise _Reject(f"id '{uid}' is already used on line {seen[uid]}")
            number = _number(cell("number"), default_region)
            zone_name = cell("zone")
            try:
                row_zone = resolve_zone(zone_name) if zone_name else zone
            except InvalidInput as exc:
                raise _Reject(exc.message) from None
            starts_at = _csv_start(cell("start"), cell("date"), cell("time"), row_zone, order)
            if not uid:  # no id column: the patient's number and day name the appointment
                uid = f"{number}@{starts_at.astimezone(row_zone).date().isoformat()}"
                if uid in seen:
                    raise _Reject(
                        f"{number} already has an appointment that day (line {seen[uid]}); "
                        "add an id column to tell them apart"
                    )
        except _Reject as exc:
            rejected.append(RejectedRow(line, table.delimiter.join(cells), str(exc)))
            continue
        seen[uid] = line
        appointments.append(
            AppointmentIn(
                uid=uid,
                number=number,
                name=cell("name"),
                starts_at=starts_at,
                zone=zone_name or zone.key or default_zone,
                location=cell("location"),
                cancelled=cell("status").lower() in ("cancelled", "canceled"),
                line=line,
            )
        )
    return appointments, rejected


# ---------------------------------------------------------------- reminders


def reminder_times(
    starts_at: datetime,
    offsets: Sequence[timedelta],
    now: datetime,
    min_lead: timedelta = timedelta(minutes=5),
) -> list[tuple[timedelta, datetime | None]]:
    """For each offset, when its reminder goes out (aware UTC), or None when that is
    earlier than ``now + min_lead``: too late for that reminder.

    The arithmetic is in UTC on purpose: "48 hours before" stays 48 real hours across a
    DST change, whatever the wall clocks say.
    """
    if starts_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("reminder_times needs aware datetimes")
    start = starts_at.astimezone(UTC)
    earliest = now.astimezone(UTC) + min_lead
    result: list[tuple[timedelta, datetime | None]] = []
    for offset in offsets:
        send = start - offset
        result.append((offset, send if send >= earliest else None))
    return result


def _offset_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


def parse_offsets(text: str) -> list[timedelta]:
    """ "48h,2h,30m,1d" -> timedeltas, in the order given; units d, h, m, combinable
    ("1h30m")."""
    items = [item.strip() for item in text.split(",")]
    items = [item for item in items if item]
    if not items:
        raise InvalidInput("No reminder times; write them like 48h,2h,30m", field=_REMINDERS)
    offsets: list[timedelta] = []
    for item in items:
        if item.startswith("-"):
            raise InvalidInput(
                f"'{item}' is negative; reminders go before the appointment, write e.g. 2h",
                field=_REMINDERS,
            )
        match = _OFFSET.fullmatch(item)
        if match is None or not any(match.groupdict().values()):
            raise InvalidInput(
                f"'{item}' is not a reminder time; write it like 48h, 2h, 30m or 1d",
                field=_REMINDERS,
            )
        days, hours, minutes = (int(match[unit] or 0) for unit in ("d", "h", "m"))
        # Whole minutes as an int first: a huge count would overflow timedelta.
        total = (days * 24 + hours) * 60 + minutes
        if total == 0:
            raise InvalidInput(f"'{item}' is zero; a reminder needs time before", field=_REMINDERS)
        if total > MAX_OFFSET // timedelta(minutes=1):
            raise InvalidInput(f"'{item}' is more than a year ahead", field=_REMINDERS)
        offset = timedelta(minutes=total)
        if offset in offsets:
            raise InvalidInput(
                f"'{item}' is a duplicate reminder ({_offset_text(offset)} is listed twice)",
                field=_REMINDERS,
            )
        offsets.append(offset)
    return offsets
