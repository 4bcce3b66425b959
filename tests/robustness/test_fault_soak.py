"""Fault soak: 30% of everything the Infobip simulator answers is a fault (429 with
Retry-After, 503, 500, a timeout, a reset, malformed JSON, accepted-but-answer-lost), drawn from
a seeded random stream. Passes run with the clock moving until every message reaches the
state its number calls for; no message may be created twice, retries stay under the cap, and
every permanent failure carries its reason."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import RECONCILE_INTERVAL, RETRY_CAP, Dispatcher
from smsdesk.engine.service import Service
from smsdesk.store.models import Event, Message
from tests.simulators.base import Fault, _Injected
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-soak-key-91e2b7c4d0"
FAULT_RATE = 0.3
SEED = 20261201
MIX = [
    Fault.RATE_LIMIT,
    Fault.UNAVAILABLE,
    Fault.SERVER_ERROR,
    Fault.TIMEOUT,
    Fault.RESET,
    Fault.MALFORMED,
    Fault.LOST,
]
# What each kind of number must end as, and the reason a failure must carry.
DELIVERED = "+41793026"  # + 3 digits
REJECTED = "+41793029990"  # Infobip refuses the destination at once
UNDELIVERABLE = "+41793020001"  # fails at the send time
EXPIRING = "+41793021001"  # expires at the send time
OPTED_OUT = "+41793028888"  # opted out at Infobip (EC_CONTENT_BLOCKED)


class RandomFaults(InfobipSimulator):
    """Infobip with a seeded share of faulty answers on every request (queued faults first)."""

    def __init__(self, clock: ManualClock, rate: float, seed: int) -> None:
        super().__init__(clock, api_key=KEY, stall=5.0)
        self.rate = rate
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.served = 0

    def _take_fault(self, method: str, path: str) -> _Injected | None:
        queued = super()._take_fault(method, path)
        with self._lock:
            self.served += 1
            if queued is None and self.rng.random() < self.rate:
                fault = self.rng.choice(MIX)
                queued = _Injected(fault, None, self.rng.randint(1, 90))
            if queued is not None:
                self.injected[queued.fault.name] += 1
            return queued


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[RandomFaults]:
    simulator = RandomFaults(clock, FAULT_RATE, SEED)
    simulator.reject_prefixes = (REJECTED[1:-1],)
    simulator.fail_prefixes = (UNDELIVERABLE[1:-1],)
    simulator.expire_prefixes = (EXPIRING[1:-1],)
    simulator.opted_out = {OPTED_OUT[1:]}
    simulator.start()
    yield simulator
    simulator.stop()


def _expected(number: str) -> tuple[str, str | None]:
    """(final state, words the failure reason must contain)."""
    if number.startswith(REJECTED[:-1]):
        return "failed", "Invalid destination address"
    if number == UNDELIVERABLE:
        return "failed", "Unknown subscriber"
    if number == EXPIRING:
        return "expired", None
    if number == OPTED_OUT:
        return "failed", "opt-out"
    return "delivered", None


def test_thirty_percent_faults_settle_every_message_exactly_once(
    ctx: AppContext, clock: ManualClock, sim: RandomFaults
) -> None:
    svc = Service(ctx)
    svc.add_account(
        "Infobip",
        "infobip",
        api_key=KEY,
        base_url=sim.base_url,
        options={"timeout": "1.0"},
        make_default=True,
    )
    # 24 batches at 24 send times (24 bulks), 5 recipients each; some numbers fail on purpose.
    ids: list[str] = []
    for batch in range(24):
        numbers = [f"{DELIVERED}{batch * 5 + i:03d}" for i in range(5)]
        if batch % 8 == 0:
            numbers[0] = f"{REJECTED[:-1]}{batch // 8}"
        if batch == 3:
            numbers[1] = UNDELIVERABLE
        if batch == 5:
            numbers[2] = EXPIRING
        if batch == 7:
            numbers[3] = OPTED_OUT
        # Far enough ahead that back-offs never make a message miss its time.
        send_at = clock.now() + timedelta(days=2, minutes=batch)
        result = svc.schedule(numbers, f"Appointment reminder {batch}", send_at, "UTC")
        ids += [m.message.id for m in result.messages]
    assert len(ids) == 120

    # With 30% faults a message may go unanswered several times in a row; the cap is higher
    # than the default so that the soak measures recovery, and bounded all the same.
    dispatcher = Dispatcher(ctx, max_attempts=20)
    passes = 0
    final = {"delivered", "failed", "expired", "cancelled"}
    while passes < 400:
        dispatcher.run_once()
        passes += 1
        with ctx.db.read() as s:
            states = set(s.exec(select(Message.state)).all())
        if states <= final:
            break
        # Time passes until the engine has something to do (a back-off ends, a check is due).
        clock.set(max(clock.now() + RECONCILE_INTERVAL, dispatcher.next_wake()))
    with ctx.db.read() as s:
        msgs = list(s.exec(select(Message)).all())
    msgs = [m for m in msgs if m.id in set(ids)]

    creates = sim.creates_by_key()
    duplicates = sum(n - 1 for n in creates.values())
    print(
        f"\nfault soak: {len(msgs)} messages, {sim.served} requests, "
        f"{sum(sim.injected.values())} faults injected {dict(sim.injected)}, {passes} passes, "
        f"duplicates {duplicates}, attempts max {max(m.attempts for m in msgs)}"
    )
    assert sum(sim.injected.values()) >= 0.2 * sim.served
    assert set(sim.injected) == {f.name for f in MIX}
    # Every message reached Infobip exactly once.
    assert duplicates == 0
    never = [
        (m.recipient, m.state, m.attempts, m.last_error)
        for m in msgs
        if m.idempotency_key not in creates
    ]
    assert never == []
    assert {m.idempotency_key for m in msgs} == set(creates)
    assert Counter(m.to for m in sim.messages).most_common(1)[0][1] == 1
    # Each message in the state its number calls for; failures say why, per message.
    wrong, no_reason = [], []
    for m in msgs:
        state, reason = _expected(m.recipient)
        if m.state != state:
            wrong.append((m.recipient, m.state, m.last_error, m.attention))
        elif reason and reason not in (m.last_error or ""):
            no_reason.append(m)
    assert wrong == []
    assert all(m.attention is None for m in msgs)
    with ctx.db.read() as s:
        events = list(s.exec(select(Event)).all())
    # Every failure carries its reason, also one settled by reconciliation
    # (test_a_rejection_found_by_reconciliation_keeps_its_reason is that path alone).
    assert [(m.recipient, m.last_error) for m in no_reason] == []
    # Bounded retries: transient failures are retried at most up to the engine's cap (the
    # overall attempt count is not capped: see test_unclear_hand_offs_are_capped_too).
    retries = Counter(e.message_id for e in events if e.kind == "retry")
    attempts = Counter(m.attempts for m in msgs)
    print(f"hand-off attempts per message: {sorted(attempts.items())}")
    assert min(attempts) >= 1
    assert max(retries.values(), default=0) < dispatcher.max_attempts
    assert max(attempts) <= dispatcher.max_attempts
    assert not [m for m in msgs if "gave up" in (m.last_error or "")]


@pytest.fixture
def plain(ctx: AppContext, clock: ManualClock) -> Iterator[tuple[Service, RandomFaults]]:
    """Infobip without random faults (rate 0), for the deterministic cases below."""
    simulator = RandomFaults(clock, 0.0, SEED)
    simulator.reject_prefixes = (REJECTED[1:-1],)
    simulator.start()
    svc = Service(ctx)
    svc.add_account(
        "Infobip",
        "infobip",
        api_key=KEY,
        base_url=simulator.base_url,
        options={"timeout": "1.0"},
        make_default=True,
    )
    yield svc, simulator
    simulator.stop()


def test_a_rejection_found_by_reconciliation_keeps_its_reason(
    ctx: AppContext, clock: ManualClock, plain: tuple[Service, RandomFaults]
) -> None:
    svc, simulator = plain
    [m] = svc.schedule([REJECTED], "Hello", clock.now() + timedelta(hours=1), "UTC").messages
    simulator.inject(Fault.LOST, match="POST /sms/3/messages")
    dispatcher = Dispatcher(ctx)
    assert dispatcher.run_once().unknown == 1
    clock.advance(RECONCILE_INTERVAL)
    assert dispatcher.run_once().reconciled == 1  # found at Infobip: not sent again
    # The bulk's definitive lookup may settle it as held there; the rejection then comes
    # with the status sync (by the send time at the latest), with its reason.
    clock.advance(timedelta(hours=1, minutes=1))
    dispatcher.run_once()
    [view] = svc.show(m.message.id)
    assert view.state == "failed"
    assert "Invalid destination address" in (view.last_error or "")
    assert set(simulator.creates_by_key().values()) == {1}


def test_unclear_hand_offs_are_capped_too(
    ctx: AppContext, clock: ManualClock, plain: tuple[Service, RandomFaults]
) -> None:
    svc, simulator = plain
    [m] = svc.schedule(["+41793026001"], "Hello", clock.now() + timedelta(days=30), "UTC").messages
    dispatcher = Dispatcher(ctx)
    simulator.inject(Fault.SERVER_ERROR, times=30, match="POST /sms/3/messages")
    for _ in range(3 * dispatcher.max_attempts):
        dispatcher.run_once()
        clock.advance(RETRY_CAP)  # past any back-off
    [view] = svc.show(m.message.id)
    with ctx.db.read() as s:
        stored = s.get(Message, m.message.id)
    assert stored is not None
    assert stored.attempts <= dispatcher.max_attempts
    assert view.state == "failed" and "gave up" in (view.last_error or "")
