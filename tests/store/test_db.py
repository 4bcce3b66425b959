"""The local store on a real SQLite file: pragmas, permissions, migrations, leases."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from smsdesk.core.errors import StorageError
from smsdesk.core.lifecycle import State
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import queries, raw_connection
from smsdesk.store.db import Database
from smsdesk.store.migrate import _backup, migrate_to_head
from smsdesk.store.models import Message, ProviderAccount
from smsdesk.store.paths import database_path, home_dir

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_smsdesk_home_relocates_the_database(isolated_home: Path) -> None:
    assert home_dir() == isolated_home
    db = Database.open(isolated_home)
    assert db.path == isolated_home / "smsdesk.db"
    assert db.path.exists()
    db.dispose()


def test_pragmas_are_set_on_every_connection(isolated_home: Path) -> None:
    db = Database.open(isolated_home)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    db.dispose()


def test_every_commit_is_fsynced_before_it_returns(isolated_home: Path) -> None:
    # synchronous=FULL (2): a committed hand-off intent survives a power cut (NORMAL, 1,
    # may lose the last commits; see tests/robustness/test_power_cut.py).
    db = Database.open(isolated_home)
    with db.engine.connect() as first, db.engine.connect() as second:
        for conn in (first, second):
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
    with db.write() as s:
        assert s.execute(text("PRAGMA synchronous")).scalar() == 2
    db.dispose()


def test_files_are_readable_by_the_user_only(ctx: AppContext, service: Service) -> None:
    service.schedule(["+15551234567"], "hi", NOW + timedelta(hours=1), "UTC")
    path = database_path(ctx.home)
    assert _mode(ctx.home) == 0o700
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert candidate.exists(), candidate
        assert _mode(candidate) == 0o600, candidate


def test_foreign_keys_are_enforced(ctx: AppContext) -> None:
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), ctx.db.write() as s:
        s.add(
            Message(
                id="m-orphan",
                batch_id="b-missing",
                account_id=1,
                recipient="+15551234567",
                text="x",
                encoding="GSM-7",
                segments=1,
                send_at=NOW,
                zone="UTC",
                state="queued",
                handling="hand_off_now",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    with ctx.db.read() as s:
        assert s.get(Message, "m-orphan") is None


def test_a_fresh_database_is_at_the_newest_schema_and_has_the_sandbox(ctx: AppContext) -> None:
    assert migrate_to_head(ctx.db) is None  # nothing left to do
    with ctx.db.read() as s:
        [acct] = s.exec(select(ProviderAccount)).all()
    assert (acct.name, acct.kind, acct.is_default) == ("Sandbox", "sandbox", True)


def test_a_database_from_a_newer_smsdesk_is_refused(isolated_home: Path) -> None:
    db = Database.open(isolated_home)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    with pytest.raises(StorageError, match="newer version of smsdesk"):
        Database.open(isolated_home)


def test_backup_before_migrating_is_a_consistent_private_copy(
    ctx: AppContext, service: Service
) -> None:
    service.schedule(["+15551234567"], "kept safe", NOW + timedelta(hours=1), "UTC")
    assert ctx.db.path is not None
    backup = _backup(ctx.db.path, "0001")
    assert _mode(backup) == 0o600
    copy = raw_connection.connect(backup)
    assert copy.execute("SELECT text FROM message").fetchall() == [("kept safe",)]
    copy.close()


def test_instants_come_back_aware_in_utc(ctx: AppContext, service: Service) -> None:
    local = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    [m] = service.schedule(["+15551234567"], "hi", local, "Europe/Berlin").messages
    with ctx.db.read() as s:
        stored = s.get(Message, m.message.id)
    assert stored is not None
    assert stored.send_at == local and stored.send_at.tzinfo is not None
    assert stored.zone == "Europe/Berlin"


def test_a_lease_keeps_others_out_until_it_expires(ctx: AppContext, service: Service) -> None:
    service.schedule(["+15551234567", "+15557654321"], "hi", NOW + timedelta(hours=1), "UTC")
    lease = timedelta(minutes=2)
    with ctx.db.write() as s:
        first = queries.claim_due(s, "desk-a", NOW, lease, 10)
    with ctx.db.write() as s:
        second = queries.claim_due(s, "desk-b", NOW, lease, 10)
    assert len(first) == 2 and second == []
    with ctx.db.write() as s:
        late = queries.claim_due(s, "desk-b", NOW + lease + timedelta(seconds=1), lease, 10)
    assert {m.id for m in late} == {m.id for m in first}
    assert {m.lease_owner for m in late} == {"desk-b"}


def test_transition_is_compare_and_set(ctx: AppContext, service: Service) -> None:
    [m] = service.schedule(["+15551234567"], "hi", NOW + timedelta(hours=1), "UTC").messages
    with ctx.db.write() as s:
        assert queries.transition(
            s, m.message.id, State.QUEUED, State.CANCELLED, NOW, kind="cancelled"
        )
    with ctx.db.write() as s:
        # Someone else already moved it: a second writer changes nothing.
        assert not queries.transition(
            s, m.message.id, State.QUEUED, State.HANDING_OFF, NOW, kind="handing_off"
        )
    assert service.show(m.message.id)[0].state == "cancelled"


def test_a_kill_during_migration_leaves_a_database_that_migrates_on_next_start(
    isolated_home: Path,
) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-m", "tests.store.migrate_child", str(isolated_home)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert child.returncode == 9, child.stderr
    # The half-done migration was one transaction: nothing of it remains...
    conn = raw_connection.connect(isolated_home / "smsdesk.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert tables <= {"alembic_version"}
    # ...and the next start migrates from scratch.
    db = Database.open(isolated_home)
    with db.engine.connect() as c:
        names = {r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"message", "event", "batch", "draft", "provider_account"} <= names
    db.dispose()


def test_upgrading_an_older_database_keeps_its_messages_and_a_backup(
    isolated_home: Path,
) -> None:
    from alembic import command

    from smsdesk.store.migrate import alembic_config

    isolated_home.mkdir(parents=True, exist_ok=True)
    path = database_path(isolated_home)
    old = Database(Database.open(isolated_home, migrate=False).engine, path)
    cfg = alembic_config()
    with old._write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")  # the schema as the first release left it
    old.dispose()
    raw = raw_connection.connect(path)  # a message stored by that release
    raw.executescript(
        """
        INSERT INTO provider_account (id, name, kind, settings_json, is_default, created_at)
            VALUES (1, 'Sandbox', 'sandbox', '{}', 1, '2026-11-01 09:00:00');
        INSERT INTO batch VALUES ('b-old', 1, 'from the old days', 'UTC', '2026-11-01 09:00:00');
        INSERT INTO message (id, batch_id, account_id, recipient, text, encoding, segments,
            send_at, zone, state, handling, attempts, created_at, updated_at)
            VALUES ('m-old', 'b-old', 1, '+15551234567', 'from the old days', 'GSM-7', 1,
            '2026-12-01 10:00:00', 'UTC', 'queued', 'hand_off_now', 0,
            '2026-11-01 09:00:00', '2026-11-01 09:00:00');
        """
    )
    raw.commit()
    raw.close()

    upgraded = Database.open(isolated_home)  # migrates 0001 -> newest
    with upgraded.read() as s:
        assert [m.text for m in s.exec(select(Message))] == ["from the old days"]
    upgraded.dispose()
    backup = path.with_name("smsdesk.db.before-upgrade-from-0001.bak")
    assert _mode(backup) == 0o600
    copy = raw_connection.connect(backup)
    assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
    assert copy.execute("SELECT text FROM message").fetchall() == [("from the old days",)]
    copy.close()
