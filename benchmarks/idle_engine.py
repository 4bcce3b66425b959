"""An idle engine with one blocked message: how many passes it makes and what CPU it uses.

The real ``Dispatcher.run_forever`` on the system clock, in a thread, for a fixed wall time:
once with one queued message whose account cannot be opened (its key in a locked keyring:
the provider factory raises SecretStoreError, as the keyring does), once with no message at
all (the baseline, same run). Passes are counted by wrapping ``run_once``; CPU is this
process's CPU time over the wall time (the engine is the only thing running in it).

    python -m benchmarks.idle_engine [--seconds 60]
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from benchmarks.common import Row, Sizes, Target, isolated_home
from smsdesk.core.errors import SecretStoreError
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import BLOCKED_RETRY, Dispatcher, PassReport
from smsdesk.engine.service import Service
from smsdesk.store.models import Message, ProviderAccount

# Passes beyond the baseline's: at most one per back-off interval of the blocked message.
EXTRA_PASSES = Target(1, "≤ 1 pass per back-off interval caused by the blocked message")


@dataclass
class Idle:
    passes: int  # the first included: every start makes one
    seconds: float
    cpu_seconds: float
    next_pass_in: float  # seconds from the end of the run to the engine's next wake

    @property
    def per_minute(self) -> float:
        return self.passes * 60 / self.seconds

    @property
    def per_back_off(self) -> float:
        """Passes after the first, scaled to one back-off interval."""
        return (self.passes - 1) * BLOCKED_RETRY.total_seconds() / self.seconds

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_seconds / self.seconds


class _Counting(Dispatcher):
    passes = 0

    def run_once(self, stop: threading.Event | None = None) -> PassReport:
        self.passes += 1
        # Called without ``stop`` by engines older than it (to measure them the same way).
        return super().run_once(stop) if stop is not None else super().run_once()


def _locked(account: ProviderAccount) -> object:
    raise SecretStoreError("The keyring could not read the API key (KeyringLocked).")


def measure(seconds: float, *, blocked: bool) -> Idle:
    with isolated_home("smsdesk-bench-idle-") as home:
        ctx = AppContext.open(home, provider_factory=_locked)  # type: ignore[arg-type]
        try:
            if blocked:
                Service(ctx).schedule(
                    ["+41793026727"], "hi", ctx.clock.now() + timedelta(hours=1), "UTC"
                )
            dispatcher = _Counting(ctx)
            stop = threading.Event()
            thread = threading.Thread(target=dispatcher.run_forever, args=(stop,), daemon=True)
            cpu, wall = time.process_time(), time.monotonic()
            thread.start()
            stop.wait(seconds)
            stop.set()
            thread.join(timeout=60)
            used, took = time.process_time() - cpu, time.monotonic() - wall
            ahead = (dispatcher.next_wake() - ctx.clock.now()).total_seconds()
            if blocked:
                with ctx.db.read() as s:
                    [msg] = s.exec(select(Message)).all()
                assert msg.state == "queued" and msg.lease_owner == "blocked", msg
            return Idle(dispatcher.passes, took, used, ahead)
        finally:
            ctx.close()


def run(sizes: Sizes) -> list[Row]:
    seconds = 10.0 if sizes.quick else 60.0
    blocked = measure(seconds, blocked=True)
    empty = measure(seconds, blocked=False)
    ratio = blocked.passes / empty.passes if empty.passes else float("nan")
    return [
        Row.judged(
            f"idle engine with one blocked message (locked keyring), {seconds:.0f} s",
            f"{blocked.passes} passes (the first included) = {blocked.per_minute:.1f}/min, "
            f"{blocked.per_back_off:.1f} more per {BLOCKED_RETRY.total_seconds() / 60:.0f}-minute"
            f" back-off, next pass in {blocked.next_pass_in:.0f} s; CPU "
            f"{blocked.cpu_percent:.2f} %; {ratio:.1f}× the baseline's passes",
            f"no message: {empty.passes} passes = {empty.per_minute:.1f}/min, "
            f"CPU {empty.cpu_percent:.2f} %",
            EXTRA_PASSES,
            blocked.passes - empty.passes,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    for kind in (True, False):
        idle = measure(args.seconds, blocked=kind)
        print(
            f"{'one blocked message' if kind else 'no message':>20}: {idle.passes} passes in "
            f"{idle.seconds:.1f} s = {idle.per_minute:.1f}/min "
            f"({idle.per_back_off:.1f} more per back-off), next pass in "
            f"{idle.next_pass_in:.0f} s, CPU {idle.cpu_percent:.2f} %"
        )


if __name__ == "__main__":
    main()
