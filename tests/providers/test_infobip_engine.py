"""The outbox engine with a real Infobip account pointed at the loopback simulator: every
fault at the create request, window edges, per-message rejections, statuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import RECONCILE_INTERVAL, Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.infobip import split_ref
from smsdesk.store.models import Message, OptOut
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
ANN, BOB, FAILS, OPTED_OUT = "+41793026727", "+41793026834", "+41793020001", "+41793026999"
DND = "+41793026998"
HOUR = timedelta(hours=1)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY, stall=5.0)
    simulator.fail_prefixes = ("4179302000",)
    simulator.opted_out = {OPTED_OUT.removeprefix("+")}
    simulator.dnd = {DND.removeprefix("+")}
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def svc(ctx: AppContext, sim: InfobipSimulator) -> Iterator[Service]:
    service = Service(ctx)
    service.add_account(
        "Infobip",
        "infobip",
        api_key=KEY,
        base_url=sim.base_url,
        options={"timeout": "1.0"},
        make_default=True,
    )
    yield service  # the context closes the clients it built


def _schedule(svc: Service, clock: ManualClock, ahead: timedelta, *to: str) -> list[str]:
    result = svc.schedule(list(to or [ANN]), "Your appointment", clock.now() + ahead, "UTC")
    return [m.message.id for m in result.messages]


def _msg(ctx: AppContext, msg_id: str) -> Message:
    with ctx.db.read() as s:
        msg = s.get(Message, msg_id)
    assert msg is not None
    return msg


def _state(svc: Service, msg_id: str) -> str:
    return svc.show(msg_id)[0].state


def test_hand_off_schedule_and_delivery(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ids = _schedule(svc, clock, HOUR, ANN, BOB)
    assert Dispatcher(ctx).run_once().handed_off == 2
    msgs = [_msg(ctx, i) for i in ids]
    assert {m.state for m in msgs} == {"scheduled"}
    assert len(sim.bodies) == 1  # one bulk for the batch
    bulk = msgs[0].provider_group
    assert bulk and {m.provider_group for m in msgs} == {bulk}
    assert [split_ref(m.provider_ref or "") for m in msgs] == [
        (bulk, m.idempotency_key) for m in msgs
    ]
    clock.advance(HOUR + timedelta(minutes=1))
    Dispatcher(ctx).run_once()
    assert [_state(svc, i) for i in ids] == ["delivered", "delivered"]
    assert sorted(sim.creates_by_key().values()) == [1, 1]


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_busy_provider_is_retried_until_it_accepts(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator, fault: Fault
) -> None:
    [msg_id] = _schedule(svc, clock, HOUR)
    # A create is never repeated inside one call: the engine backs off and tries again.
    sim.inject(fault, times=3, match="POST /sms/3/messages", retry_after=2)
    d = Dispatcher(ctx)
    for _ in range(3):
        assert d.run_once().retrying == 1
        view = svc.show(msg_id)[0]
        assert view.state == "queued" and view.last_error
        clock.advance(timedelta(minutes=2))
    assert d.run_once().handed_off == 1
    assert sim.requests_to("POST", "/sms/3/messages") == 4
    assert _state(svc, msg_id) == "scheduled"
    assert sim.creates_by_key() == {_msg(ctx, msg_id).idempotency_key: 1}


@pytest.mark.parametrize(
    ("fault", "processed"),
    [
        (Fault.SERVER_ERROR, False),
        (Fault.RESET, False),
        (Fault.TIMEOUT, True),
        (Fault.MALFORMED, True),
        (Fault.LOST, True),
    ],
)
def test_unclear_creates_are_looked_up_never_resent_blindly(
    svc: Service,
    ctx: AppContext,
    clock: ManualClock,
    sim: InfobipSimulator,
    fault: Fault,
    processed: bool,
) -> None:
    ids = _schedule(svc, clock, HOUR, ANN, BOB)
    sim.inject(fault, match="POST /sms/3/messages")
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 2
    assert {_state(svc, i) for i in ids} == {"unknown"}
    keys = {_msg(ctx, i).idempotency_key for i in ids}
    assert set(sim.creates_by_key()) == (keys if processed else set())
    clock.advance(RECONCILE_INTERVAL)
    report = d.run_once()
    assert report.reconciled == 2
    # Found by bulk status (processed), or definitively not found (404) and handed off again
    # with the same key (not).
    assert report.handed_off == (0 if processed else 2)
    assert {_state(svc, i) for i in ids} == {"scheduled"}
    assert sim.creates_by_key() == dict.fromkeys(keys, 1)
    msgs = [_msg(ctx, i) for i in ids]
    assert msgs[0].provider_group and msgs[0].provider_group == msgs[1].provider_group
    clock.advance(2 * HOUR)
    d.run_once()
    assert {_state(svc, i) for i in ids} == {"delivered"}


def test_unclear_send_now_is_reconciled_too(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    [msg_id] = _schedule(svc, clock, timedelta(seconds=30))  # too close: held, sent at its time
    clock.advance(timedelta(seconds=30))
    sim.inject(Fault.LOST, match="POST /sms/3/messages")
    d = Dispatcher(ctx)
    assert d.run_once().unknown == 1
    # Sent now, yet under the bulkId smsdesk chose and stored before the request.
    bulk = _msg(ctx, msg_id).provider_group
    assert bulk and sim.bodies[0]["options"] == {"schedule": {"bulkId": bulk}}
    clock.advance(RECONCILE_INTERVAL)
    d.run_once()
    assert _state(svc, msg_id) == "delivered"
    assert list(sim.creates_by_key().values()) == [1]


def test_rejections_fail_only_their_message(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ok, dnd = _schedule(svc, clock, HOUR, ANN, DND)
    report = Dispatcher(ctx).run_once()
    assert (report.handed_off, report.failed) == (1, 1)
    assert _state(svc, ok) == "scheduled"
    view = svc.show(dnd)[0]
    assert view.state == "failed" and view.last_error
    assert "Do Not Disturb" in view.last_error and "REJECTED_DND" in view.last_error
    with ctx.db.read() as s:
        assert s.get(OptOut, DND) is None  # documented as DND, not a STOP


def test_a_stop_reported_after_the_hand_off_opts_the_number_out(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    [msg_id] = _schedule(svc, clock, timedelta(minutes=10), OPTED_OUT)
    assert Dispatcher(ctx).run_once().handed_off == 1
    clock.advance(timedelta(minutes=11))
    Dispatcher(ctx).run_once()
    view = svc.show(msg_id)[0]
    assert view.state == "failed"
    assert view.last_error == "Content blocked by user opt-out (MO: STOP) (EC_CONTENT_BLOCKED)"
    with ctx.db.read() as s:
        entry = s.get(OptOut, OPTED_OUT)
    assert entry is not None and "EC_CONTENT_BLOCKED" in entry.source
    # A new message to that number is refused before anything reaches Infobip.
    with pytest.raises(InvalidInput, match="has opted out"):
        _schedule(svc, clock, HOUR, OPTED_OUT)
    assert len(sim.bodies) == 1


def test_undeliverable_number_fails_with_infobip_reason(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    [msg_id] = _schedule(svc, clock, timedelta(minutes=10), FAILS)
    Dispatcher(ctx).run_once()
    clock.advance(timedelta(minutes=11))
    Dispatcher(ctx).run_once()
    view = svc.show(msg_id)[0]
    assert view.state == "failed"
    assert view.last_error == "Unknown subscriber (EC_UNKNOWN_SUBSCRIBER)"


def test_beyond_180_days_it_waits_here_then_goes_to_infobip(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    [msg_id] = _schedule(svc, clock, timedelta(days=200))
    d = Dispatcher(ctx)
    assert d.run_once().handed_off == 0
    view = svc.show(msg_id)[0]
    assert (view.state, view.where) == ("queued", "on this computer")
    assert sim.bodies == []
    clock.advance(timedelta(days=20))
    assert d.run_once().handed_off == 0  # Infobip's window opens 180 days (+ a margin) before
    clock.advance(timedelta(minutes=1))
    assert d.run_once().handed_off == 1
    assert _state(svc, msg_id) == "scheduled"
    [body] = sim.bodies
    assert body["options"]["schedule"]["sendAt"].startswith("2027-06-19T09:00")


def test_a_wrong_key_holds_the_hand_off_back_clearly(
    ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    svc = Service(ctx)
    svc.add_account("Infobip", "infobip", api_key="not-the-key", base_url=sim.base_url)
    [msg_id] = _schedule(svc, clock, HOUR)
    svc.schedule([ANN], "x", clock.now() + HOUR, "UTC", account="Infobip")
    Dispatcher(ctx).run_once()
    assert sim.creates_by_key() == {}
    view = svc.show(msg_id)[0]
    # The default account is still the Sandbox; the Infobip one is held back, with the
    # reason, until its key is fixed (nothing was taken, so nothing failed).
    assert view.state == "scheduled" and view.provider == "Sandbox"
    assert svc.list_messages("failed") == []
    [held] = [m for m in svc.list_messages("queued") if m.provider == "Infobip"]
    assert "refused the API key" in (held.last_error or "")
    Dispatcher(ctx).run_once()
    assert sim.creates_by_key() == {}  # not asked again and again
