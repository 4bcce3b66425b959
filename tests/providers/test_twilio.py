"""Twilio through the command line and the engine, against the loopback simulator: the account,
the hybrid hand-off (15 minutes .. 35 days at Twilio, the rest from this computer), cancel,
reschedule as cancel + create, statuses and failure reasons.

The simulator and smsdesk share one ManualClock: moving it makes time pass for both.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from tests.cli_runner import Run
from tests.providers.one_by_one_setup import Desk as OneByOneDesk
from tests.providers.test_twilio_client import OPTED, OTHER, SENDER, TO, TOKEN, sim
from tests.simulators.twilio import ACCOUNT_SID, SERVICE_SID, TwilioSimulator

__all__ = ["sim"]  # the simulator fixture, shared with test_twilio_client.py
FAILING = "+12025550007"  # the simulator's fail prefix +1202555000


class Desk(OneByOneDesk[TwilioSimulator]):
    """The command line of one smsdesk home, with a Twilio account on the simulator."""

    to = TO

    def add(self, *extra: str, token: str = TOKEN, code: int = 0) -> Run:
        args = ["provider", "add", "Twilio", "--kind", "twilio", "--base-url", self.sim.base_url]
        args += ["--sender", SENDER, "--option", f"account_sid={ACCOUNT_SID}"]
        args += ["--option", f"messaging_service_sid={SERVICE_SID}"]
        args += ["--option", "timeout=1.0", "--default", *extra]
        run = self.cli(*args, stdin=token + "\n")
        assert run.code == code, run.err
        return run


@pytest.fixture
def desk(clock: ManualClock, sim: TwilioSimulator) -> Desk:
    return Desk(clock, sim)


# -- the account ----------------------------------------------------------------------------


def test_add_keeps_the_token_out_of_every_file_and_lists_capabilities(
    desk: Desk, isolated_home: Path
) -> None:
    run = desk.add()
    assert "API key is in the system keyring" in run.out and TOKEN not in run.out
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    accounts = {a["name"]: a for a in desk.cli("provider", "list", "--json").json()}
    assert accounts["Twilio"]["kind"] == "twilio"
    assert accounts["Twilio"]["capabilities"] == {
        "native_scheduling": True,
        "min_lead_seconds": 900.0,
        "horizon_seconds": 35 * 86400.0,
        "native_reschedule": False,
        "cancel_cutoff_seconds": 0.0,
        "batch_size": 1,
        "rate_limit_per_second": 10.0,
        "server_preview": False,
        "lookup_by_key": False,
    }
    run = desk.cli("provider", "test", "Twilio")
    assert run.code == 0, run.err
    assert "Twilio account AC…1659 accepted the credentials" in run.out
    assert desk.sim.creates_by_recipient() == {}


def test_a_wrong_token_is_a_clear_error_that_never_shows_it(desk: Desk) -> None:
    wrong = "twtoken-wrong-3e9d"
    desk.add(token=wrong)
    run = desk.cli("provider", "test", "Twilio")
    assert run.code == 1 and "Twilio refused the API key or account (401)" in run.err
    assert wrong not in run.err + run.out
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    shown = desk.show(msg_id)
    # Not handed off (whether the engine fails it or holds it for a fixed key is its own
    # policy); the reason is Twilio's refusal, and the token shows nowhere.
    assert shown["state"] in ("queued", "failed") and shown["provider_ref"] is None
    assert "Twilio refused the API key or account (401)" in shown["last_error"]
    assert wrong not in json.dumps(shown)
    assert desk.sim.creates_by_recipient() == {}


def test_an_account_without_its_sids_is_refused_and_nothing_is_stored(desk: Desk) -> None:
    args = ["provider", "add", "Twilio", "--kind", "twilio", "--base-url", desk.sim.base_url]
    run = desk.cli(*args, "--option", f"account_sid={ACCOUNT_SID}", stdin=TOKEN + "\n")
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1
    assert "Messaging Service SID (messaging_service_sid)" in run.err and TOKEN not in run.err
    # A malformed SID is refused by the client's own check.
    run = desk.cli(
        *args,
        "--option",
        f"account_sid={ACCOUNT_SID}",
        "--option",
        "messaging_service_sid=MG123",
        stdin=TOKEN + "\n",
    )
    assert run.code == 2
    assert run.err.strip() == (
        "smsdesk: Option messaging_service_sid='MG123' is not a Twilio Messaging Service SID "
        "(MG followed by 32 hexadecimal characters)."
    )
    assert [a["name"] for a in desk.cli("provider", "list", "--json").json()] == ["Sandbox"]


def test_the_account_form_is_built_from_twilios_declared_options(service: Service) -> None:
    form = service.accounts.account_form("twilio")
    assert form.title == "Twilio" and form.needs_key and not form.needs_base_url
    fields = {f.name: f for f in form.options}
    assert list(fields) == [
        "account_sid",
        "messaging_service_sid",
        "api_key_sid",
        "reply_numbers",
        "timeout",
    ]
    assert fields["account_sid"].required and fields["messaging_service_sid"].required
    assert not fields["api_key_sid"].required
    assert "Auth Token" in fields["account_sid"].help
    assert "only through a Messaging Service" in fields["messaging_service_sid"].help
    words = dict(form.capabilities)
    assert words["Minimum lead"].startswith("15 minutes")
    assert words["Horizon"].startswith("35 days ahead")
    assert words["Cancel cut-off"] == "until the provider starts sending it"
    assert words["Moving a message"] == "cancelled and handed off again"
    assert ("twilio", "Twilio") in service.account_kinds()


# -- the hybrid hand-off --------------------------------------------------------------------


def test_scheduled_at_twilio_then_delivered(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(hours=2))
    assert desk.dispatch()["handed_off"] == 1
    shown = desk.show(msg_id)
    assert (shown["state"], shown["where"]) == ("scheduled", "at provider")
    [held] = desk.sim.live()
    assert shown["provider_ref"] == held.sid
    assert (held.sender, held.to, held.service) == (SENDER, TO, SERVICE_SID)
    assert held.send_at == clock.now() + timedelta(hours=2)
    clock.advance(timedelta(hours=2, minutes=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "delivered"
    assert desk.sim.creates_by_recipient() == {TO: 1}


@pytest.mark.parametrize(
    ("ahead", "at_twilio"),
    [
        # The planner keeps a minute of slack over Twilio's 15 minutes.
        (timedelta(minutes=16), True),
        (timedelta(minutes=15, seconds=59), False),
        (timedelta(minutes=15), False),
    ],
)
def test_the_fifteen_minute_edge(
    desk: Desk, clock: ManualClock, ahead: timedelta, at_twilio: bool
) -> None:
    desk.add()
    msg_id = desk.schedule(ahead)
    desk.dispatch()
    if at_twilio:
        assert desk.show(msg_id)["where"] == "at provider"
        [form] = desk.sim.create_forms
        assert form["ScheduleType"] == "fixed"
        return
    # Held here and sent by this computer at its time, as a plain send.
    assert desk.sim.creates_by_recipient() == {}
    assert desk.show(msg_id)["where"] == "on this computer"
    clock.advance(ahead - timedelta(seconds=1))
    desk.dispatch()
    assert desk.sim.creates_by_recipient() == {}
    clock.advance(timedelta(seconds=1))
    assert desk.dispatch()["handed_off"] == 1
    [form] = desk.sim.create_forms
    assert "SendAt" not in form and form["MessagingServiceSid"] == SERVICE_SID
    assert desk.show(msg_id)["state"] == "sent"
    clock.advance(timedelta(minutes=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "delivered"


def test_beyond_35_days_is_held_here_and_handed_over_inside_the_window(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    send_at = clock.now() + timedelta(days=40)
    msg_id = desk.schedule(timedelta(days=40))
    desk.dispatch()
    assert desk.show(msg_id)["where"] == "on this computer"
    clock.advance(timedelta(days=5))
    desk.dispatch()
    assert desk.sim.creates_by_recipient() == {}  # one minute of margin is still missing
    clock.advance(timedelta(minutes=1))
    assert desk.dispatch()["handed_off"] == 1
    [held] = desk.sim.live()
    assert held.send_at == send_at
    [form] = desk.sim.create_forms
    assert form["SendAt"] == send_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert desk.show(msg_id)["state"] == "scheduled"


# -- failures -------------------------------------------------------------------------------


def test_an_undelivered_message_fails_with_twilios_reason(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=30), FAILING)
    desk.dispatch()
    clock.advance(timedelta(minutes=31))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "failed"
    assert "Unreachable destination handset (code 30003)" in shown["last_error"]


def test_an_opted_out_recipient_fails_alone_and_the_queue_goes_on(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    run = desk.cli(
        "schedule", "--to", f"{OPTED},{TO}", "--text", "Hi", "--at", desk.at(timedelta(minutes=5))
    )
    assert run.code == 0, run.err
    clock.advance(timedelta(minutes=5))  # sent from here: Twilio refuses the opted-out one
    report = desk.dispatch()
    assert (report["failed"], report["handed_off"]) == (1, 1)
    by_to = {m["recipient"]: m for m in desk.cli("list", "--json").json()}
    assert by_to[TO]["state"] == "sent"
    assert by_to[OPTED]["state"] == "failed" and "opted out" in by_to[OPTED]["last_error"]
    assert desk.sim.creates_by_recipient() == {TO: 1}


def test_a_stop_after_scheduling_fails_at_send_time_and_opts_the_number_out(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=30), OTHER)
    desk.dispatch()
    desk.sim.opt_out(OTHER)  # Twilio does not cancel what it already holds
    clock.advance(timedelta(minutes=31))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "failed" and "opted out" in shown["last_error"]
    run = desk.cli(
        "schedule", "--to", OTHER, "--text", "Again", "--at", desk.at(timedelta(hours=1))
    )
    assert run.code == 2 and "opted out" in run.err
    assert desk.sim.creates_by_recipient() == {OTHER: 1}


def test_preview_is_counted_here_and_asks_twilio_nothing(desk: Desk) -> None:
    desk.add()
    run = desk.cli("preview", "--provider", "Twilio", "--text", "Hello there", "--json")
    assert run.code == 0, run.err
    preview = run.json()
    assert (preview["provider"], preview["server"], preview["segments"]) == ("Twilio", None, 1)
    assert desk.sim.log == []


# -- cancel and reschedule ------------------------------------------------------------------


def test_cancel_at_twilio(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    run = desk.cli("cancel", msg_id)
    assert run.code == 0 and "cancelled at Twilio" in run.out
    assert desk.sim.live() == []
    clock.advance(timedelta(hours=2))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "cancelled"
    [gone] = desk.sim.messages.values()
    assert gone.canceled


def test_cancel_once_twilio_has_sent_it_is_refused_and_status_catches_up(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=20))
    desk.dispatch()
    clock.advance(timedelta(minutes=20))
    run = desk.cli("cancel", msg_id)
    assert run.code == 1 and "no longer scheduled" in run.out and "30409" in run.out
    clock.advance(timedelta(minutes=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "delivered"


def test_reschedule_cancels_at_twilio_and_creates_one_new_message_never_two_live(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    [old] = desk.sim.live()
    new_time = clock.now() + timedelta(hours=3)
    run = desk.cli("reschedule", msg_id, "--at", new_time.isoformat())
    assert run.code == 0, run.out
    assert desk.sim.live() == []  # withdrawn before anything new exists: never two
    assert desk.show(msg_id)["state"] == "queued"
    desk.dispatch()
    [new] = desk.sim.live()
    assert new.sid != old.sid and new.send_at == new_time and old.canceled
    shown = desk.show(msg_id)
    assert (shown["state"], shown["provider_ref"]) == ("scheduled", new.sid)
    assert desk.sim.creates_by_recipient() == {TO: 2}  # the canceled one and its successor
    clock.advance(timedelta(hours=3, minutes=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "delivered"
    assert [m.sid for m in desk.sim.messages.values() if not m.canceled] == [new.sid]


def test_reschedule_to_within_fifteen_minutes_is_held_here_after_the_cancel(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    run = desk.cli("reschedule", msg_id, "--at", desk.at(timedelta(minutes=10)))
    assert run.code == 0, run.out
    assert desk.sim.live() == []
    desk.dispatch()
    assert desk.show(msg_id)["where"] == "on this computer"
    clock.advance(timedelta(minutes=10))
    assert desk.dispatch()["handed_off"] == 1
    assert "SendAt" not in desk.sim.create_forms[-1]
    assert desk.sim.creates_by_recipient() == {TO: 2}
