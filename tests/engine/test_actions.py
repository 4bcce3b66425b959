"""Cancel and reschedule at a provider under an intent (Infobip on the loopback simulator):
the intent is recorded before the request, settled after it, and finished by reconciliation
when the answer was unclear; refusals put the messages back with the provider's reason; a
second desk cannot change a bulk while its change is in flight; a holder whose lease was
taken over cannot record an outcome; what cannot be established is shown to the user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.actions import Actions
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, PassReport
from smsdesk.engine.provider_changes import reconcile_intents
from smsdesk.engine.service import Service
from smsdesk.store import queries
from smsdesk.store.models import Message
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-actions-key-4e7d21"
NUMBERS = ["+41793026727", "+41793026834", "+41793026901"]
AHEAD = timedelta(hours=2)
LATER = timedelta(hours=5)
PUT_STATUS = "PUT /sms/1/bulks/status"


@pytest.fixture
def ctx(db_ctx: AppContext) -> AppContext:
    """Each test on a SQLite file and on PostgreSQL, a shared office (tests/pg.py)."""
    return db_ctx


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def svc(ctx: AppContext, sim: InfobipSimulator) -> Service:
    service = Service(ctx)
    service.add_account(
        "Infobip",
        "infobip",
        api_key=KEY,
        base_url=sim.base_url,
        options={"timeout": "1.0"},
        make_default=True,
    )
    return service


def _bulk(svc: Service, ctx: AppContext, clock: ManualClock) -> tuple[list[str], str]:
    result = svc.schedule(NUMBERS, "Clinic closed Friday", clock.now() + AHEAD, "UTC")
    ids = [m.message.id for m in result.messages]
    Dispatcher(ctx).run_once()
    groups = {_row(ctx, i).provider_group for i in ids}
    assert len(groups) == 1 and None not in groups
    return ids, str(groups.pop())


def _row(ctx: AppContext, msg_id: str) -> Message:
    with ctx.db.read() as s:
        msg = s.get(Message, msg_id)
    assert msg is not None
    return msg


def _states(ctx: AppContext, ids: list[str]) -> list[str]:
    return [_row(ctx, i).state for i in ids]


def _asked(sim: InfobipSimulator, method: str, path: str) -> int:
    return sum(1 for m, p, _ in sim.log if (m, p) == (method, path))


def _kinds(ctx: AppContext, msg_id: str) -> list[str]:
    with ctx.db.read() as s:
        return [e.kind for e in queries.events_of(s, msg_id)]


def test_an_unclear_withdrawal_is_left_as_an_intent_and_the_next_pass_finishes_it(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ids, bulk = _bulk(svc, ctx, clock)
    sim.inject(Fault.LOST, times=3, match=PUT_STATUS)  # withdrawn, but no answer comes back
    [r] = svc.cancel(ids[0])
    assert not r.ok and "will check with Infobip" in r.detail, r.detail
    assert sim.bulk_status(bulk) == "CANCELED"
    assert _states(ctx, ids) == ["cancelling", "withdrawing", "withdrawing"]
    assert svc.show(ids[0])[0].where == "at provider: being cancelled"
    assert svc.summary().at_provider == 3
    # A status sync, even after the send time, leaves the withdrawn bulk to its intent.
    clock.advance(timedelta(minutes=1))
    dispatcher = Dispatcher(ctx)
    dispatcher.sync_statuses(PassReport())
    assert _states(ctx, ids) == ["cancelling", "withdrawing", "withdrawing"]
    dispatcher.run_once()  # reconciles, then hands the others off again as a new bulk
    assert _states(ctx, ids) == ["cancelled", "scheduled", "scheduled"]
    assert {_row(ctx, i).provider_group for i in ids[1:]} - {bulk, None}
    clock.advance(AHEAD + timedelta(minutes=5))
    Dispatcher(ctx).run_once()
    assert _states(ctx, ids) == ["cancelled", "delivered", "delivered"]
    assert set(sim.creates_by_key().values()) == {1}
    kinds = _kinds(ctx, ids[1])
    assert kinds.index("withdrawing") < kinds.index("re-queued")


def test_a_refused_cancel_puts_the_bulk_back_with_infobips_reason(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ids, _ = _bulk(svc, ctx, clock)
    clock.advance(AHEAD + timedelta(seconds=5))  # Infobip is sending the bulk
    [r] = svc.cancel(ids[0])
    assert not r.ok and "already sending" in r.detail, r.detail
    assert r.state == "scheduled"
    assert _states(ctx, ids) == ["scheduled"] * 3
    assert _kinds(ctx, ids[0])[-2:] == ["cancelling", "refused"]
    assert _kinds(ctx, ids[1])[-2:] == ["withdrawing", "refused"]
    assert all(_row(ctx, i).lease_owner is None for i in ids)


def test_an_unclear_reschedule_in_place_is_repeated_once_and_settled(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ids, bulk = _bulk(svc, ctx, clock)
    batch = _row(ctx, ids[0]).batch_id
    new_time = clock.now() + LATER
    sim.inject(Fault.RESET, times=3, match="PUT /sms/1/bulks")  # never reaches Infobip
    results = svc.reschedule(batch, new_time)
    assert not any(r.ok for r in results)
    assert _states(ctx, ids) == ["rescheduling"] * 3
    assert {_row(ctx, i).intent_send_at for i in ids} == {new_time}
    puts = _asked(sim, "PUT", "/sms/1/bulks")
    assert reconcile_intents(ctx, "engine-1") == 3
    assert _asked(sim, "PUT", "/sms/1/bulks") == puts + 1  # the same request, once
    assert sim.bulks[bulk].send_at == new_time
    rows = [_row(ctx, i) for i in ids]
    assert {(m.state, m.send_at, m.intent_send_at) for m in rows} == {("scheduled", new_time, None)}
    assert set(sim.creates_by_key().values()) == {1}  # moved, not re-created


def test_a_second_desk_cannot_change_a_bulk_while_a_change_is_in_flight(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator, isolated_home: Path
) -> None:
    ids, _ = _bulk(svc, ctx, clock)
    other = AppContext.open(isolated_home, clock=clock)
    seen: list[tuple[bool, str]] = []
    try:
        provider: Any = ctx.provider(ctx.account("Infobip"))
        real = provider.cancel

        def cancel(ref: str) -> None:
            [r] = Service(other).cancel(ids[2])  # the other desk, mid-request
            seen.append((r.ok, r.detail))
            real(ref)

        provider.cancel = cancel
        [r] = svc.cancel(ids[0])
    finally:
        other.close()
    assert r.ok, r.detail
    assert seen == [
        (
            False,
            "Cannot cancel: the provider is being asked to change it right now; try again shortly.",
        )
    ]
    assert _asked(sim, "PUT", "/sms/1/bulks/status") == 1
    assert _states(ctx, ids) == ["cancelled", "queued", "queued"]


def test_a_holder_whose_lease_was_taken_over_cannot_record_its_outcome(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator, isolated_home: Path
) -> None:
    ids, _ = _bulk(svc, ctx, clock)
    actions = Actions(ctx, lease=timedelta(minutes=1))
    provider: Any = ctx.provider(ctx.account("Infobip"))
    real = provider.cancel
    settled: list[int] = []

    def slow_cancel(ref: str) -> None:
        real(ref)
        # The request outlived its lease: another process's engine finishes the change.
        clock.advance(timedelta(minutes=2))
        engine = AppContext.open(isolated_home, clock=clock)
        try:
            settled.append(reconcile_intents(engine, "engine-2"))
        finally:
            engine.close()

    provider.cancel = slow_cancel
    [r] = actions.cancel(ids[0])
    assert settled == [3]
    assert not r.ok and "changed meanwhile" in r.detail
    assert _states(ctx, ids) == ["cancelled", "queued", "queued"]
    # Recorded once, by the holder of the current lease.
    assert _kinds(ctx, ids[0]).count("cancelled") == 1
    assert _kinds(ctx, ids[1]).count("re-queued") == 1


def test_what_the_provider_cannot_establish_is_left_to_the_user(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ids, bulk = _bulk(svc, ctx, clock)
    sim.inject(Fault.LOST, times=3, match=PUT_STATUS)
    svc.cancel(ids[0])
    # Infobip no longer knows the bulk at all (say, its records were purged).
    sim.bulks.pop(bulk)
    sim.messages[:] = [m for m in sim.messages if m.bulk_id != bulk]
    assert reconcile_intents(ctx, "engine-1") == 0
    rows = [_row(ctx, i) for i in ids]
    assert [m.state for m in rows] == ["cancelling", "withdrawing", "withdrawing"]
    assert all(m.attention and "could not tell" in m.attention for m in rows)
    assert svc.summary().needs_attention == 3
    # Not asked about again automatically, and the user is told why it cannot be changed.
    before = len(sim.log)
    assert reconcile_intents(ctx, "engine-1") == 0
    assert len(sim.log) == before
    [r] = svc.reschedule(ids[1], clock.now() + timedelta(days=3))
    assert not r.ok and "could not tell" in r.detail and "cancel it" in r.detail
    # Having checked Infobip's console, the user gives up on it: marked cancelled, saying
    # plainly that it may still go out, and still nothing asked of Infobip.
    [r] = svc.cancel(ids[1])
    assert r.ok and r.state == "cancelled"
    assert _row(ctx, ids[1]).attention is None
    [shown] = svc.show(ids[1])
    assert "marked cancelled by you" in shown.events[-1].detail
    assert "still holds it" in shown.events[-1].detail
    assert len(sim.log) == before
    assert svc.summary().needs_attention == 2


def test_an_unreachable_provider_is_asked_again_after_a_pause(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ids, _ = _bulk(svc, ctx, clock)
    sim.inject(Fault.LOST, times=3, match=PUT_STATUS)
    svc.cancel(ids[0])
    port = int(sim.base_url.rsplit(":", 1)[1])
    sim.stop()
    assert reconcile_intents(ctx, "engine-1") == 0
    sim.start(port)
    before = len(sim.log)
    assert reconcile_intents(ctx, "engine-1") == 0  # backing off: nothing asked
    assert len(sim.log) == before
    clock.advance(timedelta(minutes=2))
    assert reconcile_intents(ctx, "engine-1") == 3
    assert _states(ctx, ids) == ["cancelled", "queued", "queued"]
