"""A reminder in quiet hours never moves past its appointment."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.quiet_hours import QuietHours, is_quiet
from smsdesk.core.reminder_placement import place_reminder

LONDON = ZoneInfo("Europe/London")
QUIET = QuietHours()  # 21:00-08:00, the default


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)  # GMT: London reads the same


def test_two_hours_before_0730_goes_the_evening_before_not_at_0800() -> None:
    start = at(2, 7, 30)
    placed = place_reminder(
        start - timedelta(hours=2), start, hours=QUIET, zone=LONDON, refuse=False,
        earliest=at(1, 9),
    )  # fmt: skip
    assert placed.send_at == at(1, 20, 59)
    assert placed.note.startswith("moved earlier from 05:30 to Tue 1 Dec 2026 20:59 GMT")


def test_when_the_evening_before_has_passed_it_is_not_possible() -> None:
    start = at(2, 7, 30)
    placed = place_reminder(
        start - timedelta(hours=2), start, hours=QUIET, zone=LONDON, refuse=False,
        earliest=at(1, 22),
    )  # fmt: skip
    assert placed.send_at is None
    assert "not before the appointment" in placed.note


def test_a_move_forward_that_stays_before_the_appointment_is_kept() -> None:
    start = at(2, 9, 30)
    placed = place_reminder(
        start - timedelta(hours=2), start, hours=QUIET, zone=LONDON, refuse=False,
        earliest=at(1, 9),
    )  # fmt: skip
    assert placed.send_at == at(2, 8, 0)


def test_refuse_mode_lists_it_instead_of_moving() -> None:
    start = at(2, 9, 30)
    placed = place_reminder(
        start - timedelta(hours=2), start, hours=QUIET, zone=LONDON, refuse=True,
        earliest=at(1, 9),
    )  # fmt: skip
    assert placed.send_at is None and "inside quiet hours" in placed.note


@given(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.integers(1, 72 * 60),
    st.times(),
    st.times(),
)
def test_never_after_the_appointment_and_never_in_quiet_hours(
    start: datetime, minutes: int, quiet_start: time, quiet_end: time
) -> None:
    quiet_start, quiet_end = quiet_start.replace(microsecond=0), quiet_end.replace(microsecond=0)
    if quiet_start == quiet_end:
        return
    hours = QuietHours(quiet_start, quiet_end)
    earliest = start - timedelta(days=10)
    placed = place_reminder(
        start - timedelta(minutes=minutes), start, hours=hours, zone=LONDON, refuse=False,
        earliest=earliest,
    )  # fmt: skip
    if placed.send_at is not None:
        assert placed.send_at < start
        assert placed.send_at >= earliest or placed.send_at == start - timedelta(minutes=minutes)
        assert not is_quiet(hours, placed.send_at, LONDON)
