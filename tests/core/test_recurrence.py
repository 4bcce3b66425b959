"""Series timing: RFC 5545 rules expanded by dateutil, placed in the series' zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsdesk.core.errors import InvalidInput
from smsdesk.core.recurrence import (
    CLAMP,
    Recurrence,
    between,
    check,
    describe,
    occurrences,
    parse_rule,
    place,
    preset_rule,
    rule_words,
    upcoming,
)

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour shift
    "Asia/Kolkata",  # no DST
    "America/Santiago",  # southern hemisphere DST
    "Pacific/Apia",  # skipped a whole day
    "UTC",
]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 4))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if freq in ("WEEKLY", "DAILY") and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    if freq == "MONTHLY" and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.integers(1, 28))}")
    return ";".join(parts)


starts = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules(), start=starts, zone=st.sampled_from(ZONES), count=st.integers(1, 40))
def test_expansion_is_the_rule_librarys_placed_in_the_zone(
    rule: str, start: datetime, zone: str, count: int
) -> None:
    rec = Recurrence(rule, start, zone, count=count)
    listed = list(occurrences(rec))
    expected = list(rrulestr(f"RRULE:{rule};COUNT={count}", dtstart=start))
    got = [o for o in listed if not o.skipped]
    assert [o.nominal for o in got] == expected
    # The rest: months without the start's day (29th-31st), listed as skipped.
    assert all("has no day" in o.skipped_because for o in listed if o.skipped)
    tz = ZoneInfo(zone)
    for occ in got:
        assert occ.at is not None and occ.at.tzinfo is not None
        local = occ.at.astimezone(tz).replace(tzinfo=None)
        if occ.moved:
            # In a gap: the wall time does not exist; sent at the first minute after it.
            assert local > occ.nominal
            assert local - occ.nominal <= timedelta(days=2)
            before = (occ.at - timedelta(minutes=1)).astimezone(tz).replace(tzinfo=None)
            assert before < occ.nominal
        else:
            assert local == occ.nominal
            # A repeated hour: the first of the two.
            earlier = occ.at - timedelta(hours=1)
            assert earlier.astimezone(tz).replace(tzinfo=None) != occ.nominal or (
                occ.nominal.replace(tzinfo=tz, fold=0).astimezone(UTC) == occ.at
            )


@settings(max_examples=60, deadline=None)
@given(rule=rules(), start=starts, zone=st.sampled_from(ZONES), days=st.integers(1, 90))
def test_between_agrees_with_the_full_expansion(
    rule: str, start: datetime, zone: str, days: int
) -> None:
    rec = Recurrence(rule, start, zone)
    begin = start.replace(tzinfo=UTC) + timedelta(days=days)
    end = begin + timedelta(days=40)
    window = between(rec, begin, end, limit=10_000)
    tz = ZoneInfo(zone)
    placed = ((o, o.at or place(o.nominal, tz).at) for o in occurrences(rec))
    full = [o for o, at in takewhile(lambda p: p[1] < end, placed) if at >= begin]
    assert [o.key for o in window] == [o.key for o in full]


def test_weekly_monday_0900_london_follows_the_clock_change() -> None:
    rec = Recurrence("FREQ=WEEKLY;BYDAY=MO", datetime(2027, 3, 22, 9, 0), "Europe/London")
    got = [o.at for o in islice(occurrences(rec), 3)]
    assert got == [
        datetime(2027, 3, 22, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
        datetime(2027, 4, 5, 8, 0, tzinfo=UTC),
    ]


def test_a_time_the_clocks_skip_moves_to_the_first_minute_after_and_says_so() -> None:
    # London skips 01:00-02:00 on 28 March 2027.
    rec = Recurrence("FREQ=DAILY", datetime(2027, 3, 27, 1, 30), "Europe/London", count=3)
    got = list(occurrences(rec))
    assert [o.at for o in got] == [
        datetime(2027, 3, 27, 1, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),  # 02:00 BST, the first valid minute
        datetime(2027, 3, 29, 0, 30, tzinfo=UTC),  # 01:30 BST
    ]
    assert got[0].moved == got[2].moved == ""
    assert "01:30 does not exist on 2027-03-28" in got[1].moved
    assert "02:00" in got[1].moved


def test_a_repeated_hour_uses_the_first() -> None:
    # London repeats 01:00-02:00 on 31 October 2027 (BST, then GMT).
    rec = Recurrence("FREQ=DAILY", datetime(2027, 10, 31, 1, 30), "Europe/London", count=1)
    [occ] = occurrences(rec)
    assert occ.at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert occ.moved == ""


def test_a_whole_skipped_day_moves_to_the_next_valid_minute() -> None:
    # Samoa skipped 30 December 2011.
    placed = place(datetime(2011, 12, 30, 9, 0), ZoneInfo("Pacific/Apia"))
    assert placed.at.astimezone(ZoneInfo("Pacific/Apia")).replace(tzinfo=None) == datetime(
        2011, 12, 31, 0, 0
    )
    assert placed.moved


def test_public_holidays_of_england_are_skipped_and_listed() -> None:
    rec = Recurrence(
        "FREQ=WEEKLY;BYDAY=MO", datetime(2027, 4, 19, 9, 0), "Europe/London", holidays="GB"
    )
    got = list(islice(occurrences(rec), 8))
    skipped = {o.nominal.date(): o.skipped_because for o in got if o.skipped}
    # Early May bank holiday (3 May) and Spring bank holiday (31 May) 2027.
    assert set(skipped) == {date(2027, 5, 3), date(2027, 5, 31)}
    assert "May Day" in skipped[date(2027, 5, 3)] or "Bank Holiday" in skipped[date(2027, 5, 3)]
    assert all(o.at is not None for o in got if not o.skipped)
    assert len(got) == 8  # skipped ones are listed, not missing


def test_public_holidays_of_california_are_skipped() -> None:
    rec = Recurrence(
        "FREQ=DAILY", datetime(2027, 3, 30, 10, 0), "America/Los_Angeles", holidays="US-CA"
    )
    got = list(islice(occurrences(rec), 3))
    assert [o.skipped for o in got] == [False, True, False]
    assert "Cesar Chavez" in got[1].skipped_because
    plain = Recurrence("FREQ=DAILY", datetime(2027, 3, 30, 10, 0), "America/Los_Angeles")
    assert not any(o.skipped for o in islice(occurrences(plain), 3))


def test_excepted_dates_are_skipped_and_listed() -> None:
    rec = Recurrence(
        "FREQ=DAILY",
        datetime(2027, 1, 1, 9, 0),
        "UTC",
        count=3,
        exceptions=(date(2027, 1, 2),),
    )
    got = list(occurrences(rec))
    assert [o.skipped_because for o in got] == ["", "excepted date", ""]


def test_monthly_on_the_31st_skips_visibly_or_clamps_by_choice() -> None:
    start = datetime(2027, 1, 31, 9, 0)
    skip = list(occurrences(Recurrence("FREQ=MONTHLY", start, "UTC", count=3)))
    assert [(o.nominal.date(), o.skipped) for o in skip] == [
        (date(2027, 1, 31), False),
        (date(2027, 2, 28), True),
        (date(2027, 3, 31), False),
        (date(2027, 4, 30), True),
        (date(2027, 5, 31), False),
    ]
    assert skip[1].skipped_because == "2027-02 has no day 31"
    clamp = list(occurrences(Recurrence("FREQ=MONTHLY", start, "UTC", count=3, month_end=CLAMP)))
    assert [o.nominal.date() for o in clamp] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]
    assert not any(o.skipped for o in clamp)


def test_29_february_yearly_skips_or_clamps() -> None:
    start = datetime(2028, 2, 29, 9, 0)
    skip = list(islice(occurrences(Recurrence("FREQ=YEARLY", start, "UTC")), 3))
    assert [(o.nominal.date(), o.skipped) for o in skip] == [
        (date(2028, 2, 29), False),
        (date(2029, 2, 28), True),
        (date(2030, 2, 28), True),
    ]
    clamp = list(islice(occurrences(Recurrence("FREQ=YEARLY", start, "UTC", month_end=CLAMP)), 2))
    assert [o.nominal.date() for o in clamp] == [date(2028, 2, 29), date(2029, 2, 28)]


def test_until_is_the_last_local_date() -> None:
    rec = Recurrence("FREQ=DAILY", datetime(2027, 1, 1, 23, 0), "UTC", until=date(2027, 1, 3))
    assert [o.nominal.day for o in occurrences(rec)] == [1, 2, 3]


def test_upcoming_starts_from_now() -> None:
    rec = Recurrence("FREQ=WEEKLY;BYDAY=MO", datetime(2027, 1, 4, 9, 0), "UTC")
    got = upcoming(rec, datetime(2027, 2, 2, tzinfo=UTC), 2)
    assert [o.nominal.date() for o in got] == [date(2027, 2, 8), date(2027, 2, 15)]


def test_rules_presets_and_ends_are_read() -> None:
    assert parse_rule("weekdays") == ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", None, None)
    assert parse_rule("RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10") == ("FREQ=WEEKLY;BYDAY=MO", 10, None)
    assert parse_rule("freq=monthly;until=20271231T000000Z") == (
        "FREQ=MONTHLY",
        None,
        date(2027, 12, 31),
    )
    start = datetime(2027, 3, 1, 9, 0)  # the first Monday of March
    assert preset_rule("monthly_weekday", start) == "FREQ=MONTHLY;BYDAY=1MO"
    assert preset_rule("every_n_weeks", start, 2) == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"
    assert preset_rule("yearly", start) == "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1"


@pytest.mark.parametrize(
    "text",
    ["", "FREQ=HOURLY", "BYDAY=MO", "FREQ=WEEKLY;BYDAY=XX", "DTSTART:20270101\nRRULE:FREQ=DAILY"],
)
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_rule(text)
    assert err.value.field == "rule"


def test_bad_series_are_refused() -> None:
    start = datetime(2027, 1, 1, 9, 0)
    with pytest.raises(InvalidInput, match="holiday calendar"):
        check(Recurrence("FREQ=DAILY", start, "UTC", holidays="XX"))
    with pytest.raises(InvalidInput, match="before it starts"):
        check(Recurrence("FREQ=DAILY", start, "UTC", until=date(2026, 1, 1)))
    with pytest.raises(InvalidInput, match="Unknown time zone"):
        check(Recurrence("FREQ=DAILY", start, "Mars/Base"))


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=DAILY", "Daily"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Every weekday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", "Every 2 weeks on Friday"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Monthly on the last Friday"),
        ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", "Yearly on 1 March"),
        ("FREQ=MONTHLY;BYDAY=MO", "FREQ=MONTHLY;BYDAY=MO"),  # no common words: as written
    ],
)
def test_rules_are_described_in_words(rule: str, words: str) -> None:
    assert rule_words(rule) == words


def test_a_series_is_described_with_its_end_and_skips() -> None:
    rec = Recurrence(
        "FREQ=WEEKLY;BYDAY=MO",
        datetime(2027, 3, 22, 9, 0),
        "Europe/London",
        count=10,
        holidays="GB",
    )
    assert describe(rec) == (
        "Weekly on Monday at 09:00 Europe/London from 2027-03-22, 10 times, "
        "skipping GB public holidays"
    )
