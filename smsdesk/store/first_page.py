"""The Queue's first page read with plain sqlite3, before the storage stack is loaded.

Importing SQLAlchemy, sqlmodel and the models costs several times as long as painting a
window, so at start-up the window paints the Queue's first page from this reader and swaps in
the real Queue once storage is open (ui/startup.py). It must show exactly what the real Queue
will: the default scope ("upcoming and needs attention"), sorted by send time then id, with the
provider's name, the contact's name and the recipient's zone as engine/browse.py reads them
(tests/ui/test_startup_first_page.py compares them cell by cell).

Whenever it cannot be sure of that, it answers None and the window starts the normal way:
a PostgreSQL database, no file yet, a file plain sqlite3 cannot read (encrypted, damaged,
locked), a schema other than the newest (a migration is due), settings still to be imported
from settings.json, or a desk zone this version cannot use.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smsdesk.core.lifecycle import NOT_SENT, UPCOMING, State, where_it_lives
from smsdesk.store import revisions

log = logging.getLogger(__name__)

PAGE = 100  # the Queue model's page: what a tall window shows, and no more
# The default scope: core.lifecycle's UPCOMING and NOT_SENT, and the Queue's RECENT_FAILURES
# (a test holds this one equal to the Queue's).
RECENT_FAILURES = timedelta(days=7)
_COLUMNS = (
    "id, batch_id, account_id, recipient, text, segments, send_at, zone, state, last_error, "
    "attention"
)
# How long to wait for another process's write lock before giving the fast path up.
BUSY_SECONDS = 0.2


@dataclass(frozen=True)
class FirstRow:
    """One message as a Queue row shows it (the fields of engine.views.MessageView it uses)."""

    id: str
    batch_id: str
    account_id: int
    recipient: str
    text: str
    segments: int
    send_at: datetime
    zone: str
    state: str
    last_error: str | None
    attention: str | None
    provider: str
    where: str
    contact_name: str | None
    recipient_zone: str | None


@dataclass(frozen=True)
class FirstPage:
    rows: tuple[FirstRow, ...]
    total: int  # messages in the scope (what the real Queue counts)
    desk_zone: str | None  # the "zone" setting; None: the system's


def connect(path: Path) -> sqlite3.Connection:
    """The one way this module opens the file: read-only, without SQLAlchemy, with sqlite3 or
    (an encrypted file) SQLCipher and the keyring's key, asking no one for a passphrase.
    Raises what the driver or the keyring raises when it cannot (the caller falls back)."""
    from smsdesk.store import raw_connection

    if raw_connection.file_state(path) != "encrypted":
        conn = raw_connection.connect(path, read_only=True, timeout=BUSY_SECONDS)
    else:
        from smsdesk.store.secrets import never_asking

        with never_asking():  # the keyring's key; a locked key file is left for later
            key = raw_connection.database_key()
        conn = raw_connection.connect(path, read_only=True, key=key, timeout=BUSY_SECONDS)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


def read_first_page(home: Path, now: datetime, *, limit: int = PAGE) -> FirstPage | None:
    """The Queue's first ``limit`` rows in its default scope as of ``now``, or None when only
    the normal start-up can say (see above). Never raises for what the file holds."""
    if os.environ.get("SMSDESK_DATABASE_URL"):
        return None  # PostgreSQL: no file here to read
    path = home / "smsdesk.db"
    if not path.is_file() or (home / "settings.json").exists():
        return None
    try:
        conn = connect(path)
    except Exception as exc:  # sqlite3's, SQLCipher's, the keyring's: all mean "not now"
        log.info("the first page is read the normal way: %s", type(exc).__name__)
        return None
    try:
        return _read(conn, now, limit)
    except Exception as exc:  # damage, a lock, a driver's error: the normal path says which
        log.info("the first page is read the normal way: %s", type(exc).__name__)
        return None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, now: datetime, limit: int) -> FirstPage | None:
    head = revisions.head()
    found = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    if head is None or found != [(head,)]:
        return None  # a migration is due (or the file is newer): storage must open it
    usable, zone = _desk_zone(conn)
    if not usable:
        return None
    since = _stored(now - RECENT_FAILURES)
    rows: list[list[tuple[Any, ...]]] = []
    total = 0
    conn.execute("BEGIN")  # one read transaction: the counts and the rows agree
    try:
        for state in sorted(UPCOMING | NOT_SENT):
            where, params = "state = ?", [state]
            if state in NOT_SENT:
                where += " AND send_at >= ?"
                params.append(since)
            # Each state is a range of the (state, send_at, id) index, as the Queue reads it.
            total += conn.execute(f"SELECT count(*) FROM message WHERE {where}", params).fetchone()[
                0
            ]
            rows.append(
                conn.execute(
                    f"SELECT {_COLUMNS} FROM message WHERE {where} ORDER BY send_at, id LIMIT ?",
                    [*params, limit],
                ).fetchall()
            )
        page = list(islice(heapq.merge(*rows, key=lambda r: (r[6], r[0])), limit))
        names = dict(conn.execute("SELECT id, name FROM provider_account").fetchall())
        contacts = _contacts(conn, {str(r[3]) for r in page})
    finally:
        conn.rollback()
    return FirstPage(tuple(_row(r, names, contacts) for r in page), total, zone)


def _desk_zone(conn: sqlite3.Connection) -> tuple[bool, str | None]:
    """The desk's zone setting (None: the system's), and False when the stored value is not
    a plain zone name: store/settings.py decides what such a value means."""
    stored = conn.execute("SELECT value_json FROM setting WHERE key = 'zone'").fetchall()
    if not stored:
        return True, None
    value = json.loads(stored[0][0])
    if value is None:
        return True, None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        return False, None
    try:
        ZoneInfo(value)
    except Exception:
        return False, None
    return True, value


def _contacts(conn: sqlite3.Connection, numbers: set[str]) -> dict[str, tuple[str, str | None]]:
    if not numbers:
        return {}
    marks = ", ".join("?" * len(numbers))
    found = conn.execute(
        f"SELECT number, name, zone FROM contact WHERE number IN ({marks})", sorted(numbers)
    )
    return {number: (name, zone) for number, name, zone in found}


def _row(
    r: tuple[Any, ...], names: dict[int, str], contacts: dict[str, tuple[str, str | None]]
) -> FirstRow:
    (id_, batch_id, account_id, recipient, text, segments, send_at, zone, state, error, flag) = r
    number = str(recipient)
    name, contact_zone = contacts.get(number, (None, None))
    return FirstRow(
        id=str(id_),
        batch_id=str(batch_id),
        account_id=int(account_id),
        recipient=number,
        text=str(text),
        segments=int(segments),
        send_at=datetime.fromisoformat(str(send_at)).replace(tzinfo=UTC),
        zone=str(zone),
        state=str(state),
        last_error=None if error is None else str(error),
        attention=None if flag is None else str(flag),
        provider=names.get(int(account_id), "?"),
        where=where_it_lives(State(str(state))),
        # As engine/recipient_facts.py: an empty name is no name; no zone, the number's.
        contact_name=name or None,
        recipient_zone=contact_zone or _zone_of_number(number),
    )


def _zone_of_number(number: str) -> str | None:
    """As engine/recipient_facts.py guesses it (phonenumbers' data: loaded only if needed)."""
    from smsdesk.core.number_zone import guess_zone

    try:
        return guess_zone(number)
    except Exception:
        return None


def _stored(instant: datetime) -> str:
    """An instant as SQLite holds it (store/types.py: naive UTC, as SQLAlchemy writes it)."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
