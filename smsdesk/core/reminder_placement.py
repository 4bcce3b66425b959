"""Where a reminder goes when its exact time is inside quiet hours: never after its
appointment.

Quiet hours move a message to the next morning. For a reminder that can be after the
appointment it reminds of (2 hours before 07:30 is 05:30, moved to 08:00), so such a
reminder moves earlier instead, to the last allowed minute before quiet hours began (the
evening before); when that has passed too, the reminder is not possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from smsdesk.core.quiet_hours import QuietHours, adjust, is_quiet
from smsdesk.core.timeparse import AmbiguousTime, NonexistentTime, format_local, localize

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Placement:
    send_at: datetime | None  # aware UTC; None when the reminder is not possible
    note: str  # why it moved, or why it is not possible; "" when it goes at its time


def quiet_began(hours: QuietHours, instant: datetime, zone: ZoneInfo) -> datetime:
    """When the quiet period that holds ``instant`` began (aware UTC)."""
    local = instant.astimezone(zone)
    day = local.date()
    if hours.start > hours.end and local.time() < hours.start:
        day -= timedelta(days=1)  # early morning: the quiet began the evening before
    wall = datetime.combine(day, hours.start)
    try:
        return localize(wall, zone)
    except AmbiguousTime as exc:
        return exc.earlier
    except NonexistentTime:
        # The clocks skip over the start: quiet begins at the first real minute after it.
        for minutes in range(1, 24 * 60):
            try:
                return localize(wall + timedelta(minutes=minutes), zone)
            except NonexistentTime:
                continue
        raise


def last_allowed_before(hours: QuietHours, instant: datetime, zone: ZoneInfo) -> datetime | None:
    """The last whole minute before the quiet period holding ``instant``, or None if that
    minute is itself quiet (quiet hours that leave no gap)."""
    before = quiet_began(hours, instant, zone) - _MINUTE
    return None if is_quiet(hours, before, zone) else before.astimezone(UTC)


def place_reminder(
    target: datetime,
    starts_at: datetime,
    *,
    hours: QuietHours | None,
    zone: ZoneInfo | None,
    refuse: bool,
    earliest: datetime,
) -> Placement:
    """Where the reminder due at ``target`` goes for an appointment at ``starts_at``.

    ``refuse`` is the "refuse" quiet-hours setting: a reminder in quiet hours is then not
    possible rather than moved. ``earliest`` is the soonest a new reminder may go.
    """
    if hours is None or zone is None:
        return Placement(target, "")
    moved = adjust(hours, target, zone)
    if not moved.moved:
        return Placement(target, "")
    quiet = f"quiet hours {hours.describe()} in {zone.key}"
    if refuse:
        return Placement(None, f"{format_local(target, zone)} is inside {quiet}")
    if moved.adjusted < starts_at:
        return Placement(moved.adjusted, moved.reason)
    after = format_local(moved.adjusted, zone)
    earlier = last_allowed_before(hours, target, zone)
    if earlier is None or earlier < earliest:
        return Placement(
            None,
            f"{format_local(target, zone)} is inside {quiet}; the next allowed time, {after}, "
            "is not before the appointment and no earlier time is left",
        )
    return Placement(
        earlier,
        f"moved earlier from {target.astimezone(zone):%H:%M} to {format_local(earlier, zone)} "
        f"({quiet}; {after} would be after the appointment)",
    )
