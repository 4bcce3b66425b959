"""``queries.transition_many`` and ``claim_due`` on SQLite and, when a server is available
(SMSDESK_TEST_PG_URL), on PostgreSQL: compare-and-set per message, one event per change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import queries
from smsdesk.store.models import Event, Message
from smsdesk.store.queries import Move

LEASE = timedelta(minutes=2)


def _queued(ctx: AppContext, clock: ManualClock, count: int) -> list[str]:
    numbers = [f"+1555123{i:04d}" for i in range(count)]
    result = Service(ctx).schedule(numbers, "hi", clock.now() + timedelta(hours=1), "UTC")
    return [m.message.id for m in result.messages]


def _rows(ctx: AppContext) -> dict[str, Message]:
    with ctx.db.read() as s:
        return {m.id: m for m in s.exec(select(Message))}


def _events(ctx: AppContext, kind: str) -> list[tuple[str, str | None, str | None, str]]:
    with ctx.db.read() as s:
        found = s.exec(select(Event).where(Event.kind == kind).order_by(col(Event.id))).all()
    return [(e.message_id, e.state_from, e.state_to, e.detail) for e in found]


def test_only_messages_still_in_the_old_state_and_lease_move(
    db_ctx: AppContext, clock: ManualClock
) -> None:
    ids = _queued(db_ctx, clock, 5)
    now = clock.now()
    with db_ctx.db.write() as s:
        claimed = queries.claim_due(s, "desk-a", now, LEASE, 10)
    assert sorted(c.id for c in claimed) == sorted(ids)
    assert {c.lease_owner for c in claimed} == {"desk-a"}
    # One moved on (cancelled) and one was taken over by another desk since the claim.
    with db_ctx.db.write() as s:
        assert queries.transition(s, ids[0], State.QUEUED, State.CANCELLED, now, kind="cancelled")
        s.execute(
            queries.MESSAGES.update()
            .where(queries.MESSAGES.c.id == ids[1])
            .values(lease_owner="desk-b")
        )
    later = now + timedelta(seconds=5)
    moves = [
        Move(i, State.HANDING_OFF, "handing_off", f"to {i}", {"idempotency_key": f"k-{i}"})
        for i in ids
    ]
    moves.append(moves[-1])  # a repeated id still moves once
    with db_ctx.db.write() as s:
        moved = queries.transition_many(
            s, moves, State.QUEUED, later, owner="desk-a", attempts=1, last_error=None
        )
    assert moved == set(ids[2:])
    rows = _rows(db_ctx)
    assert rows[ids[0]].state == "cancelled" and rows[ids[0]].idempotency_key is None
    assert rows[ids[1]].state == "queued" and rows[ids[1]].idempotency_key is None
    for i in ids[2:]:
        row = rows[i]
        assert (row.state, row.idempotency_key, row.attempts) == ("handing_off", f"k-{i}", 1)
        assert row.updated_at == later and row.updated_at.tzinfo is not None
    assert sorted(_events(db_ctx, "handing_off")) == sorted(
        (i, "queued", "handing_off", f"to {i}") for i in ids[2:]
    )


def test_per_message_targets_and_columns(db_ctx: AppContext, clock: ManualClock) -> None:
    ids = _queued(db_ctx, clock, 3)
    now = clock.now()
    # A whole second: where a driver-level format (no ".000000") would differ from the ORM's.
    sync_at = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    with db_ctx.db.write() as s:
        queries.claim_due(s, "desk-a", now, LEASE, 10)
        queries.transition_many(
            s,
            [Move(i, State.HANDING_OFF, "handing_off") for i in ids],
            State.QUEUED,
            now,
            owner="desk-a",
        )
    with db_ctx.db.write() as s:
        moved = queries.transition_many(
            s,
            [
                Move(ids[0], State.SCHEDULED, "handed_off", "ok", {"provider_ref": "r0"}),
                Move(ids[1], State.FAILED, "failed", "no", {"last_error": "no", "due_at": None}),
                Move(ids[2], State.SCHEDULED, "handed_off", "ok", {"provider_ref": "r2"}),
            ],
            [State.HANDING_OFF, State.UNKNOWN],
            now,
            owner="desk-a",
            next_sync_at=sync_at,
        )
    assert moved == set(ids)
    rows = _rows(db_ctx)
    assert [(rows[i].state, rows[i].provider_ref) for i in ids] == [
        ("scheduled", "r0"),
        ("failed", None),
        ("scheduled", "r2"),
    ]
    assert rows[ids[1]].last_error == "no" and rows[ids[1]].due_at is None
    assert {rows[i].next_sync_at for i in ids} == {sync_at}
    # The stored text compares with what other queries write for the same instant.
    with db_ctx.db.read() as s:
        found = s.exec(select(Message.id).where(Message.next_sync_at == sync_at)).all()
    assert sorted(found) == sorted(ids)
    assert [e[:3] for e in _events(db_ctx, "failed")] == [(ids[1], "handing_off", "failed")]


def test_a_claim_comes_back_earliest_due_first(db_ctx: AppContext, clock: ManualClock) -> None:
    ids = _queued(db_ctx, clock, 4)
    with db_ctx.db.write() as s:
        for n, msg_id in enumerate(ids):
            s.execute(
                queries.MESSAGES.update()
                .where(queries.MESSAGES.c.id == msg_id)
                .values(due_at=clock.now() - timedelta(minutes=n))
            )
    with db_ctx.db.write() as s:
        claimed = queries.claim_due(s, "desk-a", clock.now(), LEASE, 3)
    assert [c.id for c in claimed] == [ids[3], ids[2], ids[1]]
    assert all(c.due_at is not None and c.due_at.tzinfo is not None for c in claimed)
