"""Every fault at Telnyx's create request, through the engine: retried when nothing was
accepted, left ``unknown`` for the user when it may have been (Telnyx cannot be asked by our
key), and in no case sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, retry_delay
from smsdesk.engine.service import Service
from tests.providers.one_by_one_setup import AMBIGUOUS, schedule_in_an_hour, with_account
from tests.providers.test_telnyx import SENDER, TO, sim
from tests.simulators.base import Fault
from tests.simulators.telnyx import TelnyxSimulator

__all__ = ["sim"]  # the simulator fixture, shared with test_telnyx.py
CREATE = "POST /v2/messages"


@pytest.fixture
def svc(service: Service, sim: TelnyxSimulator) -> Service:
    return with_account(service, sim, "Telnyx", SENDER)


def _schedule(svc: Service, clock: ManualClock) -> str:
    return schedule_in_an_hour(svc, clock, TO)


def _posts(sim: TelnyxSimulator) -> int:
    return sum(1 for method, path, _ in sim.log if (method, path) == ("POST", "/v2/messages"))


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_a_refusal_is_retried_by_the_engine_after_its_back_off(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: TelnyxSimulator, fault: Fault
) -> None:
    msg_id = _schedule(svc, clock)
    sim.inject(fault, match=CREATE, retry_after=20)
    d = Dispatcher(ctx)
    # A create is never repeated inside one call (it could outlive its lease): once refused,
    # the message waits in the queue for the engine's back-off, at least what Telnyx asked.
    assert d.run_once().retrying == 1
    assert _posts(sim) == 1 and sim.creates_by_recipient() == {}
    assert svc.show(msg_id)[0].state == "queued"
    clock.advance(retry_delay(1, 20.0))
    assert d.run_once().handed_off == 1
    assert svc.show(msg_id)[0].state == "scheduled"
    assert _posts(sim) == 2
    assert sim.creates_by_recipient() == {TO: 1}


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_lasting_refusal_backs_off_then_hands_off_once(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: TelnyxSimulator, fault: Fault
) -> None:
    msg_id = _schedule(svc, clock)
    sim.inject(fault, times=3, match=CREATE)
    d = Dispatcher(ctx)
    for attempt in (1, 2, 3):
        assert d.run_once().retrying == 1
        view = svc.show(msg_id)[0]
        assert view.state == "queued" and view.last_error
        assert "Telnyx" in view.last_error
        assert sim.creates_by_recipient() == {}
        clock.advance(retry_delay(attempt, 1.0))
    assert d.run_once().handed_off == 1
    assert svc.show(msg_id)[0].state == "scheduled"
    assert _posts(sim) == 4
    assert sim.creates_by_recipient() == {TO: 1}


@pytest.mark.parametrize(("fault", "processed"), AMBIGUOUS)
def test_unclear_create_is_flagged_for_the_user_and_never_resent(
    svc: Service,
    ctx: AppContext,
    clock: ManualClock,
    sim: TelnyxSimulator,
    fault: Fault,
    processed: bool,
) -> None:
    msg_id = _schedule(svc, clock)
    sim.inject(fault, match=CREATE)
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 1
    view = svc.show(msg_id)[0]
    assert view.state == "unknown" and view.attention is None
    clock.advance(timedelta(seconds=30))
    d.run_once()  # the engine would reconcile now, but Telnyx cannot be asked by our key
    view = svc.show(msg_id)[0]
    assert view.state == "unknown"
    assert view.attention and "cannot be asked whether it received" in view.attention
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        d.run_once()
    assert svc.show(msg_id)[0].state == "unknown"
    assert _posts(sim) == 1
    assert sim.creates_by_recipient() == ({TO: 1} if processed else {})
    # Reschedule refuses rather than guess; the user can check Telnyx and then cancel or
    # send it again.
    [result] = svc.reschedule(msg_id, clock.now() + timedelta(hours=1))
    assert not result.ok and "send it again with retry" in result.detail
    [result] = svc.cancel(msg_id)
    assert result.ok and result.state == "cancelled"
    assert "may still go out" in svc.show(msg_id)[0].events[-1].detail
    assert _posts(sim) == 1


def test_status_and_cancel_requests_survive_faults(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: TelnyxSimulator
) -> None:
    msg_id = _schedule(svc, clock)
    d = Dispatcher(ctx)
    d.run_once()
    # A DELETE whose answer is lost is repeated; Telnyx refuses the repeat (already
    # cancelled), and the client confirms with a GET that the message is cancelled.
    sim.inject(Fault.LOST, match="DELETE /v2/messages/")
    [result] = svc.cancel(msg_id)
    assert result.ok, result.detail
    assert sim.live() == []
    # Status reads are simply repeated after a 500.
    other = _schedule(svc, clock)
    d.run_once()
    clock.advance(timedelta(hours=1, minutes=1))
    sim.inject(Fault.SERVER_ERROR, match="GET /v2/messages/")
    d.run_once()
    assert svc.show(other)[0].state == "delivered"
    assert svc.show(msg_id)[0].state == "cancelled"
    assert sim.creates_by_recipient() == {TO: 2}
