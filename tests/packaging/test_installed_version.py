"""A newer version installed beside the running one: noticed, and the agent becomes it
between passes (real processes, a fake install tree laid out like the packages')."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.installed import (
    InstallWatch,
    NewerInstalled,
    fresh_environment,
    newer_installed,
)
from tests.cli_runner import run_cli
from tests.packaging.install_tree import REPO, add_version, point_current, started


def test_the_link_pointing_elsewhere_is_a_newer_install(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "smsdesk"
    log = tmp_path / "started.log"
    old = add_version(root, "0.1.0", log)
    add_version(root, "0.1.1", log)
    assert newer_installed(old) is None  # no link: a portable build
    point_current(root, "0.1.0")
    assert newer_installed(old) is None  # runs what is installed
    point_current(root, "0.1.1")
    assert newer_installed(old) == NewerInstalled(
        running="0.1.0", installed="0.1.1", launcher=root / "current" / "smsdesk"
    )
    point_current(root, "0.1.2")  # dangling: half-installed, nothing to start
    assert newer_installed(old) is None
    assert newer_installed(None) is None


def test_the_watch_reads_the_link_at_most_once_per_interval(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "smsdesk"
    log = tmp_path / "started.log"
    old = add_version(root, "0.1.0", log)
    add_version(root, "0.1.1", log)
    point_current(root, "0.1.0")
    now = [1000.0]
    watch = InstallWatch(old, 300, lambda: now[0])
    assert watch.check() is None
    point_current(root, "0.1.1")
    now[0] += 299
    assert watch.check() is None  # not looked at yet
    now[0] += 1
    found = watch.check()
    assert found is not None and found.installed == "0.1.1"


def test_the_new_version_starts_without_the_old_builds_environment() -> None:
    env = fresh_environment(
        {
            "LD_LIBRARY_PATH": "/opt/smsdesk/0.1.0/_internal",
            "LD_LIBRARY_PATH_ORIG": "/usr/local/lib",
            "_PYI_APPLICATION_HOME_DIR": "/opt/smsdesk/0.1.0/_internal",
            "_PYI_PARENT_PROCESS_LEVEL": "1",
            "SMSDESK_PROGRAM_DIR": "/opt/smsdesk/0.1.0",
            "SMSDESK_HOME": "/data",
        }
    )
    assert env == {
        "LD_LIBRARY_PATH": "/usr/local/lib",
        "PYINSTALLER_RESET_ENVIRONMENT": "1",
        "SMSDESK_HOME": "/data",
    }


@pytest.mark.timeout(180)
def test_the_agent_becomes_the_installed_version_between_passes(
    isolated_home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "opt" / "smsdesk"
    log = tmp_path / "started.log"
    old = add_version(root, "0.1.0", log)
    add_version(root, "0.1.1", log)
    # A message already due when the agent starts: its first pass hands it to the Sandbox.
    now = datetime.now(UTC)
    past = ManualClock(now - timedelta(minutes=2))
    assert run_cli(past, "settings", "--quiet-mode", "off").code == 0
    at = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = run_cli(
        past, "schedule", "--to", "+15551234567", "--text", "hi", "--at", at, "--json"
    )
    assert scheduled.code == 0, scheduled.err
    message_id = scheduled.json()["messages"][0]["message"]["id"]
    # The upgrade has switched the link already: the agent still starts from its old tree.
    point_current(root, "0.1.1")
    agent = subprocess.Popen(
        [str(old / "smsdesk"), "dispatch"],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert agent.stderr is not None
        assert "running" in agent.stderr.readline()
        assert agent.stderr.readline().strip() == (
            "smsdesk dispatch: version 0.1.1 is installed; restarting into it"
        )
        assert "running" in agent.stderr.readline()  # the new version's agent is up
        # The same process became the new version (exec): a service manager sees it go on.
        assert started(log) == [("0.1.0", agent.pid), ("0.1.1", agent.pid)]
        # The first pass had finished before the restart: the message was handed off once,
        # nothing was cut short into `unknown`.
        shown = run_cli(ManualClock(datetime.now(UTC)), "show", message_id, "--json").json()
        state = (shown[0] if isinstance(shown, list) else shown)["state"]
        assert state in ("scheduled", "sent", "delivered"), state
        agent.send_signal(signal.SIGINT)  # the new agent stops like any other
        out, err = agent.communicate(timeout=60)
        assert agent.returncode == 0, err
        assert out.strip() == "Dispatch stopped."
        assert started(log) == [("0.1.0", agent.pid), ("0.1.1", agent.pid)]  # no loop
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


@pytest.mark.timeout(120)
def test_restart_now_starts_the_installed_version_once_the_window_has_gone(
    tmp_path: Path,
) -> None:
    root = tmp_path / "opt" / "smsdesk"
    fifo = tmp_path / "started.fifo"
    os.mkfifo(fifo)
    # Read-write: the open does not wait for a writer, and the read waits for the line.
    reader = os.open(fifo, os.O_RDWR)
    try:
        add_version(root, "0.1.0", fifo)
        add_version(root, "0.1.1", fifo)
        point_current(root, "0.1.1")
        # A process standing for the window: arranges the start, then ends.
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os, sys\n"
                "from pathlib import Path\n"
                "from smsdesk.engine.installed import NewerInstalled\n"
                "from smsdesk.ui.update_notice import start_after_exit\n"
                "start_after_exit(NewerInstalled('0.1.0', '0.1.1', Path(sys.argv[1])))\n"
                "print(os.getpid())\n",
                str(root / "current" / "smsdesk"),
            ],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        )
        window_pid = int(child.stdout)
        with os.fdopen(os.dup(reader), "r") as lines:
            version, pid = lines.readline().split()
        assert version == "0.1.1"  # the installed version, through the link
        assert int(pid) != window_pid  # a process of its own, started after the old ended
    finally:
        os.close(reader)
