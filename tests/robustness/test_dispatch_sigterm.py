"""``smsdesk dispatch`` stops promptly on SIGTERM: the pass ends between two requests, gives its
claim back, and leaves every message where the next start picks it up. Before, a pass was not
interruptible and a slow provider kept the process going for its whole claim.

A real ``python -m smsdesk dispatch`` process, a real SQLite file, real HTTP to a Telnyx
simulator (one message per request, paced) that answers each create after a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from smsdesk.core.clock import SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store.models import Message
from tests.simulators.base import Fault
from tests.simulators.telnyx import TelnyxSimulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "tx-sigterm-key-4d8a01c3e7"
SENDER = "+12025550100"
MESSAGES = 100  # one create each, answered after ANSWER s, a few at a time: a 20 s pass
ANSWER = 1.0
BOUND = 10.0  # seconds from SIGTERM to exit; a whole pass takes three times that


def _dispatch(home: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smsdesk", "dispatch", *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SMSDESK_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(home: Path) -> list[Message]:
    ctx = AppContext.open(home, clock=SystemClock())
    try:
        with ctx.db.read() as s:
            return list(s.exec(select(Message)).all())
    finally:
        ctx.close()


def test_sigterm_during_a_slow_pass_stops_within_seconds_and_loses_nothing(
    isolated_home: Path,
) -> None:
    sim = TelnyxSimulator(SystemClock(), api_key=KEY, stall=ANSWER)
    with sim:
        home = isolated_home
        ctx = AppContext.open(home, clock=SystemClock())
        try:
            svc = Service(ctx)
            svc.add_account(
                "Telnyx",
                "telnyx",
                api_key=KEY,
                base_url=sim.base_url,
                sender=SENDER,
                make_default=True,
            )
            svc.update_settings(quiet_mode="off")  # about stopping, not quiet hours
            numbers = [f"+1202555{n:04d}" for n in range(MESSAGES)]
            svc.schedule(numbers, "Reminder", ctx.clock.now() + timedelta(hours=1), "UTC")
        finally:
            ctx.close()
        # Every create is taken in, and answered a second later.
        sim.inject(Fault.TIMEOUT, times=MESSAGES, match="POST /v2/messages")

        child = _dispatch(home)
        deadline = time.monotonic() + 60
        while len(sim.creates_by_recipient()) < 10:  # a state: well inside its pass
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the dispatcher never reached Infobip"
            time.sleep(0.01)
        asked = time.monotonic()
        child.send_signal(signal.SIGTERM)
        _out, err = child.communicate(timeout=120)
        took = time.monotonic() - asked
        print(f"\nSIGTERM to exit: {took:.2f} s")
        assert child.returncode == 0, err
        assert took < BOUND
        rows = _rows(home)
        created = sim.creates_by_recipient()
        assert 10 <= len(created) < MESSAGES  # it stopped mid-pass...
        # ... with every message settled or queued, and no lease left behind.
        assert {m.state for m in rows} <= {"scheduled", "queued"}
        assert [m for m in rows if m.lease_owner is not None] == []
        assert {m.recipient for m in rows if m.state == "scheduled"} == set(created)

        # The next start hands off the rest, each message once (answered at once now).
        with sim._lock:
            sim._faults.clear()
        again = _dispatch(home, "--once")
        _out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
    rows = _rows(home)
    assert {m.state for m in rows} == {"scheduled"}
    created = sim.creates_by_recipient()
    assert set(created) == {m.recipient for m in rows} and set(created.values()) == {1}
