"""A dispatcher process for the crash tests: ``python -m tests.robustness.crash_child HOME``.

It uses the real provider account stored in HOME (an Infobip account pointed at the parent's
loopback simulator, key in the keyring), the system clock and a short lease, so that a
dispatcher started after a SIGKILL can take over the dead one's messages within seconds.
It prints "ready" once its context is open, then runs passes until no message needs the
engine any more (nothing queued and due, handing off or unknown), and prints how many it
handed off and reconciled.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from smsdesk.core.clock import SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.store.models import Message

LEASE = timedelta(seconds=1)
CLAIM_LIMIT = 100  # ten hand-offs for a thousand messages: many moments to be killed in


def unsettled(ctx: AppContext) -> int:
    with ctx.db.read() as s:
        return s.exec(
            select(func.count()).where(col(Message.state).in_(["queued", "handing_off", "unknown"]))
        ).one()


def main() -> None:
    home = Path(sys.argv[1])
    ctx = AppContext.open(home, clock=SystemClock())
    dispatcher = Dispatcher(ctx, lease=LEASE, claim_limit=CLAIM_LIMIT)
    print("ready", flush=True)
    handed = reconciled = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        report = dispatcher.run_once()
        handed += report.handed_off
        reconciled += report.reconciled
        if unsettled(ctx) == 0:
            break
        if report.handed_off == report.reconciled == 0:
            time.sleep(0.1)  # a dead dispatcher's lease has not run out yet
    else:
        print("gave up: messages still unsettled", file=sys.stderr)
        sys.exit(3)
    print(f"done {handed} {reconciled}", flush=True)
    ctx.close()


if __name__ == "__main__":
    main()
