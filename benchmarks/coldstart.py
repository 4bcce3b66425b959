"""Cold start: spawn to first paint of smsdesk's main window vs a bare PySide6 window, and to
the first paint of the Queue with its rows (the user opens the Queue tab at once): the first
page read without the storage stack, then the real Queue once storage is open."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import dataset
from benchmarks.common import Row, Sizes, Target, env_for, median, ms

# What the user waits for is the Queue with its rows, not the first paint of the frame.
USABLE = Target(3.0, "≤ 3× bare")


def _once(mode: str, home: Path) -> dict[str, float]:
    """Seconds from spawn to each moment the driver reports (``painted``, ``data_shown``)."""
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.startup_driver", mode],
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"{mode} start-up failed: {proc.stderr[-2000:]}")
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    if mode != "bare" and marks.get("data_shown") is None:
        raise RuntimeError(f"the Queue never painted with rows: {proc.stderr[-2000:]}")
    # True (1.0): the rows first painted were the first page read without the storage stack.
    first_page = 1.0 if marks.pop("first_page", None) else 0.0
    seconds = {name: float(at) - started for name, at in marks.items() if at is not None}
    return {**seconds, "first_page": first_page}


def run(sizes: Sizes) -> list[Row]:
    source = dataset.cached(sizes.start_messages)
    with tempfile.TemporaryDirectory(prefix="smsdesk-start-") as tmp:
        home = Path(tmp)
        shutil.copy(source / "smsdesk.db", home / "smsdesk.db")
        _once("smsdesk", home)  # warm the OS file cache and .pyc files for both
        _once("bare", home)
        bare: list[float] = []
        app: list[float] = []
        data: list[float] = []
        real: list[float] = []
        ahead = 0  # runs whose first rows were the first page read ahead
        for _ in range(sizes.runs):  # interleaved, so drift on a shared machine hits both
            bare.append(_once("bare", home)["painted"])
            marks = _once("smsdesk", home)
            app.append(marks["painted"])
            data.append(marks["data_shown"])
            real.append(marks["real_shown"])
            ahead += int(marks["first_page"])
    ratio = median(app) / median(bare)
    data_ratio = median(data) / median(bare)
    return [
        Row(
            f"cold start to first paint (the frame, before storage opens), "
            f"{sizes.start_messages:,} messages",
            f"{ms(median(app))} = {ratio:.1f}× bare",
            f"bare QWidget {ms(median(bare))}",
            "(kept for comparison; the row below is what the user waits for)",
            "report",
            f"{sizes.runs} runs, min {ms(min(app))} / {ms(min(bare))}",
        ),
        Row.judged(
            f"cold start to a usable window: the Queue painted with its rows, "
            f"{sizes.start_messages:,} messages",
            f"{ms(median(data))} = {data_ratio:.1f}× bare",
            f"bare QWidget {ms(median(bare))}",
            USABLE,
            data_ratio,
            f"Queue tab opened at first paint; {sizes.runs} runs, min {ms(min(data))}; "
            f"rows read without the storage stack in {ahead} of {sizes.runs} runs; the real "
            f"Queue (filters, actions) at {ms(median(real))} = {median(real) / median(bare):.1f}×",
        ),
    ]
