"""Recurring series: which instants an RFC 5545 rule gives, in the series' own zone.

The recurrence itself is computed by ``dateutil.rrule`` on wall-clock times (a naive start
in the series' zone), so "every Monday 09:00 Europe/London" stays 09:00 local across a
clock change. This module only places each wall-clock time on the time line:

* a time the clocks skip (a DST gap) moves to the first valid minute after, and says so;
* a time the clocks repeat uses the first of the two;
* explicit dates and public holidays (the ``holidays`` package) are skipped, and each
  skipped occurrence is returned as skipped, with why, rather than left out;
* "monthly on the 31st" (and 29 February yearly) either skips the months without that day
  (RFC 5545's own reading, each such month listed as skipped) or clamps to the month's end,
  which is the same rule with ``BYSETPOS=-1`` over the month's last possible days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import resolve_zone

if TYPE_CHECKING:
    import holidays

SKIP, CLAMP = "skip", "clamp"  # what a month without the rule's day does
PRESETS = {
    "daily": "FREQ=DAILY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_MAX_GAP = 48 * 60  # minutes a gap may last (Samoa skipped a whole day in 2011)
_ENDS = re.compile(r"(^|;)(COUNT|UNTIL)=[^;]*", re.IGNORECASE)


@dataclass(frozen=True)
class Recurrence:
    """A series' timing. ``rule`` is an RRULE without DTSTART, COUNT or UNTIL (those are
    ``start``, ``count`` and ``until``); ``start`` is wall-clock time in ``zone``."""

    rule: str
    start: datetime  # naive: local wall-clock in ``zone``
    zone: str
    count: int | None = None
    until: date | None = None  # the last local date an occurrence may fall on
    exceptions: tuple[date, ...] = ()
    holidays: str | None = None  # "GB", "US-CA": skip that country's (region's) holidays
    month_end: str = SKIP

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None:
            raise ValueError("Recurrence.start is a wall-clock time (naive)")


@dataclass(frozen=True)
class Occurrence:
    """One instance of a series. ``nominal`` is what the rule gives (the occurrence's key);
    ``at`` the instant it goes out (None when skipped)."""

    nominal: datetime  # naive local wall-clock
    at: datetime | None
    zone: str
    moved: str = ""  # why ``at`` is not ``nominal`` (a DST gap)
    skipped_because: str = ""
    counted: bool = True  # False: a month without the day (not one of the rule's COUNT)

    @property
    def key(self) -> str:
        return self.nominal.isoformat(timespec="minutes")

    @property
    def skipped(self) -> bool:
        return self.at is None


@dataclass(frozen=True)
class Placed:
    at: datetime  # UTC
    moved: str = ""


def parse_rule(text: str) -> tuple[str, int | None, date | None]:
    """A rule as typed (an RRULE, "RRULE:..." or a preset word) as (rule without COUNT and
    UNTIL, count, until date). Raises InvalidInput naming what is wrong."""
    raw = text.strip()
    if not raw:
        raise InvalidInput("Give a repeat rule, e.g. weekly or FREQ=WEEKLY;BYDAY=MO.", field="rule")
    word = PRESETS.get(raw.lower())
    if word is not None:
        return word, None, None
    body = raw[6:] if raw.upper().startswith("RRULE:") else raw
    if "\n" in body or "DTSTART" in body.upper():
        raise InvalidInput("Give the rule alone (the start is given separately).", field="rule")
    count: int | None = None
    until: date | None = None
    for part in body.split(";"):
        name, _, value = part.partition("=")
        if name.upper() == "COUNT":
            count = _count(value)
        elif name.upper() == "UNTIL":
            until = _until(value)
    rule = _ENDS.sub("", body).strip(";").upper()
    try:
        parsed = rrulestr(f"RRULE:{rule}", dtstart=datetime(2000, 1, 1), forceset=False)
    except (ValueError, TypeError, KeyError) as exc:
        why = f"'{raw}' is not a repeat rule smsdesk can read ({exc})."
        raise InvalidInput(why, field="rule") from None
    if not isinstance(parsed, rrule):
        raise InvalidInput(f"'{raw}' is not a single repeat rule.", field="rule")
    if "FREQ=" not in rule:
        raise InvalidInput(f"'{raw}' says no frequency (FREQ=DAILY, WEEKLY, ...).", field="rule")
    if any(f"FREQ={f}" in rule for f in ("SECONDLY", "MINUTELY", "HOURLY")):
        raise InvalidInput("A series repeats at most daily.", field="rule")
    return rule, count, until


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise InvalidInput(f"COUNT '{value}' is not a whole number.", field="count") from None
    if n < 1:
        raise InvalidInput("A series ends after at least 1 occurrence.", field="count")
    return n


def _until(value: str) -> date:
    try:
        return datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        raise InvalidInput(f"UNTIL '{value}' is not a date (YYYYMMDD).", field="until") from None


def check(rec: Recurrence) -> None:
    """Refuse what cannot make a series: a bad rule, zone, end or holiday calendar."""
    parse_rule(rec.rule)
    resolve_zone(rec.zone)
    if rec.count is not None and rec.until is not None:
        raise InvalidInput(
            "A series ends after N occurrences or on a date, not both.", field="until"
        )
    if rec.count is not None and rec.count < 1:
        raise InvalidInput("A series ends after at least 1 occurrence.", field="count")
    if rec.until is not None and rec.until < rec.start.date():
        raise InvalidInput("The series ends before it starts.", field="until")
    if rec.month_end not in (SKIP, CLAMP):
        raise InvalidInput(f"Month end is '{SKIP}' or '{CLAMP}'.", field="month_end")
    if rec.holidays:
        _calendar(rec.holidays)


def _calendar(code: str) -> holidays.HolidayBase:
    country, _, subdiv = code.strip().upper().partition("-")
    try:
        return _calendar_of(country, subdiv or None)
    except NotImplementedError:
        raise InvalidInput(
            f"No public holiday calendar for '{code}' (use a country code, e.g. GB or US-CA).",
            field="holidays",
        ) from None


@lru_cache(maxsize=32)
def _calendar_of(country: str, subdiv: str | None) -> holidays.HolidayBase:
    # Imported here: the package takes a tenth of a second to import, and the window loads
    # this module on its way to showing the Queue. Years are filled in on lookup.
    import holidays

    return holidays.country_holidays(country, subdiv=subdiv)


def _rrule(rec: Recurrence, rule: str, *, with_ends: bool = True) -> rrule:
    until = None
    if with_ends and rec.until is not None:
        until = datetime.combine(rec.until, time(23, 59, 59))
    made = rrulestr(f"RRULE:{rule}", dtstart=rec.start)
    assert isinstance(made, rrule)
    return made.replace(count=rec.count if with_ends else None, until=until)


def clamped_rule(rec: Recurrence) -> str | None:
    """The rule that clamps "on day 29-31" to the month's end (29 Feb to 28 Feb), or None
    when the rule's day exists in every month it names."""
    parts = dict(p.split("=", 1) for p in rec.rule.split(";") if "=" in p)
    freq = parts.get("FREQ")
    if any(k in parts for k in ("BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO")):
        return None
    days = parts.get("BYMONTHDAY", str(rec.start.day)).split(",")
    if len(days) != 1 or not days[0].isdigit():
        return None
    day = int(days[0])
    if freq == "MONTHLY" and day >= 29 and "BYMONTH" not in parts:
        pass
    elif freq == "YEARLY" and day == 29 and parts.get("BYMONTH", str(rec.start.month)) == "2":
        parts["BYMONTH"] = "2"
    else:
        return None
    parts["BYMONTHDAY"] = ",".join(str(d) for d in range(28, day + 1))
    parts["BYSETPOS"] = "-1"
    return ";".join(f"{k}={v}" for k, v in parts.items())


def place(wall: datetime, zone: ZoneInfo) -> Placed:
    """The instant of wall-clock ``wall`` in ``zone``: the first of a repeated hour; for a
    time the clocks skip, the first valid minute after, with why."""
    first = wall.replace(tzinfo=zone, fold=0)
    at = first.astimezone(UTC)
    if at.astimezone(zone).replace(tzinfo=None) == wall:
        return Placed(at)
    # In a gap: step forward in wall-clock minutes to the first one that exists.
    probe = wall.replace(second=0, microsecond=0)
    for _ in range(_MAX_GAP):
        probe += timedelta(minutes=1)
        at = probe.replace(tzinfo=zone).astimezone(UTC)
        if at.astimezone(zone).replace(tzinfo=None) == probe:
            why = (
                f"{wall:%H:%M} does not exist on {wall:%Y-%m-%d} in {zone.key} (the clocks "
                f"go forward); sent at {probe:%H:%M}, the first minute after"
            )
            return Placed(at, why)
    raise InvalidInput(f"{wall:%Y-%m-%d %H:%M} does not exist in {zone.key}.", field="start")


def occurrences(rec: Recurrence, after: datetime | None = None) -> Iterator[Occurrence]:
    """Every occurrence of ``rec`` in order, skipped ones included, from the first whose
    nominal wall-clock time is at or after ``after`` (naive local; None: from the start)."""
    zone = resolve_zone(rec.zone)
    actual = _rrule(rec, rec.rule)
    extra: Iterable[datetime] = ()
    clamp = clamped_rule(rec)
    if clamp is not None:
        if rec.month_end == CLAMP:
            actual = _rrule(rec, clamp)
        else:
            # The months without the day are listed as skipped: the clamped rule's instants
            # that the plain rule does not give.
            extra = _rrule(rec, clamp, with_ends=rec.count is None)
    calendar = _calendar(rec.holidays) if rec.holidays else None
    excepted = set(rec.exceptions)
    start = after or rec.start
    plain = actual.xafter(start, inc=True) if after else iter(actual)
    for wall, no_such_day in _merge(plain, extra, start):
        if no_such_day:
            why = _no_day(rec, wall)
            yield Occurrence(wall, None, zone.key, skipped_because=why, counted=False)
            continue
        day = wall.date()
        if day in excepted:
            yield Occurrence(wall, None, zone.key, skipped_because="excepted date")
            continue
        name = calendar.get(day) if calendar is not None else None
        if name:
            why = f"public holiday ({rec.holidays}): {name}"
            yield Occurrence(wall, None, zone.key, skipped_because=why)
            continue
        placed = place(wall, zone)
        yield Occurrence(wall, placed.at, zone.key, moved=placed.moved)


def _merge(
    plain: Iterator[datetime], extra: Iterable[datetime], start: datetime
) -> Iterator[tuple[datetime, bool]]:
    """The plain rule's times (False), with the clamped rule's times that the plain rule
    does not give (True: a month without the day) in order between them. After the plain
    rule ends (a count), nothing more is listed."""
    more = (c for c in extra if c >= start)
    nxt = next(more, None)
    for wall in plain:
        while nxt is not None and nxt < wall:
            yield nxt, True
            nxt = next(more, None)
        if nxt == wall:
            nxt = next(more, None)
        yield wall, False


def _no_day(rec: Recurrence, wall: datetime) -> str:
    parts = dict(p.split("=", 1) for p in rec.rule.split(";") if "=" in p)
    day = parts.get("BYMONTHDAY", str(rec.start.day))
    return f"{wall:%Y-%m} has no day {day}"


def between(rec: Recurrence, start: datetime, end: datetime, limit: int = 1000) -> list[Occurrence]:
    """The occurrences whose nominal local time falls in [start, end) (UTC instants), skipped
    ones included; at most ``limit``."""
    zone = resolve_zone(rec.zone)
    # A day's margin each way: the local and UTC dates of an instant differ by under a day.
    after = (start.astimezone(zone) - timedelta(days=1)).replace(tzinfo=None)
    found: list[Occurrence] = []
    for occ in islice(occurrences(rec, max(after, rec.start)), limit * 2 + 64):
        instant = occ.at or place(occ.nominal, zone).at
        if instant >= end:
            break
        if instant >= start:
            found.append(occ)
            if len(found) >= limit:
                break
    return found


def upcoming(rec: Recurrence, now: datetime, n: int) -> list[Occurrence]:
    """The next ``n`` occurrences from ``now`` (skipped ones included)."""
    return between(rec, now, datetime.max.replace(tzinfo=UTC), n)


def describe(rec: Recurrence) -> str:
    """A short plain description, e.g. "Weekly on Monday at 09:00 Europe/London from
    2027-03-22, 10 times, skipping GB public holidays"."""
    text = f"{rule_words(rec.rule)} at {rec.start:%H:%M} {rec.zone} from {rec.start:%Y-%m-%d}"
    if rec.count is not None:
        text += f", {rec.count} times"
    elif rec.until is not None:
        text += f", until {rec.until.isoformat()}"
    if rec.holidays:
        text += f", skipping {rec.holidays} public holidays"
    if rec.exceptions:
        text += f", except {', '.join(d.isoformat() for d in rec.exceptions)}"
    return text


DAY_NAMES = dict(zip(_WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                 "Saturday", "Sunday"), strict=True))  # fmt: skip
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # fmt: skip
NTH = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


def rule_words(rule: str) -> str:
    """The rule in words where it is one of the common shapes (what the presets make), else
    the RRULE itself."""
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    freq, every = parts.pop("FREQ", ""), int(parts.pop("INTERVAL", "1"))
    days = parts.pop("BYDAY", "")
    if freq == "DAILY" and not days and not parts and every == 1:
        return "Daily"
    if freq == "WEEKLY" and not parts:
        if days == "MO,TU,WE,TH,FR" and every == 1:
            return "Every weekday"
        names = [DAY_NAMES.get(d) for d in days.split(",")] if days else []
        if all(names):
            on = f" on {' and '.join(n for n in names if n)}" if names else ""
            return f"Weekly{on}" if every == 1 else f"Every {every} weeks{on}"
    if freq == "MONTHLY" and every == 1:
        if not days and list(parts) == ["BYMONTHDAY"] and parts["BYMONTHDAY"].isdigit():
            return f"Monthly on day {parts['BYMONTHDAY']}"
        nth, day = days[:-2], days[-2:]
        if not parts and day in DAY_NAMES and nth.lstrip("-").isdigit() and int(nth) in NTH:
            return f"Monthly on the {NTH[int(nth)]} {DAY_NAMES[day]}"
        if not parts and not days:
            return "Monthly"
    if freq == "YEARLY" and every == 1 and not days:
        month, day = parts.get("BYMONTH", ""), parts.get("BYMONTHDAY", "")
        if set(parts) == {"BYMONTH", "BYMONTHDAY"} and month.isdigit() and day.isdigit():
            return f"Yearly on {day} {MONTH_NAMES[int(month) - 1]}"
        if not parts:
            return "Yearly"
    return rule


def preset_rule(kind: str, start: datetime, every: int = 1) -> str:
    """The RRULE for a window preset: daily, weekdays, weekly (on the start's weekday),
    every_n_weeks, monthly_day (on the start's day), monthly_weekday (e.g. the first
    Monday, from the start), yearly."""
    weekday = _WEEKDAYS[start.weekday()]
    if kind == "daily":
        return "FREQ=DAILY"
    if kind == "weekdays":
        return PRESETS["weekdays"]
    if kind == "weekly":
        return f"FREQ=WEEKLY;BYDAY={weekday}"
    if kind == "every_n_weeks":
        if every < 1:
            raise InvalidInput("Repeat every 1 week or more.", field="every")
        return f"FREQ=WEEKLY;INTERVAL={every};BYDAY={weekday}"
    if kind == "monthly_day":
        return f"FREQ=MONTHLY;BYMONTHDAY={start.day}"
    if kind == "monthly_weekday":
        nth = (start.day - 1) // 7 + 1
        return f"FREQ=MONTHLY;BYDAY={-1 if nth == 5 else nth}{weekday}"
    if kind == "yearly":
        return f"FREQ=YEARLY;BYMONTH={start.month};BYMONTHDAY={start.day}"
    raise InvalidInput(f"Unknown repeat preset '{kind}'.", field="rule")
