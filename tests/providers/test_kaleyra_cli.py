"""Kaleyra through the command line and the engine, against the loopback simulator.

Kaleyra cannot cancel or move what it holds, so smsdesk keeps each message on this computer
until the last safe moment (send time − 15 min − margin) and hands it off only then.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.planner import EDGE_MARGIN
from smsdesk.engine.outbox import retry_delay
from smsdesk.store.secrets import SecretStore
from tests.cli_runner import Cli, Run
from tests.simulators.base import Fault
from tests.simulators.kaleyra import DEFAULT_SID, KaleyraSimulator

KEY = "kal-key-5be09c71aa"
TO = "+919876543210"
SENDER = "KLRHXA"
# The planner's last safe hand-off: 15 minutes of Kaleyra notice plus two margins.
HAND_OFF_BEFORE = timedelta(minutes=15) + 2 * EDGE_MARGIN


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[KaleyraSimulator]:
    simulator = KaleyraSimulator(clock, KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


def _add(
    cli: Cli, sim: KaleyraSimulator, name: str = "Kaleyra", key: str = KEY, *extra: str
) -> Run:
    run: Run = cli(
        "provider",
        "add",
        name,
        "--kind",
        "kaleyra",
        "--base-url",
        sim.base_url,
        "--sender",
        SENDER,
        "--option",
        f"sid={DEFAULT_SID}",
        "--option",
        "timeout=1.0",
        *extra,
        "--json",
        stdin=key + "\n",
    )
    return run


@pytest.fixture
def account(cli: Cli, sim: KaleyraSimulator) -> str:
    r = _add(cli, sim, "Kaleyra", KEY, "--default")
    assert r.code == 0, r.err
    return "Kaleyra"


def _schedule(cli: Cli, when: datetime, to: str = TO) -> tuple[str, dict[str, Any]]:
    r = cli(
        "schedule", "--to", to, "--text", "Your appointment", "--at", when.isoformat(), "--json"
    )
    assert r.code == 0, r.err
    [entry] = r.json()["messages"]
    return entry["message"]["id"], entry


def _show(cli: Cli, msg_id: str) -> dict[str, Any]:
    [shown] = cli("show", msg_id, "--json").json()
    return dict(shown)


def _dispatch(cli: Cli) -> dict[str, int]:
    r = cli("dispatch", "--once", "--json")
    assert r.code == 0, r.err
    return dict(r.json())


def _posts(sim: KaleyraSimulator) -> list[tuple[str, str, int | str]]:
    return [entry for entry in sim.log if entry[0] == "POST"]


def _no_key_in_files(home: Path, key: str) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


# -- the account --------------------------------------------------------------------------


def test_add_test_and_list_an_account(
    cli: Cli, sim: KaleyraSimulator, account: str, isolated_home: Path
) -> None:
    _no_key_in_files(isolated_home, KEY)
    r = cli("provider", "test", account)
    assert r.code == 0, r.err
    assert r.out.strip() == (
        f"OK: Kaleyra account {DEFAULT_SID}: the API key and SID were accepted; not checked: "
        "sender ID approval, SMS channel set-up and credit (Kaleyra documents no read-only "
        "call for them)."
    )
    [kal] = [a for a in cli("provider", "list", "--json").json() if a["name"] == account]
    assert kal["kind"] == "kaleyra" and kal["sender"] == SENDER and kal["is_default"]
    assert kal["capabilities"] == {
        "native_scheduling": True,
        "min_lead_seconds": 900.0,
        "horizon_seconds": 89 * 86400.0,
        "native_reschedule": False,
        "cancel_cutoff_seconds": None,
        "batch_size": 1,
        "rate_limit_per_second": None,
        "server_preview": False,
        "lookup_by_key": False,
    }
    _no_key_in_files(isolated_home, KEY)


def test_a_wrong_key_fails_the_test_clearly(
    cli: Cli, sim: KaleyraSimulator, isolated_home: Path
) -> None:
    wrong = "not-the-key-0042"
    assert _add(cli, sim, "Wrong", wrong).code == 0
    r = cli("provider", "test", "Wrong")
    assert r.code == 1
    assert "Kaleyra refused the API key or account (401)" in r.err
    assert wrong not in r.err + r.out
    _no_key_in_files(isolated_home, wrong)


def test_an_account_without_a_sid_is_refused_when_added(cli: Cli, sim: KaleyraSimulator) -> None:
    r = cli(
        "provider",
        "add",
        "NoSid",
        "--kind",
        "kaleyra",
        "--base-url",
        sim.base_url,
        stdin=KEY + "\n",
    )
    assert r.code == 2 and "account SID" in r.err
    assert [a["name"] for a in cli("provider", "list", "--json").json()] == ["Sandbox"]
    assert SecretStore().get("NoSid") is None
    assert sim.log == []


def test_preview_is_local_only(cli: Cli, account: str, sim: KaleyraSimulator) -> None:
    r = cli("preview", "--text", "Hello", "--provider", account, "--json")
    assert r.code == 0, r.err
    p = r.json()
    assert (p["segments"], p["encoding"], p["server"], p["provider"]) == (1, "GSM-7", None, account)
    assert sim.log == []


# -- held here until the last safe moment ---------------------------------------------------


def test_held_on_this_computer_then_cancelled_never_reaches_kaleyra(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    send_at = clock.now() + timedelta(days=2)
    msg_id, entry = _schedule(cli, send_at)
    assert entry["handling_text"].startswith("Held on this computer until")
    assert entry["handling_text"].endswith("then handed to Kaleyra.")
    assert _dispatch(cli)["handed_off"] == 0
    shown = _show(cli, msg_id)
    assert (shown["state"], shown["where"]) == ("queued", "on this computer")
    r = cli("cancel", msg_id)
    assert r.code == 0 and "cancelled" in r.out
    clock.set(send_at + timedelta(minutes=1))
    _dispatch(cli)
    assert _show(cli, msg_id)["state"] == "cancelled"
    assert _posts(sim) == [] and sim.messages == {}


def test_handed_off_at_the_last_safe_moment_then_delivered(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    send_at = clock.now() + timedelta(days=2)
    msg_id, _ = _schedule(cli, send_at)
    _dispatch(cli)
    clock.set(send_at - HAND_OFF_BEFORE - timedelta(seconds=1))
    assert _dispatch(cli)["handed_off"] == 0
    assert _show(cli, msg_id)["state"] == "queued"
    clock.advance(timedelta(seconds=1))
    assert _dispatch(cli)["handed_off"] == 1
    shown = _show(cli, msg_id)
    assert (shown["state"], shown["where"]) == ("scheduled", "at provider")
    kept = sim.message_to(TO)
    assert shown["provider_ref"] == kept.message_id
    assert (kept.send_at, kept.sender, kept.type) == (send_at, SENDER, "TXN")
    clock.set(send_at + timedelta(minutes=1))
    _dispatch(cli)
    shown = _show(cli, msg_id)
    assert shown["state"] == "delivered"
    assert [e["kind"] for e in shown["events"]] == [
        "created",
        "handing_off",
        "handed_off",
        "status",
    ]
    assert sim.creates_by_recipient() == {TO: 1}


def test_reschedule_while_held_is_local_and_moves_the_hand_off(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    msg_id, _ = _schedule(cli, clock.now() + timedelta(days=2))
    _dispatch(cli)
    later = clock.now() + timedelta(days=3)
    r = cli("reschedule", msg_id, "--at", later.isoformat())
    assert r.code == 0 and "rescheduled" in r.out
    assert sim.log == []
    clock.set(later - HAND_OFF_BEFORE)
    assert _dispatch(cli)["handed_off"] == 1
    assert sim.message_to(TO).send_at == later


def test_once_kaleyra_holds_it_cancel_and_reschedule_say_why_not(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    send_at = clock.now() + timedelta(hours=3)
    msg_id, _ = _schedule(cli, send_at)
    clock.set(send_at - HAND_OFF_BEFORE)
    _dispatch(cli)
    assert _show(cli, msg_id)["state"] == "scheduled"
    r = cli("cancel", msg_id)
    assert r.code == 1
    assert "Kaleyra cannot cancel a message it already holds" in r.out
    r = cli("reschedule", msg_id, "--at", (send_at + timedelta(hours=1)).isoformat())
    assert r.code == 1
    assert "Kaleyra cannot cancel a message it already holds" in r.out
    shown = _show(cli, msg_id)
    assert shown["state"] == "scheduled"
    assert datetime.fromisoformat(shown["send_at"]) == send_at
    assert sim.creates_by_recipient() == {TO: 1}


@pytest.mark.parametrize(
    ("ahead", "at_once"),
    [(timedelta(minutes=16), True), (timedelta(minutes=15, seconds=59), False)],
)
def test_short_notice_goes_now_or_is_sent_at_its_time(
    cli: Cli,
    clock: ManualClock,
    account: str,
    sim: KaleyraSimulator,
    ahead: timedelta,
    at_once: bool,
) -> None:
    send_at = clock.now() + ahead
    msg_id, _ = _schedule(cli, send_at)
    _dispatch(cli)
    if at_once:
        # Still inside Kaleyra's window (15 min + margin): it schedules it.
        assert _show(cli, msg_id)["state"] == "scheduled"
        assert "time" in sim.creates[0]
        return
    # Too close for Kaleyra's 15 minutes: held here and sent with a plain send on time.
    assert _show(cli, msg_id)["state"] == "queued" and sim.log == []
    clock.set(send_at)
    _dispatch(cli)
    assert _show(cli, msg_id)["state"] == "sent"
    assert "time" not in sim.creates[0]


# -- Kaleyra's per-message refusals and failures -------------------------------------------


def test_a_refused_number_fails_alone_with_kaleyras_reason(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    sim.blocked.add("+919811111111")
    send_at = clock.now() + timedelta(hours=1)
    bad, _ = _schedule(cli, send_at, to="+919811111111")
    good, _ = _schedule(cli, send_at)
    clock.set(send_at - HAND_OFF_BEFORE)
    report = _dispatch(cli)
    assert (report["failed"], report["handed_off"]) == (1, 1)
    shown = _show(cli, bad)
    assert shown["state"] == "failed"
    assert shown["last_error"] == "Kaleyra refused the request: The number is not valid. [E413]"
    assert _show(cli, good)["state"] == "scheduled"


def test_a_failing_number_is_reported_failed_after_its_time(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    send_at = clock.now() + timedelta(hours=1)
    msg_id, _ = _schedule(cli, send_at, to="+919990001234")
    clock.set(send_at - HAND_OFF_BEFORE)
    _dispatch(cli)
    clock.set(send_at + timedelta(minutes=1))
    _dispatch(cli)
    shown = _show(cli, msg_id)
    assert shown["state"] == "failed" and shown["last_error"] == "Number unreachable"


# -- faults at the create request -------------------------------------------------------------


def _due_now(cli: Cli, clock: ManualClock) -> tuple[str, datetime]:
    send_at = clock.now() + timedelta(hours=2)
    msg_id, _ = _schedule(cli, send_at)
    clock.set(send_at - HAND_OFF_BEFORE)
    return msg_id, send_at


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_a_busy_kaleyra_is_retried_and_the_message_scheduled_once(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator, fault: Fault
) -> None:
    msg_id, _ = _due_now(cli, clock)
    sim.inject(fault, match="POST")
    # Not repeated inside the call: the engine backs off, then hands it off once.
    assert _dispatch(cli)["retrying"] == 1
    assert _show(cli, msg_id)["state"] == "queued"
    clock.advance(retry_delay(1, 1.0))
    assert _dispatch(cli)["handed_off"] == 1
    assert _show(cli, msg_id)["state"] == "scheduled"
    assert sim.creates_by_recipient() == {TO: 1}
    assert [p[2] for p in _posts(sim)] == [fault, "ok"]


def test_a_long_outage_backs_off_then_schedules_once(
    cli: Cli, clock: ManualClock, account: str, sim: KaleyraSimulator
) -> None:
    msg_id, send_at = _due_now(cli, clock)
    sim.inject(Fault.UNAVAILABLE, times=3, match="POST")
    for attempt in (1, 2, 3):
        assert _dispatch(cli)["retrying"] == 1
        shown = _show(cli, msg_id)
        assert shown["state"] == "queued"
        assert shown["last_error"] == "Kaleyra is unavailable (503)."
        clock.advance(retry_delay(attempt, None))
    # Kaleyra's 15-minute window closed meanwhile: it is sent from here at its time, once.
    assert _dispatch(cli)["held"] == 1
    clock.set(send_at)
    assert _dispatch(cli)["handed_off"] == 1
    assert _show(cli, msg_id)["state"] in ("sent", "delivered")
    assert sim.creates_by_recipient() == {TO: 1}
    assert len(_posts(sim)) == 4


@pytest.mark.parametrize(
    ("fault", "created"),
    [
        (Fault.SERVER_ERROR, 0),
        (Fault.RESET, 0),
        (Fault.TIMEOUT, 1),
        (Fault.MALFORMED, 1),
        (Fault.LOST, 1),
    ],
)
def test_an_unclear_outcome_is_flagged_for_the_user_and_never_resent(
    cli: Cli,
    clock: ManualClock,
    account: str,
    sim: KaleyraSimulator,
    isolated_home: Path,
    fault: Fault,
    created: int,
) -> None:
    msg_id, send_at = _due_now(cli, clock)
    sim.inject(fault, match="POST")
    assert _dispatch(cli)["unknown"] == 1
    assert _show(cli, msg_id)["state"] == "unknown"
    # Kaleyra cannot be asked by our reference: the next pass hands it to the user.
    clock.advance(timedelta(minutes=1))
    _dispatch(cli)
    shown = _show(cli, msg_id)
    assert shown["state"] == "unknown"
    assert shown["attention"] and "Kaleyra cannot be asked" in shown["attention"]
    # Time passes, passes run: nothing is sent again.
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        _dispatch(cli)
    assert clock.now() > send_at
    assert _show(cli, msg_id)["state"] == "unknown"
    assert len(_posts(sim)) == 1
    assert sim.creates_by_recipient() == ({TO: 1} if created else {})
    _no_key_in_files(isolated_home, KEY)
