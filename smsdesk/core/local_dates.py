"""Dates and times as people type them in spreadsheets: "12/03/2026 11:30", "3 Dec 2026",
"2:15 pm", read in the desk region's date order.

``12/03/2026`` is 3 December in the United States and 12 March almost everywhere else, so
a numeric date whose first two parts could both be a month is read in the given order;
with no order known it is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Final, Literal

from smsdesk.core.errors import InvalidInput

DateOrder = Literal["dmy", "mdy"]

_FIELD: Final = "start"
# Regions whose everyday numeric dates put the month first (the United States and the
# places that follow its usage). Canada writes both, so no order is assumed there.
MONTH_FIRST: Final = frozenset({"US", "AS", "GU", "MP", "PR", "UM", "VI", "FM", "MH", "PW", "PH"})
NO_ORDER: Final = frozenset({"CA"})

_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC_DATE = re.compile(r"(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})")
_DAY_MONTH = re.compile(_WEEKDAY + r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})", re.I)
_MONTH_DAY = re.compile(_WEEKDAY + r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I)
_TIME = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?(?::(\d{2}))?\s*(?:([ap])\.?\s*m\.?)?", re.I)
_SPLIT = re.compile(
    r"^(.*?\d)(?:\s*[T,]\s*|\s+(?:at\s+)?)(\d{1,2}(?:[:.h]\d{2}.*|\s*[ap]\.?\s*m\.?))$", re.I
)


def date_order_for(region: str | None) -> DateOrder | None:
    """The numeric date order of a region (ISO 3166 code), or None when it has no single one."""
    code = (region or "").strip().upper()
    if not code or code in NO_ORDER:
        return None
    return "mdy" if code in MONTH_FIRST else "dmy"


def _refuse(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"'{text}' {why}", field=_FIELD)


def _year(text: str) -> int:
    value = int(text)
    return 2000 + value if len(text) <= 2 else value


def read_date(text: str, order: DateOrder | None) -> date:
    """A calendar date: 2026-12-03, 03/12/2026 (in ``order``), 3 Dec 2026, Dec 3, 2026."""
    raw = text.strip()
    try:
        if m := _ISO_DATE.fullmatch(raw):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _NUMERIC_DATE.fullmatch(raw):
            first, second, third = m[1], m[2], m[3]
            if len(first) == 4:
                return date(int(first), int(second), int(third))
            a, b = int(first), int(second)
            if order is None and a <= 12 and b <= 12 and a != b:
                raise _refuse(
                    raw,
                    "could be day/month or month/day; set the desk's region or choose the "
                    "date order, or write it like 2026-12-03",
                )
            if order is None:
                order = "mdy" if b > 12 else "dmy"
            day, month = (b, a) if order == "mdy" else (a, b)
            return date(_year(third), month, day)
        for pattern, day_at, month_at in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
            if m := pattern.fullmatch(raw):
                named = _MONTHS.get(m[month_at].lower())
                if named is not None:
                    return date(int(m[3]), named, int(m[day_at]))
    except ValueError:
        raise _refuse(raw, "is not a real date") from None
    raise _refuse(raw, "is not a date; write it like 2026-12-03")


def read_time(text: str) -> time:
    """A wall time: 11:30, 9.05, 14h30, 2:15 pm, 11am."""
    raw = text.strip()
    m = _TIME.fullmatch(raw)
    if m is None or (m[2] is None and m[4] is None):  # a bare "11" is not a time
        raise _refuse(raw, "is not a time; write it like 14:30 or 2:30 pm")
    hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if m[4] is not None:
        if not 1 <= hour <= 12:
            raise _refuse(raw, "is not a real time")
        hour = hour % 12 + (12 if m[4].lower() == "p" else 0)
    try:
        return time(hour, minute, second)
    except ValueError:
        raise _refuse(raw, "is not a real time") from None


def read_date_time(text: str, order: DateOrder | None) -> datetime:
    """A naive wall time from one cell holding a date and a time ("12/03/2026 11:30")."""
    raw = text.strip()
    m = _SPLIT.fullmatch(raw)
    if m is None:
        raise _refuse(raw, "is not a date and time; write it like 2026-12-03 11:30")
    return datetime.combine(read_date(m[1], order), read_time(m[2]))
