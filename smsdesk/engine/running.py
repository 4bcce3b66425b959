"""Which smsdesk processes are running on this computer for a data folder: the window, or the
dispatch agent (``smsdesk dispatch``). Read from the process table, so nothing has to be
started or registered for it: Linux's /proc; elsewhere it cannot tell (None)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from smsdesk.store.paths import APP_NAME

PROC = Path("/proc")


@dataclass(frozen=True)
class Running:
    pid: int
    role: str  # "window" or "agent"


def _role(argv: list[str]) -> str | None:
    """'window' or 'agent' for an smsdesk command line that sends held messages."""
    start = None
    for i, word in enumerate(argv):
        name = Path(word).name
        if name in ("smsdesk", "smsdesk.exe"):  # the script, or ``python -m smsdesk``
            start = i + 1
            break
    if start is None:
        return None
    words = [w for w in argv[start:] if not w.startswith("-")]
    command = words[0] if words else None
    if command in (None, "gui"):
        return "window"
    return "agent" if command == "dispatch" else None


def _home_of(environ: dict[str, str]) -> Path:
    override = environ.get("SMSDESK_HOME")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def _read(path: Path) -> list[str] | None:
    try:
        return path.read_bytes().decode(errors="replace").split("\0")
    except OSError:  # gone meanwhile, or another user's
        return None


def running_for(home: Path, proc: Path = PROC) -> list[Running] | None:
    """The window and agents running for ``home`` (this process excluded), or None when
    this system's process table cannot be read."""
    if not proc.is_dir():
        return None
    wanted = home.resolve()
    found: list[Running] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        argv = _read(entry / "cmdline")
        role = _role([a for a in argv or [] if a])
        if role is None:
            continue
        raw = _read(entry / "environ") or []
        environ = dict(item.split("=", 1) for item in raw if "=" in item)
        if _home_of(environ).resolve() == wanted:
            found.append(Running(int(entry.name), role))
    return sorted(found, key=lambda r: r.pid)
