"""Two processes changing different settings at the same time both keep their change (each
change is a compare-and-set of its own key in the database), on SQLite and PostgreSQL; the
command line in a third process shows both.

Both processes read the settings, wait at a barrier until the other has read them too, then
change one setting each and report back: every process did work, and neither change was
made on top of a value the other had already changed.

Run as a module, this file is the child:
python -m tests.robustness.test_settings_processes HOME SETTING VALUE ROUNDS
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from smsdesk.core.clock import SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.settings import SettingsService

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 25  # odd: quiet_mode ends on the child's value


def child_main(argv: list[str]) -> None:
    home, setting, value, rounds = Path(argv[0]), argv[1], argv[2], int(argv[3])
    ctx = AppContext.open(home, clock=SystemClock())
    prefs = SettingsService(ctx)
    print("read", prefs.settings(), flush=True)
    if sys.stdin.readline().strip() != "go":  # the barrier: both have read
        raise SystemExit("no go")
    # Each round is a real change of this one key (quiet_mode alternates with "off").
    last = value
    for n in range(rounds):
        if setting == "quiet_mode":
            last = value if n % 2 == 0 else "off"
            prefs.update_settings(quiet_mode=last)
        elif setting == "catch_up_grace_minutes":
            last = str(int(value) + n)
            prefs.update_settings(catch_up_grace_minutes=int(last))
        else:
            raise SystemExit(f"unknown setting {setting}")
    print("done", last, flush=True)
    ctx.close()


def _child(home: Path, setting: str, value: str) -> subprocess.Popen[str]:
    args = [str(home), setting, value, str(ROUNDS)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.robustness.test_settings_processes", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_changing_different_settings_both_keep_their_change(
    backend: str, isolated_home: Path
) -> None:
    window = AppContext.open(isolated_home, clock=SystemClock())  # open before, like a window
    window.settings_recheck = 3600.0
    assert SettingsService(window).settings().quiet_mode == "move"
    children = [
        _child(isolated_home, "quiet_mode", "refuse"),
        _child(isolated_home, "catch_up_grace_minutes", "30"),
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.startswith("read "), child.stderr.read() if child.stderr else line
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    for child, (_out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
    # Every process did its work...
    lasts = [out.split()[-1] for out, _ in results]
    assert lasts == ["refuse", str(30 + ROUNDS - 1)]
    # ...and both last changes are stored: neither wrote back the other's old value.
    seen = SettingsService(window).settings()
    assert (seen.quiet_mode, seen.catch_up_grace_minutes) == (lasts[0], int(lasts[1]))
    assert seen.quiet_start == "21:00" and seen.zone is None  # untouched keys untouched
    window.close()

    # The command line, a process of its own, shows what the others set.
    shown = subprocess.run(
        [sys.executable, "-m", "smsdesk", "settings"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert f"recipient-local ({lasts[0]})" in shown.stdout
    assert f"catch-up grace: {lasts[1]} minutes" in shown.stdout


if __name__ == "__main__":
    child_main(sys.argv[1:])
