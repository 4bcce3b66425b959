"""What the scenarios share: isolated environments, timing, medians and the result table."""

from __future__ import annotations

import importlib
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"


@dataclass(frozen=True)
class Target:
    """One target: the cell the table prints and the check the verdict applies come from
    this one constant, so they cannot disagree."""

    limit: float
    text: str
    at_most: bool = True  # False: the figure must reach the limit ("≥")

    def reached(self, value: float) -> bool:
        return value <= self.limit if self.at_most else value >= self.limit


@dataclass
class Row:
    """One line of the result table."""

    scenario: str
    measured: str
    baseline: str
    target: str
    verdict: str  # "met", "MISSED", "report"
    note: str = ""
    # For a judged row: the figure the verdict judged, the target's own number and whether
    # it is a ceiling, and any other condition the verdict required (e.g. "every message
    # sent"), kept in the raw results so the verdict can be checked again from them.
    value: float | None = None
    limit: float | None = None
    at_most: bool = True
    also: bool = True

    @classmethod
    def judged(
        cls,
        scenario: str,
        measured: str,
        baseline: str,
        target: Target,
        value: float,
        note: str = "",
        *,
        also: bool = True,
    ) -> Row:
        """A row whose verdict is ``target`` applied to ``value`` (and ``also``)."""
        verdict = "met" if also and target.reached(value) else "MISSED"
        return cls(
            scenario, measured, baseline, target.text, verdict, note,
            value, target.limit, target.at_most, also,
        )  # fmt: skip

    def verdict_holds(self) -> bool:
        """True when the verdict is what the recorded figure and target give."""
        if self.limit is None or self.value is None:
            return self.verdict == "report"
        target = Target(self.limit, self.target, self.at_most)
        return self.verdict == ("met" if self.also and target.reached(self.value) else "MISSED")


@dataclass
class Sizes:
    """How big each scenario is; ``--quick`` shrinks everything."""

    quick: bool
    runs: int  # repetitions for medians
    start_messages: int  # cold start database
    queue_messages: int  # Queue view and database-size database
    bulk_messages: int  # Infobip hand-off
    baseline_messages: int  # Infobip with one message per request
    telnyx_messages: int
    telnyx_deadline: float  # seconds; a run stops there and reports its throughput
    lateness_messages: int
    # seconds over which the due times are spread: 5 messages every second, half of Telnyx's
    # 10/s (more than its limit allows would wait for the limit, not for the engine)
    lateness_window: float
    csv_rows: int  # contacts in the imported CSV file

    @classmethod
    def make(cls, quick: bool) -> Sizes:
        if quick:
            return cls(True, 3, 10_000, 50_000, 1_000, 300, 600, 5.0, 60, 12.0, 10_000)
        return cls(False, 5, 100_000, 1_000_000, 10_000, 10_000, 10_000, 75.0, 300, 60.0, 100_000)


def env_for(home: Path) -> dict[str, str]:
    """Environment of an isolated smsdesk: own data folder, file keyring, UTC, offscreen Qt."""
    env = dict(os.environ)
    env.update(
        SMSDESK_HOME=str(home),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(home / "keyring-data"),
        TZ="UTC",
        QT_QPA_PLATFORM="offscreen",
    )
    env.pop("SMSDESK_DATABASE_URL", None)
    return env


@contextmanager
def isolated_home(prefix: str = "smsdesk-bench-") -> Iterator[Path]:
    """A temporary smsdesk home, with this process's environment pointing at it."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ.clear()
        os.environ.update(env_for(home))
        time.tzset()
        import keyring.core

        keyring.core.init_backend()
        try:
            yield home
        finally:
            os.environ.clear()
            os.environ.update(saved)
            time.tzset()


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:  # optional (pip install psutil): without it, the peak
        psutil = importlib.import_module("psutil")
    except ImportError:
        return peak_rss_mb()
    return float(psutil.Process().memory_info().rss) / 2**20


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def render(rows: Sequence[Row]) -> str:
    """The result table, as Markdown."""
    lines = [
        "| scenario | measured (median) | baseline, same run | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        measured = r.measured + (f" ({r.note})" if r.note else "")
        lines.append(f"| {r.scenario} | {measured} | {r.baseline} | {r.target} | {r.verdict} |")
    return "\n".join(lines)
