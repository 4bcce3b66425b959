"""A dispatcher process for the crash tests: ``python -m tests.robustness.crash_child HOME``.

It uses the real provider account stored in HOME (an Infobip account pointed at the parent's
loopback simulator, key in the keyring), the system clock and a short lease, so that a
dispatcher started after a SIGKILL can take over the dead one's messages within seconds.
It prints "ready" once its context is open, then runs passes until no message needs the
engine any more (nothing queued and due, handing off or unknown), and prints how many it
handed off and reconciled.

Options (the lease tests): ``--offset SECONDS`` runs on the system clock moved ahead (a
dispatcher started after a kill then finds the dead one's leases run out without the test
waiting for them); ``--lease SECONDS``; ``--for SECONDS`` runs passes for that long instead of
until everything is settled, then prints "done" with the passes it made.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
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


class OffsetClock(SystemClock):
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--offset", type=float, default=0.0)
    parser.add_argument("--lease", type=float, default=LEASE.total_seconds())
    parser.add_argument("--for", dest="run_for", type=float, default=None)
    args = parser.parse_args()
    ctx = AppContext.open(args.home, clock=OffsetClock(timedelta(seconds=args.offset)))
    lease = timedelta(seconds=args.lease)
    dispatcher = Dispatcher(ctx, lease=lease, claim_limit=CLAIM_LIMIT)
    print("ready", flush=True)
    handed = reconciled = retrying = passes = 0
    deadline = time.monotonic() + (args.run_for or 120)
    while time.monotonic() < deadline:
        report = dispatcher.run_once()
        passes += 1
        handed += report.handed_off
        reconciled += report.reconciled
        retrying += report.retrying
        if args.run_for is None and unsettled(ctx) == 0:
            break
        if report.handed_off == report.reconciled == 0:
            time.sleep(0.1)  # a dead dispatcher's lease has not run out yet
    else:
        if args.run_for is None:
            print("gave up: messages still unsettled", file=sys.stderr)
            sys.exit(3)
    print(f"done {handed} {reconciled} {retrying} {passes}", flush=True)
    ctx.close()


if __name__ == "__main__":
    main()
