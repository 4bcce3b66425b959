"""Status sync and reconciliation of 10,000 scheduled Infobip messages against the loopback
simulator: requests per 100 messages, and time.

The Infobip client is asked as the engine asks it: ``lookup`` in claims of 1,000 messages,
``fetch_status`` in batches of 500 refs. Four moments: reconciliation (every message unclear),
status sync while the bulks are still scheduled, after delivery (the reports), and after
delivery when another client already took the reports (only the logs can tell). The
simulator's clock is a manual one, so the logs pacing (120 requests a minute) is counted, not
waited for; it is reported as the time Infobip's throttle implies.

Baseline, same run: one request per message, as smsdesk asked before (the logs by messageId
for reconciliation, the reports and then the logs by messageId for status), measured on a
sample and reported per 100 messages.

    python -m benchmarks.status_sync [--messages 10000] [--sample 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.common import Row, Sizes, Target, render
from smsdesk.core.clock import ManualClock
from smsdesk.providers.base import Outgoing, Receipt
from smsdesk.providers.infobip import InfobipProvider, build
from tests.simulators.infobip import InfobipSimulator

PER_100 = Target(1.0, "≤ 1 request per 100 messages")

KEY = "bench-key-5f0c9e21d7"
CLAIM = 1000  # messages per reconciliation round (the engine claims this many for Infobip)
SYNC = 500  # refs per status sync call (the engine's limit)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Counted:
    """Requests the simulator saw during a block, and the wall time it took."""

    def __init__(self, sim: InfobipSimulator) -> None:
        self.sim = sim
        self.requests = 0
        self.seconds = 0.0
        self.by_path: dict[str, int] = {}

    def measure(self, work: Callable[[], object]) -> Counted:
        before = self.sim.requests_per_path()
        started = time.perf_counter()
        work()
        self.seconds = time.perf_counter() - started
        after = self.sim.requests_per_path()
        self.by_path = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        self.requests = sum(self.by_path.values())
        return self


def _provider(sim: InfobipSimulator, clock: ManualClock, home: Path) -> InfobipProvider:
    return build(
        home=home, clock=clock, options={"timeout": "30"}, base_url=sim.base_url, api_key=KEY
    )


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def measure(messages: int, sample: int) -> dict[str, Counted | float]:
    clock = ManualClock(START)
    sim = InfobipSimulator(clock, api_key=KEY)
    sim.start()
    results: dict[str, Counted | float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="smsdesk-bench-") as tmp:
            ib = _provider(sim, clock, Path(tmp))
            at = clock.now() + timedelta(hours=1)
            planned = ib.assign_groups(
                [
                    Outgoing(f"smsdesk-{n:032x}", f"+4179{n:07d}", "Your appointment", "Clinic", at)
                    for n in range(messages)
                ]
            )
            outcomes = ib.schedule(planned)
            refs = [o.ref for o in outcomes if isinstance(o, Receipt)]
            assert len(refs) == messages
            asked = [(m.key, m.group) for m in planned]

            def reconcile() -> None:
                for i in range(0, len(asked), CLAIM):
                    ib.lookup(asked[i : i + CLAIM])

            def sync(provider: InfobipProvider) -> Callable[[], None]:
                def each() -> None:
                    for chunk in _chunks(refs, SYNC):
                        provider.fetch_status(chunk)

                return each

            results["reconcile"] = Counted(sim).measure(reconcile)
            results["scheduled"] = Counted(sim).measure(sync(ib))
            clock.set(at + timedelta(minutes=5))
            results["delivered"] = Counted(sim).measure(sync(ib))
            fresh = _provider(sim, clock, Path(tmp))  # reports already taken: the logs
            paced = clock.now()
            results["logs only"] = Counted(sim).measure(sync(fresh))
            results["logs pacing s"] = (clock.now() - paced).total_seconds()
            fresh.close()
            ib.close()
            results.update(_baseline(sim, planned[:sample], refs[:sample]))
    finally:
        sim.stop()
    return results


def _baseline(
    sim: InfobipSimulator, planned: Sequence[Outgoing], refs: Sequence[str]
) -> dict[str, Counted | float]:
    """One request per message, as before: logs by messageId to reconcile, reports (then the
    logs for those without one) by messageId for status."""
    headers = {"Authorization": f"App {KEY}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=30) as raw:

        def reconcile() -> None:
            for msg in planned:
                raw.get("/sms/1/logs", params={"messageId": msg.key}).raise_for_status()

        def sync() -> None:
            for ref in refs:
                message_id = ref.rpartition(":")[2]
                got = raw.get("/sms/1/reports", params={"messageId": message_id, "limit": "100"})
                if not got.json().get("results"):
                    raw.get("/sms/1/logs", params={"messageId": message_id}).raise_for_status()

        return {
            "baseline reconcile": Counted(sim).measure(reconcile),
            "baseline logs only": Counted(sim).measure(sync),
        }


def _per100(c: Counted, n: int) -> str:
    return f"{100 * c.requests / n:.2f} requests / 100 messages ({c.requests:,} for {n:,})"


def rows(messages: int, sample: int) -> list[Row]:
    r = measure(messages, sample)

    def c(name: str) -> Counted:
        value = r[name]
        assert isinstance(value, Counted)
        return value

    base_rec, base_sync = c("baseline reconcile"), c("baseline logs only")
    sampled = f"measured on {sample:,}"
    baselines = {
        "reconcile": (
            f"logs by messageId: {100 * base_rec.requests / sample:.0f} requests / 100 messages "
            f"({sampled}; {base_rec.seconds / sample * messages:.1f} s for {messages:,}, and "
            f"{messages / 120:.0f} min at Infobip's 120 log requests a minute)"
        ),
        "status": (
            f"reports, then logs, by messageId: {100 * base_sync.requests / sample:.0f} requests "
            f"/ 100 messages when the reports are gone ({sampled}; "
            f"{base_sync.seconds / sample * messages:.1f} s for {messages:,})"
        ),
    }
    out = []
    for name, label in [
        ("reconcile", "reconciliation (lookup) of {n} scheduled Infobip messages"),
        ("scheduled", "status sync of {n} Infobip messages still scheduled"),
        ("delivered", "status sync of {n} Infobip messages after delivery (reports)"),
        ("logs only", "status sync of {n} after delivery, reports taken elsewhere (logs)"),
    ]:
        x = c(name)
        paths = ", ".join(f"{k} {v}" for k, v in sorted(x.by_path.items()))
        note = f"{x.seconds * 1000:.0f} ms; {paths}"
        if name == "logs only":
            note += f"; logs paced to 120/min: {r['logs pacing s']:.1f} s of Infobip's clock"
        base = baselines["reconcile" if name == "reconcile" else "status"]
        scenario = label.format(n=f"{messages:,}")
        per_100 = 100 * x.requests / messages
        out.append(Row.judged(scenario, _per100(x, messages), base, PER_100, per_100, note))
    return out


def run(sizes: Sizes) -> list[Row]:
    return rows(1_000 if sizes.quick else 10_000, 200 if sizes.quick else 500)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.status_sync", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500, help="messages for the baseline")
    args = parser.parse_args(argv)
    print(render(rows(args.messages, args.sample)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
