"""Providers that cancel and reschedule a whole bulk (Infobip): acting on part of a bulk
withdraws it and re-queues the rest, so nothing is lost and nothing is doubled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import ProviderAccount
from tests.engine.faults import BulkSandbox

NUMBERS = ["+15551230001", "+15551230002", "+15551230003"]


@pytest.fixture
def bulk(isolated_home: Path, clock: ManualClock) -> BulkSandbox:
    isolated_home.mkdir(parents=True, exist_ok=True)
    return BulkSandbox(SandboxProvider(isolated_home / "sandbox.db", clock))


@pytest.fixture
def bctx(isolated_home: Path, clock: ManualClock, bulk: BulkSandbox) -> Iterator[AppContext]:
    def factory(account: ProviderAccount) -> BulkSandbox:
        return bulk

    context = AppContext.open(isolated_home, clock=clock, provider_factory=factory)
    yield context
    context.close()


def _handed_off_batch(bctx: AppContext, clock: ManualClock) -> tuple[Service, list[str]]:
    svc = Service(bctx)
    result = svc.schedule(NUMBERS, "Clinic closed Friday", clock.now() + timedelta(hours=2), "UTC")
    Dispatcher(bctx).run_once()
    ids = [m.message.id for m in result.messages]
    assert {svc.show(i)[0].state for i in ids} == {"scheduled"}
    return svc, ids


def test_cancelling_one_message_of_a_bulk_requeues_the_others(
    bctx: AppContext, clock: ManualClock, bulk: BulkSandbox
) -> None:
    svc, ids = _handed_off_batch(bctx, clock)
    [r] = svc.cancel(ids[0])
    assert (r.ok, r.state) == (True, "cancelled")
    others = [svc.show(i)[0] for i in ids[1:]]
    assert [(m.state, m.where) for m in others] == [("queued", "on this computer")] * 2
    assert others[0].events[-1].kind == "re-queued"
    Dispatcher(bctx).run_once()  # handed off again, as a new bulk
    assert [svc.show(i)[0].state for i in ids] == ["cancelled", "scheduled", "scheduled"]
    clock.advance(timedelta(hours=3))
    Dispatcher(bctx).run_once()
    assert [svc.show(i)[0].state for i in ids] == ["cancelled", "delivered", "delivered"]
    # The first bulk was cancelled at the provider; each recipient got exactly one live copy.
    live = [s for s in bulk.fetch_status(list(bulk.groups)) if s.state.value == "delivered"]
    assert len(live) == 2
    assert bulk.provider_calls == ["cancel"]


def test_cancelling_a_whole_bulk_is_one_request(
    bctx: AppContext, clock: ManualClock, bulk: BulkSandbox
) -> None:
    svc, ids = _handed_off_batch(bctx, clock)
    batch_id = svc.show(ids[0])[0].batch_id
    results = svc.cancel(batch_id)
    assert [r.state for r in results] == ["cancelled"] * 3
    assert bulk.provider_calls == ["cancel"]


def test_rescheduling_a_whole_bulk_moves_it_at_the_provider(
    bctx: AppContext, clock: ManualClock, bulk: BulkSandbox
) -> None:
    svc, ids = _handed_off_batch(bctx, clock)
    new_time = clock.now() + timedelta(hours=5)
    results = svc.reschedule(svc.show(ids[0])[0].batch_id, new_time)
    assert all(r.ok for r in results)
    assert bulk.provider_calls == ["reschedule"]
    assert {(svc.show(i)[0].state, svc.show(i)[0].send_at) for i in ids} == {
        ("scheduled", new_time)
    }


def test_rescheduling_part_of_a_bulk_withdraws_and_requeues_everything(
    bctx: AppContext, clock: ManualClock, bulk: BulkSandbox
) -> None:
    svc, ids = _handed_off_batch(bctx, clock)
    old_time = svc.show(ids[1])[0].send_at
    new_time = clock.now() + timedelta(hours=5)
    [r] = svc.reschedule(ids[0], new_time)
    assert r.ok, r.detail
    assert bulk.provider_calls == ["cancel"]
    views = [svc.show(i)[0] for i in ids]
    assert [(v.state, v.send_at) for v in views] == [
        ("queued", new_time),
        ("queued", old_time),
        ("queued", old_time),
    ]
    Dispatcher(bctx).run_once()
    assert {svc.show(i)[0].state for i in ids} == {"scheduled"}
