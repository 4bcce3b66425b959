"""``python -m benchmarks [--quick] [--only NAME ...] [--out FILE]``: run the scenarios, print the
table (Markdown) with the baseline measured in the same run beside each figure."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import coldstart, csv_import, engine, idle_engine, queue, status_sync
from benchmarks.common import Row, Sizes, render

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
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="some scenarios")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    sizes = Sizes.make(args.quick)
    rows: list[Row] = []
    started = time.perf_counter()
    for name, scenario in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        t = time.perf_counter()
        print(f"[{name}] …", file=sys.stderr, flush=True)
        rows += scenario(sizes)
        print(f"[{name}] {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    header = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python -m benchmarks"
        f"{' --quick' if args.quick else ''}, Python {platform.python_version()}, "
        f"{platform.machine()}, total {time.perf_counter() - started:.0f} s"
    )
    table = f"{header}\n\n{render(rows)}\n"
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
