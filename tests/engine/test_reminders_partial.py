"""Reminder imports with a few bad rows: the good ones are created, the bad ones listed, and
a reminder never lands after its appointment. Over the real database and scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.reminder_plan import ImportRequest, PlanStopped
from smsdesk.engine.reminders import Reminders
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection
from tests.reminder_files import ANN, EARLY, FAR, JANE, JOHN, Event, clinic, ics

OFFSETS = (timedelta(days=7), timedelta(days=2), timedelta(hours=2))
TEXT = "Hi {first_name|there}, see you {appt_time:%a %d %b at %H:%M}."


def request(data: bytes, offsets: tuple[timedelta, ...] = OFFSETS) -> ImportRequest:
    return ImportRequest(data, "ics", offsets, TEXT, "riverside")


def stored(home: Path) -> list[tuple[str, str, int, str]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return conn.execute(
            "SELECT m.recipient, m.send_at, m.reminder_offset_minutes, m.state FROM message m "
            "JOIN appointment a ON a.id = m.appointment_id ORDER BY m.recipient, m.send_at"
        ).fetchall()
    finally:
        conn.close()


def appointments(home: Path) -> list[tuple[str, int]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return conn.execute("SELECT number, cancelled FROM appointment ORDER BY number").fetchall()
    finally:
        conn.close()


@pytest.fixture
def reminders(service: Service) -> Reminders:
    service.update_settings(default_region="GB", zone="Europe/London")
    ContactBook(service.ctx).opt_out(ANN, "replied STOP")
    return Reminders(service)


def test_an_opted_out_patient_and_a_far_appointment_do_not_block_the_others(
    reminders: Reminders, isolated_home: Path
) -> None:
    plan = reminders.plan(request(clinic()))
    assert [(r.line, r.who) for r in plan.refused] == [(20, "Ann Lee"), (28, "Far Future")]
    assert "opted out (replied STOP" in plan.refused[0].reason
    assert "more than a year ahead" in plan.refused[1].reason
    assert len(plan.create) == 9
    assert stored(isolated_home) == []  # planning writes nothing

    summary = reminders.apply(request(clinic()))
    assert (summary.created, summary.moved, summary.cancelled) == (9, 0, 0)
    assert [r.raw for r in summary.rejected] == ["Ann Lee", "Far Future"]
    numbers = {row[0] for row in stored(isolated_home)}
    assert numbers == {JANE, JOHN, EARLY}
    assert [n for n, _c in appointments(isolated_home)] == [JANE, JOHN, EARLY]


def test_a_2_hour_reminder_for_0730_goes_the_evening_before(
    reminders: Reminders, isolated_home: Path
) -> None:
    reminders.apply(request(clinic()))
    early = [(r[1], r[2]) for r in stored(isolated_home) if r[0] == EARLY]
    assert early == [
        ("2026-12-07 08:00:00.000000", 7 * 1440),  # 07:30 is quiet: 08:00, still days before
        ("2026-12-12 08:00:00.000000", 2 * 1440),
        ("2026-12-13 20:59:00.000000", 120),  # not 08:00 on the day, after the appointment
    ]
    for send_at, _minutes in early:
        assert datetime.fromisoformat(send_at) < datetime(2026, 12, 14, 7, 30)


def test_the_2_hour_reminder_is_not_possible_once_the_evening_before_has_passed(
    reminders: Reminders, clock: ManualClock, isolated_home: Path
) -> None:
    clock.set(datetime(2026, 12, 13, 22, 0, tzinfo=UTC))
    data = ics(Event("e1", "Early Bird", EARLY, datetime(2026, 12, 14, 7, 30)))
    plan = reminders.plan(request(data))
    assert [r.offset for r in plan.too_late] == ["7d", "2d"]
    assert [r.offset for r in plan.not_possible] == ["2h"]
    assert "not before the appointment" in plan.not_possible[0].note
    with pytest.raises(InvalidInput) as caught:
        reminders.apply(request(data))
    assert caught.value.message.startswith("No reminder could be created:")
    assert stored(isolated_home) == [] and appointments(isolated_home) == []


def test_nothing_possible_stores_nothing_at_all(reminders: Reminders, isolated_home: Path) -> None:
    # Before, the far-future case stored part of the import and still exited 2.
    data = ics(
        Event("x1", "Ann Lee", ANN, datetime(2026, 12, 12, 11, 0)),
        Event("x2", "Far Future", FAR, datetime(2028, 1, 5, 10, 0)),
    )
    with pytest.raises(InvalidInput) as caught:
        reminders.apply(request(data))
    assert "Ann Lee" in str(caught.value) and "(and 1 more)" in str(caught.value)
    assert stored(isolated_home) == [] and appointments(isolated_home) == []


def test_a_storage_failure_half_way_leaves_nothing_stored(
    reminders: Reminders, isolated_home: Path
) -> None:
    # A real refusal from SQLite on John's first reminder, after Jane's were written.
    conn = raw_connection.connect(isolated_home / "smsdesk.db")
    conn.execute(
        f"CREATE TRIGGER no_john BEFORE INSERT ON message WHEN NEW.recipient = '{JOHN}' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError):
        reminders.apply(request(clinic()))
    assert stored(isolated_home) == [] and appointments(isolated_home) == []


def test_a_time_in_the_dst_gap_is_refused_and_the_rest_go_ahead(
    reminders: Reminders, clock: ManualClock, isolated_home: Path
) -> None:
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    data = ics(
        Event("g1", "Gap", JANE, datetime(2026, 3, 29, 1, 30)),
        Event("g2", "John Smith", JOHN, datetime(2026, 3, 30, 10, 0)),
    )
    summary = reminders.apply(request(data, offsets=(timedelta(days=2),)))
    assert summary.created == 1
    assert [r.reason for r in summary.rejected] == [
        "2026-03-29 01:30 does not exist in Europe/London (clocks skip forward at 01:00); "
        "choose another time"
    ]
    assert [r[0] for r in stored(isolated_home)] == [JOHN]


def test_reimport_shows_what_moves_and_what_is_cancelled_before_applying(
    reminders: Reminders, isolated_home: Path
) -> None:
    reminders.apply(request(clinic()))
    before = stored(isolated_home)
    moved = ics(
        Event("a1", "Jane Doe", JANE, datetime(2026, 12, 10, 16, 0)),  # same day, later
        Event("a5", "Early Bird", EARLY, datetime(2026, 12, 14, 7, 30), status="CANCELLED"),
    )  # John (a2) is gone from the file
    plan = reminders.plan(request(moved))
    assert [(r.who, r.offset, r.previous, r.when) for r in plan.move] == [
        ("Jane Doe", "7d", "Thu 3 Dec 2026 10:00 GMT", "Thu 3 Dec 2026 16:00 GMT"),
        ("Jane Doe", "2d", "Tue 8 Dec 2026 10:00 GMT", "Tue 8 Dec 2026 16:00 GMT"),
        ("Jane Doe", "2h", "Thu 10 Dec 2026 08:00 GMT", "Thu 10 Dec 2026 14:00 GMT"),
    ]
    assert sorted((r.who, r.offset) for r in plan.cancel) == sorted(
        [(w, o) for w in ("Early Bird", "John Smith") for o in ("7d", "2d", "2h")]
    )
    assert stored(isolated_home) == before  # the preview changed nothing

    summary = reminders.apply(request(moved))
    assert (summary.created, summary.moved, summary.cancelled) == (0, 3, 6)
    rows = stored(isolated_home)
    assert len(rows) == 9  # moved in place, not duplicated
    assert sorted(r[1] for r in rows if r[0] == JANE) == [
        "2026-12-03 16:00:00.000000",
        "2026-12-08 16:00:00.000000",
        "2026-12-10 14:00:00.000000",
    ]
    assert {r[3] for r in rows if r[0] != JANE} == {"cancelled"}
    assert dict(appointments(isolated_home)) == {JANE: 0, JOHN: 1, EARLY: 1}


def test_the_upcoming_list_shows_each_appointment_with_its_reminders(
    reminders: Reminders,
) -> None:
    reminders.apply(request(clinic()))
    views = reminders.upcoming()
    assert [v.name for v in views] == ["Jane Doe", "John Smith", "Early Bird"]
    assert [(r.offset, r.when, r.state) for r in views[0].reminders] == [
        ("7d", "Thu 3 Dec 2026 10:00 GMT", "held on this computer"),
        ("2d", "Tue 8 Dec 2026 10:00 GMT", "held on this computer"),
        ("2h", "Thu 10 Dec 2026 08:00 GMT", "held on this computer"),
    ]


def test_partial_import_then_reimport_on_sqlite_and_postgresql(db_ctx: AppContext) -> None:
    service = Service(db_ctx)
    service.update_settings(default_region="GB", zone="Europe/London")
    ContactBook(db_ctx).opt_out(ANN, "replied STOP")
    reminders = Reminders(service)
    first = reminders.apply(request(clinic()))
    assert (first.created, len(first.rejected)) == (9, 2)
    again = reminders.apply(request(clinic(jane_at=datetime(2026, 12, 10, 16, 0))))
    assert (again.created, again.moved, again.cancelled, again.unchanged) == (0, 3, 0, 6)
    views = {v.name: v for v in reminders.upcoming()}
    assert set(views) == {"Jane Doe", "John Smith", "Early Bird"}
    assert [r.when for r in views["Jane Doe"].reminders] == [
        "Thu 3 Dec 2026 16:00 GMT",
        "Tue 8 Dec 2026 16:00 GMT",
        "Thu 10 Dec 2026 14:00 GMT",
    ]


def test_a_plan_stops_when_its_caller_wants_a_newer_one(reminders: Reminders) -> None:
    asked: list[int] = []

    def keep_going() -> bool:
        asked.append(1)
        return len(asked) < 3  # the dialog's option changed during the third appointment

    with pytest.raises(PlanStopped):
        reminders.plan(request(clinic()), keep_going)
    assert len(asked) == 3
