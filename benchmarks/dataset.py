"""Large smsdesk databases for the benchmarks, generated, never committed.

The schema comes from smsdesk's own migrations (``Database.open``); rows go in with
``sqlite3.executemany`` while the secondary indexes are dropped, then the indexes are created
again from the very SQL the migrations wrote.

    python -m benchmarks.dataset --messages 1000000 --home /tmp/smsdesk-1m

Messages spread from about two years ago to three months ahead of ``now``: the past ones
mostly delivered (some failed, cancelled, expired), the future ones mostly scheduled at a
provider, a fifth held on this computer (queued, due later). Each message has its "created"
event and, once it left ``queued``, the event of its latest change.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import DATA
from smsdesk.store import raw_connection

PAST = timedelta(days=700)
FUTURE = timedelta(days=90)
MESSAGES_PER_BATCH = 50
SENDER = "+12025550100"
NAMES = ("Ana", "Ben", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hugo", "Ines", "Jun")
TEXT = (
    "Hello {name}, this is a reminder of your appointment on {day} at {time}. "
    "Reply STOP to opt out."
)
ACCOUNTS = (
    (1, "Sandbox", "sandbox", None, None, 1),
    (2, "Clinic Infobip", "infobip", "https://example.api.infobip.com", "Clinic", 0),
    (3, "Front desk Telnyx", "telnyx", "https://api.telnyx.com", SENDER, 0),
)


def sql_time(at: datetime) -> str:
    """How smsdesk's UTCDateTime column stores an instant in SQLite (naive UTC text)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def create_schema(home: Path, *, encrypt: bool | None = None) -> Path:
    """An empty database at ``home`` made by smsdesk's migrations; returns its path.
    ``encrypt``: as for a new database (None), or chosen."""
    from smsdesk.store.db import Database

    db = Database.open(home, encrypt=encrypt)
    try:
        assert db.path is not None
        return db.path
    finally:
        db.dispose()


def _drop_indexes(conn: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the named (non-constraint) indexes of ``tables``; returns their CREATE statements."""
    marks = ",".join("?" for _ in tables)
    rows = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    for name, _sql in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _state_for(send_at: datetime, now: datetime, rnd: random.Random) -> str:
    roll = rnd.random()
    if send_at < now:
        if send_at > now - timedelta(hours=1) and roll < 0.5:
            return "sent"
        if roll < 0.94:
            return "delivered"
        if roll < 0.965:
            return "failed"
        if roll < 0.985:
            return "cancelled"
        return "expired"
    return "scheduled" if roll < 0.8 else "queued"


def message_rows(
    count: int, now: datetime, *, seed: int = 7
) -> Iterator[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    """(message row, its event rows) for ``count`` messages ordered by send time."""
    rnd = random.Random(seed)
    span = (PAST + FUTURE).total_seconds()
    start = now - PAST
    step = span / max(count, 1)
    stamp = sql_time(now)
    for i in range(count):
        send_at = start + timedelta(seconds=i * step + rnd.random() * step)
        state = _state_for(send_at, now, rnd)
        account = 1 + (i // MESSAGES_PER_BATCH) % 3
        batch = f"b-{i // MESSAGES_PER_BATCH:012x}"
        mid = f"m-{uuid.UUID(int=rnd.getrandbits(128)).hex[:12]}"
        recipient = f"+4179{1_000_000 + rnd.randrange(200_000):07d}"
        text = TEXT.format(
            name=NAMES[i % len(NAMES)],
            day=send_at.strftime("%d %b"),
            time=send_at.strftime("%H:%M"),
        )
        sent = sql_time(send_at)
        due = None
        handling = "hand_off_now"
        key = ref = group = next_sync = None
        if state == "queued":
            handling = "hold_until"
            due = sql_time(max(send_at - timedelta(days=5), now + timedelta(minutes=1)))
        else:
            key = f"smsdesk-{mid[2:]}{i:08x}"
            ref = f"ref-{mid[2:]}"
            if account == 2:
                group = f"bulk-{batch}"
            if state == "scheduled":
                next_sync = sent
        created = sql_time(send_at - timedelta(days=1 + rnd.random() * 5))
        created = min(created, stamp)
        row: tuple[object, ...] = (
            mid, batch, account, recipient, SENDER if account == 3 else None, text, "GSM-7", 1,
            sent, "Europe/Zurich", state, handling, due, key, ref, group,
            0 if state == "queued" else 1, "Carrier rejected" if state == "failed" else None,
            None, None, None, None, None, next_sync, created, created,
        )  # fmt: skip
        events: list[tuple[object, ...]] = [
            (mid, created, "created", None, "queued", "to be sent " + sent[:16])
        ]
        if state != "queued":
            events.append(
                (mid, sent if send_at < now else created, "status", "scheduled", state, "")
            )
        yield row, events


MESSAGE_COLUMNS = (
    "id, batch_id, account_id, recipient, sender, text, encoding, segments, send_at, zone, "
    "state, handling, due_at, idempotency_key, provider_ref, provider_group, attempts, "
    "last_error, attention, appointment_id, reminder_offset_minutes, lease_owner, "
    "lease_expires_at, next_sync_at, created_at, updated_at"
)


def insert_messages(db_path: Path, count: int, now: datetime, *, seed: int = 7) -> None:
    """Bulk-insert accounts, batches, ``count`` messages and their events."""
    conn = raw_connection.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR IGNORE INTO provider_account (id, name, kind, base_url, sender, "
            "settings_json, is_default, created_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)",
            [(*a, sql_time(now - PAST)) for a in ACCOUNTS],
        )
        indexes = _drop_indexes(conn, ("message", "event"))
        batches = [
            (f"b-{b:012x}", 1 + b % 3, TEXT, "Europe/Zurich", sql_time(now - PAST))
            for b in range((count + MESSAGES_PER_BATCH - 1) // MESSAGES_PER_BATCH)
        ]
        conn.executemany("INSERT INTO batch VALUES (?, ?, ?, ?, ?)", batches)
        marks = ",".join("?" for _ in MESSAGE_COLUMNS.split(","))
        chunk: list[tuple[object, ...]] = []
        events: list[tuple[object, ...]] = []
        for row, evs in message_rows(count, now, seed=seed):
            chunk.append(row)
            events += evs
            if len(chunk) >= 50_000:
                _flush(conn, marks, chunk, events)
        _flush(conn, marks, chunk, events)
        for sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _flush(
    conn: sqlite3.Connection,
    marks: str,
    chunk: list[tuple[object, ...]],
    events: list[tuple[object, ...]],
) -> None:
    conn.executemany(f"INSERT INTO message ({MESSAGE_COLUMNS}) VALUES ({marks})", chunk)
    conn.executemany(
        "INSERT INTO event (message_id, at, kind, state_from, state_to, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        events,
    )
    chunk.clear()
    events.clear()


def build(
    home: Path, count: int, now: datetime | None = None, *, encrypt: bool | None = None
) -> Path:
    """A database with ``count`` messages at ``home``; returns its path."""
    now = now or datetime.now(UTC)
    path = create_schema(home, encrypt=encrypt)
    insert_messages(path, count, now)
    return path


def cached(count: int) -> Path:
    """A home with ``count`` messages under benchmarks/.data, built once per day and schema.

    The messages are placed around the day it was built, so "now" in a later run falls in the
    same region of the data (held messages stay in the future for at least a day).
    """
    from smsdesk.store.migrate import known_revisions

    today = datetime.now(UTC).date().isoformat()
    # Per schema too: a database made before a migration would be migrated by the first run
    # that opens it (and its new indexes would lack the statistics the others have).
    home = DATA / f"home-{count}-{today}-r{known_revisions()[1]}"
    marker = home / "complete"
    if not marker.exists():
        for old in DATA.glob(f"home-{count}-*"):
            if today not in old.name:  # other days' only: another run may use today's
                shutil.rmtree(old, ignore_errors=True)
        home.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        # Plain: copies are opened under other (temporary) keyrings. The encryption
        # benchmark encrypts a copy of its own.
        build(home, count, encrypt=False)
        marker.write_text(f"{count} messages in {time.perf_counter() - started:.1f} s\n")
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, required=True, help="an empty or new folder")
    args = parser.parse_args()
    args.home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    path = build(args.home, args.messages)
    size = path.stat().st_size / 2**20
    print(
        f"{path}: {args.messages} messages, {size:.0f} MiB, {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
