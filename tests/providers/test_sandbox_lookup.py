"""The Sandbox's own store is definitive: a key it does not hold was never received."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.providers.base import NotReceived, Outgoing, Receipt
from smsdesk.providers.sandbox import build


def test_lookup_answers_every_key_from_its_store(clock: ManualClock, tmp_path: Path) -> None:
    sandbox = build(home=tmp_path, clock=clock, options={})
    at = clock.now() + timedelta(hours=1)
    planned = sandbox.assign_groups([Outgoing("k1", "+41790000001", "Hi", None, at)])
    assert [m.group for m in planned] == [None]
    [receipt] = sandbox.schedule(planned)
    assert isinstance(receipt, Receipt)
    found = sandbox.lookup([("k1", None), ("never", None)])
    assert found[0] == Receipt("k1", receipt.ref, State.SCHEDULED, at)
    assert isinstance(found[1], NotReceived) and found[1].key == "never"
