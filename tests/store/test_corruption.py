"""A damaged database file is found (quick_check at open, and after an error) and nothing is
written into it; salvage copies out what can still be read and says what was lost."""

from __future__ import annotations

import shutil
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.store import raw_connection
from smsdesk.store.db import Database
from smsdesk.store.integrity import DatabaseDamaged, integrity_of, quick_check
from smsdesk.store.models import Contact
from smsdesk.store.salvage import salvage
from tests.conftest import START
from tests.store.damage import (
    MESSAGES,
    damage_header,
    damage_middle,
    digest,
    integrity,
    message_ids,
    sound_home,
)


def _new_contact(db: Database) -> None:
    with db.write() as s:
        s.add(
            Contact(
                name="New", number="+15550001111", zone="UTC", created_at=START, updated_at=START
            )
        )


def test_quick_check_finds_garbage_in_the_middle_and_leaves_the_file_alone(
    tmp_path: Path,
) -> None:
    path = sound_home(tmp_path / "home", START)
    assert quick_check(path) == []
    damage_middle(path)
    before = digest(path)
    assert quick_check(path) != []
    assert digest(path) == before


def test_opening_a_damaged_file_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    path = sound_home(tmp_path / "home", START)
    damage_middle(path)
    before = digest(path)
    with pytest.raises(DatabaseDamaged) as caught:
        Database.open(tmp_path / "home")
    assert "damaged" in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.problems
    with pytest.raises(DatabaseDamaged):
        AppContext.open(tmp_path / "home", clock=ManualClock(START))
    assert digest(path) == before


def test_a_sound_verdict_is_reused_while_the_file_is_unchanged_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smsdesk.store import integrity

    home = tmp_path / "home"
    path = sound_home(home, START)
    checked: list[Path] = []
    real = integrity.quick_check

    def counted(p: Path) -> list[str]:
        checked.append(p)
        return real(p)

    monkeypatch.setattr(integrity, "quick_check", counted)
    for _ in range(3):
        Database.open(home).dispose()
    assert len(checked) == 1  # the file did not change between the opens
    record = path.with_name("smsdesk.db.checked")
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    damage_middle(path)  # same size, new contents: its time changes
    with pytest.raises(DatabaseDamaged):
        Database.open(home)
    assert len(checked) == 2


def test_a_damaged_header_is_refused_too(tmp_path: Path) -> None:
    path = sound_home(tmp_path / "home", START)
    damage_header(path)
    before = digest(path)
    with pytest.raises(DatabaseDamaged, match="not a database"):
        Database.open(tmp_path / "home")
    assert digest(path) == before


def test_without_a_check_a_damaged_file_takes_writes_and_with_one_it_does_not(
    tmp_path: Path,
) -> None:
    # Why the check is needed: garbage in the middle does not stop a write to healthy pages.
    unchecked = sound_home(tmp_path / "a", START)
    damage_middle(unchecked)
    db = Database.open(tmp_path / "a", check=False)
    try:
        _new_contact(db)
    finally:
        db.dispose()

    checked = sound_home(tmp_path / "b", START)
    damage_middle(checked)
    before = digest(checked)
    db = Database.open(tmp_path / "b", check=False)
    try:
        assert db.integrity is not None
        db.integrity.start()  # as the window does, once it is usable
        with pytest.raises(DatabaseDamaged):
            _new_contact(db)  # waits for the verdict, then refuses
    finally:
        db.dispose()
    assert digest(checked) == before


def test_a_check_owed_but_not_started_is_run_by_the_first_write(tmp_path: Path) -> None:
    path = sound_home(tmp_path / "home", START)
    damage_middle(path)
    before = digest(path)
    integrity_of(path).expect()  # as the window's start-up does before opening storage
    db = Database.open(tmp_path / "home", check=False)
    try:
        with pytest.raises(DatabaseDamaged):
            _new_contact(db)
    finally:
        db.dispose()
    assert digest(path) == before


def test_damage_met_by_a_query_is_checked_and_every_later_write_refused(
    tmp_path: Path,
) -> None:
    path = sound_home(tmp_path / "home", START)
    damage_middle(path)
    before = digest(path)
    db = Database.open(tmp_path / "home", check=False)
    try:
        with pytest.raises(DatabaseDamaged), db.read() as s:
            s.execute(text("SELECT text, recipient FROM message")).all()  # a full scan
        assert db.integrity is not None and db.integrity.damaged
        with pytest.raises(DatabaseDamaged):
            _new_contact(db)
    finally:
        db.dispose()
    assert digest(path) == before


def test_a_constraint_error_is_not_taken_for_damage(isolated_home: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    db = Database.open(isolated_home)
    try:
        _new_contact(db)
        with pytest.raises(IntegrityError):
            _new_contact(db)  # the same number twice
        assert db.integrity is not None and not db.integrity.damaged
        assert quick_check(isolated_home / "smsdesk.db") == []
    finally:
        db.dispose()


def test_the_dispatch_agent_stops_once_damage_is_known_instead_of_failing_every_pass(
    tmp_path: Path,
) -> None:
    # No error may be logged (the harness fails the test on one): the agent says it once,
    # by raising to its caller (the command line prints one line and exits 1).
    path = sound_home(tmp_path / "home", START)
    ctx = AppContext.open(tmp_path / "home", clock=ManualClock(START), auto_backup=False)
    try:
        damage_middle(path)
        assert integrity_of(path).check()  # found, e.g. after an I/O error
        before = digest(path)
        passes: list[float] = []
        stop = threading.Event()
        with pytest.raises(DatabaseDamaged):
            Dispatcher(ctx).run_forever(stop, timedelta(seconds=1), wait=passes.append)
        assert passes == []  # it did not go round again
        assert digest(path) == before
    finally:
        ctx.close()


def test_salvage_keeps_every_readable_row_and_names_the_lost_messages(
    tmp_path: Path,
) -> None:
    path = sound_home(tmp_path / "home", START)
    original = message_ids(path)
    assert len(original) == MESSAGES
    kept_copy = tmp_path / "original.db"
    shutil.copyfile(path, kept_copy)
    damage_middle(path)
    before = digest(path)

    report = salvage(path, tmp_path / "salvaged.db")

    assert digest(path) == before  # read-only
    assert integrity(tmp_path / "salvaged.db") == "ok"
    saved = message_ids(tmp_path / "salvaged.db")
    lost = set(report.lost_messages)
    assert lost and saved and not (lost & saved)
    assert saved | lost == original  # every message is either kept or named as lost
    assert not report.complete
    messages = next(t for t in report.tables if t.table == "message")
    assert messages.kept == len(saved)
    assert any("Messages known to be lost" in line for line in report.lines())
    # What was kept is what was there, column for column.
    cols = "id, batch_id, recipient, text, state, send_at, provider_ref"
    old = raw_connection.connect(kept_copy)
    new = raw_connection.connect(tmp_path / "salvaged.db")
    try:
        want = {r[0]: r for r in old.execute(f"SELECT {cols} FROM message")}
        got = {r[0]: r for r in new.execute(f"SELECT {cols} FROM message")}
        assert all(got[i] == want[i] for i in got)
        # Every event is kept unchanged, or counted as unreadable or as belonging to a lost
        # message (event ids have no gaps here, so the counts add up exactly).
        events = next(t for t in report.tables if t.table == "event")
        total = old.execute("SELECT count(*) FROM event").fetchone()[0]
        assert events.kept + events.unreadable + events.dropped == total
        want_events = {r[0]: r for r in old.execute("SELECT * FROM event")}
        got_events = list(new.execute("SELECT * FROM event"))
        assert len(got_events) == events.kept
        assert all(want_events[r[0]] == r for r in got_events)
    finally:
        old.close()
        new.close()


def test_salvage_of_a_sound_file_loses_nothing(tmp_path: Path) -> None:
    path = sound_home(tmp_path / "home", START)
    report = salvage(path, tmp_path / "salvaged.db")
    assert report.complete
    assert message_ids(tmp_path / "salvaged.db") == message_ids(path)
    assert report.lost_messages == []
