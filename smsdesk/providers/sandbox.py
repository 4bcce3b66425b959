"""The built-in Sandbox: a scheduling provider that needs no account.

It behaves like a real one — a scheduling window, reschedule, cancel until one minute before,
statuses that progress to delivered after the send time — but keeps its "network" in a small
SQLite file of its own beside smsdesk's database. Numbers starting with the configured
failure prefix (default +1555000) fail, so users can see what a failure looks like.

What lookup can settle: everything. Its store is the provider itself, written in the same
transaction that accepts a message, so a key it does not hold was never received.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import (
    Found,
    NotReceived,
    Outcome,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
    ServerPreview,
    StatusReport,
)

TITLE = "Sandbox"
NEEDS_KEY = False
DEFAULT_BASE_URL = None
CAPABILITIES = Capabilities(
    native_scheduling=True,
    min_lead=timedelta(0),
    horizon=timedelta(days=365),
    native_reschedule=True,
    cancel_cutoff=timedelta(minutes=1),
    batch_size=1000,
    server_preview=False,
    lookup_by_key=True,
)
DEFAULT_FAIL_PREFIX = "+1555000"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_message (
    ref TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    sender TEXT,
    send_at TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    -- How many create requests arrived with this key: more than one shows a resend.
    requests INTEGER NOT NULL DEFAULT 1
)
"""


def _create(path: Path) -> None:
    """Make the Sandbox's file complete — in WAL mode, with its table — under another name,
    then link it into place, so no process ever opens a half-made file. Switching a new
    file to WAL while another process does the same can fail at once with "database is
    locked" (SQLite does not wait for that lock), which lost a hand-off when two desks
    first used the Sandbox together (tests/providers/test_sandbox_file.py)."""
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.new")
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # user-only
    try:
        conn = sqlite3.connect(partial, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
        finally:
            conn.close()
        try:
            os.link(partial, path)  # fails if another process's file got there first
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: nearly as good
            if not path.exists():
                partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


class SandboxProvider:
    kind = "sandbox"
    capabilities = CAPABILITIES

    def __init__(
        self,
        state_file: Path,
        clock: Clock,
        *,
        fail_prefix: str = DEFAULT_FAIL_PREFIX,
        delivery_delay: timedelta = timedelta(0),
    ) -> None:
        self._path = state_file
        self._clock = clock
        self._fail_prefix = fail_prefix
        self._delivery_delay = delivery_delay

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._path.exists():
            _create(self._path)
        conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_SCHEMA)  # a file from an older version may lack it; no-op otherwise
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        return list(messages)  # no provider-side groups: each message stands alone

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        now = self._clock.now()
        outcomes: list[Outcome] = []
        with self._db() as conn:
            for msg in messages:
                send_at = msg.send_at or now
                if send_at - now > CAPABILITIES.horizon:
                    outcomes.append(Rejected(msg.key, "Sandbox schedules at most 365 days ahead"))
                    continue
                ref = "sbx-" + uuid.uuid4().hex[:16]
                conn.execute(
                    "INSERT INTO sandbox_message (ref, key, recipient, text, sender, send_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET requests = requests + 1",
                    (ref, msg.key, msg.to, msg.text, msg.sender, send_at.isoformat()),
                )
                row = conn.execute(
                    "SELECT ref, send_at FROM sandbox_message WHERE key = ?", (msg.key,)
                ).fetchone()
                stored_at = datetime.fromisoformat(row[1])
                state = self._state(msg.to, stored_at, False, now)
                outcomes.append(Receipt(msg.key, row[0], state, stored_at, self._detail(state)))
        return outcomes

    def group_of(self, ref: str) -> str | None:
        return None

    def reschedule(self, ref: str, send_at: datetime) -> None:
        now = self._clock.now()
        with self._db() as conn:
            row = self._row(conn, ref)
            self._require_changeable(row, now, "reschedule")
            if send_at <= now or send_at - now > CAPABILITIES.horizon:
                raise PermanentError("Sandbox reschedules only to a time within the next 365 days.")
            conn.execute(
                "UPDATE sandbox_message SET send_at = ? WHERE ref = ?", (send_at.isoformat(), ref)
            )

    def cancel(self, ref: str) -> None:
        now = self._clock.now()
        with self._db() as conn:
            row = self._row(conn, ref)
            self._require_changeable(row, now, "cancel")
            conn.execute("UPDATE sandbox_message SET cancelled = 1 WHERE ref = ?", (ref,))

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        now = self._clock.now()
        reports: list[StatusReport] = []
        with self._db() as conn:
            for ref in refs:
                row = conn.execute(
                    "SELECT recipient, send_at, cancelled FROM sandbox_message WHERE ref = ?",
                    (ref,),
                ).fetchone()
                if row is None:
                    continue
                state = self._state(row[0], datetime.fromisoformat(row[1]), bool(row[2]), now)
                reports.append(StatusReport(ref, state, self._detail(state)))
        return reports

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        now = self._clock.now()
        with self._db() as conn:
            rows = {
                key: conn.execute(
                    "SELECT ref, recipient, send_at, cancelled FROM sandbox_message WHERE key = ?",
                    (key,),
                ).fetchone()
                for key, _ in messages
            }
        answers: list[Found] = []
        for key, _ in messages:
            row = rows[key]
            if row is None:
                answers.append(NotReceived(key, "the Sandbox holds no message with this key"))
                continue
            send_at = datetime.fromisoformat(row[2])
            state = self._state(row[1], send_at, bool(row[3]), now)
            answers.append(Receipt(key, row[0], state, send_at, self._detail(state)))
        return answers

    def preview(self, text: str) -> ServerPreview | None:
        return None

    def check(self) -> str:
        return "Sandbox: no account needed; messages never leave this computer."

    def close(self) -> None:
        pass  # nothing held open: each call opens its own connection

    def requests_by_key(self) -> dict[str, int]:
        """How many create requests each key received (for demonstrations and tests)."""
        with self._db() as conn:
            return dict(conn.execute("SELECT key, requests FROM sandbox_message").fetchall())

    def _state(self, recipient: str, send_at: datetime, cancelled: bool, now: datetime) -> State:
        if cancelled:
            return State.CANCELLED
        if now < send_at:
            return State.SCHEDULED
        if self._fail_prefix and recipient.startswith(self._fail_prefix):
            return State.FAILED
        return State.DELIVERED if now >= send_at + self._delivery_delay else State.SENT

    def _detail(self, state: State) -> str:
        """The reason given with a failure (none otherwise)."""
        if state is not State.FAILED:
            return ""
        return f"Sandbox: numbers starting {self._fail_prefix} are set up to fail"

    @staticmethod
    def _row(conn: sqlite3.Connection, ref: str) -> tuple[str, str, int]:
        row = conn.execute(
            "SELECT recipient, send_at, cancelled FROM sandbox_message WHERE ref = ?", (ref,)
        ).fetchone()
        if row is None:
            raise PermanentError(f"Sandbox has no message {ref}.")
        return (row[0], row[1], row[2])

    def _require_changeable(self, row: tuple[str, str, int], now: datetime, what: str) -> None:
        if row[2]:
            raise PermanentError(f"Sandbox cannot {what} a cancelled message.")
        send_at = datetime.fromisoformat(row[1])
        assert CAPABILITIES.cancel_cutoff is not None
        if now > send_at - CAPABILITIES.cancel_cutoff:
            raise PermanentError(
                f"Sandbox cannot {what} a message within 1 minute of its send time."
            )


def build(
    *,
    home: Path,
    clock: Clock,
    options: Mapping[str, str],
    base_url: str | None = None,
    api_key: str | None = None,
) -> SandboxProvider:
    try:
        delay = float(options.get("delivery_seconds", "0"))
    except ValueError:
        raise InvalidInput(
            "Sandbox option delivery_seconds must be a number of seconds.", field="option"
        ) from None
    return SandboxProvider(
        home / "sandbox.db",
        clock,
        fail_prefix=options.get("fail_prefix", DEFAULT_FAIL_PREFIX),
        delivery_delay=timedelta(seconds=delay),
    )
