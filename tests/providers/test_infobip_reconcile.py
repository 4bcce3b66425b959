"""Reconciliation through the engine with an Infobip account at the loopback simulator, when
the logs do not show what Infobip accepted: they lag acceptance, or hide scheduled messages
until they are sent. Nothing is ever sent twice; each message is settled by the definitive
bulk status, or left ``unknown`` for the user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import RECONCILE_INTERVAL, Dispatcher
from smsdesk.engine.service import Service
from smsdesk.store.models import Message
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
HOUR = timedelta(hours=1)
NUMBERS = [f"+4179302{n:04d}" for n in range(5)]
LAG = timedelta(seconds=45)  # longer than the engine waits before it asks


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    # A timeout that a loaded machine never reaches on an ordinary answer, and a stall five
    # times as long for the one fault that needs it (a timeout-to-stall ratio of 1:5).
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


def _schedule(svc: Service, clock: ManualClock, ahead: timedelta) -> list[str]:
    result = svc.schedule(NUMBERS, "Your appointment", clock.now() + ahead, "UTC")
    return [m.message.id for m in result.messages]


def _msgs(ctx: AppContext, ids: list[str]) -> list[Message]:
    with ctx.db.read() as s:
        found = [s.get(Message, i) for i in ids]
    assert all(m is not None for m in found)
    return [m for m in found if m is not None]


def _duplicates(sim: InfobipSimulator) -> int:
    return sum(n - 1 for n in sim.creates_by_key().values())


@pytest.mark.parametrize("logs", ["lag acceptance", "hide scheduled messages"])
@pytest.mark.parametrize("fault", [Fault.LOST, Fault.TIMEOUT])
def test_unclear_scheduled_creates_are_settled_by_bulk_status(
    svc: Service,
    ctx: AppContext,
    clock: ManualClock,
    sim: InfobipSimulator,
    logs: str,
    fault: Fault,
) -> None:
    if logs == "lag acceptance":
        sim.logs_lag = LAG
    else:
        sim.hide_scheduled_in_logs = True
    ids = _schedule(svc, clock, HOUR)
    sim.inject(fault, match="POST /sms/3/messages")  # accepted, but the answer never comes
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 5
    clock.advance(RECONCILE_INTERVAL)
    report = d.run_once()
    msgs = _msgs(ctx, ids)
    assert report.reconciled == 5 and {m.state for m in msgs} == {"scheduled"}
    assert {m.attention for m in msgs} == {None}
    assert _duplicates(sim) == 0 and len(sim.creates_by_key()) == 5
    # One bulk-status request settled all five; the logs were not needed.
    assert sim.requests_to("GET", "/sms/1/bulks/status") == 1
    assert sim.requests_to("GET", "/sms/3/logs") == 0
    clock.advance(2 * HOUR)
    d.run_once()
    assert {m.state for m in _msgs(ctx, ids)} == {"delivered"}
    assert _duplicates(sim) == 0


def test_a_create_that_never_arrived_is_sent_once_after_bulk_status_says_so(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    sim.hide_scheduled_in_logs = True
    ids = _schedule(svc, clock, HOUR)
    sim.inject(Fault.SERVER_ERROR, match="POST /sms/3/messages")  # not processed
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 5
    bulk = _msgs(ctx, ids)[0].provider_group
    assert bulk and sim.bulks == {}
    clock.advance(RECONCILE_INTERVAL)
    report = d.run_once()
    assert report.reconciled == 5 and report.handed_off == 5
    msgs = _msgs(ctx, ids)
    assert {m.state for m in msgs} == {"scheduled"}
    assert _duplicates(sim) == 0 and len(sim.creates_by_key()) == 5


@pytest.mark.parametrize("logs", ["lag acceptance", "hide nothing"])
def test_an_unclear_send_now_is_found_in_the_logs_or_left_to_the_user(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator, logs: str
) -> None:
    if logs == "lag acceptance":
        sim.logs_lag = LAG
    ids = _schedule(svc, clock, timedelta(seconds=30))  # too close: sent now at its time
    clock.advance(timedelta(seconds=30))
    sim.inject(Fault.LOST, match="POST /sms/3/messages")
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 5
    clock.advance(RECONCILE_INTERVAL)
    d.run_once()
    msgs = _msgs(ctx, ids)
    if logs == "lag acceptance":
        # Bulk status documents scheduled messages only, and the logs do not list them yet:
        # Infobip cannot tell, so the user decides. Nothing is sent again, however long.
        assert {m.state for m in msgs} == {"unknown"}
        assert all(m.attention and "cannot tell" in m.attention for m in msgs)
        for _ in range(3):
            clock.advance(timedelta(minutes=10))
            d.run_once()
        assert {m.state for m in _msgs(ctx, ids)} == {"unknown"}
    else:
        assert {m.state for m in msgs} == {"delivered"}
    assert _duplicates(sim) == 0 and len(sim.creates_by_key()) == 5


def test_reconciliation_asks_once_per_bulk(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    numbers = [f"+417930{n:05d}" for n in range(1500)]
    result = svc.schedule(numbers, "Your appointment", clock.now() + HOUR, "UTC")
    ids = [m.message.id for m in result.messages]
    sim.inject(Fault.LOST, times=2, match="POST /sms/3/messages")
    d = Dispatcher(ctx)
    d.run_once()
    assert {m.state for m in _msgs(ctx, ids)} == {"unknown"}
    clock.advance(RECONCILE_INTERVAL)
    d.run_once()
    assert {m.state for m in _msgs(ctx, ids)} == {"scheduled"}
    # 1,500 messages in 2 bulks: one request per bulk in each of the engine's claim rounds
    # (1,000 messages a round), against 1,500 log requests before.
    assert sim.requests_to("GET", "/sms/1/bulks/status") <= 4
    assert sim.requests_to("GET", "/sms/3/logs") == 0
    assert _duplicates(sim) == 0


def test_status_sync_through_the_engine_asks_per_bulk(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    numbers = [f"+417930{n:05d}" for n in range(2000)]
    result = svc.schedule(numbers, "Your appointment", clock.now() + HOUR, "UTC")
    ids = [m.message.id for m in result.messages]
    d = Dispatcher(ctx)
    assert d.run_once().handed_off == 2000
    before = sum(sim.requests_per_path().values())
    clock.advance(HOUR + timedelta(minutes=5))
    for _ in range(5):  # the engine syncs 500 a pass
        d.run_once()
    assert {m.state for m in _msgs(ctx, ids)} == {"delivered"}
    asked = sum(sim.requests_per_path().values()) - before
    assert asked <= 20, sim.requests_per_path()  # ≤ 1 per 100 messages (was 2,000 or more)
    assert not {"GET /sms/1/logs", "GET /sms/1/reports"} & set(sim.requests_per_path())
