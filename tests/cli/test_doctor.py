"""``smsdesk doctor``: each line ✓ or ✗ with the fix, ``--json``, exit 0 only when all pass.

Real parts throughout: a keyring backend that fails (keyring's own), a real database file
with garbage written over its pages, a Telnyx simulator over loopback that is then stopped,
and a real ``smsdesk dispatch`` process for "is something running to send".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.running import _role
from tests.cli_runner import Cli, run_cli
from tests.conftest import START
from tests.simulators.telnyx import TelnyxSimulator
from tests.store.damage import damage_middle, sound_home

KEY = "sim-key-doctor-41"
SENDER = "+15551230000"


def _checks(run: Any) -> dict[str, dict[str, Any]]:
    report = run.json()
    assert report["ok"] is (run.code == 0)
    return {c["label"]: c for c in report["checks"]}


def _doctor_process(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsdesk", "doctor", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(180)
def test_a_missing_keyring_is_a_cross_with_the_fix(isolated_home: Path) -> None:
    done = _doctor_process({"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}, "--json")
    assert done.returncode == 1, done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["ok"] is False
    checks = {c["label"]: c for c in report["checks"]}
    keyring = checks["Keyring"]
    assert keyring["ok"] is False
    assert "No system keyring" in keyring["detail"]
    assert "PYTHON_KEYRING_BACKEND" in keyring["fix"]
    # Every area is in the report, display and fonts (from their own process) included.
    assert {c["area"] for c in report["checks"]} == {
        "display",
        "fonts",
        "keyring",
        "database",
        "providers",
        "clock",
        "sending",
    }
    assert checks["Database is sound"]["ok"] is True


def test_a_plain_text_keyring_works_but_is_not_encrypted(cli: Cli) -> None:
    run = cli("doctor", "keyring", "--json")
    checks = _checks(run)
    assert checks["Keyring"]["ok"] is True
    assert checks["Keys encrypted"]["ok"] is False
    assert "passphrase-encrypted key file" in checks["Keys encrypted"]["fix"]
    assert run.code == 1


def test_everything_passes_exit_0_and_an_old_backup_makes_it_1(
    cli: Cli, isolated_home: Path, clock: ManualClock
) -> None:
    assert cli("provider", "list").code == 0  # the database is made at first use
    assert cli("backup").code == 0
    run = cli("doctor", "database", "providers", "clock", "sending", "--json")
    checks = _checks(run)
    assert run.code == 0, run.out
    assert checks["Database"]["detail"].startswith(str(isolated_home / "smsdesk.db"))
    assert "1 kept" in checks["Backups"]["detail"]
    assert checks["Provider 'Sandbox'"]["ok"] is True
    assert checks["Encrypted at rest"]["ok"] is True
    assert checks["Encrypted at rest"]["detail"].startswith("encrypted (SQLCipher); the key is in")
    text = cli("doctor", "database", "sending")
    assert text.code == 0
    assert text.out.splitlines()[0].startswith("✓ Database: ")
    assert text.out.splitlines()[-1] == "5 of 5 checks passed."

    # Two days without a backup is a cross too.
    clock.advance(timedelta(days=3))
    run = cli("doctor", "database", "--json")
    assert run.code == 1
    stale = _checks(run)["Backups"]
    assert stale["ok"] is False and "3 days old" in stale["detail"]


def test_a_damaged_database_is_reported_and_nothing_else_opens_it(
    cli: Cli, isolated_home: Path
) -> None:
    path = sound_home(isolated_home, START)
    damage_middle(path)
    before = path.read_bytes()
    run = cli("doctor", "database", "providers", "sending", "--json")
    assert run.code == 1
    checks = _checks(run)
    sound = checks["Database is sound"]
    assert sound["ok"] is False and sound["detail"].startswith("damaged: ")
    assert "smsdesk restore" in sound["fix"]
    assert checks["Providers"] == {
        "area": "providers",
        "label": "Providers",
        "ok": False,
        "detail": "not checked: the database is damaged",
        "fix": "",
    }
    assert checks["Sending"]["ok"] is False
    assert path.read_bytes() == before  # the doctor wrote nothing into it
    # And in words: a cross, and the fix on the next line.
    lines = cli("doctor", "database").out.splitlines()
    damaged = lines.index(next(line for line in lines if line.startswith("✗ Database is sound")))
    assert lines[damaged + 1].startswith("    fix: Restore the newest backup")


@pytest.fixture
def telnyx(isolated_home: Path) -> Iterator[tuple[TelnyxSimulator, ManualClock]]:
    # The simulator's Date header is the real time: the desk's clock starts there.
    clock = ManualClock(datetime.now(UTC))
    sim = TelnyxSimulator(clock, api_key=KEY, stall=5.0)
    sim.start()
    try:
        run = run_cli(
            clock,
            *("provider", "add", "Clinic", "--kind", "telnyx", "--base-url", sim.base_url),
            *("--sender", SENDER, "--option", "timeout=1.0"),
            stdin=KEY + "\n",
        )
        assert run.code == 0, run.err
        yield sim, clock
    finally:
        sim.stop()


def test_a_reachable_provider_and_its_clock(telnyx: tuple[TelnyxSimulator, ManualClock]) -> None:
    sim, clock = telnyx
    run = run_cli(clock, "doctor", "providers", "clock", "--json")
    checks = _checks(run)
    assert checks["Provider 'Clinic'"]["ok"] is True
    assert "API key accepted" in checks["Provider 'Clinic'"]["detail"]
    assert checks["Clock"]["ok"] is True
    assert "'Clinic'" in checks["Clock"]["detail"]
    assert sim.requests_to("GET", "/v2/messaging_profiles") >= 1

    # This computer's clock ten minutes fast: every send time would be off by as much.
    clock.advance(timedelta(minutes=10))
    fast = _checks(run_cli(clock, "doctor", "clock", "--json"))["Clock"]
    assert fast["ok"] is False
    assert "ahead of 'Clinic'" in fast["detail"]
    assert abs(int(fast["detail"].split(" is ")[1].split(" s ")[0]) - 600) <= 5
    assert "timedatectl set-ntp true" in fast["fix"]


def test_an_unreachable_provider_is_a_cross_with_the_fix(
    telnyx: tuple[TelnyxSimulator, ManualClock],
) -> None:
    sim, clock = telnyx
    sim.stop()  # the provider is gone: nothing listens on its port any more
    run = run_cli(clock, "doctor", "providers", "clock", "--json")
    assert run.code == 1
    checks = _checks(run)
    clinic = checks["Provider 'Clinic'"]
    assert clinic["ok"] is False
    assert clinic["detail"] == "Telnyx answers: Telnyx could not be reached."
    assert "internet connection" in clinic["fix"]
    assert checks["Provider 'Sandbox'"]["ok"] is True
    # No provider answered, so there is no clock to compare with: said, not failed.
    assert checks["Clock"]["ok"] is True and "no provider reached" in checks["Clock"]["detail"]


def test_held_messages_need_the_window_or_the_agent(isolated_home: Path) -> None:
    # Ten days out, on Telnyx (five days ahead at most): held on this computer for five days,
    # so the agent below has nothing to hand off and the count stays put. The desk's clock
    # is the agent's (the real one).
    clock = ManualClock(datetime.now(UTC))

    def cli(*argv: str, stdin: str = "") -> Any:
        return run_cli(clock, *argv, stdin=stdin)

    add = ("provider", "add", "Clinic", "--kind", "telnyx", "--base-url", "http://127.0.0.1:9")
    assert cli(*add, "--sender", SENDER, stdin=KEY + "\n").code == 0
    at = (clock.now() + timedelta(days=10)).isoformat()
    run = cli(
        "schedule", "--to", "+12025550119", "--text", "Hi", "--at", at, "--provider", "Clinic"
    )
    assert run.code == 0, run.err
    alone = _checks(cli("doctor", "sending", "--json"))["Sending"]
    assert alone["ok"] is False
    assert alone["detail"].startswith("1 message held on this computer, and no window")
    assert "smsdesk dispatch" in alone["fix"]

    agent = subprocess.Popen(
        [sys.executable, "-m", "smsdesk", "dispatch"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert agent.stderr is not None
        assert "running" in agent.stderr.readline()  # storage open, the loop started
        run = cli("doctor", "sending", "--json")
        sending = _checks(run)["Sending"]
        assert run.code == 0
        assert sending["detail"] == (
            f"the agent (process {agent.pid}) sends 1 message held on this computer"
        )
    finally:
        agent.terminate()
        agent.communicate(timeout=60)
    assert agent.returncode == 0  # it stopped on the signal, as asked, not killed


def test_an_unknown_area_is_invalid_input(cli: Cli) -> None:
    run = cli("doctor", "printer")
    assert run.code == 2 and run.out == ""
    assert run.err.startswith("smsdesk: unknown area(s) printer; the areas are display")


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["/usr/bin/python3", "-m", "smsdesk"], "window"),
        (["/home/a/.venv/bin/python", "/home/a/.venv/bin/smsdesk", "gui"], "window"),
        (["python3", "-m", "smsdesk", "--json", "dispatch", "--once"], "agent"),
        (["/home/a/.venv/bin/smsdesk", "doctor"], None),
        (["python3", "-m", "smsdesk.ui.doctor_checks", "display"], None),
        (["python3", "-m", "pytest", "tests"], None),
    ],
)
def test_which_command_lines_send(argv: list[str], role: str | None) -> None:
    assert _role(argv) == role


@pytest.mark.timeout(120)
def test_the_contacts_scripts_are_checked_for_fonts(cli: Cli) -> None:
    add = cli("contacts", "add", "+15551234567", "--name", "Дмитрий Иванов")
    assert add.code == 0, add.err
    run = cli("doctor", "fonts", "--json")
    checks = _checks(run)
    assert {"Font for Latin", "Emoji font", "Font for Cyrillic"} <= set(checks)
    assert checks["Font for Latin"]["ok"] is True
    assert checks["Font for Cyrillic"]["ok"] is True  # DejaVu draws Cyrillic
    assert all(c["area"] == "fonts" for c in checks.values())


def test_a_script_no_font_draws_is_a_cross_with_a_package_to_install(qapp: Any) -> None:
    from PySide6.QtGui import QFontDatabase

    from smsdesk.ui.doctor_checks import font_findings

    # Among DejaVu's fonts only (what CI installs), whatever else this computer has.
    dejavu = [f for f in QFontDatabase.families() if f.startswith("DejaVu Sans")]
    [latin, emoji, cuneiform] = font_findings({"CUNEIFORM": "\U00012000"}, dejavu)
    assert latin.ok is True and latin.detail.endswith("e.g. DejaVu Sans")
    assert emoji.ok is False and "emoji" in emoji.fix
    assert cuneiform.label == "Font for Cuneiform"
    assert cuneiform.ok is False
    assert cuneiform.detail == "none: names in this script show empty boxes"
    assert cuneiform.fix.startswith("Install a font: ")


def test_a_database_from_a_newer_smsdesk_is_a_line_not_a_failure(
    cli: Cli, isolated_home: Path
) -> None:
    from sqlalchemy import text

    from smsdesk.store.db import Database

    db = Database.open(isolated_home)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    run = cli("doctor", "keyring", "database", "providers", "--json")
    assert run.code == 1 and run.err == ""
    checks = _checks(run)
    assert checks["Database is sound"]["ok"] is True  # the file itself is fine
    providers = checks["Providers"]
    assert providers["ok"] is False
    assert providers["detail"].startswith("not checked: the database could not be opened: ")
    assert "newer version of smsdesk" in providers["detail"]
