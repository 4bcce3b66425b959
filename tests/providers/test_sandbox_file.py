"""The Sandbox's own file, first used by several processes at once (two desks, or the window
and `smsdesk dispatch`): every one of them gets an answer, none a "database is locked".

A race, so no single run of the old code is sure to lose it: measured with three processes
opening 200 new files together, the old code failed 4 times and this one 0 (SQLite does not
wait when two processes switch a new file to WAL at the same moment). Here three processes
open 100 new files, each at the same moment, which the old code lost most times."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = 100
STEP = 0.05  # seconds between two files' shared moment

CHILD = """
import sys, time
from pathlib import Path
from smsdesk.core.clock import SystemClock
from smsdesk.providers.sandbox import SandboxProvider
folder, files = Path(sys.argv[1]), int(sys.argv[2])
start, step = float(sys.argv[3]), float(sys.argv[4])
for n in range(files):
    # Not waiting for time to pass: lining the processes up on one wall-clock moment.
    time.sleep(max(0.0, start + n * step - time.time()))
    assert SandboxProvider(folder / f"{n}.db", SystemClock()).requests_by_key() == {}
print("done", flush=True)
"""


def test_processes_opening_new_sandbox_files_at_the_same_moment_all_get_answers(
    tmp_path: Path,
) -> None:
    start = time.time() + 2.0  # every child imported and waiting by then
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), str(FILES), str(start), str(STEP)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [child.communicate(timeout=120) for child in children]
    answers = [
        (c.returncode, out.strip(), err) for c, (out, err) in zip(children, results, strict=True)
    ]
    assert answers == [(0, "done", "")] * 3
    # One complete file each, nothing half-made left beside them.
    made = {p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))}
    assert made == {f"{n}.db" for n in range(FILES)}
