"""Set-based hand-off: a chunk moves with one compare-and-set per state change, and a message
that moved on meanwhile (cancelled between claim and hand-off) is neither sent nor recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, PassReport, Ready
from smsdesk.engine.service import Service
from smsdesk.providers.base import Outcome, Outgoing, Rejected, TransientError
from smsdesk.store.models import Event, Message, OptOut, ProviderAccount
from smsdesk.store.queries import Fence
from tests.engine.faults import FaultySandbox

NUMBERS = [f"+1555123{i:04d}" for i in range(6)]


class CancelsFirst(Dispatcher):
    """Someone cancels some messages after the claim and before the hand-off commits."""

    def __init__(self, ctx: AppContext, svc: Service, doomed: set[str]) -> None:
        super().__init__(ctx)
        self.svc, self.doomed = svc, doomed
        self.offered: list[str] = []

    def _hand_off(
        self, account: ProviderAccount, items: Ready, report: PassReport, fence: Fence
    ) -> TransientError | None:
        self.offered += [m.id for m, _ in items]
        for msg_id in self.doomed:
            assert self.svc.cancel(msg_id)[0].ok
        return super()._hand_off(account, items, report, fence)


def _history(ctx: AppContext, msg_id: str) -> list[tuple[str, str | None, str | None]]:
    with ctx.db.read() as s:
        events = s.exec(
            select(Event).where(Event.message_id == msg_id).order_by(col(Event.id))
        ).all()
    return [(e.kind, e.state_from, e.state_to) for e in events]


def _keys(ctx: AppContext) -> dict[str, str | None]:
    with ctx.db.read() as s:
        return {m.id: m.idempotency_key for m in s.exec(select(Message))}


def _schedule(svc: Service, clock: ManualClock) -> list[str]:
    result = svc.schedule(NUMBERS, "Shop opens at 10", clock.now() + timedelta(hours=1), "UTC")
    return [m.message.id for m in result.messages]


def test_messages_cancelled_between_claim_and_hand_off_are_not_sent(
    fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    svc = Service(fctx)
    ids = _schedule(svc, clock)
    doomed = {ids[1], ids[4]}
    dispatcher = CancelsFirst(fctx, svc, doomed)
    report = dispatcher.run_once()
    assert sorted(dispatcher.offered) == sorted(ids)  # the claim took them all
    assert report.handed_off == len(ids) - 2
    assert sandbox.schedule_calls == 1
    keys = _keys(fctx)
    assert sandbox.inner.requests_by_key() == {keys[i]: 1 for i in ids if i not in doomed}
    for msg_id in ids:
        view = svc.show(msg_id)[0]
        if msg_id in doomed:
            assert view.state == "cancelled"
            assert keys[msg_id] is None  # the hand-off never touched it
            assert [k for k, _, _ in _history(fctx, msg_id)] == ["created", "cancelled"]
        else:
            assert view.state == "scheduled"
            assert _history(fctx, msg_id) == [
                ("created", None, "queued"),
                ("handing_off", "queued", "handing_off"),
                ("handed_off", "handing_off", "scheduled"),
            ]


def test_one_request_mixing_accepted_and_refused_records_each_once(
    fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    svc = Service(fctx)
    ids = _schedule(svc, clock)
    refused_numbers = {NUMBERS[0], NUMBERS[3]}
    inner_schedule = sandbox.inner.schedule

    def refuse_some(messages: Sequence[Outgoing]) -> list[Outcome]:
        ok = [m for m in messages if m.to not in refused_numbers]
        refused: list[Outcome] = [
            Rejected(m.key, "recipient opted out (40300)", opted_out=True)
            for m in messages
            if m.to in refused_numbers
        ]
        # Answer twice for one key: the engine must still record one change.
        return inner_schedule(ok) + refused + refused[:1]

    sandbox.inner.schedule = refuse_some  # type: ignore[method-assign]  # a provider that refuses
    report = Dispatcher(fctx).run_once()
    assert (report.handed_off, report.failed, report.unknown) == (4, 2, 0)
    for msg_id, number in zip(ids, NUMBERS, strict=True):
        view = svc.show(msg_id)[0]
        if number in refused_numbers:
            assert view.state == "failed" and view.last_error == "recipient opted out (40300)"
            assert _history(fctx, msg_id)[1:] == [
                ("handing_off", "queued", "handing_off"),
                ("failed", "handing_off", "failed"),
            ]
        else:
            assert view.state == "scheduled" and view.provider_ref
    with fctx.db.read() as s:
        assert sorted(o.number for o in s.exec(select(OptOut))) == sorted(refused_numbers)
    keys = list(_keys(fctx).values())
    assert len(set(keys)) == len(ids) and None not in keys


def test_a_transient_failure_puts_the_whole_chunk_back_with_one_event_each(
    fctx: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    svc = Service(fctx)
    ids = _schedule(svc, clock)
    sandbox.before = [TransientError("503 from provider", retry_after=60)]
    report = Dispatcher(fctx).run_once()
    assert (report.retrying, report.handed_off) == (len(ids), 0)
    for msg_id in ids:
        view = svc.show(msg_id)[0]
        assert view.state == "queued" and view.last_error == "503 from provider"
        assert _history(fctx, msg_id)[1:] == [
            ("handing_off", "queued", "handing_off"),
            ("retry", "handing_off", "queued"),
        ]
    first = _keys(fctx)
    clock.advance(timedelta(seconds=61))
    assert Dispatcher(fctx).run_once().handed_off == len(ids)
    # The retry reuses each message's key: a provider that had it would not make a second.
    assert _keys(fctx) == first


def test_a_claim_fills_a_whole_provider_batch(fctx: AppContext, clock: ManualClock) -> None:
    dispatcher = Dispatcher(fctx)
    assert dispatcher.claim_size() == 1000  # the Sandbox takes 1,000 per request
    assert Dispatcher(fctx, claim_limit=5).claim_size() == 5
