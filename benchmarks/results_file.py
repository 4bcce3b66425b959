"""Raw results: every run writes its rows with the figures and targets its verdicts came from,
stamped with the commit and the machine; the README's table is rendered from the published
one (``python -m benchmarks.report``), so the two cannot drift apart."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, Row, render

PUBLISHED = ROOT / "results" / "published.json"


@dataclass
class Results:
    command: str
    started: str  # UTC, ISO 8601
    seconds: float
    commit: str  # the short hash, "+changes" when the tree was not clean
    machine: dict[str, str | int | float] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def header(self) -> str:
        m = self.machine
        return (
            f"{self.started[:16].replace('T', ' ')} UTC, {self.command}, commit {self.commit}, "
            f"Python {m.get('python')}, {m.get('machine')}, {m.get('cpus')} CPUs, "
            f"load average {m.get('load')} at the start, total {self.seconds:.0f} s"
        )

    def markdown(self) -> str:
        return f"```\n{self.header()}\n```\n\n{render(self.rows)}\n"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Results:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        rows = [Row(**row) for row in data.pop("rows")]
        return cls(**data, rows=rows)


def this_machine() -> dict[str, str | int | float]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.platform(terse=True),
        "cpus": os.cpu_count() or 0,
        "load": round(os.getloadavg()[0], 2),
    }


def this_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    # ":/" names the paths from the repository's top, whatever the working directory.
    changed = git("status", "--porcelain", "--", ":/smsdesk", ":/benchmarks")
    return commit + ("+changes" if changed else "")
