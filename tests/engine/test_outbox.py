"""The outbox engine against the real Sandbox, a real SQLite file and a manual clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput, SecretStoreError
from smsdesk.core.lifecycle import State
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, retry_delay
from smsdesk.engine.service import Service
from smsdesk.providers.base import (
    AmbiguousError,
    Outcome,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
    TransientError,
)
from smsdesk.providers.sandbox import CAPABILITIES
from smsdesk.store.models import Message, OptOut, ProviderAccount
from tests.engine.faults import FaultySandbox, without_scheduling

MIN = timedelta(minutes=1)


@pytest.fixture
def svc(fctx: AppContext) -> Service:
    return Service(fctx)


def _one(svc: Service, clock: ManualClock, ahead: timedelta, to: str = "+15551234567") -> str:
    result = svc.schedule([to], "Your appointment is tomorrow", clock.now() + ahead, "UTC")
    return result.messages[0].message.id


def _key(ctx: AppContext, msg_id: str) -> str:
    with ctx.db.read() as s:
        msg = s.get(Message, msg_id)
    assert msg is not None and msg.idempotency_key is not None
    return msg.idempotency_key


def _state(svc: Service, msg_id: str) -> str:
    return svc.show(msg_id)[0].state


def test_schedule_then_dispatch_hands_off_to_the_provider_scheduler(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    msg_id = _one(svc, clock, timedelta(hours=2))
    assert _state(svc, msg_id) == "queued"
    report = Dispatcher(fctx).run_once()
    assert report.handed_off == 1
    view = svc.show(msg_id)[0]
    assert (view.state, view.where) == ("scheduled", "at provider")
    assert view.provider_ref and view.provider_ref.startswith("sbx-")
    clock.advance(timedelta(hours=2, minutes=1))
    Dispatcher(fctx).run_once()
    assert _state(svc, msg_id) == "delivered"
    assert list(sandbox.inner.requests_by_key().values()) == [1]
    kinds = [e.kind for e in svc.show(msg_id)[0].events]
    assert kinds == ["created", "handing_off", "handed_off", "status"]


def test_failure_numbers_fail_with_a_reason(
    svc: Service, fctx: AppContext, clock: ManualClock
) -> None:
    msg_id = _one(svc, clock, timedelta(minutes=10), to="+15550001234")
    Dispatcher(fctx).run_once()
    clock.advance(timedelta(minutes=11))
    Dispatcher(fctx).run_once()
    view = svc.show(msg_id)[0]
    assert view.state == "failed"
    assert view.last_error and "+1555000" in view.last_error
    failure = svc.summary().last_failure
    assert failure is not None
    assert (failure.message_id, failure.recipient) == (msg_id, "+15550001234")
    assert "+1555000" in failure.reason


def test_transient_errors_back_off_then_succeed(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    msg_id = _one(svc, clock, timedelta(hours=1))
    sandbox.before = [TransientError("503 from provider"), TransientError("429", retry_after=120)]
    d = Dispatcher(fctx)
    assert d.run_once().retrying == 1
    view = svc.show(msg_id)[0]
    assert view.state == "queued" and view.last_error == "503 from provider"
    # Not retried before its back-off has passed.
    assert d.run_once().retrying == 0
    assert sandbox.schedule_calls == 1
    clock.advance(retry_delay(1, None))
    assert d.run_once().retrying == 1  # the 429 asked for 120 s
    clock.advance(timedelta(seconds=119))
    d.run_once()
    assert sandbox.schedule_calls == 2
    clock.advance(timedelta(seconds=1))
    assert d.run_once().handed_off == 1
    assert _state(svc, msg_id) == "scheduled"
    assert sandbox.inner.requests_by_key() == {_key(fctx, msg_id): 1}


def test_retries_are_capped(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    msg_id = _one(svc, clock, timedelta(days=2))
    sandbox.before = [TransientError("provider unavailable") for _ in range(10)]
    d = Dispatcher(fctx, max_attempts=3)
    for _ in range(3):
        d.run_once()
        clock.advance(timedelta(hours=1))
    view = svc.show(msg_id)[0]
    assert view.state == "failed"
    assert view.last_error == "gave up after 3 attempts: provider unavailable"
    assert sandbox.schedule_calls == 3


def test_permanent_error_fails_only_that_request(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    bad = _one(svc, clock, timedelta(hours=1))
    sandbox.before = [PermanentError("Invalid sender")]
    Dispatcher(fctx).run_once()
    assert _state(svc, bad) == "failed"
    good = _one(svc, clock, timedelta(hours=1), to="+15557654321")
    Dispatcher(fctx).run_once()
    assert _state(svc, good) == "scheduled"


def test_lost_response_becomes_unknown_then_is_reconciled_not_resent(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    msg_id = _one(svc, clock, timedelta(hours=1))
    sandbox.after = [AmbiguousError("read timeout after the request was sent")]
    report = Dispatcher(fctx).run_once()
    assert report.unknown == 1
    assert _state(svc, msg_id) == "unknown"
    clock.advance(timedelta(seconds=30))
    report = Dispatcher(fctx).run_once()
    assert report.reconciled == 1
    view = svc.show(msg_id)[0]
    assert view.state == "scheduled"
    assert sandbox.schedule_calls == 1
    assert list(sandbox.inner.requests_by_key().values()) == [1]
    assert [e.kind for e in view.events][-2:] == ["unknown", "reconciled"]


def test_unknown_that_never_reached_the_provider_is_handed_off_once(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    msg_id = _one(svc, clock, timedelta(hours=1))
    sandbox.before = [AmbiguousError("connection reset while sending")]
    Dispatcher(fctx).run_once()
    assert _state(svc, msg_id) == "unknown"
    clock.advance(timedelta(seconds=30))
    Dispatcher(fctx).run_once()  # the provider says it never got it: hand off again
    assert _state(svc, msg_id) == "scheduled"
    assert list(sandbox.inner.requests_by_key().values()) == [1]


def test_locally_held_message_is_sent_at_its_time(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    sandbox.capabilities = without_scheduling(CAPABILITIES)
    msg_id = _one(svc, clock, timedelta(minutes=10))
    d = Dispatcher(fctx)
    assert d.run_once().handed_off == 0  # due at its send time, not before
    assert svc.show(msg_id)[0].where == "on this computer"
    assert d.next_wake() == clock.now() + timedelta(minutes=10)
    clock.advance(timedelta(minutes=9, seconds=59))
    d.run_once()
    assert sandbox.schedule_calls == 0
    clock.advance(timedelta(seconds=1))
    d.run_once()
    assert _state(svc, msg_id) == "delivered"


def test_catch_up_sends_within_grace_and_flags_older(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    sandbox.capabilities = without_scheduling(CAPABILITIES)
    recent = _one(svc, clock, timedelta(minutes=10))
    old = _one(svc, clock, timedelta(minutes=10), to="+15557654321")
    # `old` was scheduled for 10 minutes earlier than `recent` (an earlier day's entry).
    with fctx.db.write() as s:
        s.execute(
            update(Message)
            .where(col(Message.id) == old)
            .values(send_at=clock.now() - timedelta(minutes=10), due_at=clock.now())
        )
    # Nothing runs for 20 minutes: `recent` is 10 minutes late, `old` 30.
    clock.advance(timedelta(minutes=20))
    report = Dispatcher(fctx).run_once()
    assert report.missed == 1
    assert _state(svc, recent) == "delivered"  # 10 min late: inside the 15 min grace
    view = svc.show(old)[0]
    assert view.state == "queued" and view.attention
    assert sandbox.schedule_calls == 1
    # The user decides: send it now.
    svc.reschedule(old, clock.now())
    assert svc.show(old)[0].attention is None
    Dispatcher(fctx).run_once()
    assert _state(svc, old) == "delivered"


def test_cancel_before_hand_off_and_at_provider(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    local = _one(svc, clock, timedelta(hours=1))
    [r] = svc.cancel(local)
    assert r.ok and r.state == "cancelled"
    remote = _one(svc, clock, timedelta(hours=1), to="+15557654321")
    Dispatcher(fctx).run_once()
    [r] = svc.cancel(remote)
    assert (r.ok, r.state) == (True, "cancelled")
    clock.advance(timedelta(hours=2))
    Dispatcher(fctx).run_once()
    assert _state(svc, local) == "cancelled"
    assert _state(svc, remote) == "cancelled"
    assert sandbox.schedule_calls == 1  # the local one never left this computer
    [status] = sandbox.fetch_status([svc.show(remote)[0].provider_ref or ""])
    assert status.state is State.CANCELLED


def test_cancel_inside_the_cut_off_is_refused_and_changes_nothing(
    svc: Service, fctx: AppContext, clock: ManualClock
) -> None:
    msg_id = _one(svc, clock, timedelta(minutes=5))
    Dispatcher(fctx).run_once()
    clock.advance(timedelta(minutes=4, seconds=30))
    [r] = svc.cancel(msg_id)
    assert not r.ok
    assert "within 1 minute" in r.detail
    assert _state(svc, msg_id) == "scheduled"


def test_reschedule_at_provider_and_locally(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    msg_id = _one(svc, clock, timedelta(hours=1))
    Dispatcher(fctx).run_once()
    new_time = clock.now() + timedelta(hours=3)
    [r] = svc.reschedule(msg_id, new_time)
    assert r.ok, r.detail
    view = svc.show(msg_id)[0]
    assert (view.state, view.send_at) == ("scheduled", new_time)
    [receipt] = sandbox.lookup([(_key(fctx, msg_id), None)])
    assert isinstance(receipt, Receipt) and receipt.send_at == new_time
    clock.advance(timedelta(hours=2))
    Dispatcher(fctx).run_once()
    assert _state(svc, msg_id) == "scheduled"  # not sent at the old time
    clock.advance(timedelta(hours=1))
    Dispatcher(fctx).run_once()
    assert _state(svc, msg_id) == "delivered"


def test_a_batch_is_handed_off_in_one_request(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    numbers = [f"+1555123{i:04d}" for i in range(25)]
    result = svc.schedule(numbers, "Shop opens at 10", clock.now() + timedelta(hours=1), "UTC")
    assert Dispatcher(fctx).run_once().handed_off == 25
    assert sandbox.schedule_calls == 1
    states = {m.state for m in svc.show(result.batch_id)}
    assert states == {"scheduled"}


def test_an_account_that_cannot_be_opened_blocks_only_its_messages(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    def factory(account: ProviderAccount) -> FaultySandbox:
        if account.name == "Broken":
            raise SecretStoreError("The keyring could not read the API key (KeyringLocked).")
        return sandbox

    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=factory)
    svc = Service(ctx)
    svc.add_account("Broken", "sandbox")
    good = svc.schedule(["+15551234567"], "hi", clock.now() + timedelta(hours=1), "UTC")
    msg_id = good.messages[0].message.id
    bad = svc.schedule(
        ["+15557654321"], "hi", clock.now() + timedelta(hours=1), "UTC", account="Broken"
    )
    report = Dispatcher(ctx).run_once()
    assert report.handed_off == 1
    assert _state(svc, msg_id) == "scheduled"
    blocked = svc.show(bad.messages[0].message.id)[0]
    assert blocked.state == "queued"
    assert blocked.last_error and "KeyringLocked" in blocked.last_error
    assert [e.kind for e in blocked.events] == ["created", "blocked"]
    assert Dispatcher(ctx).run_once().handed_off == 0  # left alone for a while, no busy loop
    ctx.close()


def test_an_unconfirmable_hand_off_waits_for_the_user_who_may_send_it_again(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    sandbox.capabilities = replace(CAPABILITIES, lookup_by_key=False)
    msg_id = _one(svc, clock, timedelta(hours=1))
    sandbox.before = [AmbiguousError("connection reset while sending")]
    d = Dispatcher(fctx)
    d.run_once()
    clock.advance(timedelta(minutes=1))
    d.run_once()
    view = svc.show(msg_id)[0]
    assert view.state == "unknown" and view.attention
    assert "send again or cancel" in view.attention
    clock.advance(timedelta(hours=2))
    d.run_once()
    assert sandbox.schedule_calls == 1  # never resent on its own
    # The user checked the provider's console: it is not there. Send it again.
    [r] = svc.retry(msg_id)
    assert (r.ok, r.state) == (True, "queued")
    d.run_once()
    assert _state(svc, msg_id) == "delivered"
    assert list(sandbox.inner.requests_by_key().values()) == [1]


def test_a_provider_saying_opted_out_adds_the_number_to_the_suppression_list(
    svc: Service, fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    inner_schedule = sandbox.inner.schedule

    def refuse_one(messages: Sequence[Outgoing]) -> list[Outcome]:
        ok = [m for m in messages if m.to != "+15557654321"]
        refused: list[Outcome] = [
            Rejected(m.key, "recipient opted out (40300)", opted_out=True)
            for m in messages
            if m.to == "+15557654321"
        ]
        return inner_schedule(ok) + refused

    sandbox.inner.schedule = refuse_one  # type: ignore[method-assign]  # a provider that refuses
    _one(svc, clock, timedelta(hours=1), to="+15557654321")
    Dispatcher(fctx).run_once()
    with fctx.db.read() as s:
        [entry] = s.exec(select(OptOut)).all()
    assert entry.number == "+15557654321" and "40300" in entry.source
    # From now on scheduling to it is refused before anything is stored.
    with pytest.raises(InvalidInput, match="Nobody left to send to"):
        _one(svc, clock, timedelta(hours=2), to="+15557654321")
