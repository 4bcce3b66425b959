"""Every fault at Twilio's create request, through the engine: retried when nothing was accepted,
left ``unknown`` for the user when it may have been (Twilio cannot be asked by our key), and in
no case sent twice; cancel and status requests get through their faults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, retry_delay
from smsdesk.engine.service import Service
from tests.providers.one_by_one_setup import AMBIGUOUS, schedule_in_an_hour, with_account
from tests.providers.test_twilio_client import MESSAGES, SENDER, TO, sim
from tests.simulators.base import Fault
from tests.simulators.twilio import ACCOUNT_SID, SERVICE_SID, TwilioSimulator

__all__ = ["sim"]  # the simulator fixture, shared with test_twilio_client.py
CREATE = f"POST {MESSAGES}"


@pytest.fixture
def svc(service: Service, sim: TwilioSimulator) -> Service:
    ids = {"account_sid": ACCOUNT_SID, "messaging_service_sid": SERVICE_SID}
    return with_account(service, sim, "Twilio", SENDER, **ids)


def _schedule(svc: Service, clock: ManualClock) -> str:
    return schedule_in_an_hour(svc, clock, TO)


def _posts(sim: TwilioSimulator) -> int:
    return sim.requests_to("POST", MESSAGES)


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_a_refusal_is_retried_by_the_engine_after_its_back_off(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: TwilioSimulator, fault: Fault
) -> None:
    msg_id = _schedule(svc, clock)
    sim.inject(fault, match=CREATE, retry_after=20)
    d = Dispatcher(ctx)
    assert d.run_once().retrying == 1
    assert _posts(sim) == 1 and sim.creates_by_recipient() == {}
    view = svc.show(msg_id)[0]
    assert view.state == "queued" and view.last_error and "Twilio" in view.last_error
    # The simulator's 429 carries Retry-After: 20, its 503 none (the engine's own back-off).
    wait = retry_delay(1, 20.0 if fault is Fault.RATE_LIMIT else None)
    clock.advance(wait - timedelta(seconds=1))
    d.run_once()
    assert _posts(sim) == 1  # not before the back-off
    clock.advance(timedelta(seconds=1))
    assert d.run_once().handed_off == 1
    assert svc.show(msg_id)[0].state == "scheduled"
    assert _posts(sim) == 2 and sim.creates_by_recipient() == {TO: 1}


@pytest.mark.parametrize(("fault", "processed"), AMBIGUOUS)
def test_an_unclear_create_is_flagged_for_the_user_and_never_resent(
    svc: Service,
    ctx: AppContext,
    clock: ManualClock,
    sim: TwilioSimulator,
    fault: Fault,
    processed: bool,
) -> None:
    msg_id = _schedule(svc, clock)
    sim.inject(fault, match=CREATE)
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 1
    assert svc.show(msg_id)[0].state == "unknown"
    clock.advance(timedelta(seconds=30))
    d.run_once()  # reconciliation: Twilio cannot be asked by our key
    view = svc.show(msg_id)[0]
    assert view.state == "unknown"
    assert view.attention and "cannot be asked whether it received" in view.attention
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        d.run_once()
    assert svc.show(msg_id)[0].state == "unknown"
    assert _posts(sim) == 1
    assert sim.creates_by_recipient() == ({TO: 1} if processed else {})
    # Cancel withdraws it here and says it may still go out; nothing is created.
    [result] = svc.cancel(msg_id)
    assert result.ok and result.state == "cancelled"
    assert "may still go out" in svc.show(msg_id)[0].events[-1].detail
    assert _posts(sim) == 1


@pytest.mark.parametrize("fault", list(Fault))
def test_cancel_and_status_get_through_every_fault(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: TwilioSimulator, fault: Fault
) -> None:
    msg_id = _schedule(svc, clock)
    other = _schedule(svc, clock)
    d = Dispatcher(ctx)
    assert d.run_once().handed_off == 2
    ref = svc.show(msg_id)[0].provider_ref
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{ref}.json"
    sim.inject(fault, match=f"POST {path}", retry_after=1)
    [result] = svc.cancel(msg_id)
    assert result.ok, result.detail
    assert sim.messages[str(ref)].canceled and len(sim.live()) == 1
    clock.advance(timedelta(hours=1, minutes=1))
    sim.inject(fault, match=f"GET /2010-04-01/Accounts/{ACCOUNT_SID}/Messages/", retry_after=1)
    d.run_once()
    assert svc.show(other)[0].state == "delivered"
    assert svc.show(msg_id)[0].state == "cancelled"
    assert sim.creates_by_recipient() == {TO: 2}
