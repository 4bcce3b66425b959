"""Keyset pages, filters and day counts for the window; retry and settings."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service


def _fill(service: Service, clock: ManualClock, n: int) -> None:
    for i in range(n):
        service.schedule(
            [f"+1555123{i:04d}"],
            f"Reminder {i}",
            clock.now() + timedelta(minutes=20 * (1 + i)),
            "UTC",
        )


def test_pages_walk_the_whole_queue_in_order(service: Service, clock: ManualClock) -> None:
    _fill(service, clock, 25)
    browser = Browser(service.ctx)
    seen: list[str] = []
    after = None
    while page := browser.page(QueueFilter(), after=after, limit=10):
        seen += [m.text for m in page]
        after = (page[-1].send_at, page[-1].id)
    assert seen == [f"Reminder {i}" for i in range(25)]
    last = browser.page(QueueFilter(), limit=3, descending=True)
    assert [m.text for m in last] == ["Reminder 24", "Reminder 23", "Reminder 22"]


def test_filters_and_counts(service: Service, clock: ManualClock) -> None:
    _fill(service, clock, 6)
    [first] = service.list_messages(limit=1)
    service.cancel(first.id)
    browser = Browser(service.ctx)
    assert browser.count(QueueFilter()) == 6
    assert browser.count(QueueFilter(states=frozenset({"cancelled"}))) == 1
    assert browser.count(QueueFilter(search="Reminder 3")) == 1
    assert browser.count(QueueFilter(search="+15551230004")) == 1
    assert browser.count(QueueFilter(providers=frozenset({"Sandbox"}))) == 6
    assert browser.count(QueueFilter(providers=frozenset({"Other"}))) == 0
    window = QueueFilter(
        start=clock.now() + timedelta(minutes=40), end=clock.now() + timedelta(minutes=80)
    )
    assert [m.text for m in browser.page(window)] == ["Reminder 1", "Reminder 2"]
    with pytest.raises(InvalidInput):
        QueueFilter(states=frozenset({"lost"}))


def test_day_counts_use_the_local_day(service: Service, clock: ManualClock) -> None:
    # 23:30 UTC on 1 Dec is already 2 Dec in Berlin (quiet hours would move it).
    service.update_settings(quiet_mode="off")
    service.schedule(["+15551234567"], "late", datetime.fromisoformat("2026-12-01T23:30Z"), "UTC")
    service.schedule(["+15557654321"], "noon", datetime.fromisoformat("2026-12-01T12:00Z"), "UTC")
    Dispatcher(service.ctx).run_once()
    browser = Browser(service.ctx)
    start, end = clock.now() - timedelta(days=1), clock.now() + timedelta(days=30)
    assert browser.day_counts(start, end, "Europe/Berlin") == {
        date(2026, 12, 1): {"scheduled": 1},
        date(2026, 12, 2): {"scheduled": 1},
    }
    assert browser.day_counts(start, end, "UTC") == {date(2026, 12, 1): {"scheduled": 2}}


def test_retry_queues_a_failed_message_under_a_new_key(
    service: Service, clock: ManualClock
) -> None:
    [m] = service.schedule(
        ["+15550009999"], "x", clock.now() + timedelta(minutes=5), "UTC"
    ).messages
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(minutes=6))
    Dispatcher(service.ctx).run_once()
    assert service.show(m.message.id)[0].state == "failed"
    [r] = service.retry(m.message.id)
    assert (r.ok, r.state) == (True, "queued")
    [again] = service.retry(m.message.id)
    assert not again.ok and "already queued" in again.detail


def test_settings_are_validated_and_saved(service: Service) -> None:
    saved = service.update_settings(zone="Europe/Dublin", default_region="ie")
    assert (saved.zone, saved.default_region) == ("Europe/Dublin", "IE")
    assert service.ctx.settings.zone == "Europe/Dublin"
    with pytest.raises(InvalidInput):
        service.update_settings(zone="Nowhere/Land")
    with pytest.raises(InvalidInput):
        service.update_settings(default_region="XX")
    assert service.settings().zone == "Europe/Dublin"  # nothing changed by the bad calls
    assert service.update_settings(zone="").zone is None


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_day_counts_match_each_messages_own_local_day(
    service: Service, clock: ManualClock, zone: str
) -> None:
    """Counted per UTC hour (or minute, for zones off the hour) by the database: across a
    clock change and around local midnights, each message still lands on its own local day."""

    service.update_settings(quiet_mode="off")
    rng = random.Random(zone)
    base = datetime.fromisoformat("2027-03-12T00:00Z")  # New York springs forward on 14 March
    times = [base + timedelta(minutes=rng.randrange(4 * 24 * 60)) for _ in range(40)]
    local_midnights = [datetime(2027, 3, d, tzinfo=ZoneInfo(zone)) for d in range(12, 16)]
    times += [t + timedelta(seconds=s) for t in local_midnights for s in (-1, 0)]
    for n, at in enumerate(times):
        service.schedule([f"+1555000{n:04d}"], "x", at, "UTC")
    want: dict[date, dict[str, int]] = {}
    for at in times:
        day = want.setdefault(at.astimezone(ZoneInfo(zone)).date(), {})
        day["queued"] = day.get("queued", 0) + 1
    browser = Browser(service.ctx)
    got = browser.day_counts(base - timedelta(days=1), base + timedelta(days=6), zone)
    assert got == want
