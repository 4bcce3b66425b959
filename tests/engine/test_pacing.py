"""Pacing one-message-per-request providers to their rate limit: the token bucket on a fake
clock, and the dispatcher's concurrent hand-offs against the Telnyx simulator with a rate
limit of its own (429 once its bucket is empty), both on the same fake clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.lease import ClaimLease
from smsdesk.engine.outbox import Dispatcher, PassReport
from smsdesk.engine.pacing import Pacer, TokenBucket
from smsdesk.engine.service import Service
from smsdesk.providers import telnyx
from smsdesk.providers.base import Outcome, Outgoing, Provider
from smsdesk.providers.telnyx import TelnyxProvider
from smsdesk.store.models import Event, Message, ProviderAccount
from smsdesk.store.queries import Claimed
from tests.simulators.base import Request, Response
from tests.simulators.telnyx import TelnyxSimulator

KEY = "KEY019f3c2e-telnyx-secret-5a7b"
SENDER = "+12025550100"
RATE = 20.0


class FakeTime:
    """Monotonic seconds that move only when someone sleeps (from any thread)."""

    def __init__(self) -> None:
        self._now = 100.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


# -- the token bucket -------------------------------------------------------------------------


def test_requests_are_spaced_evenly_at_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(4.0, monotonic=t.monotonic, sleep=t.sleep)
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


def test_acquire_sleeps_until_the_slot() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, monotonic=t.monotonic, sleep=t.sleep)
    for _ in range(3):
        bucket.acquire()
    assert t.sleeps == pytest.approx([0.1, 0.1])  # the first went at once


def test_an_idle_bucket_saves_up_only_to_its_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, burst=3, monotonic=t.monotonic, sleep=t.sleep)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    t.advance(60)  # a long pause does not allow a long burst afterwards
    delays = [bucket.reserve() for _ in range(5)]
    assert delays == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2])


def test_time_passing_pays_back_promised_slots() -> None:
    t = FakeTime()
    bucket = TokenBucket(2.0, monotonic=t.monotonic, sleep=t.sleep)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.5, 1.0]
    t.advance(0.75)
    assert bucket.reserve() == pytest.approx(0.75)  # the slot at 1.5 s from the start


def test_threads_sharing_a_bucket_get_distinct_slots() -> None:
    t = FakeTime()
    bucket = TokenBucket(100.0, monotonic=t.monotonic, sleep=t.sleep)
    delays: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            delay = bucket.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(delays) == pytest.approx([i / 100 for i in range(100)])


def test_a_bucket_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(5, burst=0.5)


def test_the_pacer_keeps_one_bucket_per_account_and_rate() -> None:
    pacer = Pacer()
    first = pacer.bucket(1, 10.0)
    assert pacer.bucket(1, 10.0) is first
    assert pacer.bucket(2, 10.0) is not first
    assert pacer.bucket(1, 5.0).rate == 5.0  # the account's limit changed


# -- the dispatcher against a rate-limited simulator ---------------------------------------


class LimitedTelnyx(TelnyxSimulator):
    """The Telnyx simulator refusing creates beyond ``rate`` per second (bucket of one second),
    timed by the test's fake clock."""

    def __init__(self, clock: ManualClock, time: FakeTime, rate: float) -> None:
        super().__init__(clock, api_key=KEY)
        self.time, self.rate = time, rate
        self._tokens, self._filled = rate, time.monotonic()
        self.refused = 0
        self.arrivals: list[float] = []  # fake time of each create accepted

    def route(self, request: Request) -> Response:  # called under the simulator's lock
        if request.method == "POST" and request.path.rstrip("/") == "/v2/messages":
            now = self.time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._filled) * self.rate)
            self._filled = now
            if self._tokens < 1:
                self.refused += 1
                error = {"errors": [{"code": "10011", "title": "Too many requests"}]}
                return Response(429, error, {"Retry-After": "0"})
            self._tokens -= 1
            self.arrivals.append(now)
        return super().route(request)


class Recording:
    """The real Telnyx client, limited to RATE, noting which threads made requests."""

    def __init__(self, inner: TelnyxProvider) -> None:
        self.inner = inner
        inner.capabilities = replace(inner.capabilities, rate_limit_per_second=RATE)
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        schedule = inner.schedule

        def recording(messages: Sequence[Outgoing]) -> list[Outcome]:
            with self._lock:
                self.threads.add(threading.current_thread().name)
            return schedule(messages)

        inner.schedule = recording  # type: ignore[method-assign]  # observe, then delegate


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sim(clock: ManualClock, fake_time: FakeTime) -> Iterator[LimitedTelnyx]:
    simulator = LimitedTelnyx(clock, fake_time, RATE)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def provider(isolated_home: Path, clock: ManualClock, sim: LimitedTelnyx) -> Iterator[Recording]:
    inner = telnyx.build(
        home=isolated_home, clock=clock, options={}, base_url=sim.base_url, api_key=KEY
    )
    yield Recording(inner)
    inner.close()


@pytest.fixture
def tctx(isolated_home: Path, clock: ManualClock, provider: Recording) -> Iterator[AppContext]:
    def factory(account: ProviderAccount) -> Provider:
        return provider.inner

    context = AppContext.open(isolated_home, clock=clock, provider_factory=factory)
    with context.db.write() as s:
        s.add(
            ProviderAccount(
                name="Telnyx",
                kind="telnyx",
                base_url="http://127.0.0.1:1",
                sender=SENDER,
                created_at=clock.now(),
            )
        )
    yield context
    context._providers.clear()  # the fixture closes the provider it made
    context.close()


def _schedule(ctx: AppContext, clock: ManualClock, count: int) -> list[str]:
    numbers = [f"+12025561{i:03d}" for i in range(count)]
    result = Service(ctx).schedule(
        numbers, "See you", clock.now() + timedelta(hours=1), "UTC", account="Telnyx"
    )
    return [m.message.id for m in result.messages]


def test_paced_hand_offs_stay_within_the_limit_and_send_each_message_once(
    tctx: AppContext,
    clock: ManualClock,
    fake_time: FakeTime,
    sim: LimitedTelnyx,
    provider: Recording,
) -> None:
    count = int(RATE * 3)  # three times what the simulator's bucket holds
    ids = _schedule(tctx, clock, count)
    pacer = Pacer(monotonic=fake_time.monotonic, sleep=fake_time.sleep)
    # Claims smaller than the batch of messages: the pace holds across claims too.
    report = Dispatcher(tctx, pacer=pacer, claim_limit=25).run_once()
    assert sim.refused == 0
    assert report.handed_off == count
    assert len(provider.threads) > 1  # several requests were in flight at once
    assert set(sim.creates_by_recipient().values()) == {1}
    assert len(sim.creates_by_recipient()) == count
    # Unpaced, the fake clock would not move and the simulator would refuse all but RATE.
    assert max(sim.arrivals) - min(sim.arrivals) >= (count - RATE) / RATE
    with tctx.db.read() as s:
        states = {m.state for m in s.exec(select(Message))}
        events = s.exec(select(Event).where(col(Event.kind) != "created")).all()
    assert states == {"scheduled"}
    assert sorted((e.message_id, e.kind) for e in events) == sorted(
        (i, kind) for i in ids for kind in ("handed_off", "handing_off")
    )


def test_a_paced_round_takes_no_more_than_half_a_lease_can_cover(
    tctx: AppContext, clock: ManualClock, fake_time: FakeTime, sim: LimitedTelnyx
) -> None:
    count = 30
    _schedule(tctx, clock, count)
    pacer = Pacer(monotonic=fake_time.monotonic, sleep=fake_time.sleep)
    dispatcher = Dispatcher(tctx, pacer=pacer, lease=timedelta(seconds=1))
    rounds: list[int] = []
    process = dispatcher._process

    def counting(
        claimed: Sequence[Claimed],
        report: PassReport,
        lease: ClaimLease,
        stop: threading.Event | None,
    ) -> None:
        before = report.handed_off
        process(claimed, report, lease, stop)
        rounds.append(report.handed_off - before)

    dispatcher._process = counting  # type: ignore[method-assign]  # count each round
    assert dispatcher.run_once().handed_off == count
    # 20/s over half a 1-second lease: 10 per round; the rest was released and claimed again.
    assert rounds == [10, 10, 10]
    assert set(sim.creates_by_recipient().values()) == {1}
