"""Hostile input gets a clear error and leaves the database exactly as it was."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import parse_when, resolve_zone
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection


def _dump(home: Path) -> list[tuple[object, ...]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return [
            row
            for table in ("batch", "message", "event", "draft", "provider_account")
            for row in conn.execute(f"SELECT * FROM {table}")
        ]
    finally:
        conn.close()


HOSTILE_TEXT = [
    "\x00",
    "bell\x07",
    "escape \x1b[31mred",
    "x" * 10_000_000,  # 10 MB
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=["nul", "bell", "ansi", "10MB", "surrogate"])
def test_hostile_text_is_refused(
    service: Service, clock: ManualClock, isolated_home: Path, text: str
) -> None:
    before = _dump(isolated_home)
    with pytest.raises(InvalidInput) as info:
        service.schedule(["+15551234567"], text, clock.now() + timedelta(hours=1), "UTC")
    assert info.value.field == "text"
    assert len(str(info.value)) < 200 and "\n" not in str(info.value)
    assert _dump(isolated_home) == before


@pytest.mark.parametrize(
    "text",
    [
        "Robert'); DROP TABLE message;--",
        "\u202eright-to-left override and \u200f mark",
        "emoji 😀 and Zalgo z̸̢̛",
    ],
)
def test_odd_but_legitimate_text_is_stored_verbatim(
    service: Service, clock: ManualClock, text: str
) -> None:
    [m] = service.schedule(["+15551234567"], text, clock.now() + timedelta(hours=1), "UTC").messages
    assert service.show(m.message.id)[0].text == text
    assert len(service.list_messages()) == 1


@pytest.mark.parametrize(
    ("when", "zone"),
    [
        ("9999-12-31 23:59", "UTC"),
        ("10000-01-01 00:00", "UTC"),
        ("2027-03-28 02:30", "Europe/Berlin"),  # skipped by the clocks
        ("2027-10-31 02:30", "Europe/Berlin"),  # happens twice
        ("2027-01-01 09:00", "Europe/Atlantis"),
        ("2027-01-01 09:00", "../../etc/passwd"),
        ("2027-02-30 09:00", "UTC"),
        ("2027-01-01T09:00+25:00", "UTC"),
    ],
)
def test_hostile_times_are_refused(when: str, zone: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(when, resolve_zone(zone))
    assert "\n" not in str(info.value)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.text(max_size=40))
def test_any_recipient_text_is_a_number_or_a_clear_error(service: Service, raw: str) -> None:
    try:
        [number] = service.normalize_recipients([raw], None) or [""]
    except InvalidInput as exc:
        assert exc.field == "recipients"
        return
    assert number.startswith("+") and number[1:].isdigit()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_any_time_text_is_an_instant_or_a_clear_error(text: str) -> None:
    try:
        instant = parse_when(text, resolve_zone("America/New_York"))
    except InvalidInput:
        return
    assert isinstance(instant, datetime) and instant.utcoffset() == timedelta(0)
