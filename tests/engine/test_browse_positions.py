"""What the Queue model reads from either end: skips, inclusive starts, positions, re-reads
by id, and the watermark that tells a refresh whether anything changed."""

from __future__ import annotations

from datetime import timedelta

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.service import Service


def _fill(service: Service, clock: ManualClock, n: int) -> None:
    for i in range(n):
        service.schedule(
            [f"+1555123{i:04d}"], f"Reminder {i}", clock.now() + timedelta(hours=1 + i), "UTC"
        )


def test_skip_and_inclusive_from_either_end(service: Service, clock: ManualClock) -> None:
    service.update_settings(quiet_mode="off")
    _fill(service, clock, 12)
    browser = Browser(service.ctx)
    every = QueueFilter()
    texts = [m.text for m in browser.page(every, limit=100)]
    assert [m.text for m in browser.page(every, skip=5, limit=3)] == texts[5:8]
    assert [m.text for m in browser.page(every, skip=2, limit=3, descending=True)] == [
        texts[9],
        texts[8],
        texts[7],
    ]
    [fourth] = browser.page(every, skip=3, limit=1)
    at = (fourth.send_at, fourth.id)
    assert [m.text for m in browser.page(every, after=at, limit=2)] == texts[4:6]
    assert [m.text for m in browser.page(every, after=at, limit=2, inclusive=True)] == texts[3:5]
    assert [m.text for m in browser.page(every, after=at, limit=2, descending=True)] == [
        texts[2],
        texts[1],
    ]
    assert [m.text for m in browser.page(every, after=at, skip=4, limit=2)] == texts[8:10]
    assert browser.page(every, skip=50, limit=2) == []
    assert browser.position(every, at) == 3
    assert browser.position(every, at, total=12) == 3


def test_by_ids_and_watermark_follow_changes(service: Service, clock: ManualClock) -> None:
    _fill(service, clock, 3)
    browser = Browser(service.ctx)
    queued = QueueFilter(states=frozenset({"queued"}))
    ids = [m.id for m in browser.page(queued)]
    mark = browser.watermark()
    assert browser.watermark() == mark  # reading changes nothing
    service.cancel(ids[0])
    assert browser.watermark() > mark
    assert set(browser.by_ids(queued, ids)) == set(ids[1:])
    assert browser.by_ids(QueueFilter(), ids)[ids[0]].state == "cancelled"
    mark = browser.watermark()
    _fill(service, clock, 1)
    assert browser.watermark() > mark
    assert browser.by_ids(queued, []) == {}


def test_positions_among_messages_sent_at_the_same_time(
    service: Service, clock: ManualClock
) -> None:
    _fill(service, clock, 2)
    numbers = [f"+1555777{i:04d}" for i in range(4)]
    service.schedule(numbers, "together", clock.now() + timedelta(minutes=90), "UTC")
    browser = Browser(service.ctx)
    every = QueueFilter()
    rows = browser.page(every, limit=100)
    assert len(rows) == 6
    for index, m in enumerate(rows):  # ties on send_at are ordered by id
        assert browser.position(every, (m.send_at, m.id)) == index
        assert browser.position(every, (m.send_at, m.id), total=6) == index
    tied = [m for m in rows if m.text == "together"]
    after_first = browser.page(every, after=(tied[0].send_at, tied[0].id), limit=2)
    assert after_first == tied[1:3]
    at = (tied[0].send_at, tied[0].id)
    assert browser.page(every, after=at, skip=1, limit=2) == tied[2:4]
    assert browser.page(every, after=at, skip=1, limit=2, inclusive=True) == tied[1:3]
    at = (tied[3].send_at, tied[3].id)
    assert browser.page(every, after=at, skip=1, limit=2, descending=True) == [tied[1], tied[0]]
    assert browser.page(every, after=at, skip=1, limit=2, descending=True, inclusive=True) == [
        tied[2],
        tied[1],
    ]
    assert browser.page(every, after=at, skip=3, limit=2, descending=True) == [rows[0]]
