"""Why a message failed is recorded wherever the failure is learnt (the hand-off's answer, a
status check, a lookup after an unclear hand-off), and the pass counts it as a failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.providers.base import AmbiguousError, Outcome, Outgoing, Receipt
from smsdesk.store.models import OptOut
from tests.engine.faults import FaultySandbox

FAILING = "+15550001234"  # the Sandbox fails numbers starting with +1555000
REASON = "Sandbox: numbers starting +1555000 are set up to fail"


def _due_now(svc: Service, clock: ManualClock, to: str = FAILING) -> str:
    """A message that came due before its hand-off: it goes to the provider to send now."""
    result = svc.schedule([to], "See you today", clock.now() + timedelta(minutes=1), "UTC")
    clock.advance(timedelta(minutes=2))
    return result.messages[0].message.id


def _shown(svc: Service, msg_id: str) -> MessageView:
    return svc.show(msg_id)[0]


def test_a_receipt_that_arrives_failed_is_a_failure_with_the_providers_reason(
    fctx: AppContext, clock: ManualClock
) -> None:
    svc = Service(fctx)
    msg_id = _due_now(svc, clock)
    report = Dispatcher(fctx).run_once()
    assert (report.handed_off, report.failed) == (0, 1)
    view = _shown(svc, msg_id)
    assert view.state == "failed" and view.last_error == REASON
    assert view.provider_ref and view.provider_ref.startswith("sbx-")  # the provider has it
    last = view.events[-1]
    assert (last.kind, last.state_from, last.state_to) == ("failed", "handing_off", "failed")
    assert REASON in last.detail and "accepted" not in last.detail
    failure = svc.summary().last_failure
    assert failure is not None and (failure.message_id, failure.reason) == (msg_id, REASON)


class _Mute(FaultySandbox):
    """The real Sandbox, its failures reported without a reason (as some providers do), and
    marked opted out when ``opted_out`` is set."""

    opted_out = False

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        return [
            replace(o, detail="", opted_out=self.opted_out)
            if isinstance(o, Receipt) and o.state is State.FAILED
            else o
            for o in super().schedule(messages)
        ]


def test_a_failure_without_a_reason_says_that_none_was_given(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    mute = _Mute(sandbox.inner)
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _: mute)
    try:
        svc = Service(ctx)
        msg_id = _due_now(svc, clock)
        assert Dispatcher(ctx).run_once().failed == 1
        view = _shown(svc, msg_id)
        assert view.last_error == "Sandbox reported it failed without giving a reason"
        assert view.events[-1].detail.endswith(view.last_error)
    finally:
        ctx.close()


def test_a_failed_receipt_marked_opted_out_stops_messages_to_that_number(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    mute = _Mute(sandbox.inner)
    mute.opted_out = True
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _: mute)
    try:
        svc = Service(ctx)
        _due_now(svc, clock)
        assert Dispatcher(ctx).run_once().failed == 1
        with ctx.db.read() as s:
            assert [o.number for o in s.exec(select(OptOut))] == [FAILING]
    finally:
        ctx.close()


def test_a_failure_found_by_a_status_check_is_counted_and_keeps_its_reason(
    fctx: AppContext, clock: ManualClock
) -> None:
    svc = Service(fctx)
    result = svc.schedule([FAILING], "Hi", clock.now() + timedelta(minutes=10), "UTC")
    msg_id = result.messages[0].message.id
    assert Dispatcher(fctx).run_once().handed_off == 1
    clock.advance(timedelta(minutes=11))
    report = Dispatcher(fctx).run_once()
    assert (report.status_changes, report.failed) == (1, 1)
    view = _shown(svc, msg_id)
    assert view.last_error == REASON
    assert view.events[-1].detail == f"Sandbox reports failed: {REASON}"


def test_a_failure_learnt_by_asking_after_an_unclear_hand_off_keeps_its_reason(
    fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    svc = Service(fctx)
    msg_id = _due_now(svc, clock)
    sandbox.after = [AmbiguousError("the answer was lost")]  # accepted, answer never came
    assert Dispatcher(fctx).run_once().unknown == 1
    clock.advance(timedelta(minutes=5))
    assert Dispatcher(fctx).run_once().reconciled == 1
    view = _shown(svc, msg_id)
    assert (view.state, view.last_error) == ("failed", REASON)
    assert REASON in view.events[-1].detail
    assert list(sandbox.inner.requests_by_key().values()) == [1]  # asked, never resent
