"""``smsdesk replies [--unread] [--json]`` over the real database, with replies pulled by
``smsdesk dispatch --once`` from the loopback Twilio."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from smsdesk.core.clock import ManualClock
from tests.cli_runner import Cli
from tests.engine.reply_setup import PATIENT, TOKEN, twilio_serving
from tests.simulators.twilio import ACCOUNT_SID, POOL, SERVICE_SID, TwilioSimulator

STRANGER = "+12025550188"


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioSimulator]:
    yield from twilio_serving(clock)


def _setup(cli: Cli, twilio: TwilioSimulator, clock: ManualClock) -> tuple[str, datetime]:
    args = ["provider", "add", "Twilio", "--kind", "twilio", "--base-url", twilio.base_url]
    args += ["--option", f"account_sid={ACCOUNT_SID}"]
    args += ["--option", f"messaging_service_sid={SERVICE_SID}", "--option", "timeout=1.0"]
    assert cli(*args, "--default", stdin=TOKEN + "\n").code == 0
    assert cli("settings", "--quiet-mode", "off").code == 0
    at = (clock.now() + timedelta(hours=1)).isoformat()
    run = cli("schedule", "--to", PATIENT, "--text", "See you Tuesday", "--at", at)
    assert run.code == 0, run.err
    msg_id = run.out.splitlines()[-1].split()[0]
    assert cli("dispatch", "--once").code == 0
    clock.advance(timedelta(hours=2))
    stopped = clock.now().replace(microsecond=0) - timedelta(minutes=2)  # Twilio: whole seconds
    twilio.receive(PATIENT, POOL[0], "STOP", stopped)
    twilio.receive(STRANGER, POOL[0], "Is this the dentist?", stopped + timedelta(minutes=1))
    assert cli("dispatch", "--once").code == 0
    return msg_id, stopped


def test_replies_json_items_carry_what_the_issue_names(
    cli: Cli, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    msg_id, stopped = _setup(cli, twilio, clock)
    run = cli("replies", "--json")
    assert run.code == 0, run.err
    items = run.json()
    # What the issue names, and what smsdesk did (detail) and sent back (answer).
    named = {"from", "to", "text", "received_at", "account", "message_id", "action"}
    assert [set(i) for i in items] == [named | {"detail", "answer"}] * 2
    newest, oldest = items
    assert oldest.pop("detail").startswith("opted out: nothing more is handed off")
    assert oldest.pop("answer") is None
    assert oldest == {
        "from": PATIENT,
        "to": POOL[0],
        "text": "STOP",
        "received_at": stopped.isoformat(),
        "account": "Twilio",
        "message_id": msg_id,
        "action": "opted_out",
    }
    assert (newest["from"], newest["message_id"], newest["action"]) == (STRANGER, None, None)
    text = cli("replies", "--unread")
    assert text.code == 0 and "opted out" in text.out and "Is this the dentist?" in text.out
    only = cli("replies", "--action", "opted_out", "--json").json()
    assert [i["from"] for i in only] == [PATIENT]


def test_replies_bad_action_is_one_line_and_exit_2(cli: Cli) -> None:
    run = cli("replies", "--action", "maybe")
    assert run.code == 2
    assert run.err.count("\n") == 1 and "Traceback" not in run.err


def test_no_replies_says_so(cli: Cli) -> None:
    run = cli("replies", "--unread")
    assert (run.code, run.out.strip()) == (0, "No unread replies.")


def test_provider_list_says_which_accounts_collect_replies(cli: Cli) -> None:
    args = ["--base-url", "http://127.0.0.1:9"]  # never asked: listing opens no connection
    assert cli("provider", "add", "Telnyx", "--kind", "telnyx", *args, stdin="KEY-tx\n").code == 0
    kaleyra = ["--option", "sid=HXAP1234567890IN", "--option", "region=IN"]
    run = cli("provider", "add", "Kaleyra", "--kind", "kaleyra", *kaleyra, stdin="key-kl\n")
    assert run.code == 0, run.err
    twilio_opts = ["--option", f"account_sid={ACCOUNT_SID}"]
    twilio_opts += ["--option", f"messaging_service_sid={SERVICE_SID}"]
    run = cli("provider", "add", "Twilio", "--kind", "twilio", *twilio_opts, stdin=TOKEN + "\n")
    assert run.code == 0, run.err
    listed = {a["name"]: a["replies"] for a in cli("provider", "list", "--json").json()}
    assert listed["Telnyx"] == listed["Kaleyra"] == "not available without a webhook"
    assert listed["Twilio"].startswith("collected by smsdesk")
    text = cli("provider", "list").out
    assert text.count("replies:        not available without a webhook") == 2


def test_the_reply_window_is_a_setting_and_bad_days_change_nothing(cli: Cli) -> None:
    assert "up to 7 days old" in cli("settings").out
    for bad in ("0", "91"):
        run = cli("settings", "--reply-days", bad)
        assert run.code == 2 and run.out == ""
        assert run.err.strip().count("\n") == 0 and "1 to 90 days" in run.err
    assert cli("settings", "--reply-days", "30").code == 0
    assert "up to 30 days old" in cli("settings").out
