"""The create that outlived its lease: Infobip answers a create slowly with 429 and
``Retry-After: 60`` while a second dispatcher process works on the same database.

Before, the HTTP layer waited out the Retry-After and tried again inside one request, long
after the claim's lease had run out; the second dispatcher took the ``handing_off`` messages
over, found nothing at Infobip, sent them, and the first one's retry then landed too: every
message twice. Now a create is tried once, its lease is renewed to cover that one try before
it starts, and the back-off belongs to the engine (the messages go back to the queue).

Real processes (``crash_child.py``), a real SQLite file (and PostgreSQL when
SMSDESK_TEST_PG_URL is set), real HTTP to the Infobip simulator on the system clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from smsdesk.core.clock import SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.lease import request_budget
from smsdesk.engine.service import Service
from smsdesk.store.models import Message
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "ib-lease-key-5e0c2b7a19"
NUMBERS = ["+41793020101", "+41793020102", "+41793020103"]
SLOW = 3.0  # seconds Infobip takes to answer 429
RUN = 6.0  # seconds each dispatcher runs passes for
LEASE = 1.0  # the claim's own lease, as short as the crash children's


def _child(home: Path, *extra: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.robustness.crash_child", str(home), *extra],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", f"{line!r} {child.stderr.read() if child.stderr else ''}"
    return child


def _finish(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate(timeout=240)
    assert child.returncode == 0, err
    words = out.split()
    assert words[:1] == ["done"], out
    return dict(
        zip(["handed", "reconciled", "retrying", "passes"], map(int, words[1:]), strict=True)
    )


def _rows(home: Path) -> list[Message]:
    ctx = AppContext.open(home, clock=SystemClock())
    try:
        with ctx.db.read() as s:
            return list(s.exec(select(Message).where(col(Message.recipient).in_(NUMBERS))).all())
    finally:
        ctx.close()


@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(hours=1)], ids=["now", "later"])
def test_a_create_answered_slowly_with_429_is_never_sent_twice_by_a_second_dispatcher(
    backend: str,
    isolated_home: Path,
    ahead: timedelta,
) -> None:
    """Messages to send now (which carried no Infobip bulkId before) and messages scheduled
    an hour ahead."""
    sim = InfobipSimulator(SystemClock(), api_key=KEY)
    with sim:
        home = isolated_home
        ctx = AppContext.open(home, clock=SystemClock())
        try:
            svc = Service(ctx)
            svc.add_account(
                "Infobip", "infobip", api_key=KEY, base_url=sim.base_url, make_default=True
            )
            svc.update_settings(quiet_mode="off")  # "now" means now here
            svc.schedule(NUMBERS, "Reminder", ctx.clock.now() + ahead, "UTC")
            worst = request_budget(ctx.account(None), creates=True)
        finally:
            ctx.close()
        sim.inject(Fault.RATE_LIMIT, match="POST /sms/3/messages", retry_after=60, delay=SLOW)

        first = _child(home, "--lease", str(LEASE), "--for", str(RUN))
        deadline = time.monotonic() + 30
        while sim.pending_faults():  # a state: the first create is now being answered slowly
            assert time.monotonic() < deadline, "the first dispatcher never reached Infobip"
            time.sleep(0.01)
        # While that request is out, its messages are leased for at least its worst case.
        held = _rows(home)
        now = SystemClock().now()
        assert {m.state for m in held} == {"handing_off"}
        assert all(m.lease_expires_at and m.lease_expires_at - now >= worst for m in held)
        second = _child(home, "--lease", str(LEASE), "--for", str(RUN))
        a, b = _finish(first), _finish(second)
        # Both worked: the first made the create and took its 429 as a back-off; the second
        # ran its passes while that request was out and found nothing it could take.
        assert a["retrying"] == len(NUMBERS) and a["handed"] == 0
        assert b["passes"] >= 2 and b["handed"] == b["reconciled"] == 0
        assert sim.creates_by_key() == {}
        rows = _rows(home)
        assert {m.state for m in rows} == {"queued"}
        assert all(m.attempts == 1 and "429" in (m.last_error or "") for m in rows)

        # Later (past the back-off Infobip asked for) a dispatcher hands them off, once.
        last = _finish(_child(home, "--offset", "120"))
        assert last["handed"] == len(NUMBERS)
    creates = sim.creates_by_key()
    keys = {m.idempotency_key for m in _rows(home)}
    assert set(creates) == keys and len(keys) == len(NUMBERS)
    duplicates = sum(n - 1 for n in creates.values())
    assert duplicates == 0
    # At Infobip: held for its time, or (sent now) already gone out.
    assert {m.state for m in _rows(home)} <= ({"scheduled"} if ahead else {"sent", "delivered"})
