"""Fencing and lease renewal: each claim raises a message's lease generation, every outcome
write checks owner and generation, and a holder keeps its lease alive while it works, so
that no request it makes outlives the lease of the messages it carries.

Real SQLite files (and PostgreSQL when SMSDESK_TEST_PG_URL is set), the real Sandbox, a
manual clock; a slow request is the clock moving while the provider holds the request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.engine.context import AppContext
from smsdesk.engine.lease import MARGIN, request_budget
from smsdesk.engine.outbox import Dispatcher, Ready
from smsdesk.engine.pacing import TokenBucket
from smsdesk.engine.service import Service
from smsdesk.providers.base import Outcome, Outgoing
from smsdesk.store import queries
from smsdesk.store.models import Event, Message
from smsdesk.store.queries import Move
from tests.engine.faults import FaultySandbox

LEASE = timedelta(minutes=2)


def _queued(ctx: AppContext, clock: ManualClock, count: int, ahead: timedelta) -> list[str]:
    numbers = [f"+1555123{i:04d}" for i in range(count)]
    result = Service(ctx).schedule(numbers, "hi", clock.now() + ahead, "UTC")
    return [m.message.id for m in result.messages]


def _rows(ctx: AppContext) -> dict[str, Message]:
    with ctx.db.read() as s:
        return {m.id: m for m in s.exec(select(Message))}


def _kinds(ctx: AppContext, msg_id: str) -> list[str]:
    with ctx.db.read() as s:
        events = s.exec(
            select(Event).where(Event.message_id == msg_id).order_by(col(Event.id))
        ).all()
    return [e.kind for e in events]


def _into(ctx: AppContext, msg_id: str, state: str) -> int:
    with ctx.db.read() as s:
        events = s.exec(
            select(Event).where(Event.message_id == msg_id, Event.state_to == state)
        ).all()
    return len(events)


def test_a_holder_whose_lease_was_taken_over_writes_nothing(
    db_ctx: AppContext,
    clock: ManualClock,
) -> None:
    """The same owner name on both sides (a desk restarted under its name): only the
    generation tells the stale claim from the new one."""
    [msg_id] = _queued(db_ctx, clock, 1, timedelta(hours=1))
    with db_ctx.db.write() as s:
        [first] = queries.claim_due(s, "desk", clock.now(), LEASE, 10)
    clock.advance(LEASE + timedelta(seconds=1))  # the first holder stalled past its lease
    with db_ctx.db.write() as s:
        [second] = queries.claim_due(s, "desk", clock.now(), LEASE, 10)
    assert second.lease_generation == first.lease_generation + 1
    stale = {msg_id: first.lease_generation}
    with db_ctx.db.write() as s:
        moved = queries.transition_many(
            s,
            [Move(msg_id, State.HANDING_OFF, "handing_off", "stale")],
            State.QUEUED,
            clock.now(),
            owner="desk",
            fence=stale,
        )
        assert moved == set()
        assert not queries.transition(
            s,
            msg_id,
            State.QUEUED,
            State.FAILED,
            clock.now(),
            kind="failed",
            owner="desk",
            generation=first.lease_generation,
        )
        assert queries.renew(s, stale, "desk", clock.now() + LEASE) == set()
        queries.release(s, stale, "desk")
    row = _rows(db_ctx)[msg_id]
    assert (row.state, row.lease_owner) == ("queued", "desk")  # the new claim's, untouched
    assert row.lease_generation == second.lease_generation
    with db_ctx.db.write() as s:
        fresh = {msg_id: second.lease_generation}
        assert queries.renew(s, fresh, "desk", clock.now() + 2 * LEASE) == {msg_id}
        assert queries.transition_many(
            s,
            [Move(msg_id, State.HANDING_OFF, "handing_off", "current")],
            State.QUEUED,
            clock.now(),
            owner="desk",
            fence=fresh,
        ) == {msg_id}


class TakenOverMidRequest(FaultySandbox):
    """While the first request is with the provider, the clock runs past its lease and a
    second dispatcher (same owner name) takes the message over and settles it."""

    def __init__(self, inner: FaultySandbox, clock: ManualClock, lease: timedelta) -> None:
        super().__init__(inner.inner)
        self.clock, self.lease = clock, lease
        self.second: Dispatcher | None = None
        self.second_report: int = -1

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        second, self.second = self.second, None
        if second is not None:  # only the first request stalls
            self.clock.advance(self.lease + timedelta(minutes=1))
            self.second_report = second.run_once().handed_off + second.run_once().reconciled
        return super().schedule(messages)


def test_a_stale_holders_outcome_is_refused_by_generation(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    slow = TakenOverMidRequest(sandbox, clock, LEASE)
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _a: slow)
    try:
        [msg_id] = _queued(ctx, clock, 1, timedelta(hours=3))
        first = Dispatcher(ctx, owner="desk", lease=LEASE)
        slow.second = Dispatcher(ctx, owner="desk", lease=LEASE)
        report = first.run_once()
        assert slow.second_report >= 1  # the second dispatcher did take it over
        assert report.handed_off == 0  # the stale answer was not recorded
        row = _rows(ctx)[msg_id]
        assert row.state == "scheduled"
        # One way into "scheduled": the second dispatcher's, not both.
        assert _into(ctx, msg_id, "scheduled") == 1
        assert _kinds(ctx, msg_id) == [
            "created",
            "handing_off",
            "unknown",  # taken over: the second dispatcher asks the provider...
            "reconciled",  # ...which never got it (the first request was still on its way)
            "handing_off",
            "handed_off",
        ]
    finally:
        ctx.close()


class SlowProvider(FaultySandbox):
    """Each request takes ``took`` on the manual clock; records how much lease its
    messages had left when it started."""

    def __init__(self, inner: FaultySandbox, clock: ManualClock, ctx_box: list[AppContext]):
        super().__init__(inner.inner)
        self.clock = clock
        self.took = timedelta(seconds=50)
        self.ctx_box = ctx_box
        self.left: list[timedelta] = []

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        ctx = self.ctx_box[0]
        keys = [m.key for m in messages]
        with ctx.db.read() as s:
            rows = s.exec(select(Message).where(col(Message.idempotency_key).in_(keys))).all()
        now = self.clock.now()
        self.left += [(r.lease_expires_at or now) - now for r in rows]
        self.clock.advance(self.took)
        return super().schedule(messages)


def test_the_lease_is_renewed_so_that_no_request_outlives_it(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    box: list[AppContext] = []
    slow = SlowProvider(sandbox, clock, box)
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _a: slow)
    box.append(ctx)
    try:
        # Five send times: five requests in one claim, 50 s each, on a 2-minute lease.
        svc = Service(ctx)
        for n in range(5):
            svc.schedule(
                [f"+1555123{n:04d}"], "hi", clock.now() + timedelta(hours=2, minutes=n), "UTC"
            )
        account = ctx.account(None)
        worst = request_budget(account, creates=True)
        report = Dispatcher(ctx, lease=LEASE).run_once()
        assert report.handed_off == 5
        assert len(slow.left) == 5
        # Every request started with at least its worst case (and the margin) of lease left.
        assert min(slow.left) >= worst + MARGIN
        assert {r.state for r in _rows(ctx).values()} == {"scheduled"}
    finally:
        ctx.close()


def test_a_claim_whose_lease_ran_out_and_was_taken_sends_nothing_more(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    """Between two requests of one claim, another dispatcher took the rest over (the first
    was paused past its lease): the first must not send them."""
    box: list[AppContext] = []
    slow = SlowProvider(sandbox, clock, box)
    slow.took = LEASE + timedelta(minutes=1)
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _a: slow)
    box.append(ctx)
    try:
        svc = Service(ctx)
        ids = [
            svc.schedule(
                [f"+1555123{n:04d}"], "hi", clock.now() + timedelta(hours=2, minutes=n), "UTC"
            )
            .messages[0]
            .message.id
            for n in range(2)
        ]
        first = Dispatcher(ctx, owner="desk", lease=LEASE)
        other = Dispatcher(ctx, owner="desk", lease=LEASE)
        original = first._one_chunk
        calls = 0

        def one_chunk(run: Any, chunk: Ready, bucket: TokenBucket | None = None) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:  # the first request took longer than the lease: taken over
                with ctx.db.write() as s:
                    taken = queries.claim_due(s, "desk", clock.now(), LEASE, 10)
                assert [c.id for c in taken] == [ids[1]]
            original(run, chunk, bucket)

        first._one_chunk = one_chunk  # type: ignore[method-assign]
        report = first.run_once()
        assert report.handed_off == 1
        row = _rows(ctx)[ids[1]]
        assert (row.state, row.idempotency_key) == ("queued", None)  # not sent by `first`
        assert slow.schedule_calls == 1
        assert other.run_once().handed_off == 0  # still leased by the taker
    finally:
        ctx.close()
