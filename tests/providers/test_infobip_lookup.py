"""Infobip reconciliation and status sync against the loopback simulator: which answers are
definitive, and how many requests they take (per bulk, not per message)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.providers.base import CannotTell, NotReceived, Outgoing, PermanentError, Receipt
from smsdesk.providers.infobip import InfobipProvider, build
from smsdesk.providers.infobip_api import MAX_ID_LIST, bulk_id_for, id_lists, split_ref
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
HOUR = timedelta(hours=1)
LOGS, REPORTS = "GET /sms/3/logs", "GET /sms/3/reports"
BULK_STATUS = "GET /sms/1/bulks/status"


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


def _provider(sim: InfobipSimulator, clock: ManualClock, tmp_path: Path) -> InfobipProvider:
    return build(
        home=tmp_path, clock=clock, options={"timeout": "1"}, base_url=sim.base_url, api_key=KEY
    )


@pytest.fixture
def ib(sim: InfobipSimulator, clock: ManualClock, tmp_path: Path) -> Iterator[InfobipProvider]:
    provider = _provider(sim, clock, tmp_path)
    yield provider
    provider.close()


def _out(n: int, at: Any) -> Outgoing:
    return Outgoing(f"smsdesk-{n:032x}", f"+4179{n:07d}", "Your appointment", "Clinic", at)


def _hand_off(ib: InfobipProvider, messages: list[Outgoing]) -> list[Outgoing]:
    planned = ib.assign_groups(messages)
    outcomes = ib.schedule(planned)
    assert all(isinstance(o, Receipt) for o in outcomes) and len(outcomes) == len(planned)
    return planned


def _asked(messages: list[Outgoing]) -> list[tuple[str, str | None]]:
    return [(m.key, m.group) for m in messages]


# -- groups ---------------------------------------------------------------------------------


def test_every_create_carries_the_bulk_assign_groups_chose(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    t1, t2 = clock.now() + HOUR, clock.now() + 2 * HOUR
    messages = [_out(n, t1) for n in range(1001)] + [_out(2000, t2), _out(3000, None)]
    planned = ib.assign_groups(messages)
    assert [m.key for m in planned] == [m.key for m in messages]
    groups = [m.group for m in planned]
    # One bulk per request: per send time and per 1000 recipients; the same on every call.
    assert len(set(groups[:1000])) == 1 and groups[1000] != groups[0]
    assert len(set(groups)) == 4 and groups == [m.group for m in ib.assign_groups(messages)]
    assert groups[-1] == bulk_id_for([messages[-1].key], None)
    assert sim.log == []  # choosing asks nothing
    ib.schedule(planned)
    sent = [
        (b["options"]["schedule"]["bulkId"], b["options"]["schedule"].get("sendAt"))
        for b in sim.bodies
    ]
    assert [bulk for bulk, _ in sent] == list(dict.fromkeys(groups))
    assert sent[-1][1] is None  # the send-now request carries our bulkId too
    assert all(len(bulk) <= 100 for bulk, _ in sent)


@pytest.mark.parametrize("problem", ["none", "mixed times", "too many"])
def test_inconsistent_groups_are_refused_before_any_request(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock, problem: str
) -> None:
    at = clock.now() + HOUR
    if problem == "none":
        messages = [_out(1, at)]
    elif problem == "mixed times":
        messages = [replace(m, group="b1") for m in (_out(1, at), _out(2, None))]
    else:
        messages = [replace(_out(n, at), group="b1") for n in range(1001)]
    with pytest.raises(PermanentError, match="nothing was sent"):
        ib.schedule(messages)
    assert sim.log == []


# -- lookup ---------------------------------------------------------------------------------


def test_lookup_is_definitive_through_bulk_status_one_request_per_bulk(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    held = _hand_off(ib, [_out(n, at) for n in range(300)])
    withdrawn = _hand_off(ib, [_out(n, at + HOUR) for n in range(300, 310)])
    ib.cancel(f"{withdrawn[0].group}:{withdrawn[0].key}")
    never = ib.assign_groups([_out(n, at + 2 * HOUR) for n in range(400, 450)])  # not sent
    unstored: list[tuple[str, str | None]] = [(_out(999, at).key, None)]
    before = sim.requests_per_path()
    found = ib.lookup(_asked(held) + _asked(withdrawn) + _asked(never) + unstored)
    after = sim.requests_per_path()
    assert after[BULK_STATUS] - before[BULK_STATUS] == 3  # one per bulk, 360 messages
    assert LOGS not in after and REPORTS not in after  # never the logs for a scheduled bulk
    assert found[:300] == [Receipt(m.key, f"{m.group}:{m.key}", State.SCHEDULED, at) for m in held]
    assert {f.state for f in found[300:310] if isinstance(f, Receipt)} == {State.CANCELLED}
    assert all(isinstance(f, NotReceived) and "Bulk not found" in f.detail for f in found[310:360])
    assert isinstance(found[360], CannotTell) and "no Infobip bulkId" in found[360].reason
    clock.set(at + timedelta(seconds=10))
    assert {f.state for f in ib.lookup(_asked(held[:1])) if isinstance(f, Receipt)} == {State.SENT}


def test_a_404_proves_nothing_for_a_bulk_long_past_or_not_ours(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    [old] = ib.assign_groups([_out(1, clock.now() - timedelta(hours=49))])
    found = ib.lookup([(old.key, old.group), ("k2", "someone-elses-bulk")])
    assert all(isinstance(f, CannotTell) for f in found), found
    assert sim.requests_per_path()[BULK_STATUS] == 2


def test_absence_from_logs_is_never_not_received(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    # Infobip documents bulk status for scheduled messages only: a send-now bulk is read in
    # the logs, which here lag acceptance by 45 s.
    sim.logs_lag = timedelta(seconds=45)
    now_sent = _hand_off(ib, [_out(n, None) for n in range(5)])
    found = ib.lookup(_asked(now_sent))
    assert all(isinstance(f, CannotTell) and "logs do not list it" in f.reason for f in found)
    assert sim.requests_per_path()[LOGS] == 1  # one comma-separated list for the bulk
    clock.advance(timedelta(seconds=45))
    found = ib.lookup(_asked(now_sent))
    assert all(isinstance(f, Receipt) and f.state is State.DELIVERED for f in found)
    assert [split_ref(f.ref)[0] for f in found if isinstance(f, Receipt)] == [
        m.group for m in now_sent
    ]


def test_scheduled_messages_hidden_from_logs_are_still_found(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    sim.hide_scheduled_in_logs = True
    sim.logs_lag = timedelta(minutes=10)
    held = _hand_off(ib, [_out(n, clock.now() + HOUR) for n in range(5)])
    found = ib.lookup(_asked(held))
    assert all(isinstance(f, Receipt) and f.state is State.SCHEDULED for f in found)
    assert LOGS not in sim.requests_per_path()


# -- status sync ----------------------------------------------------------------------------


def test_status_sync_asks_per_bulk_and_uses_no_deprecated_endpoint(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    planned = _hand_off(ib, [_out(n, at) for n in range(2500)])
    refs = [f"{m.group}:{m.key}" for m in planned]
    assert {r.state for r in ib.fetch_status(refs)} == {State.SCHEDULED}
    assert sim.requests_per_path()[BULK_STATUS] == 3 and REPORTS not in sim.requests_per_path()
    clock.set(at + timedelta(minutes=5))
    before = sim.requests_per_path()
    # As the engine asks: at most 500 refs a call.
    reports = [r for i in range(0, 2500, 500) for r in ib.fetch_status(refs[i : i + 500])]
    assert len(reports) == 2500 and {r.state for r in reports} == {State.DELIVERED}
    asked = sum(sim.requests_per_path().values()) - sum(before.values())
    assert asked <= 25, sim.requests_per_path()  # at most 1 request per 100 messages
    assert not {"GET /sms/1/logs", "GET /sms/1/reports"} & set(sim.requests_per_path())


def test_logs_take_comma_separated_bulk_ids_up_to_2048_characters(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    # 70 send-now bulks whose reports another client already took: only the logs can tell.
    planned = [m for n in range(70) for m in _hand_off(ib, [_out(n, None)])]
    for msg in sim.messages:
        msg.reported = True
    clock.advance(timedelta(minutes=1))
    refs = [f"{m.group}:{m.key}" for m in planned]
    assert {r.state for r in ib.fetch_status(refs)} == {State.DELIVERED}
    lists = sim.query_values("GET", "/sms/3/logs", "bulkId")
    assert all(len(v) <= MAX_ID_LIST for v in lists)
    assert [len(v.split(",")) for v in lists] == [62, 8]
    assert BULK_STATUS not in sim.requests_per_path()  # not asked for send-now bulks


def test_logs_are_paced_to_120_a_minute(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    sim.logs_per_minute = 120  # Infobip's throttle: a burst beyond it is refused (429)
    sim.delivery_delay = timedelta(days=1)  # on its way: each sync needs the logs again
    planned = _hand_off(ib, [_out(n, None) for n in range(3)])
    for msg in sim.messages:
        msg.reported = True
    refs = [f"{m.group}:{m.key}" for m in planned]
    started = clock.now()
    for _ in range(130):  # each sync needs the logs
        assert len(ib.fetch_status(refs)) == 3
    faults = [fault for _, path, fault in sim.log if path == "/sms/3/logs"]
    assert len(faults) == 130 and set(faults) == {"ok"}
    assert clock.now() - started >= timedelta(seconds=0.5 * 129)  # spaced on the clock


def test_logs_pages_are_followed_by_cursor(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    planned = _hand_off(ib, [_out(n, None) for n in range(1500)])
    for msg in sim.messages:
        msg.reported = True
    clock.advance(timedelta(minutes=1))
    refs = [f"{m.group}:{m.key}" for m in planned]
    assert len(ib.fetch_status(refs)) == 1500
    # Every page after the first is asked for by the cursor the first gave (once, or again
    # when a heavily loaded machine made the answer outlast the client's timeout: a read may
    # be retried).
    cursors = sim.query_values("GET", "/sms/3/logs", "cursor")
    assert cursors and set(cursors) == {"1000"}


def test_id_lists_pack_ids_up_to_the_limit() -> None:
    ids = [f"id{n:040d}" for n in range(100)]
    lists = list(id_lists(ids))
    assert all(len(v) <= MAX_ID_LIST for v in lists)
    assert [i for v in lists for i in v.split(",")] == ids
    assert len(lists) == 3
