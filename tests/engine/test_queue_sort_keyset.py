"""The Queue's sort orders on SQLite and PostgreSQL: every column's keyset walks each message
once in order (both ways), a jump (skip) lands on the right row, and a position counted
from either end agrees with it; the default scope reads its states page by page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import NOT_SENT, UPCOMING
from smsdesk.engine.browse import SORTS, Browser, QueueFilter, cursor_of
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from tests.engine.queue_setup import walk

PAGE = 7


def _fill(service: Service, clock: ManualClock) -> None:
    for i in range(40):
        text = f"{'zyxwvutsrq'[i % 10]} note {i}" + (" long" * 40 if i % 6 == 0 else "")
        service.schedule(
            [f"+1555{(i * 37) % 100:03d}{i:04d}"],
            text,
            clock.now() + timedelta(minutes=5 + (i * 11) % 23),
            "UTC",
        )
    service.schedule(["+15550001234"], "Fails", clock.now() + timedelta(minutes=5), "UTC")
    Dispatcher(service.ctx).run_once()  # most go to the Sandbox: scheduled there
    for m in service.list_messages()[::5]:
        service.cancel(m.id)
    clock.advance(timedelta(minutes=10))
    Dispatcher(service.ctx).run_once()  # the failing one fails


def _walk(browser: Browser, flt: QueueFilter) -> list[str]:
    return walk(browser, flt, PAGE)


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_walks_in_order_both_ways_and_jumps_land_right(
    db_ctx: AppContext, clock: ManualClock, sort: str
) -> None:
    service = Service(db_ctx)
    _fill(service, clock)
    browser = Browser(db_ctx)
    everything = browser.page(QueueFilter(), limit=1000)
    since = clock.now() - timedelta(days=7)
    for scope in (None, since):
        for descending in (False, True):
            flt = QueueFilter(sort=sort, descending=descending, attention_since=scope)

            def admitted(m: MessageView, scope: Any = scope) -> bool:
                return scope is None or m.state in UPCOMING or m.state in NOT_SENT

            truth = sorted(
                (m for m in everything if admitted(m)),
                key=lambda m: cursor_of(flt, m),
                reverse=descending,
            )
            ids = [m.id for m in truth]
            assert _walk(browser, flt) == ids, (sort, descending, scope)
            assert browser.count(flt) == len(ids)
            at = len(ids) // 2
            jumped = browser.page(flt, after=cursor_of(flt, truth[1]), skip=at - 2, limit=3)
            assert [m.id for m in jumped] == ids[at : at + 3]
            back = browser.page(flt, after=cursor_of(flt, truth[at]), limit=3, descending=True)
            assert [m.id for m in back] == ids[at - 3 : at][::-1]
            key = cursor_of(flt, truth[at])
            assert browser.position(flt, key) == at
            assert browser.position(flt, key, total=len(ids)) == at
    states = {m.state for m in everything}
    assert {"scheduled", "cancelled", "failed"} <= states  # the scope had something to drop
