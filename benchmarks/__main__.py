"""``python -m benchmarks [--quick] [--only NAME ...] [--out FILE]``: run the scenarios, print the
table (Markdown) with the baseline measured in the same run beside each figure, and write the
raw results (figures, targets, commit, machine) to benchmarks/results/ or FILE."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import coldstart, csv_import, encryption, engine, idle_engine, queue, status_sync
from benchmarks.common import ROOT, Row, Sizes
from benchmarks.results_file import Results, this_commit, this_machine

SCENARIOS: dict[str, Callable[[Sizes], list[Row]]] = {
    "coldstart": coldstart.run,
    "queue": queue.run,
    "infobip": engine.infobip_rows,
    "telnyx": engine.telnyx_rows,
    "csv": csv_import.run,
    "lateness": engine.lateness_rows,
    "database": engine.database_rows,
    "status": status_sync.run,
    "idle": idle_engine.run,
    "encryption": encryption.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="some scenarios")
    parser.add_argument("--out", type=Path, help="the raw results file (JSON) to write")
    args = parser.parse_args(argv)
    sizes = Sizes.make(args.quick)
    rows: list[Row] = []
    machine = this_machine()  # the load average before the run adds its own
    began = datetime.now(UTC)
    started = time.perf_counter()
    for name, scenario in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        print(f"[{name}] …", file=sys.stderr, flush=True)
        rows += scenario(sizes)
        print(f"[{name}] {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    if args.only:
        command += " --only " + " ".join(args.only)
    results = Results(
        command,
        began.isoformat(timespec="seconds"),
        time.perf_counter() - started,
        this_commit(),
        machine,
        rows,
    )
    out = args.out or ROOT / "results" / f"{began:%Y%m%d-%H%M}-{results.commit}.json"
    results.write(out)
    print(results.markdown())
    print(f"raw results: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
