"""The engine sleeps while every due message is under a lease: one blocked by an account that
cannot be opened (a locked keyring) or one leased by another desk counts when its lease runs
out, not when it fell due. Without that the engine ran about five passes a second, each
taking the write lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import SecretStoreError
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import BLOCKED_RETRY, Dispatcher, PassReport
from smsdesk.engine.service import Service
from smsdesk.store import queries
from smsdesk.store.models import ProviderAccount
from tests.engine.faults import FaultySandbox


@pytest.fixture
def locked(isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox) -> Iterator[AppContext]:
    """A context whose "Locked" account cannot be opened: its key sits in a locked keyring."""

    def factory(account: ProviderAccount) -> FaultySandbox:
        if account.name == "Locked":
            raise SecretStoreError("The keyring could not read the API key (KeyringLocked).")
        return sandbox

    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=factory)
    Service(ctx).add_account("Locked", "sandbox")
    yield ctx
    ctx.close()


def _one(ctx: AppContext, clock: ManualClock, account: str | None = None) -> str:
    result = Service(ctx).schedule(
        ["+15557654321"], "hi", clock.now() + timedelta(hours=1), "UTC", account=account
    )
    return result.messages[0].message.id


def test_next_wake_with_a_blocked_message_is_its_back_off_away(
    locked: AppContext, clock: ManualClock
) -> None:
    _one(locked, clock, account="Locked")
    dispatcher = Dispatcher(locked)
    assert dispatcher.next_wake() <= clock.now()  # due now: the first pass must look
    assert dispatcher.run_once().handed_off == 0  # ... and finds the account locked
    assert dispatcher.next_wake() >= clock.now() + BLOCKED_RETRY


def test_next_wake_with_a_message_leased_by_another_desk_is_at_its_lease_end(
    locked: AppContext, clock: ManualClock
) -> None:
    _one(locked, clock)
    lease = timedelta(minutes=2)
    with locked.db.write() as s:
        [_taken] = queries.claim_due(s, "other-desk", clock.now(), lease, 10)
    ours = Dispatcher(locked, lease=lease)
    assert ours.next_wake() >= clock.now() + lease
    assert ours.run_once().handed_off == 0  # nothing for us until then


def test_next_wake_still_sees_a_free_due_message_beside_a_blocked_one(
    locked: AppContext, clock: ManualClock
) -> None:
    _one(locked, clock, account="Locked")
    dispatcher = Dispatcher(locked)
    dispatcher.run_once()
    clock.advance(timedelta(minutes=1))
    _one(locked, clock)  # a new message on a working account, due now
    assert dispatcher.next_wake() <= clock.now()


class Counting(Dispatcher):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.passes = 0

    def run_once(self, stop: threading.Event | None = None) -> PassReport:
        self.passes += 1
        return super().run_once(stop)


def test_the_engine_thread_makes_at_most_two_passes_per_back_off_with_one_blocked_message(
    locked: AppContext, clock: ManualClock
) -> None:
    """The real loop in a real thread; its waits move the manual clock instead of passing
    real time, and it stops once the clock has run through one back-off interval. It still
    looks every ``idle`` (other processes may add work), with a read, not a pass."""
    _one(locked, clock, account="Locked")
    dispatcher = Counting(locked)
    stop = threading.Event()
    end: datetime = clock.now() + BLOCKED_RETRY
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        clock.advance(timedelta(seconds=seconds))
        if clock.now() >= end or len(waits) > 10_000:
            stop.set()
        return stop.is_set()

    thread = threading.Thread(
        target=dispatcher.run_forever, args=(stop, timedelta(seconds=30), wait), daemon=True
    )
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    # One pass finds the account locked, the next comes when the block runs out.
    assert dispatcher.passes <= 2, f"{dispatcher.passes} passes in {BLOCKED_RETRY}"
    assert len(waits) >= BLOCKED_RETRY / timedelta(seconds=30)  # it did look, every 30 s


def test_work_added_by_another_process_is_picked_up_at_the_next_look(
    locked: AppContext, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    dispatcher = Counting(locked)
    stop = threading.Event()
    looks = 0

    def wait(seconds: float) -> bool:
        nonlocal looks
        looks += 1
        clock.advance(timedelta(seconds=seconds))
        if looks == 3:  # meanwhile the window schedules a message due now
            _one(locked, clock)
        if looks == 6 or looks > 1000:
            stop.set()
        return stop.is_set()

    thread = threading.Thread(
        target=dispatcher.run_forever, args=(stop, timedelta(seconds=30), wait), daemon=True
    )
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert dispatcher.passes == 2  # the first, and the one that found the new message
    assert sandbox.schedule_calls == 1
