"""A fake install tree laid out like the Linux packages' (ROOT/VERSION/smsdesk, ROOT/current),
whose launchers run this checkout's smsdesk as real processes."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def add_version(root: Path, version: str, log: Path) -> Path:
    """ROOT/VERSION/smsdesk: records "VERSION PID" in ``log``, then becomes smsdesk (exec, so
    the PID is that of smsdesk itself), telling it which tree it runs from."""
    tree = root / version
    tree.mkdir(parents=True)
    launcher = tree / "smsdesk"
    launcher.write_text(
        "#!/bin/sh\n"
        f'echo "{version} $$" >> {shlex.quote(str(log))}\n'
        f"SMSDESK_PROGRAM_DIR={shlex.quote(str(tree))} PYTHONPATH={shlex.quote(str(REPO))} "
        f'exec {shlex.quote(sys.executable)} -m smsdesk "$@"\n',
        encoding="utf-8",
    )
    launcher.chmod(0o755)
    return tree


def point_current(root: Path, version: str) -> None:
    """Switch ROOT/current the way the postinst does: a new link renamed over the old."""
    tmp = root / ".current.new"
    tmp.symlink_to(version)
    os.replace(tmp, root / "current")


def started(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(v, int(pid)) for v, pid in (line.split() for line in log.read_text().splitlines())]
