"""Has a newer smsdesk been installed beside the one running?

The Linux packages keep each version in its own tree, ``ROOT/VERSION/``, and point the
launcher through the link ``ROOT/current`` (packaging/README.md, "Upgrades"). An upgrade
switches that link and never touches a running tree, so the running program goes on
safely, but it stays the old version until it is started again. This module compares the
link with the tree the program runs from; the window then offers a restart and the agent
restarts itself between passes.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

# A launcher that runs smsdesk from a tree that is not frozen (a source checkout laid out
# like an install) names the tree here; a frozen build knows it from its own executable.
PROGRAM_DIR_VARIABLE = "SMSDESK_PROGRAM_DIR"
CURRENT_LINK = "current"
LAUNCHER = "smsdesk"
# Reading one link is cheap, but a restart offer that changes every second helps no one.
WINDOW_LOOKS_EVERY_S = 5 * 60
AGENT_LOOKS_EVERY_S = 60


@dataclass(frozen=True)
class NewerInstalled:
    running: str  # the version (tree name) this program runs from
    installed: str  # the version ``current`` points to now
    launcher: Path  # ROOT/current/smsdesk: starts the installed version


def program_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The tree this program runs from, or None when it is not an installed build."""
    env = os.environ if environ is None else environ
    named = env.get(PROGRAM_DIR_VARIABLE)
    if named:
        return Path(named)
    if getattr(sys, "frozen", False):
        # /usr/bin/smsdesk -> /opt/smsdesk/current/smsdesk -> /opt/smsdesk/VERSION/smsdesk
        return Path(sys.executable).resolve().parent
    return None


def newer_installed(running_dir: Path | None) -> NewerInstalled | None:
    """What ``current`` points to, if that is another version than ``running_dir``.

    Any doubt (no link, a dangling link, a portable build without the layout) is "no":
    this only ever offers a restart, so a missed chance costs nothing."""
    if running_dir is None:
        return None
    link = running_dir.parent / CURRENT_LINK
    try:
        target = os.readlink(link)
    except OSError:  # no such link: a portable tarball, Windows, macOS, a source checkout
        return None
    installed = Path(target).name
    if installed in ("", running_dir.name):
        return None
    launcher = link / LAUNCHER
    if not os.access(launcher, os.X_OK):  # half-installed or removed: nothing to start
        return None
    return NewerInstalled(running=running_dir.name, installed=installed, launcher=launcher)


class InstallWatch:
    """Looks at the link at most once per ``interval`` seconds (``now`` is monotonic)."""

    def __init__(
        self,
        running_dir: Path | None,
        interval: float,
        now: Callable[[], float],
    ) -> None:
        self.running_dir = running_dir
        self.interval = interval
        self._now = now
        self._last: float | None = None

    def check(self) -> NewerInstalled | None:
        at = self._now()
        if self._last is not None and at - self._last < self.interval:
            return None
        self._last = at
        return newer_installed(self.running_dir)


def fresh_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for starting another build: without what this build's own start-up
    set for itself (its library path, its bootloader's state), which would make the new
    version load the old one's libraries."""
    env = {k: v for k, v in environ.items() if not k.startswith("_PYI_")}
    if "LD_LIBRARY_PATH_ORIG" in env:
        env["LD_LIBRARY_PATH"] = env.pop("LD_LIBRARY_PATH_ORIG")
    elif getattr(sys, "frozen", False):
        env.pop("LD_LIBRARY_PATH", None)
    # PyInstaller 6.10+: the started program is a new application, not a child of this one.
    env["PYINSTALLER_RESET_ENVIRONMENT"] = "1"
    env.pop(PROGRAM_DIR_VARIABLE, None)  # the new launcher says where it runs from
    return env


def restart_command(newer: NewerInstalled, args: list[str]) -> list[str]:
    return [str(newer.launcher), *args]


class WaitOrRestart:
    """The agent's wait between passes, which also notices a newer installed version and
    then ends the agent's run instead of waiting. The dispatcher calls its wait only after a
    pass has finished, so a restart never cuts a request short."""

    def __init__(self, stop: threading.Event, watch: InstallWatch) -> None:
        self.stop = stop
        self.watch = watch
        self.newer: NewerInstalled | None = None

    def __call__(self, seconds: float) -> None:
        found = self.watch.check()
        if found is not None:
            self.newer = found
            self.stop.set()
            return
        self.stop.wait(seconds)


def exec_newer(newer: NewerInstalled, args: list[str]) -> NoReturn:
    """Become the installed version, same process and arguments (a service manager sees
    the same process carry on)."""
    os.execve(newer.launcher, restart_command(newer, args), fresh_environment(os.environ))
