"""The command line tells the same truth as the engine: every message can be listed (in
pages, with a header, saying when there are more), why a message failed is in ``list``,
``show`` and the dispatch summary, options are found wherever they are written, account
names are forgiving about case, and a reader that goes away early causes no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from tests.cli_runner import Cli, run_cli
from tests.simulators.telnyx import TelnyxSimulator

ROOT = Path(__file__).resolve().parents[2]
FAILING = "+15550001234"  # the Sandbox fails numbers starting with +1555000
REASON = "Sandbox: numbers starting +1555000 are set up to fail"


def _numbers(count: int) -> list[str]:
    return [f"+1555123{i:04d}" for i in range(count)]


def _many(service: Service, clock: ManualClock, count: int, text: str = "Reminder") -> None:
    service.schedule(_numbers(count), text, clock.now() + timedelta(hours=1), "UTC")


# -- list: every message, in pages --------------------------------------------------------


def test_list_has_a_header_and_pages_and_says_when_more_exist(
    cli: Cli, service: Service, clock: ManualClock
) -> None:
    _many(service, clock, 7)
    first = cli("list", "--limit", "3")
    assert first.code == 0, first.err
    header, *rows = first.out.splitlines()
    assert header.split()[:4] == ["ID", "SEND", "TIME", "RECIPIENT"]
    assert [r.split()[0] for r in rows] == [m.id for m in service.list_messages()[:3]]
    assert first.err.strip() == (
        "smsdesk: showing messages 1–3 of 7; the next ones with --offset 3, or all with --limit 0"
    )
    last = cli("list", "--limit", "3", "--offset", "6")
    assert len(last.out.splitlines()) == 2 and last.err == ""  # header and the 7th; no more
    everything = cli("list", "--limit", "0")
    assert len(everything.out.splitlines()) == 8 and everything.err == ""
    past = cli("list", "--offset", "9")
    assert past.out.strip() == "No messages after the first 9; there are 7." and past.code == 0
    page = cli("list", "--json", "--limit", "2", "--offset", "2")
    assert [m["id"] for m in page.json()] == [m.id for m in service.list_messages()[2:4]]
    assert "showing messages 3–4 of 7" in page.err  # the notice never spoils the JSON


def test_list_has_no_silent_cap(cli: Cli, service: Service, clock: ManualClock) -> None:
    _many(service, clock, 501)
    default = cli("list", "--json")
    assert len(default.json()) == 500
    assert "showing messages 1–500 of 501" in default.err
    assert len(cli("list", "--json", "--limit", "0").json()) == 501


@pytest.mark.parametrize("value", ["-1", "ten"])
def test_a_bad_limit_is_one_line_and_exit_2(cli: Cli, value: str) -> None:
    r = cli("list", "--limit", value)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("smsdesk: argument --limit:") and len(r.err.splitlines()) == 1


# -- why it failed --------------------------------------------------------------------------


def test_a_failure_says_why_in_dispatch_list_and_show(cli: Cli, clock: ManualClock) -> None:
    at = (clock.now() + timedelta(minutes=1)).isoformat()
    batch = cli("schedule", "--to", FAILING, "--text", "Running late", "--at", at, "--json")
    msg_id = batch.json()["messages"][0]["message"]["id"]
    clock.advance(timedelta(minutes=2))  # due before it was handed off: sent at once
    report = cli("dispatch", "--once")
    assert "handed off 0, failed 1," in report.out, report.out
    header, row = cli("list").out.splitlines()
    assert header.endswith("PROBLEM") and row.startswith(msg_id) and row.endswith(REASON)
    shown = cli("show", msg_id).out.splitlines()
    assert f"  why it failed: {REASON}" in shown
    [history] = [line for line in shown if " failed " in line and "sbx-" in line]
    assert history.endswith(f"but it failed: {REASON}") and "accepted" not in history


def test_a_failure_at_telnyx_keeps_its_code_and_is_counted(cli: Cli, clock: ManualClock) -> None:
    sim = TelnyxSimulator(clock, api_key="KEY-telnyx-test")
    sim.start()
    try:
        assert cli("settings", "--quiet-mode", "off").code == 0
        add = cli(
            "provider", "add", "Telnyx", "--kind", "telnyx", "--base-url", sim.base_url,
            "--sender", "+12025550100", "--option", "timeout=1.0", "--default",
            stdin="KEY-telnyx-test\n",
        )  # fmt: skip
        assert add.code == 0, add.err
        at = (clock.now() + timedelta(minutes=30)).isoformat()
        sent = cli("schedule", "--to", "+12025550001", "--text", "Hi", "--at", at, "--json")
        msg_id = sent.json()["messages"][0]["message"]["id"]
        assert cli("dispatch", "--once", "--json").json()["handed_off"] == 1
        clock.advance(timedelta(minutes=31))
        report = cli("dispatch", "--once", "--json").json()
        assert (report["status_changes"], report["failed"]) == (1, 1)
        row = cli("list").out.splitlines()[1]
        assert row.endswith("Carrier rejected (code 40008)"), row
        assert "  why it failed: Carrier rejected (code 40008)" in cli("show", msg_id).out
    finally:
        sim.stop()


# -- options and names -----------------------------------------------------------------------


def test_json_is_accepted_before_or_after_the_command(cli: Cli) -> None:
    placements = [
        ["--json", "list"],
        ["list", "--json"],
        ["--json", "provider", "list"],
        ["provider", "--json", "list"],
        ["provider", "list", "--json"],
    ]
    for argv in placements:
        r = cli(*argv)
        assert r.code == 0, (argv, r.err)
        assert isinstance(r.json(), list), argv
    assert cli("provider", "list").out.startswith("* Sandbox")  # without it: text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["schedule", "--to", "+15551234567", "--txt", "hi", "--at", "2026-12-01 12:00"],
            "smsdesk: unknown option(s): --txt (see 'smsdesk schedule --help')",
        ),
        (["list", "--txt"], "smsdesk: unknown option(s): --txt (see 'smsdesk list --help')"),
        (
            ["provider", "list", "--jsn"],
            "smsdesk: unknown option(s): --jsn (see 'smsdesk provider list --help')",
        ),
        (  # "x" is read as the command: still the typo is what is reported
            ["provider", "--nmae", "x", "test"],
            "smsdesk: unknown option(s): --nmae (see 'smsdesk provider --help')",
        ),
    ],
)
def test_an_unknown_option_is_named_as_unknown(cli: Cli, argv: list[str], expected: str) -> None:
    r = cli(*argv)
    assert (r.code, r.out, r.err.strip()) == (2, "", expected)


def test_account_names_are_matched_whatever_their_case(cli: Cli, clock: ManualClock) -> None:
    assert cli("provider", "add", "Front Desk", "--kind", "sandbox").code == 0
    at = (clock.now() + timedelta(hours=1)).isoformat()
    r = cli("schedule", "--to", "+15551234567", "--text", "Hi", "--at", at,
            "--provider", "front desk", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert r.json()["messages"][0]["message"]["provider"] == "Front Desk"
    assert cli("provider", "test", "SANDBOX").code == 0
    assert cli("preview", "--text", "Hi", "--provider", "sandbox").code == 0
    missing = cli("provider", "test", "Back Desk")
    assert missing.code == 2
    assert missing.err.strip() == (
        "smsdesk: No provider account named 'Back Desk'; the accounts are: Front Desk, Sandbox."
    )


def test_provider_list_says_what_each_provider_can_do_in_words(cli: Cli) -> None:
    assert cli("provider", "add", "Telnyx", "--kind", "telnyx", "--sender", "+12025550100",
               stdin="KEY-x\n").code == 0  # fmt: skip
    out = cli("provider", "list").out
    sandbox, telnyx = _blocks(out)["Sandbox"], _blocks(out)["Telnyx"]
    assert "minimum lead:   none" in sandbox
    assert "horizon:        365 days ahead (farther: held on this computer until then)" in sandbox
    assert "cancel cut-off: until 1 minute before the send time" in sandbox
    assert "preview:        counted on this computer (the provider has none)" in sandbox
    assert "batch size:     1,000 messages per request" in sandbox
    assert "minimum lead:   5 minutes before the send time" in telnyx
    assert "horizon:        5 days ahead" in telnyx
    assert "batch size:     1 message per request" in telnyx
    assert "reschedule by cancelling and creating anew" in telnyx


def _blocks(out: str) -> dict[str, str]:
    """The text under each account's line, by account name."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if line.startswith("    "):
            current.append(line.strip())
        elif line[2:].strip() and not line.startswith("* the default"):
            current = blocks.setdefault(line[2:].split()[0], [])
    return {name: "\n".join(lines) for name, lines in blocks.items()}


# -- a reader that goes away --------------------------------------------------------------


@pytest.fixture
def lots(service: Service, clock: ManualClock) -> Iterator[int]:
    """Enough messages that their listing cannot fit in a pipe's buffer."""
    _many(service, clock, 1200, text="A reminder long enough to make every row of the list wide")
    yield 1200


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (["list", "--json"], "["),
        (["list", "--limit", "0"], "ID "),  # plain rows are short: all of them, to be many
    ],
)
def test_a_reader_that_stops_early_causes_no_traceback(
    lots: int, clock: ManualClock, argv: list[str], first_line: str
) -> None:
    # The listing is far more than a pipe holds (64 KiB) and what head reads at once: the
    # writer must meet the closed pipe, which is the point of this test.
    assert len(run_cli(clock, *argv).out) > 2 * 65536
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-m", "smsdesk", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdout is not None and writer.stderr is not None
    head = subprocess.Popen(["head", "-1"], stdin=writer.stdout, stdout=subprocess.PIPE)
    writer.stdout.close()  # only head reads it now: once head exits, the pipe is closed
    first, _ = head.communicate(timeout=60)
    errors = writer.stderr.read().decode()
    writer.stderr.close()
    assert writer.wait(timeout=60) == 1  # cut short: not a success
    assert first.decode().startswith(first_line)
    assert errors == ""  # no traceback, no "Exception ignored", no notice into the void
