"""Turning what a person typed for "when" into one exact UTC instant.

Local wall times are read in an IANA zone. Around DST changes a wall time can be missing
(clocks skip forward) or happen twice (clocks fall back); we refuse to guess in both cases,
because a message sent an hour early or late is worse than a question.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal

from smsdesk.core.errors import InvalidInput

_FIELD: Final = "send_at"
MIN_YEAR: Final = 1
# 9999 is refused: converting its last day to UTC can run past datetime.max.
MAX_YEAR: Final = 9998

_EXAMPLE: Final = "write it like 2026-12-01 09:00 or 2026-12-01T09:00+01:00"

_WHEN = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"[Tt ]\s*(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?"
    r"\s*(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# fmt: off
_MONTHS: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)
# fmt: on


class AmbiguousTime(InvalidInput):
    """A local time that happens twice (clocks fall back)."""

    def __init__(self, message: str, *, earlier: datetime, later: datetime) -> None:
        super().__init__(message, field=_FIELD)
        self.earlier = earlier  # aware, UTC: the first occurrence
        self.later = later


class NonexistentTime(InvalidInput):
    """A local time that never happens (clocks skip forward)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field=_FIELD)


def _zone_name(zone: ZoneInfo) -> str:
    return zone.key if zone.key else str(zone)


def resolve_zone(name: str | None) -> ZoneInfo:
    """The named IANA zone; None or "" means the system's zone (UTC if it is unknown)."""
    if name is None or not name.strip():
        try:
            local = tzlocal.get_localzone_name()
            return ZoneInfo(local) if local else ZoneInfo("UTC")
        except Exception:  # tzlocal raises assorted errors on odd systems; UTC is safe
            return ZoneInfo("UTC")
    key = name.strip()
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: malformed keys such as "../x"; OSError: a directory such as "Europe".
        raise InvalidInput(
            f"Unknown time zone '{key}'; use an IANA name such as Europe/London", field="zone"
        ) from None


def _wall(naive: datetime) -> str:
    # Not %Y: glibc does not zero-pad years below 1000.
    text = f"{naive.year:04d}-{naive:%m-%d %H:%M}"
    return f"{text}:{naive:%S}" if naive.second else text


def _offset(delta: timedelta | None) -> str:
    total = int((delta or timedelta(0)).total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


def offset_change(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant in (lo, hi] where the zone's offset changes (to the second)."""
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day: its midnight, the first of two when clocks go back
    over it, or the moment they skip forward when midnight does not exist that day."""
    naive = datetime.combine(day, time())
    lo, hi = sorted(naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    if lo.astimezone(zone).replace(tzinfo=None) == naive:
        return lo
    return offset_change(lo, hi, zone)


def _out_of_range(text: str) -> InvalidInput:
    return InvalidInput(
        f"'{text}' is out of range; use a year between {MIN_YEAR} and {MAX_YEAR}", field=_FIELD
    )


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in ``zone`` as an aware UTC instant, refusing missing or doubled times."""
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    if not MIN_YEAR <= naive.year <= MAX_YEAR:
        raise _out_of_range(_wall(naive))
    try:
        first = naive.replace(tzinfo=zone, fold=0)
        second = naive.replace(tzinfo=zone, fold=1)
        first_utc = first.astimezone(UTC)
        second_utc = second.astimezone(UTC)
        # In a gap fold=0 uses the old offset, which lands after the gap when read back.
        round_trip = first_utc.astimezone(zone).replace(tzinfo=None, fold=0)
    except OverflowError:
        raise _out_of_range(_wall(naive)) from None

    name = _zone_name(zone)
    if round_trip != naive.replace(fold=0):
        # fold=1 maps to before the change and fold=0 to after it, so the change is between.
        change = offset_change(min(first_utc, second_utc), max(first_utc, second_utc), zone)
        skip_at = (change - timedelta(seconds=1)).astimezone(zone) + timedelta(seconds=1)
        raise NonexistentTime(
            f"{_wall(naive)} does not exist in {name} "
            f"(clocks skip forward at {skip_at:%H:%M}); choose another time"
        )
    if first.utcoffset() != second.utcoffset():
        earlier, later = sorted((first_utc, second_utc))
        first_offset = _offset(first.utcoffset())
        raise AmbiguousTime(
            f"{_wall(naive)} happens twice in {name} "
            f"(at {first_offset} and at {_offset(second.utcoffset())}); add the offset, "
            f"e.g. {_wall(naive).replace(' ', 'T')}{first_offset}",
            earlier=earlier,
            later=later,
        )
    return first_utc


def parse_when(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 with an offset or Z (``zone`` ignored), or a local ``YYYY-MM-DD HH:MM[:SS]``
    read in ``zone``; returns an aware UTC datetime."""
    stripped = text.strip()
    match = _WHEN.fullmatch(stripped)
    if match is None:
        raise InvalidInput(f"'{stripped}' is not a date and time; {_EXAMPLE}", field=_FIELD)
    parts = match.groupdict()
    year = int(parts["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _out_of_range(stripped)
    try:
        naive = datetime(
            year,
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
        )
    except ValueError:
        raise InvalidInput(
            f"'{stripped}' is not a real date and time; {_EXAMPLE}", field=_FIELD
        ) from None

    offset = parts["offset"]
    if offset is None:
        return localize(naive, zone)
    if offset in ("Z", "z"):
        return naive.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    try:
        tz = timezone(-delta if offset[0] == "-" else delta)
        return naive.replace(tzinfo=tz).astimezone(UTC)
    except ValueError:  # offsets of 24 hours or more
        raise InvalidInput(
            f"'{stripped}' has an impossible UTC offset; {_EXAMPLE}", field=_FIELD
        ) from None
    except OverflowError:
        raise _out_of_range(stripped) from None


def format_local(instant: datetime, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """``instant`` as a wall time in ``zone``, e.g. "Tue 1 Dec 2026 09:00 GMT" (with
    ``seconds``: "09:00:10", for times spread seconds apart).

    Day and month names are spelled out here rather than with %a/%b, which follow the
    process locale (Qt sets it from the environment) and would make the text unpredictable.
    """
    if instant.tzinfo is None:
        raise ValueError("format_local needs an aware datetime")
    local = instant.astimezone(zone)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year} "
        f"{clock} {local.tzname() or _offset(local.utcoffset())}"
    )
