"""Exactly-once across processes: leases between two dispatchers, and a process that dies
between committing ``handing_off`` and recording the provider's answer."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from smsdesk.core.clock import ManualClock, SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import Event, Message
from tests.engine.child import drain_together

ROOT = Path(__file__).resolve().parents[2]


def _child(home: Path, now: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.child", str(home), now, mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_dispatcher_processes_never_send_a_message_twice(isolated_home: Path) -> None:
    ctx = AppContext.open(isolated_home, clock=SystemClock())
    numbers = [f"+1555200{i:04d}" for i in range(200)]
    Service(ctx).schedule(
        numbers, "Flu shots this week", ctx.clock.now() + timedelta(hours=1), "UTC"
    )
    children = [_child(isolated_home, "system", "drain") for _ in range(2)]
    handed = drain_together(children, timeout=120)
    assert sum(handed) == 200
    assert all(n > 0 for n in handed), handed  # both really competed for the messages
    requests = SandboxProvider(isolated_home / "sandbox.db", SystemClock()).requests_by_key()
    assert len(requests) == 200
    assert set(requests.values()) == {1}
    with ctx.db.read() as s:
        states = {m.state for m in s.exec(select(Message))}
        hand_offs = s.exec(select(Event).where(Event.kind == "handed_off")).all()
    assert states == {"scheduled"}
    assert len(hand_offs) == 200
    ctx.close()


@pytest.mark.parametrize("mode", ["die-after-accept", "die-before-request"])
def test_a_crash_mid_hand_off_is_reconciled_not_resent(isolated_home: Path, mode: str) -> None:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock = ManualClock(start)
    ctx = AppContext.open(isolated_home, clock=clock)
    result = Service(ctx).schedule(["+15551234567"], "Reminder", start + timedelta(hours=1), "UTC")
    msg_id = result.messages[0].message.id

    child = _child(isolated_home, start.isoformat(), mode)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 9, err
    with ctx.db.read() as s:
        crashed = s.get(Message, msg_id)
    assert crashed is not None
    assert crashed.state == "handing_off"  # committed before the request, never recorded after
    assert crashed.lease_owner is not None  # the dead process still holds it

    sandbox = SandboxProvider(isolated_home / "sandbox.db", clock)
    accepted_before = sandbox.requests_by_key()
    assert len(accepted_before) == (1 if mode == "die-after-accept" else 0)

    # Nothing touches it while the dead process's lease lasts...
    Dispatcher(ctx).run_once()
    with ctx.db.read() as s:
        assert s.get(Message, msg_id).state == "handing_off"  # type: ignore[union-attr]
    # ...then the engine asks the provider by the stored key and settles it.
    clock.advance(timedelta(minutes=3))
    report = Dispatcher(ctx).run_once()
    assert report.reconciled == 1
    with ctx.db.read() as s:
        settled = s.get(Message, msg_id)
        kinds = [e.kind for e in s.exec(select(Event).where(Event.message_id == msg_id))]
    assert settled is not None and settled.state == "scheduled"
    assert sandbox.requests_by_key() == {crashed.idempotency_key: 1}
    if mode == "die-after-accept":
        assert kinds[-2:] == ["unknown", "reconciled"]
    else:
        # Handed off once, only after the provider confirmed it never got it.
        assert kinds[-4:] == ["unknown", "reconciled", "handing_off", "handed_off"]
    ctx.close()
