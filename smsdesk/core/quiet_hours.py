"""Quiet hours: no texts at night in the recipient's own time zone.

Sending is allowed from ``end`` to ``start`` local time (08:00–21:00 by default). A
message due in quiet hours moves to the next ``end``; on a day when the clocks skip over
that wall time, it moves to the first moment that exists after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import offset_change

_FIELD: Final = "quiet_hours"


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)  # quiet from here ...
    end: time = time(8, 0)  # ... until here, recipient-local

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidInput(
                "Quiet hours are local wall-clock times; give them without a time zone",
                field=_FIELD,
            )
        if self.start == self.end:
            raise InvalidInput(
                f"Quiet hours cannot start and end at the same time ({self.start:%H:%M}); "
                "choose two different times",
                field=_FIELD,
            )

    def covers(self, wall: time) -> bool:
        """Whether the local wall-clock time ``wall`` is quiet."""
        if self.start > self.end:  # over midnight, the usual case
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def describe(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class Adjustment:
    original: datetime  # aware UTC
    adjusted: datetime  # aware UTC; equal to original when nothing moved
    moved: bool
    reason: str  # "" when not moved


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("quiet hours need an aware datetime")


def _zone_name(zone: ZoneInfo) -> str:
    return zone.key if zone.key else str(zone)


def is_quiet(hours: QuietHours, instant: datetime, zone: ZoneInfo) -> bool:
    _require_aware(instant)
    return hours.covers(instant.astimezone(zone).time())


def _first_moment(wall: datetime, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant after ``after`` that reads ``wall`` in ``zone`` (the first
    occurrence when the clocks fall back), or, when the clocks skip over ``wall``, the
    moment they skip: the first valid local time after it."""
    folds = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    real = sorted({u for u in folds if u.astimezone(zone).replace(tzinfo=None, fold=0) == wall})
    if real:
        later = [u for u in real if u > after]
        return later[0] if later else real[-1]
    # In a gap fold=1 reads the wall time with the new offset, fold=0 with the old one, so
    # the two land either side of the change.
    return offset_change(min(folds), max(folds), zone)


def next_allowed(hours: QuietHours, instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` (as UTC) when sending is allowed then, else the next local ``end``."""
    _require_aware(instant)
    moment = instant.astimezone(UTC)
    local = moment.astimezone(zone)
    if not hours.covers(local.time()):
        return moment
    day = local.date()
    if hours.start > hours.end and local.time() >= hours.start:
        day += timedelta(days=1)  # evening: quiet until tomorrow morning
    return _first_moment(datetime.combine(day, hours.end), zone, moment)


def adjust(hours: QuietHours, instant: datetime, zone: ZoneInfo) -> Adjustment:
    """Where a message due at ``instant`` may actually go, and why it moved."""
    _require_aware(instant)
    return _adjust(hours, instant.astimezone(UTC), zone)


# A batch asks the same question for each recipient in the same zone at the same time;
# answering it once keeps planning 10,000 recipients from being mostly this.
@lru_cache(maxsize=4096)
def _adjust(hours: QuietHours, original: datetime, zone: ZoneInfo) -> Adjustment:
    adjusted = next_allowed(hours, original, zone)
    if adjusted == original:
        return Adjustment(original, adjusted, moved=False, reason="")
    before, after = original.astimezone(zone), adjusted.astimezone(zone)
    days = (after.date() - before.date()).days
    when = "" if days == 0 else " next day" if days == 1 else f" on {after.date().isoformat()}"
    reason = (
        f"moved from {before:%H:%M} to {after:%H:%M}{when} "
        f"(quiet hours {hours.describe()} in {_zone_name(zone)})"
    )
    return Adjustment(original, adjusted, moved=True, reason=reason)
