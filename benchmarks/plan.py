"""``python -m benchmarks.plan [--recipients N]``: how long the schedule plan (what Compose
shows before Schedule, and what the summary step counts) takes for a template over a group
of N contacts in New York at 23:30 their time (every message moved by quiet hours), beside
storing the same batch (``Service.schedule``, which plans again and writes) in the same run.

"first" is a fresh process's first plan (no number looked up yet); "again" is the median of
five more (what the window pays while the user edits the text).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service

TEXT = "Hi {first_name|there}, Dr. Patel is running 30 minutes late today."
NY_2330 = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plan", description=__doc__)
    parser.add_argument("--recipients", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    with tempfile.TemporaryDirectory() as home:
        ctx = AppContext.open(Path(home), clock=ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC)))
        try:
            service = Service(ctx)
            book = service.contact_book()
            for i in range(args.recipients):
                book.save_contact(f"+1212555{i:04d}", name=f"Patient {i}", groups=["Clinic"])
            plan = service.scheduling.plan

            def once() -> float:
                started = time.perf_counter()
                result = plan([], TEXT, NY_2330, "America/New_York", group="Clinic")
                elapsed = time.perf_counter() - started
                assert len(result.moved) == args.recipients
                return elapsed

            first = once()
            again = statistics.median(once() for _ in range(5))
            started = time.perf_counter()
            service.schedule([], TEXT, NY_2330, "America/New_York", group="Clinic")
            stored = time.perf_counter() - started
        finally:
            ctx.close()
    n = args.recipients
    print(f"| plan, {n:,} recipients, first | {first * 1000:.0f} ms |")
    print(f"| plan, {n:,} recipients, again (median of 5) | {again * 1000:.0f} ms |")
    print(f"| baseline: plan + store (Service.schedule) | {stored * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
