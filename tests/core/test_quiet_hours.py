from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.errors import InvalidInput
from smsdesk.core.quiet_hours import Adjustment, QuietHours, adjust, is_quiet, next_allowed

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
DEFAULT = QuietHours()


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_defaults_and_validation() -> None:
    assert (DEFAULT.start, DEFAULT.end) == (time(21, 0), time(8, 0))
    with pytest.raises(InvalidInput) as caught:
        QuietHours(time(8, 0), time(8, 0))
    assert caught.value.field == "quiet_hours"
    assert "same time (08:00)" in str(caught.value)
    with pytest.raises(InvalidInput):
        QuietHours(time(21, 0, tzinfo=UTC), time(8, 0))


@pytest.mark.parametrize(
    ("instant", "quiet"),
    [
        (utc(12, 1, 7, 59), True),  # London is on GMT in December
        (utc(12, 1, 8, 0), False),
        (utc(12, 1, 20, 59), False),
        (utc(12, 1, 21, 0), True),
        (utc(7, 1, 7, 30), False),  # 08:30 BST
        (utc(7, 1, 20, 0), True),  # 21:00 BST
    ],
)
def test_is_quiet_uses_the_recipients_wall_clock(instant: datetime, quiet: bool) -> None:
    assert is_quiet(DEFAULT, instant, LONDON) is quiet


def test_the_same_instant_differs_by_recipient() -> None:
    instant = utc(12, 1, 22, 0)  # 22:00 in London, 17:00 in New York
    assert is_quiet(DEFAULT, instant, LONDON)
    assert not is_quiet(DEFAULT, instant, NEW_YORK)


def test_next_allowed() -> None:
    evening = utc(12, 1, 22, 30)
    assert next_allowed(DEFAULT, evening, LONDON) == utc(12, 2, 8, 0)
    assert next_allowed(DEFAULT, utc(12, 2, 3, 0), LONDON) == utc(12, 2, 8, 0)
    allowed = datetime(2026, 12, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    result = next_allowed(DEFAULT, allowed, LONDON)
    assert result == allowed and result.tzinfo is UTC


def test_quiet_hours_inside_one_day() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 30))
    assert not is_quiet(lunch, utc(12, 1, 11, 59), LONDON)
    assert next_allowed(lunch, utc(12, 1, 12, 0), LONDON) == utc(12, 1, 13, 30)
    assert not is_quiet(lunch, utc(12, 1, 23, 0), LONDON)


def test_end_time_skipped_by_spring_forward_moves_to_the_first_valid_moment() -> None:
    # 29 March 2026: London clocks go from 01:00 GMT straight to 02:00 BST.
    hours = QuietHours(start=time(22, 0), end=time(1, 30))
    result = next_allowed(hours, utc(3, 28, 23, 0), LONDON)
    assert result == utc(3, 29, 1, 0)
    assert result.astimezone(LONDON).strftime("%H:%M %Z") == "02:00 BST"


def test_end_time_repeated_by_fall_back_uses_the_next_occurrence() -> None:
    # 25 October 2026: London clocks go from 02:00 BST back to 01:00 GMT.
    hours = QuietHours(start=time(22, 0), end=time(1, 30))
    assert next_allowed(hours, utc(10, 24, 23, 0), LONDON) == utc(10, 25, 0, 30)  # 01:30 BST
    # 01:10 GMT is in the repeated hour, after the first 01:30 has passed.
    assert next_allowed(hours, utc(10, 25, 1, 10), LONDON) == utc(10, 25, 1, 30)  # 01:30 GMT


def test_default_hours_across_dst_changes() -> None:
    assert next_allowed(DEFAULT, utc(3, 28, 22, 0), LONDON) == utc(3, 29, 7, 0)  # 08:00 BST
    assert next_allowed(DEFAULT, utc(10, 24, 21, 0), LONDON) == utc(10, 25, 8, 0)  # 08:00 GMT


def test_adjust_explains_the_move() -> None:
    moved = adjust(DEFAULT, utc(12, 1, 22, 30), LONDON)
    assert moved == Adjustment(
        original=utc(12, 1, 22, 30),
        adjusted=utc(12, 2, 8, 0),
        moved=True,
        reason="moved from 22:30 to 08:00 next day (quiet hours 21:00–08:00 in Europe/London)",
    )
    early = adjust(DEFAULT, utc(12, 2, 6, 15), LONDON)
    assert early.reason == "moved from 06:15 to 08:00 (quiet hours 21:00–08:00 in Europe/London)"
    kept = adjust(DEFAULT, utc(12, 2, 9, 0), LONDON)
    assert kept == Adjustment(utc(12, 2, 9, 0), utc(12, 2, 9, 0), moved=False, reason="")


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        is_quiet(DEFAULT, datetime(2026, 12, 1, 9, 0), LONDON)
    with pytest.raises(ValueError):
        adjust(DEFAULT, datetime(2026, 12, 1, 9, 0), LONDON)


zones = st.sampled_from(
    [
        ZoneInfo(name)
        for name in (
            "Europe/London",
            "America/New_York",
            "Australia/Lord_Howe",  # half-hour DST shift
            "America/Santiago",  # DST changes at midnight
            "Asia/Kolkata",
            "Pacific/Apia",  # skipped a whole day in 2011
        )
    ]
)
instants = st.datetimes(
    min_value=datetime(2010, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
wall_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(instants, zones, wall_times, wall_times)
def test_next_allowed_is_the_first_allowed_moment(
    instant: datetime, zone: ZoneInfo, start: time, end: time
) -> None:
    if start == end:
        return
    hours = QuietHours(start, end)
    result = next_allowed(hours, instant, zone)
    assert result.tzinfo is UTC
    assert result >= instant
    assert not is_quiet(hours, result, zone)
    assert result - instant <= timedelta(days=2)
    if is_quiet(hours, instant, zone):
        # Quiet hours are one stretch: everything before the result is still quiet.
        assert is_quiet(hours, instant + (result - instant) / 2, zone)
        assert is_quiet(hours, result - timedelta(seconds=1), zone)
    else:
        assert result == instant
