"""Every command of the command line, in-process with a manual clock, plus the real entry point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store import raw_connection
from tests.cli_runner import Cli

ROOT = Path(__file__).resolve().parents[2]


def _iso(clock: ManualClock, delta: timedelta) -> str:
    return (clock.now() + delta).isoformat()


def _counts(home: Path) -> dict[str, int]:
    db = home / "smsdesk.db"
    if not db.exists():
        return {}
    conn = raw_connection.connect(db)
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("batch", "message", "event", "draft", "provider_account")
        }
    finally:
        conn.close()


def test_scheduled_message_is_delivered_after_its_time(cli: Cli, clock: ManualClock) -> None:
    r = cli(
        "schedule",
        "--to",
        "+15551234567",
        "--text",
        "hi",
        "--at",
        _iso(clock, timedelta(minutes=2)),
        "--json",
    )
    assert r.code == 0, r.err
    batch = r.json()
    [entry] = batch["messages"]
    assert entry["message"]["state"] == "queued"
    assert entry["handling_text"].startswith("Sandbox will schedule it")
    clock.advance(timedelta(minutes=3))
    r = cli("dispatch", "--once")
    assert r.code == 0 and r.out.startswith("Dispatch pass:")
    [shown] = cli("show", entry["message"]["id"], "--json").json()
    assert shown["state"] == "delivered"
    assert shown["events"][0]["kind"] == "created"


def test_cancel_before_the_time_means_it_is_never_sent(
    cli: Cli, clock: ManualClock, isolated_home: Path
) -> None:
    r = cli(
        "schedule",
        "--to",
        "+15551234567",
        "--text",
        "hi",
        "--at",
        _iso(clock, timedelta(minutes=2)),
        "--json",
    )
    msg_id = r.json()["messages"][0]["message"]["id"]
    r = cli("cancel", msg_id)
    assert r.code == 0 and "cancelled" in r.out
    clock.advance(timedelta(minutes=3))
    cli("dispatch", "--once")
    assert cli("show", msg_id, "--json").json()[0]["state"] == "cancelled"
    assert SandboxProvider(isolated_home / "sandbox.db", clock).requests_by_key() == {}


def test_cancel_after_hand_off_cancels_at_the_provider(cli: Cli, clock: ManualClock) -> None:
    batch = cli(
        "schedule",
        "--to",
        "+15551234567, +15557654321",
        "--text",
        "hi",
        "--at",
        _iso(clock, timedelta(hours=1)),
        "--json",
    ).json()
    cli("dispatch", "--once")
    r = cli("cancel", batch["batch_id"], "--json")
    assert r.code == 0
    assert [x["state"] for x in r.json()] == ["cancelled", "cancelled"]
    assert all("at Sandbox" in x["detail"] for x in r.json())


def test_local_time_in_a_zone(cli: Cli, clock: ManualClock) -> None:
    # The clock is 2026-12-01 09:00 UTC; 12:30 in New York is 17:30 UTC.
    r = cli(
        "schedule",
        "--to",
        "+15551234567",
        "--text",
        "hi",
        "--at",
        "2026-12-01 12:30",
        "--tz",
        "America/New_York",
        "--json",
    )
    assert r.code == 0, r.err
    message = r.json()["messages"][0]["message"]
    assert message["send_at"] == "2026-12-01T17:30:00+00:00"
    assert message["zone"] == "America/New_York"


def test_list_show_and_reschedule(cli: Cli, clock: ManualClock) -> None:
    first = cli(
        "schedule",
        "--to",
        "+15551234567",
        "--text",
        "Line one\nline two",
        "--at",
        _iso(clock, timedelta(hours=1)),
        "--json",
    ).json()
    cli(
        "schedule",
        "--to",
        "+15557654321",
        "--text",
        "other",
        "--at",
        _iso(clock, timedelta(hours=2)),
    )
    msg_id = first["messages"][0]["message"]["id"]
    r = cli("list")
    assert r.code == 0
    # A header row, then one row per message.
    assert len(r.out.splitlines()) == 3 and "Line one" in r.out and "line two" not in r.out
    cli("dispatch", "--once")
    assert [m["id"] for m in cli("list", "--state", "scheduled", "--json").json()] != []
    assert cli("list", "--state", "queued", "--json").json() == []
    r = cli("reschedule", msg_id, "--at", _iso(clock, timedelta(hours=5)))
    assert r.code == 0, r.err
    shown = cli("show", msg_id)
    assert "rescheduled" in shown.out and "Line one" in shown.out


def test_preview_counts_and_names_the_culprits(cli: Cli) -> None:
    r = cli("preview", "--text", "Hello “Ann”", "--json")
    assert r.code == 0
    p = r.json()
    assert (p["encoding"], p["segments"], p["characters"]) == ("UCS-2", 1, 11)
    assert p["ucs2_culprits"] == ["“", "”"]
    r = cli("preview", "--text", "-", stdin="a" * 161 + "\n")
    assert "161 characters, 2 segment(s), GSM-7" in r.out


def test_provider_accounts(cli: Cli) -> None:
    r = cli(
        "provider",
        "add",
        "Front desk test",
        "--kind",
        "sandbox",
        "--option",
        "fail_prefix=+1555999",
        "--default",
    )
    assert r.code == 0, r.err
    accounts = {a["name"]: a for a in cli("provider", "list", "--json").json()}
    assert set(accounts) == {"Sandbox", "Front desk test"}
    assert accounts["Front desk test"]["is_default"] is True
    caps = accounts["Sandbox"]["capabilities"]
    assert caps["native_scheduling"] is True and caps["cancel_cutoff_seconds"] == 60
    r = cli("provider", "test", "Front desk test")
    assert r.code == 0 and r.out.startswith("OK: Sandbox")
    r = cli("provider", "remove", "Front desk test")
    assert r.code == 0
    assert [a["name"] for a in cli("provider", "list", "--json").json()] == ["Sandbox"]


def test_removing_an_account_with_pending_messages_is_refused(cli: Cli, clock: ManualClock) -> None:
    cli("schedule", "--to", "+15551234567", "--text", "hi", "--at", _iso(clock, timedelta(hours=1)))
    r = cli("provider", "remove", "Sandbox")
    assert r.code == 1
    assert "still has 1 message(s) to send" in r.err


def test_cancelling_what_was_already_sent_exits_1(cli: Cli, clock: ManualClock) -> None:
    batch = cli(
        "schedule",
        "--to",
        "+15551234567",
        "--text",
        "hi",
        "--at",
        _iso(clock, timedelta(minutes=2)),
        "--json",
    ).json()
    clock.advance(timedelta(minutes=5))
    cli("dispatch", "--once")
    r = cli("cancel", batch["batch_id"])
    assert r.code == 1
    assert "already delivered" in r.out


INVALID = [
    (["--to", "not-a-number"], "not-a-number"),
    (["--to", "+15551234567", "--text", "   "], "The message is empty."),
    (["--at", "2026-11-30T09:00:00+00:00"], "in the past"),
    (["--at", "2028-01-01T09:00:00+00:00"], "365 days"),
    (["--at", "2027-03-14 02:30", "--tz", "America/New_York"], "does not exist"),
    (["--at", "2027-11-07 01:30", "--tz", "America/New_York"], "happens twice"),
    (["--at", "tomorrow-ish"], "tomorrow-ish"),
    (["--tz", "Mars/Olympus"], "Unknown time zone"),
    (["--text", "x" * 1600], "segments long"),
    (["--text", "bad\x00byte"], "control character"),
    (["--provider", "Nope"], "No provider account named 'Nope'"),
    (["--from", "A very long sender name"], "Sender"),
]


@pytest.mark.parametrize(("override", "message"), INVALID)
def test_invalid_schedule_input_exits_2_with_one_line_and_stores_nothing(
    cli: Cli, isolated_home: Path, override: list[str], message: str
) -> None:
    args = {"--to": "+15551234567", "--text": "hi", "--at": "2026-12-01T12:00:00+00:00"}
    args.update(dict(zip(override[::2], override[1::2], strict=True)))
    cli("list")  # create the database first, so "nothing stored" is measurable
    before = _counts(isolated_home)
    r = cli("schedule", *[x for pair in args.items() for x in pair])
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.strip().splitlines()) == 1 and message in r.err, r.err
    assert _counts(isolated_home) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "--to", "+15551234567"],  # missing --text and --at
        ["list", "--state", "lost"],
        ["show", "m-doesnotexist"],
        ["reschedule", "m-doesnotexist", "--at", "2026-12-02T09:00:00+00:00"],
        ["cancel", "b-doesnotexist"],
        ["provider", "add", "X", "--kind", "carrier-pigeon"],
        ["provider", "add", "X", "--kind", "sandbox", "--option", "novalue"],
        ["provider", "test", "Nope"],
        ["frobnicate"],
    ],
)
def test_other_invalid_commands_exit_2(cli: Cli, argv: list[str]) -> None:
    r = cli(*argv)
    assert r.code == 2
    assert len(r.err.strip().splitlines()) == 1, r.err


def test_usage_errors_name_the_command_to_ask_for_help(cli: Cli) -> None:
    r = cli("schedule", "--to", "+15551234567")
    assert r.err.strip() == (
        "smsdesk: the following arguments are required: --at (see 'smsdesk schedule --help')"
    )


def test_the_installed_entry_point(isolated_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run(
        [sys.executable, "-m", "smsdesk", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("smsdesk ")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "smsdesk",
            "schedule",
            "--to",
            "12",
            "--text",
            "hi",
            "--at",
            "2099-01-01T00:00:00Z",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stderr.startswith("smsdesk: ")


def test_dispatch_runs_until_interrupted(isolated_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    agent = subprocess.Popen(
        [sys.executable, "-m", "smsdesk", "dispatch"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert agent.stderr is not None
    assert "running" in agent.stderr.readline()  # it is up: now stop it like Ctrl+C does
    agent.send_signal(signal.SIGINT)
    out, _ = agent.communicate(timeout=30)
    assert agent.returncode == 0
    assert out.strip() == "Dispatch stopped."


def test_gui_without_a_display_says_so(isolated_home: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run(
        [sys.executable, "-m", "smsdesk"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert r.returncode == 1
    assert r.stderr.startswith("smsdesk: no display found")


def test_an_error_quoting_a_pasted_mess_is_still_one_line(cli: Cli) -> None:
    r = cli(
        "schedule",
        "--to",
        "+1 555\n123\x1b[2J",
        "--text",
        "hi",
        "--at",
        "2026-12-01T12:00:00+00:00",
    )
    assert r.code == 2
    assert len(r.err.splitlines()) == 1 and "\x1b" not in r.err
