"""Rolling backups (SQLite's online backup API, daily, the newest kept, user-only) and
putting one back in place of a damaged database."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput, StorageError
from smsdesk.engine.backups import Backups
from smsdesk.engine.context import AppContext
from smsdesk.store import backup, raw_connection
from smsdesk.store.integrity import DatabaseDamaged, quick_check
from tests.conftest import START
from tests.store.damage import MESSAGES, damage_middle, digest, message_ids, sound_home


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_is_a_checked_user_only_copy_including_what_is_still_in_the_wal(
    tmp_path: Path,
) -> None:
    path = sound_home(tmp_path / "home", START)
    # A writer that keeps its connection open: its commit sits in the WAL, not the file.
    writer = raw_connection.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("UPDATE message SET text = 'changed after' WHERE rowid = 1")
    writer.commit()
    try:
        made = backup.make_backup(path, START)
    finally:
        writer.close()
    assert made.path.parent == tmp_path / "home" / "backups"
    assert _mode(made.path.parent) == 0o700 and _mode(made.path) == 0o600
    assert quick_check(made.path) == []
    assert message_ids(made.path) == message_ids(path)
    copy = raw_connection.connect(made.path)
    try:
        assert copy.execute("SELECT text FROM message WHERE rowid = 1").fetchone() == (
            "changed after",
        )
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        copy.close()
    assert [b.path for b in backup.list_backups(tmp_path / "home")] == [made.path]
    assert not list((tmp_path / "home" / "backups").glob("*.part"))


def test_backups_roll_daily_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    path = sound_home(tmp_path / "home", START)
    assert backup.backup_if_due(path, START) is not None
    assert backup.backup_if_due(path, START + timedelta(hours=23)) is None
    for day in range(1, 10):
        assert backup.backup_if_due(path, START + timedelta(days=day)) is not None
    kept = backup.list_backups(tmp_path / "home")
    assert len(kept) == backup.KEEP
    assert kept[0].taken_at == START + timedelta(days=9)
    assert kept[-1].taken_at == START + timedelta(days=9 - backup.KEEP + 1)


def test_a_damaged_database_is_not_backed_up(tmp_path: Path) -> None:
    path = sound_home(tmp_path / "home", START)
    damage_middle(path)
    before = digest(path)
    with pytest.raises(DatabaseDamaged):
        backup.make_backup(path, START)
    assert backup.list_backups(tmp_path / "home") == []
    assert not list((tmp_path / "home" / "backups").iterdir())  # no half copy left
    assert digest(path) == before


def test_opening_storage_makes_the_daily_backup_beside_the_work(
    isolated_home: Path,
) -> None:
    sound_home(isolated_home, START)
    clock = ManualClock(START)
    AppContext.open(isolated_home, clock=clock).close()
    AppContext.open(isolated_home, clock=clock).close()
    first = backup.list_backups(isolated_home)
    assert [b.taken_at for b in first] == [START]
    assert message_ids(first[0].path) == message_ids(isolated_home / "smsdesk.db")
    clock.advance(timedelta(days=1, seconds=1))
    AppContext.open(isolated_home, clock=clock).close()
    assert len(backup.list_backups(isolated_home)) == 2


def test_restore_puts_the_newest_backup_back_and_keeps_the_damaged_file(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    path = sound_home(home, START)
    made = backup.make_backup(path, START)
    damage_middle(path)
    damaged = digest(path)

    done = backup.restore(home, START + timedelta(hours=1))

    assert done.backup.path == made.path
    assert quick_check(path) == [] and len(message_ids(path)) == MESSAGES
    assert done.set_aside is not None and digest(done.set_aside) == damaged
    assert "damaged" in done.set_aside.name
    assert _mode(path) == 0o600
    # The backup itself stays, for another time.
    assert made.path.exists()


def test_restore_over_a_sound_database_needs_to_be_asked_for(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = sound_home(home, START)
    backup.make_backup(path, START)
    conn = raw_connection.connect(path)
    conn.execute("DELETE FROM event")
    conn.execute("DELETE FROM message WHERE rowid > 10")
    conn.commit()
    conn.close()
    with pytest.raises(InvalidInput, match="--force"):
        backup.restore(home, START)
    assert len(message_ids(path)) == 10
    done = backup.restore(home, START, replace_sound=True)
    assert len(message_ids(path)) == MESSAGES
    assert done.set_aside is not None and "replaced" in done.set_aside.name
    assert len(message_ids(done.set_aside)) == 10


def test_a_damaged_backup_is_not_restored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = sound_home(home, START)
    made = backup.make_backup(path, START)
    damage_middle(made.path)
    damage_middle(path)
    before = digest(path)
    with pytest.raises(StorageError, match="cannot be used"):
        backup.restore(home, START)
    assert digest(path) == before


def test_a_file_that_is_not_an_smsdesk_database_is_not_restored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = sound_home(home, START)
    damage_middle(path)
    before = digest(path)
    other = tmp_path / "other.db"
    conn = raw_connection.connect(other)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="not an smsdesk database"):
        backup.restore(home, START, other)
    with pytest.raises(InvalidInput, match="No backup file"):
        backup.restore(home, START, tmp_path / "missing.db")
    assert digest(path) == before


def test_postgresql_has_no_file_to_back_up_and_says_so(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSDESK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    backups = Backups(isolated_home, ManualClock(START))
    for action in (backups.backup_now, backups.list, backups.check, backups.salvage):
        with pytest.raises(StorageError, match="PostgreSQL server") as caught:
            action()
        assert "pg_dump" in str(caught.value)
    assert backups.newest() is None
    assert not (isolated_home / "backups").exists()
