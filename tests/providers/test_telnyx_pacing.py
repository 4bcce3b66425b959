"""A burst from one Telnyx long code, through the engine and the loopback simulator on one
injected clock: the schedule requests carry send times spread 1 every 10 s ("Long Code 0.1
MPS"), so nothing waits in Telnyx's queue; the simulator queues a bunched burst exactly as
the rate-limiting page describes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.providers.base import Outgoing, Receipt
from smsdesk.providers.telnyx import TelnyxProvider, build
from tests.providers.test_telnyx import SENDER, Desk, desk, sim
from tests.simulators.telnyx import TelnyxSimulator

__all__ = ["desk", "sim"]  # the fixtures, shared with test_telnyx.py
BURST = [f"+1202555{n:04d}" for n in range(300, 312)]  # twelve


def _sent_at(body: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(body["send_at"]).replace("Z", "+00:00"))


def test_a_burst_reaches_telnyx_spread_and_none_waits_in_its_queue(
    desk: Desk, sim: TelnyxSimulator, clock: ManualClock
) -> None:
    desk.add()
    at = clock.now() + timedelta(hours=1)
    run = desk.cli("schedule", "--to", ",".join(BURST), "--text", "See you", "--at",
                   at.isoformat(), "--tz", "UTC")  # fmt: skip
    assert run.code == 0, run.err
    assert "12 messages from the long code +120…00 will go 1 every 10 s" in run.out
    assert desk.dispatch()["handed_off"] == 12
    # One create per recipient, each with its own send_at, 10 s after the one before.
    assert [b["to"] for b in sim.create_bodies] == BURST
    times = [_sent_at(b) for b in sim.create_bodies]
    assert times == [at + timedelta(seconds=10 * n) for n in range(12)]
    # Telnyx releases them at those times: none is held for the long code's throughput.
    clock.set(times[-1] + sim.delivery_delay)
    assert sim.waited() == []
    desk.dispatch()  # its status sync asks Telnyx about each one
    shown = desk.cli("list", "--json").json()
    assert sorted(m["state"] for m in shown) == ["delivered"] * 12


def test_the_simulator_queues_a_bunched_burst_at_the_long_codes_rate(
    sim: TelnyxSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    client: TelnyxProvider = build(
        home=tmp_path, clock=clock, options={}, base_url=sim.base_url, api_key=sim.api_key
    )
    try:
        at = clock.now() + timedelta(hours=1)
        refs = []
        for n, to in enumerate(BURST):  # as smsdesk handed them off before they were spread
            [r] = client.schedule([Outgoing(f"b{n}", to, "Hi", SENDER, at)])
            assert isinstance(r, Receipt)
            refs.append(r.ref)
        clock.set(at + timedelta(seconds=35))
        # Four have left (at +0, +10, +20, +30 s); the other eight wait, "queued", not refused.
        assert len(sim.waited()) == 11
        leaving = sorted(sim.leaves_at(m) for m in sim.messages.values())
        assert leaving == [at + timedelta(seconds=10 * n) for n in range(12)]
        answer = httpx.get(
            f"{sim.base_url}/v2/messages/{refs[-1]}",
            headers={"Authorization": f"Bearer {sim.api_key}"},
        )
        last = answer.json()["data"]
        assert last["to"][0]["status"] == "queued" and last["wait_seconds"] == 110.0
        states = [report.state for report in client.fetch_status(refs)]
        # Queued at Telnyx reads as sent (at provider), never as a failure.
        assert set(states) <= {State.SENT, State.DELIVERED} and states[-1] is State.SENT
    finally:
        client.close()
