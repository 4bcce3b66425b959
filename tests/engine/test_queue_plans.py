"""What SQLite does for the Queue and the replies matcher, asked with EXPLAIN QUERY PLAN on a
database with no statistics (a desk's database never runs ANALYZE): the default scope reads,
in every sort, the sort's partial index of migration 0008 and a week of failures from (state,
send_at, id), never another index walked in full; the matcher seeks by recipient."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import SORTS, Browser, QueueFilter, cursor_of
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.replies import ReplyPuller
from smsdesk.engine.service import Service

SCOPE_INDEX = {
    "send_at": "ix_message_scope_send_at",
    "recipient": "ix_message_scope_recipient",
    "text": "ix_message_scope_text",
    "provider": "ix_message_scope_account",
    "state": "ix_message_scope_state",
    "where": "ix_message_scope_where",
    "segments": "ix_message_scope_segments",
}
# Rows by id, and the failure parts (a week's range of one state).
ALSO_ALLOWED = {"sqlite_autoindex_message_1", "ix_message_state_send_at_id"}


@contextmanager
def _statements(service: Service) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "message" in statement:
            seen.append((statement, params))

    engine: Engine = service.ctx.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _plan(service: Service, statement: str, params: Any) -> list[str]:
    with service.ctx.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    return [str(r[3]) for r in rows]


def _message_indexes(lines: list[str]) -> set[str]:
    """The index each step over the message table uses ("" for a table scan)."""
    used = set()
    for line in lines:
        if line.startswith(("SCAN message", "SEARCH message")):
            used.add(line.split(" INDEX ", 1)[1].split(" ")[0] if " INDEX " in line else "")
    return used


def _fill(service: Service, clock: ManualClock) -> None:
    service.update_settings(quiet_mode="off")
    for i in range(30):
        service.schedule(
            [f"+1555123{i:04d}"], f"Reminder {i}", clock.now() + timedelta(hours=1 + i), "UTC"
        )


@pytest.mark.parametrize("sort", SORTS)
def test_the_default_scope_reads_its_own_index_in_every_sort(
    service: Service, clock: ManualClock, sort: str
) -> None:
    _fill(service, clock)
    browser = Browser(service.ctx)
    flt = QueueFilter(sort=sort, attention_since=clock.now() - timedelta(days=7))
    with _statements(service) as seen:
        first = browser.page(flt, limit=10)
        browser.page(flt, after=cursor_of(flt, first[-1]), limit=10)
        browser.page(flt, limit=10, descending=True)
        browser.page(flt, after=cursor_of(flt, first[2]), skip=12, limit=5)
        total = browser.count(flt)
        browser.position(flt, cursor_of(flt, first[5]), total=total)
        browser.landmarks(flt, 7)
    assert total == 30 and len(seen) > 10
    for statement, params in seen:
        if "provider_account" in statement or "FROM contact" in statement:
            continue
        used = _message_indexes(_plan(service, statement, params))
        # Every read of the messages: the sort's partial index, or a look-up by id, or a
        # failure part; never the full table or another index.
        assert used, statement
        if statement.startswith("SELECT count(*)"):
            # A count may read any of the scope's indexes: each holds the same messages.
            assert used <= {*SCOPE_INDEX.values(), *ALSO_ALLOWED}, (used, statement)
            continue
        assert used <= {SCOPE_INDEX[sort], *ALSO_ALLOWED}, (used, statement)
        if "(state || '') IN" in statement:
            assert SCOPE_INDEX[sort] in used, statement


def test_the_replies_matcher_seeks_the_last_message_to_a_number(
    service: Service, clock: ManualClock
) -> None:
    _fill(service, clock)
    Dispatcher(service.ctx).run_once()  # handed to the Sandbox: sent, as far as replies go
    puller = ReplyPuller(service.ctx)

    class Reply:
        provider_id = "r-1"
        sender = "+15551230003"
        to = "+15550100000"
        text = "C"
        received_at = clock.now() + timedelta(hours=5)

    with _statements(service) as seen, service.ctx.db.read() as s:
        found = puller._answered(s, 1, Reply())
    assert found is not None and found.recipient == Reply.sender
    [(statement, params)] = seen
    lines = _plan(service, statement, params)
    assert any(
        line.startswith(
            "SEARCH message USING INDEX ix_message_recipient_send_at_id "
            "(recipient=? AND send_at>? AND send_at<?)"
        )
        for line in lines
    ), lines


def test_migration_0008_leaves_no_redundant_index(service: Service) -> None:
    with service.ctx.db.engine.connect() as conn:
        names = {
            row[0]
            for row in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message'")
            )
        }
    assert set(SCOPE_INDEX.values()) <= names
    assert not names & {"ix_message_send_at", "ix_message_state", "ix_message_send_at_id_state"}
