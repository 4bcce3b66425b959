"""CSV import of contacts with validation: preview (every number checked, repaired or refused)
and writing the accepted ones, each run in a fresh process with a fresh database."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phonenumbers

from benchmarks.common import Row, Sizes, Target, env_for, median, ms
from benchmarks.contacts_file import contacts_csv

IMPORT = Target(5.0, "≤ 5 s")


def _once(path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="smsdesk-csv-") as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.csv_driver", str(path)],
            env=env_for(Path(tmp)),
            capture_output=True,
            text=True,
            timeout=600,
        )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"CSV import failed: {proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _library_floor(data: bytes) -> float:
    """Seconds phonenumbers alone takes to parse and validate the file's numbers (read
    with the csv module): what no importer built on it can go below."""
    started = time.perf_counter()
    rows = csv.reader(io.StringIO(data.decode("utf-8")))
    next(rows)
    for row in rows:
        with contextlib.suppress(phonenumbers.NumberParseException):
            phonenumbers.is_valid_number(phonenumbers.parse(row[2], "GB"))
    return time.perf_counter() - started


def run(sizes: Sizes) -> list[Row]:
    data = contacts_csv(sizes.csv_rows)
    with tempfile.TemporaryDirectory(prefix="smsdesk-csvfile-") as tmp:
        path = Path(tmp) / "contacts.csv"
        path.write_bytes(data)
        runs = [_once(path) for _ in range(sizes.runs)]
    floor = median([_library_floor(data) for _ in range(sizes.runs)])
    total = median([r["preview"] + r["commit"] for r in runs])
    first = runs[0]
    return [
        Row.judged(
            f"CSV import of {sizes.csv_rows:,} contacts with validation (preview + write)",
            f"{ms(total)}: preview {ms(median([r['preview'] for r in runs]))}, "
            f"write {ms(median([r['commit'] for r in runs]))}",
            f"phonenumbers parse + is_valid_number alone: {ms(floor)}",
            IMPORT,
            total,
            f"{sizes.runs} fresh processes; {int(first['accepted']):,} accepted "
            f"({int(first['repaired']):,} repaired), {int(first['rejected']):,} refused, "
            f"{int(first['merged']):,} duplicates merged",
        )
    ]
