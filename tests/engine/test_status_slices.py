"""Status sync yields to hand-offs: a provider asked one message per request under a rate
limit (Telnyx, 10 a second) is asked in short slices, and a message held here that comes due
meanwhile is handed off before the rest is asked about (otherwise 500 status reads would hold
it back 50 s)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import STATUS_SLICE, Dispatcher, PassReport
from smsdesk.engine.service import Service
from smsdesk.providers.telnyx import RATE_LIMIT_PER_SECOND
from smsdesk.store.models import Message, ProviderAccount
from tests.simulators.telnyx import PROFILE_ID, TelnyxSimulator

KEY = "KEY019f3c2e-telnyx-secret-5a7b"
SENDER = "+12025550100"
AT_TELNYX = [f"+1202555{n:04d}" for n in range(200, 212)]
HELD_HERE = "+12025550199"
SLICE = math.ceil(RATE_LIMIT_PER_SECOND * STATUS_SLICE.total_seconds())


@pytest.fixture
def telnyx(clock: ManualClock) -> Iterator[TelnyxSimulator]:
    sim = TelnyxSimulator(clock, api_key=KEY)
    with sim:
        yield sim


@pytest.fixture
def desk(ctx: AppContext, telnyx: TelnyxSimulator) -> Service:
    svc = Service(ctx)
    svc.add_account(
        "Telnyx",
        "telnyx",
        api_key=KEY,
        base_url=telnyx.base_url,
        sender=SENDER,
        options={"messaging_profile_id": PROFILE_ID},
        make_default=True,
    )
    svc.update_settings(quiet_mode="off")  # 09:00 UTC is night in Washington
    return svc


def _status_reads(sim: TelnyxSimulator) -> int:
    return sum(1 for method, _path, _ in sim.log if method == "GET")


def _due_for_sync(ctx: AppContext) -> int:
    now = ctx.clock.now()
    with ctx.db.read() as s:
        rows = s.exec(select(Message).where(col(Message.next_sync_at) <= now)).all()
    return len(rows)


def test_a_hand_off_due_during_a_status_sync_goes_first(
    desk: Service, ctx: AppContext, clock: ManualClock, telnyx: TelnyxSimulator, isolated_home: Path
) -> None:
    assert SLICE >= 1
    dispatcher = Dispatcher(ctx)
    desk.schedule(AT_TELNYX, "Your appointment", clock.now() + timedelta(hours=1), "UTC")
    dispatcher.run_once()
    assert {m.state for m in desk.list_messages()} == {"scheduled"}
    clock.advance(timedelta(hours=1, minutes=1))  # all twelve are asked about after sending
    # Held here (under Telnyx's 5-minute lead), due 0.35 s into the status sync: each status
    # read waits 0.1 s for its slot on the injected clock, so a slice of three takes 0.2 s;
    # the first fits before it, the second would not.
    batch = desk.schedule([HELD_HERE], "Running late", clock.now() + timedelta(minutes=2), "UTC")
    [held] = batch.messages
    clock.advance(timedelta(minutes=2) - timedelta(seconds=0.35))
    reads = _status_reads(telnyx)

    report = dispatcher.run_once()

    # One slice was asked about, then the sync gave way to the hand-off now due.
    assert _status_reads(telnyx) - reads == SLICE
    assert report.handed_off == 0  # it came due after this pass had claimed its work
    assert _due_for_sync(ctx) == len(AT_TELNYX) - SLICE
    assert dispatcher.next_wake() <= clock.now()  # the rest is still due
    clock.set(held.message.send_at)
    report = dispatcher.run_once()
    assert report.handed_off == 1
    assert [m.state for m in desk.show(held.message.id)] == ["sent"]


def test_a_stop_during_a_long_status_sync_ends_it_between_slices(
    desk: Service, ctx: AppContext, clock: ManualClock, telnyx: TelnyxSimulator
) -> None:
    stop = threading.Event()

    class StoppedAfterOneSlice(Dispatcher):
        """Sets ``stop`` as SIGTERM would, while the first slice's reads are out."""

        def _sync_slice(
            self, account: ProviderAccount, msgs: list[Message], report: PassReport
        ) -> None:
            super()._sync_slice(account, msgs, report)
            stop.set()

    dispatcher = StoppedAfterOneSlice(ctx)
    desk.schedule(AT_TELNYX, "Your appointment", clock.now() + timedelta(hours=1), "UTC")
    dispatcher.run_once()
    assert not stop.is_set()  # nothing was due for a status sync yet
    # Past the last of the twelve: one long code sends them 10 s apart (10:00:00 to 10:01:50).
    clock.advance(timedelta(hours=1, minutes=3))
    reads = _status_reads(telnyx)

    dispatcher.sync_statuses(PassReport(), stop=stop)

    assert stop.is_set()
    assert _status_reads(telnyx) - reads == SLICE
    assert _due_for_sync(ctx) == len(AT_TELNYX) - SLICE
