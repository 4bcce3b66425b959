"""The Queue view over a large database: open, page fetches, jump to the end, state filters."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks import dataset
from benchmarks.common import Row, Sizes, Target, env_for, median, ms

OPEN = Target(0.3, "≤ 300 ms")
FRAME = Target(0.016, "≤ 16 ms")  # one frame at 60 Hz: a page, a jump, a drag, a refresh
MEMORY = Target(300, "≤ 300 MB")


def _once(sizes: Sizes) -> dict[str, Any]:
    home = dataset.cached(sizes.queue_messages)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.queue_driver"],
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"queue driver failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(sizes: Sizes) -> list[Row]:
    runs = [_once(sizes) for _ in range(max(sizes.runs // 2, 2))]

    def med(key: str) -> float:
        return median([float(r[key]) for r in runs])

    n = f"{sizes.queue_messages:,}"
    fetch = med("page_fetch_max")
    total = int(med("total_rows"))
    reached = int(med("ctrl_end_last_shown"))
    newest = all(r["ctrl_end_is_newest"] for r in runs)
    jump = max(med("ctrl_end"), med("ctrl_home"))
    drag = max(med(f"drag_{p}") for p in (25, 50, 75))
    filters = {s: med(f"filter_{s}_page") for s in ("failed", "queued", "delivered")}
    worst = max(filters, key=lambda s: filters[s])
    counts = ", ".join(f"{s} {ms(med(f'filter_{s}_count'))}" for s in filters)
    return [
        Row.judged(
            f"Queue over {n}: open (build + first paint)", ms(med("open")), "—", OPEN, med("open")
        ),
        Row.judged(
            f"Queue over {n}: page fetch while scrolling (worst)",
            f"median {ms(med('page_fetch_median'))}, worst {ms(fetch)}",
            "—",
            FRAME,
            fetch,
        ),
        Row.judged(
            f"Queue over {n}: jump to the last row (Ctrl+End) and back (Ctrl+Home), the slower",
            f"end {ms(med('ctrl_end'))}, home {ms(med('ctrl_home'))}, paint included; "
            f"reaches row {reached + 1:,} of {total:,}"
            + ("" if newest else " (NOT the newest message)"),
            "—",
            FRAME,
            jump,
            also=reached == total - 1 and newest,
        ),
        Row.judged(
            f"Queue over {n}: scroll bar dragged to 25/50/75 %, the slowest",
            ms(drag),
            "—",
            FRAME,
            drag,
            "a drag lands by keyset from the nearest landmark (the key of every n-th row, "
            "read in the background after each count)"
            if all(r.get("landmarks_ready") for r in runs)
            else "a drag lands at an OFFSET from the nearest page read (landmarks not yet read)",
        ),
        Row.judged(
            f"Queue over {n}: filter by state, the slowest page fetch ({worst})",
            ", ".join(f"{s} {ms(v)}" for s, v in filters.items()),
            f"count: {counts}",
            FRAME,
            filters[worst],
            "order is fixed by send time; last page of each filter by descending keyset",
        ),
        Row.judged(
            f"Queue over {n}: QueueView.refresh (every 5 s), nothing changed",
            f"nothing changed {ms(med('periodic_refresh'))}"
            + (
                " (while the last count's landmarks were read in the background; "
                f"{ms(med('periodic_refresh_settled'))} once they were in); "
                if not all(r.get("landmarks_ready_at_refresh", True) for r in runs)
                else f" ({ms(med('periodic_refresh_settled'))} with the landmarks in); "
            )
            + f"after a change {ms(med('refresh_after_change_middle'))} at row {total // 2:,}, "
            f"{ms(med('refresh_after_change_end'))} at the end",
            "—",
            FRAME,
            med("periodic_refresh"),
            "after a change: recount + the top row's new position (a COUNT from the nearer end)",
        ),
        Row.judged(
            f"{n} messages: the window's periodic refresh on the GUI thread (every 5 s)",
            f"{ms(med('window_refresh'))}, Queue shown (the status bar's summary, "
            f"{ms(med('status_summary'))}, is counted in a worker)",
            "—",
            FRAME,
            med("window_refresh"),
        ),
        Row.judged(
            f"Queue over {n}: process memory (peak)",
            f"{med('rss_after_jumps_mb'):.0f} MiB after both ends, three drags and 100 "
            f"screens up (peak {med('peak_rss_mb'):.0f}); {int(med('rows_held')):,} rows held",
            f"before the view: {med('rss_before_mb'):.0f} MiB",
            MEMORY,
            med("peak_rss_mb"),
        ),
    ]
