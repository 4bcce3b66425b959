"""The Queue's default scope read from migration 0008's indexes, on SQLite and PostgreSQL: every
sort walks exactly the scope's messages in order (both ways) — upcoming ones however old, what
failed or expired only this week — with the same count, jumps and positions; and the landmarks
a drag skips from are the keys of every n-th row, exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import NOT_SENT, UPCOMING
from smsdesk.engine.browse import SORTS, Browser, QueueFilter, cursor_of
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.store.models import Message
from tests.engine.queue_setup import walk

PAGE = 5
FAILING = "+15550001234"  # the Sandbox fails what goes to its failure prefix


def _week(service: Service, clock: ManualClock, n: int, salt: int) -> None:
    """``n`` messages that do not sort alike by any column, two that fail, some cancelled."""
    for i in range(n):
        k = i + salt
        service.schedule(
            [f"+1555{(k * 37) % 100:03d}{k:04d}"],
            f"{'qwertyuiop'[k % 10]} note {k}" + (" long" * 40 if k % 4 == 0 else ""),
            clock.now() + timedelta(minutes=5 + (k * 11) % 23),
            "UTC",
        )
    for i in range(2):
        service.schedule([FAILING], f"Fails {salt} {i}", clock.now() + timedelta(minutes=5), "UTC")
    Dispatcher(service.ctx).run_once()  # to the Sandbox: scheduled there
    for m in service.list_messages(limit=None)[::6]:
        if m.state in ("queued", "scheduled"):
            service.cancel(m.id)
    clock.advance(timedelta(minutes=10))
    Dispatcher(service.ctx).run_once()  # the failing ones fail


@dataclass
class Filled:
    since: datetime
    everything: list[MessageView]


def _fill(service: Service, clock: ManualClock) -> Filled:
    _week(service, clock, 14, 0)
    clock.advance(timedelta(days=8))  # those failures are now older than a week
    _week(service, clock, 16, 100)
    since = clock.now() - timedelta(days=7)
    # Two messages of the first week still not settled (the provider never said): upcoming
    # however old, so in the scope.
    with service.ctx.db.write() as s:
        old = s.exec(
            select(Message.id).where(Message.send_at < since, Message.state == "delivered")
        ).all()[:2]
        s.execute(update(Message).where(col(Message.id).in_(old)).values(state="unknown"))
    everything = Browser(service.ctx).page(QueueFilter(), limit=1000)
    return Filled(since, everything)


def _walk(browser: Browser, flt: QueueFilter) -> list[str]:
    return walk(browser, flt, PAGE)


def _in_scope(m: MessageView, since: datetime) -> bool:
    return m.state in UPCOMING or (m.state in NOT_SENT and m.send_at >= since)


@pytest.mark.parametrize("sort", SORTS)
def test_the_scope_is_exact_in_every_sort(
    db_ctx: AppContext, clock: ManualClock, sort: str
) -> None:
    filled = _fill(Service(db_ctx), clock)
    since, everything = filled.since, filled.everything
    old_failures = [m for m in everything if m.state in NOT_SENT and m.send_at < since]
    old_upcoming = [m for m in everything if m.state in UPCOMING and m.send_at < since]
    assert len(old_failures) == 2 and old_upcoming  # the scope has both kinds to tell apart
    assert any(m.state in NOT_SENT and m.send_at >= since for m in everything)
    browser = Browser(db_ctx)
    for descending in (False, True):
        flt = QueueFilter(sort=sort, descending=descending, attention_since=since)
        truth = sorted(
            (m for m in everything if _in_scope(m, since)),
            key=lambda m: cursor_of(flt, m),
            reverse=descending,
        )
        ids = [m.id for m in truth]
        assert _walk(browser, flt) == ids, (sort, descending)
        assert browser.count(flt) == len(ids)
        for at in (0, 3, len(ids) // 2, len(ids) - 2):
            # A jump from the start and from a known row, as a drag lands.
            assert [m.id for m in browser.page(flt, skip=at, limit=2)] == ids[at : at + 2]
            got = browser.page(flt, after=cursor_of(flt, truth[1]), skip=at, limit=2)
            assert [m.id for m in got] == ids[at + 2 : at + 4]
            key = cursor_of(flt, truth[at])
            assert browser.position(flt, key) == at
            assert browser.position(flt, key, total=len(ids)) == at
        back = browser.page(flt, limit=3, descending=True)
        assert [m.id for m in back] == ids[::-1][:3]
        assert set(browser.by_ids(flt, [m.id for m in everything])) == set(ids)


@pytest.mark.parametrize("sort", ["send_at", "recipient", "where"])
@pytest.mark.parametrize("scope", [True, False])
def test_landmarks_are_the_keys_of_every_nth_row(
    db_ctx: AppContext, clock: ManualClock, sort: str, scope: bool
) -> None:
    filled = _fill(Service(db_ctx), clock)
    browser = Browser(db_ctx)
    flt = QueueFilter(sort=sort, attention_since=filled.since if scope else None)
    truth = sorted(
        (m for m in filled.everything if not scope or _in_scope(m, filled.since)),
        key=lambda m: cursor_of(flt, m),
    )
    before, keys, after = browser.landmarks(flt, 4)
    assert before == after == browser.watermark()
    assert keys == [cursor_of(flt, m) for m in truth[::4]]
    # Descending: the same from the other end.
    back = QueueFilter(sort=sort, descending=True, attention_since=flt.attention_since)
    assert browser.landmarks(back, 5)[1] == [cursor_of(back, m) for m in truth[::-1][::5]]
