"""What the series race and crash tests share: the child processes that fill a series (or
bring its group's members in line), started, held at a barrier and released; and, in the
child, its context and the barrier itself."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.series import SeriesRequest

ROOT = Path(__file__).resolve().parents[2]
ANN = "+447911123456"  # a London mobile


def series_request(**kw: object) -> SeriesRequest:
    """A weekly series (Mondays 08:30 in London, to Ann from 7 Dec 2026), with ``kw``
    changed."""
    base: dict[str, object] = {
        "text": "Rota for the week is up.",
        "rule": "FREQ=WEEKLY;BYDAY=MO",
        "start": datetime(2026, 12, 7, 8, 30),
        "zone": "Europe/London",
        "numbers": (ANN,),
    }
    base.update(kw)
    return SeriesRequest(**base)  # type: ignore[arg-type]


def start_child(
    module: str, home: Path, now: datetime, series_id: str, mode: str
) -> subprocess.Popen[str]:
    """``python -m module HOME NOW_ISO SERIES_ID MODE``, talked to through pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", module, str(home), now.isoformat(), series_id, mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def readied(children: list[subprocess.Popen[str]]) -> list[tuple[str, int]]:
    """Each child's first line ("ready N"): all of them have planned before any stores."""
    said = []
    for child in children:
        assert child.stdout is not None
        word, n = child.stdout.readline().split()
        said.append((word, int(n)))
    return said


def released(children: list[subprocess.Popen[str]]) -> list[tuple[int, int]]:
    """Lets every child past the barrier at once; what each says it stored and found taken."""
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        stored, taken = map(int, out.split())
        results.append((stored, taken))
    return results


# -- in the child -------------------------------------------------------------------------------


def child_context() -> tuple[AppContext, str, str]:
    """The context, series id and mode a child was started with (see ``start_child``)."""
    home, now_iso, series_id, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = AppContext.open(home, clock=ManualClock(datetime.fromisoformat(now_iso)))
    return ctx, series_id, mode


def barrier(planned: int) -> None:
    """Says how much was planned, then waits for the parent's line."""
    print(f"ready {planned}", flush=True)
    sys.stdin.readline()
