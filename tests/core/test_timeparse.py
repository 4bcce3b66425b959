from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import (
    AmbiguousTime,
    NonexistentTime,
    format_local,
    localize,
    parse_when,
    resolve_zone,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:00+01:00", utc(2026, 12, 1, 8, 0)),
        ("2026-12-01T09:00:30-05:00", utc(2026, 12, 1, 14, 0, 30)),
        ("2026-12-01 09:00 +0530", utc(2026, 12, 1, 3, 30)),
        ("2026-12-01T09:00+02", utc(2026, 12, 1, 7, 0)),
        ("2026-12-01T09:00Z", utc(2026, 12, 1, 9, 0)),
        ("2026-12-01t09:00:00z", utc(2026, 12, 1, 9, 0)),
        ("2026-12-01T09:00:00.250Z", datetime(2026, 12, 1, 9, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_explicit_offset_ignores_zone(text: str, expected: datetime) -> None:
    for zone in (LONDON, NEW_YORK):
        result = parse_when(text, zone)
        assert result == expected
        assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-12-01 09:00", LONDON, utc(2026, 12, 1, 9, 0)),
        ("2026-07-01 09:00", LONDON, utc(2026, 7, 1, 8, 0)),
        ("2026-07-01T09:00:15", LONDON, utc(2026, 7, 1, 8, 0, 15)),
        ("2026-12-01 09:00", NEW_YORK, utc(2026, 12, 1, 14, 0)),
        ("2026-07-01 09:00", NEW_YORK, utc(2026, 7, 1, 13, 0)),
        ("  2026-07-01 09:00  ", NEW_YORK, utc(2026, 7, 1, 13, 0)),
        # Right next to the changes, but not in them.
        ("2026-03-08 01:59", NEW_YORK, utc(2026, 3, 8, 6, 59)),
        ("2026-03-08 03:00", NEW_YORK, utc(2026, 3, 8, 7, 0)),
        ("2026-11-01 02:00", NEW_YORK, utc(2026, 11, 1, 7, 0)),
    ],
)
def test_local_times(text: str, zone: ZoneInfo, expected: datetime) -> None:
    result = parse_when(text, zone)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        (
            "2026-03-08 02:30",
            NEW_YORK,
            "2026-03-08 02:30 does not exist in America/New_York "
            "(clocks skip forward at 02:00); choose another time",
        ),
        (
            "2026-03-29 01:30",
            LONDON,
            "2026-03-29 01:30 does not exist in Europe/London "
            "(clocks skip forward at 01:00); choose another time",
        ),
    ],
)
def test_spring_forward_gap(text: str, zone: ZoneInfo, message: str) -> None:
    with pytest.raises(NonexistentTime) as caught:
        parse_when(text, zone)
    assert str(caught.value) == message
    assert caught.value.field == "send_at"
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize(
    ("text", "zone", "earlier", "later", "message"),
    [
        (
            "2026-11-01 01:30",
            NEW_YORK,
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 1, 6, 30),
            "2026-11-01 01:30 happens twice in America/New_York (at -04:00 and at -05:00); "
            "add the offset, e.g. 2026-11-01T01:30-04:00",
        ),
        (
            "2026-10-25 01:30",
            LONDON,
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
            "2026-10-25 01:30 happens twice in Europe/London (at +01:00 and at +00:00); "
            "add the offset, e.g. 2026-10-25T01:30+01:00",
        ),
    ],
)
def test_fall_back_overlap(
    text: str, zone: ZoneInfo, earlier: datetime, later: datetime, message: str
) -> None:
    with pytest.raises(AmbiguousTime) as caught:
        parse_when(text, zone)
    error = caught.value
    assert (error.earlier, error.later) == (earlier, later)
    assert error.earlier.tzinfo is UTC and error.later.tzinfo is UTC
    assert str(error) == message
    assert error.field == "send_at"
    # The suggested spelling is accepted and picks the earlier instant.
    suggestion = message.rsplit("e.g. ", 1)[1]
    assert parse_when(suggestion, zone) == earlier


@pytest.mark.parametrize(
    "text",
    ["", "tomorrow", "2026-12-01", "09:00", "2026/12/01 09:00", "2026-12-01 9:00", "1e9"],
)
def test_garbage(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, LONDON)
    assert caught.value.field == "send_at"
    assert "2026-12-01 09:00" in str(caught.value)  # shows an accepted format


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30 10:00",
        "2026-13-01 10:00",
        "2026-12-01 24:00",
        "2026-12-01 10:60",
        "2026-12-01T10:00+24:00",
        "9999-12-31 23:59",
        "9999-12-31T23:59-05:00",
        "9999-01-01 00:00",
        "0000-01-01 00:00",
        "0001-01-01 00:30",  # before datetime.min once moved to UTC
    ],
)
def test_impossible_or_out_of_range(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_when(text, ZoneInfo("Asia/Tokyo"))
    assert caught.value.field == "send_at"


def test_last_supported_year() -> None:
    assert parse_when("9998-12-31T23:59-23:59", LONDON) == utc(9999, 1, 1, 23, 58)
    assert parse_when("9998-12-31 23:59", NEW_YORK) == utc(9999, 1, 1, 4, 59)


@given(st.text(max_size=40))
def test_parse_when_only_raises_invalid_input(text: str) -> None:
    try:
        result = parse_when(text, NEW_YORK)
    except InvalidInput:
        return
    assert result.tzinfo is UTC


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9998, 12, 31)))
def test_localize_round_trips_or_explains(naive: datetime) -> None:
    try:
        result = localize(naive, NEW_YORK)
    except AmbiguousTime as error:
        assert error.earlier < error.later
        for instant in (error.earlier, error.later):
            assert instant.astimezone(NEW_YORK).replace(tzinfo=None, fold=0) == naive
        return
    except NonexistentTime:
        return
    assert result.astimezone(NEW_YORK).replace(tzinfo=None) == naive


def test_localize() -> None:
    assert localize(datetime(2026, 7, 1, 9, 0), LONDON) == utc(2026, 7, 1, 8, 0)
    assert localize(datetime(2026, 12, 1, 9, 0), NEW_YORK) == utc(2026, 12, 1, 14, 0)
    with pytest.raises(NonexistentTime):
        localize(datetime(2026, 3, 8, 2, 30), NEW_YORK)
    with pytest.raises(AmbiguousTime) as caught:
        localize(datetime(2026, 11, 1, 1, 30), NEW_YORK)
    assert caught.value.later - caught.value.earlier == timedelta(hours=1)
    # fold set by a picker does not smuggle an answer past the question.
    with pytest.raises(AmbiguousTime):
        localize(datetime(2026, 11, 1, 1, 30, fold=1), NEW_YORK)
    # Already aware: just converted.
    aware = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    assert localize(aware, NEW_YORK) == utc(2026, 7, 1, 7, 0)
    with pytest.raises(InvalidInput):
        localize(datetime(9999, 6, 1), LONDON)


def test_resolve_zone() -> None:
    assert resolve_zone("Europe/London") == LONDON
    assert resolve_zone(" America/New_York ") == NEW_YORK
    assert isinstance(resolve_zone(None), ZoneInfo)
    assert isinstance(resolve_zone(""), ZoneInfo)


@pytest.mark.parametrize("name", ["Mars/Base", "Europe", "../etc/passwd", "not a zone"])
def test_unknown_zone(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_zone(name)
    assert caught.value.field == "zone"
    assert f"Unknown time zone '{name}'" in str(caught.value)


def test_unknown_zone_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_zone("Mars/Base")
    assert str(caught.value) == (
        "Unknown time zone 'Mars/Base'; use an IANA name such as Europe/London"
    )


def test_format_local() -> None:
    assert format_local(utc(2026, 12, 1, 9, 0), LONDON) == "Tue 1 Dec 2026 09:00 GMT"
    assert format_local(utc(2026, 7, 1, 8, 0), LONDON) == "Wed 1 Jul 2026 09:00 BST"
    assert format_local(utc(2026, 11, 1, 5, 30), NEW_YORK) == "Sun 1 Nov 2026 01:30 EDT"
    assert format_local(utc(2026, 11, 1, 6, 30), NEW_YORK) == "Sun 1 Nov 2026 01:30 EST"
    assert format_local(utc(2026, 12, 25, 23, 5), ZoneInfo("UTC")) == "Fri 25 Dec 2026 23:05 UTC"
    with pytest.raises(ValueError):
        format_local(datetime(2026, 12, 1, 9, 0), LONDON)
