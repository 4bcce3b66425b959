"""A provider that cannot move a message (Telnyx, on the loopback simulator): a reschedule
withdraws it and holds it here for the new time. When the withdrawal's answer is lost, the
intent stays and the next pass finds the message cancelled at Telnyx and hands it off again
for the new time, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.store.models import Message
from tests.simulators.base import Fault
from tests.simulators.telnyx import TelnyxSimulator

KEY = "KEY01a7c2-telnyx-actions-3d9e"
SENDER = "+12025550100"
TO = "+12025550143"


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[TelnyxSimulator]:
    simulator = TelnyxSimulator(clock, api_key=KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def svc(ctx: AppContext, sim: TelnyxSimulator) -> Service:
    service = Service(ctx)
    service.add_account(
        "Telnyx",
        "telnyx",
        api_key=KEY,
        base_url=sim.base_url,
        sender=SENDER,
        options={"timeout": "1.0"},
        make_default=True,
    )
    return service


def _row(ctx: AppContext, msg_id: str) -> Message:
    with ctx.db.read() as s:
        msg = s.get(Message, msg_id)
    assert msg is not None
    return msg


def test_a_withdrawal_whose_answer_was_lost_is_finished_and_handed_off_once(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: TelnyxSimulator
) -> None:
    # 10:00 and 12:00 in New York: away from quiet hours.
    first, moved = clock.now() + timedelta(hours=6), clock.now() + timedelta(hours=8)
    [m] = svc.schedule([TO], "See you", first, "UTC").messages
    Dispatcher(ctx).run_once()
    old_ref = _row(ctx, m.message.id).provider_ref
    assert _row(ctx, m.message.id).state == "scheduled" and old_ref
    sim.inject(Fault.LOST, times=3, match="DELETE /v2/messages")  # done, answer lost
    [r] = svc.reschedule(m.message.id, moved)
    assert not r.ok and "will check with Telnyx" in r.detail, r.detail
    row = _row(ctx, m.message.id)
    assert (row.state, row.intent_send_at) == ("rescheduling", moved)
    assert sim.live() == []  # Telnyx withdrew it
    Dispatcher(ctx).run_once()  # reconciles, then hands it off for the new time
    row = _row(ctx, m.message.id)
    assert (row.state, row.send_at) == ("scheduled", moved)
    assert row.provider_ref != old_ref
    [live] = sim.live()
    assert (live.to, live.send_at) == (TO, moved)
    assert sim.creates_by_recipient() == {TO: 2}  # the first (cancelled) and this one
