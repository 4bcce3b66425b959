"""A dispatcher in a child process, for lease and crash tests.

python -m tests.engine.child HOME NOW_ISO MODE
  MODE "drain":          hand off one claim's worth, say "ready" and wait for a line on
                         stdin (a barrier: every process has done work, and all go on
                         together), then run passes until nothing is due; print how many
                         it handed off in all
  MODE "die-after-accept": the provider accepts the first request, then the process dies
  MODE "die-before-request": the process dies right after committing handing_off
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock, SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, PassReport
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import ProviderAccount
from tests.engine.faults import FaultySandbox


def drain_together(children: list[subprocess.Popen[str]], timeout: float) -> list[int]:
    """The parent's side of the barrier: once every child has handed off its first claim
    and is ready, all are told to go on together; returns how many each handed off."""
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [child.communicate(timeout=timeout) for child in children]
    for child, (_out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    return [int(out) for out, _ in outputs]


def main() -> None:
    home, now_iso, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    clock = SystemClock() if now_iso == "system" else ManualClock(datetime.fromisoformat(now_iso))
    provider = FaultySandbox(SandboxProvider(home / "sandbox.db", clock))

    def die() -> None:
        os._exit(9)  # like SIGKILL: no cleanup, no lease release, nothing recorded

    if mode == "die-after-accept":
        provider.after.append(die)
    elif mode == "die-before-request":
        provider.before.append(die)

    def factory(account: ProviderAccount) -> FaultySandbox:
        return provider

    ctx = AppContext.open(home, clock=clock, provider_factory=factory)
    dispatcher = Dispatcher(ctx, claim_limit=5)
    total = 0
    if mode == "drain":
        first = PassReport()
        dispatcher.claim_round(5, first)
        total = first.handed_off
        print("ready", flush=True)
        sys.stdin.readline()
    while True:
        report = dispatcher.run_once()
        total += report.handed_off
        if report.handed_off == 0 and report.reconciled == 0:
            break
    print(total)


if __name__ == "__main__":
    main()
