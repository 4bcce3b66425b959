"""One way to show a message's time everywhere: in the desk's zone, with the recipient's own
wall-clock time beside it when theirs reads differently ("15:00 UTC (10:00 EST there)")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from smsdesk.core.timeparse import format_local


def _short(instant: datetime, zone: ZoneInfo, desk: ZoneInfo) -> str:
    """The recipient's wall time: the hour alone on the desk's date, the date too otherwise."""
    day, number, month, _year, hour, name = format_local(instant, zone).split(" ")
    if instant.astimezone(zone).date() == instant.astimezone(desk).date():
        return f"{hour} {name}"
    return f"{day} {number} {month} {hour} {name}"


def recipient_time(instant: datetime, desk: ZoneInfo, place: ZoneInfo | None) -> str:
    """The recipient's wall time, or "" when it reads the same as the desk's (same offset)."""
    if place is None or place.key == desk.key:
        return ""
    if instant.astimezone(place).utcoffset() == instant.astimezone(desk).utcoffset():
        return ""
    return _short(instant, place, desk)


def when_text(instant: datetime, desk: ZoneInfo, place: ZoneInfo | None) -> str:
    """``instant`` in the desk's zone, with the recipient's time beside it where it differs:
    "Tue 1 Dec 2026 15:00 UTC (10:00 EST there)"."""
    shown = format_local(instant, desk)
    theirs = recipient_time(instant, desk, place)
    return f"{shown} ({theirs} there)" if theirs else shown
