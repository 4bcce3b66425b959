"""The command line with an Infobip account pointed at the loopback simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.providers.infobip import split_ref
from tests.cli_runner import Cli
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
ANN, BOB = "+41793026727", "+41793026834"


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def account(cli: Cli, sim: InfobipSimulator) -> str:
    r = cli(
        "provider",
        "add",
        "Infobip",
        "--kind",
        "infobip",
        "--base-url",
        sim.base_url,
        "--sender",
        "Clinic",
        "--option",
        "timeout=1.0",
        "--default",
        stdin=KEY + "\n",
    )
    assert r.code == 0, r.err
    return "Infobip"


def _at(clock: ManualClock, delta: timedelta) -> str:
    return (clock.now() + delta).isoformat()


def _schedule(cli: Cli, clock: ManualClock, delta: timedelta, *to: str) -> dict[str, Any]:
    r = cli(
        "schedule", "--to", ",".join(to), "--text", "See you", "--at", _at(clock, delta), "--json"
    )
    assert r.code == 0, r.err
    result: dict[str, Any] = r.json()
    return result


def test_account_setup_keeps_the_key_out_of_files_and_shows_capabilities(
    cli: Cli, account: str, isolated_home: Path
) -> None:
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    listed = {a["name"]: a for a in cli("provider", "list", "--json").json()}
    caps = listed[account]["capabilities"]
    assert listed[account]["kind"] == "infobip" and listed[account]["is_default"]
    assert caps["horizon_seconds"] == 180 * 86400 and caps["min_lead_seconds"] == 0
    assert caps["batch_size"] == 1000 and caps["native_reschedule"]
    assert caps["server_preview"] and caps["lookup_by_key"]
    r = cli("provider", "test", account, "--json")
    assert r.code == 0 and r.json()["ok"] and "accepted the API key" in r.json()["detail"]


def test_wrong_key_is_reported_clearly(cli: Cli, sim: InfobipSimulator) -> None:
    wrong = "wrong-key-0a1b2c3d"
    args = ("provider", "add", "Bad", "--kind", "infobip", "--base-url", sim.base_url)
    assert cli(*args, stdin=wrong + "\n").code == 0
    r = cli("provider", "test", "Bad")
    assert r.code == 1
    assert "Infobip refused the API key" in r.err and wrong not in r.err + r.out


def test_an_account_without_base_url_is_refused(cli: Cli) -> None:
    r = cli("provider", "add", "NoUrl", "--kind", "infobip", stdin=KEY + "\n")
    assert r.code == 2 and "base URL" in r.err
    assert "NoUrl" not in {a["name"] for a in cli("provider", "list", "--json").json()}
    r = cli(
        "provider",
        "add",
        "Odd",
        "--kind",
        "infobip",
        "--base-url",
        "https://x.api.infobip.com",
        "--option",
        "validity_minutes=9000",
        stdin=KEY + "\n",
    )
    assert r.code == 2 and "validity_minutes" in r.err


def test_schedule_dispatch_reschedule_deliver(
    cli: Cli, account: str, clock: ManualClock, sim: InfobipSimulator
) -> None:
    batch = _schedule(cli, clock, timedelta(hours=1), ANN, BOB)
    assert batch["messages"][0]["handling_text"].startswith("Infobip will schedule it")
    assert cli("dispatch", "--once").code == 0
    shown = cli("show", batch["batch_id"], "--json").json()
    assert [m["state"] for m in shown] == ["scheduled", "scheduled"]
    bulk = split_ref(shown[0]["provider_ref"])[0]
    assert split_ref(shown[1]["provider_ref"])[0] == bulk
    [body] = sim.bodies
    assert body["messages"][0]["sender"] == "Clinic"
    # Both messages of the bulk move together.
    r = cli("reschedule", batch["batch_id"], "--at", _at(clock, timedelta(hours=3)), "--json")
    assert r.code == 0, r.out + r.err
    assert all(x["ok"] for x in r.json())
    assert sim.bulks[bulk].send_at == clock.now() + timedelta(hours=3)
    clock.advance(timedelta(hours=2))
    cli("dispatch", "--once")
    assert {m["state"] for m in cli("show", batch["batch_id"], "--json").json()} == {"scheduled"}
    clock.advance(timedelta(hours=1, minutes=1))
    cli("dispatch", "--once")
    shown = cli("show", batch["batch_id"], "--json").json()
    assert [m["state"] for m in shown] == ["delivered", "delivered"]
    assert sorted(sim.creates_by_key().values()) == [1, 1]


def test_cancel_before_the_time_means_it_is_never_sent(
    cli: Cli, account: str, clock: ManualClock, sim: InfobipSimulator
) -> None:
    batch = _schedule(cli, clock, timedelta(hours=1), ANN)
    cli("dispatch", "--once")
    msg_id = batch["messages"][0]["message"]["id"]
    r = cli("cancel", msg_id, "--json")
    assert r.code == 0 and r.json()[0]["state"] == "cancelled"
    ref = cli("show", msg_id, "--json").json()[0]["provider_ref"]
    assert sim.bulk_status(split_ref(ref)[0]) == "CANCELED"
    clock.advance(timedelta(hours=2))
    cli("dispatch", "--once")
    assert cli("show", msg_id, "--json").json()[0]["state"] == "cancelled"
    assert sim.message(split_ref(ref)[1]).reported is False  # never went out


def test_cancel_once_infobip_is_sending_is_refused(
    cli: Cli, account: str, clock: ManualClock, sim: InfobipSimulator
) -> None:
    batch = _schedule(cli, clock, timedelta(minutes=5), ANN)
    cli("dispatch", "--once")
    msg_id = batch["messages"][0]["message"]["id"]
    clock.advance(timedelta(minutes=5, seconds=10))  # the bulk is PROCESSING
    r = cli("cancel", msg_id, "--json")
    assert r.code == 1
    [result] = r.json()
    assert not result["ok"] and result["state"] == "scheduled"
    assert "Infobip is already sending it" in result["detail"]
    clock.advance(timedelta(minutes=1))
    cli("dispatch", "--once")
    assert cli("show", msg_id, "--json").json()[0]["state"] == "delivered"


def test_reschedule_beyond_180_days_withdraws_it_from_infobip(
    cli: Cli, account: str, clock: ManualClock, sim: InfobipSimulator
) -> None:
    batch = _schedule(cli, clock, timedelta(hours=1), ANN)
    cli("dispatch", "--once")
    msg_id = batch["messages"][0]["message"]["id"]
    old_ref = cli("show", msg_id, "--json").json()[0]["provider_ref"]
    r = cli("reschedule", msg_id, "--at", _at(clock, timedelta(days=200)), "--json")
    assert r.code == 0, r.out + r.err
    [shown] = cli("show", msg_id, "--json").json()
    assert (shown["state"], shown["where"]) == ("queued", "on this computer")
    assert sim.bulk_status(split_ref(old_ref)[0]) == "CANCELED"


def test_preview_shows_infobip_count(cli: Cli, account: str) -> None:
    r = cli("preview", "--text", "a" * 161, "--provider", account, "--json")
    assert r.code == 0, r.err
    preview = r.json()
    assert preview["segments"] == 2
    assert preview["server"]["segments"] == 2 and preview["server"]["characters_remaining"] == 145


def test_cancelling_one_message_of_a_bulk_hands_the_others_off_again(
    cli: Cli, account: str, clock: ManualClock, sim: InfobipSimulator
) -> None:
    batch = _schedule(cli, clock, timedelta(hours=1), ANN, BOB)
    cli("dispatch", "--once")
    first, second = (m["message"]["id"] for m in batch["messages"])
    before = cli("show", second, "--json").json()[0]
    old_bulk = split_ref(before["provider_ref"])[0]
    r = cli("cancel", first, "--json")
    assert r.code == 0 and r.json()[0]["state"] == "cancelled"
    assert sim.bulk_status(old_bulk) == "CANCELED"  # Infobip cancels whole bulks only
    assert cli("show", second, "--json").json()[0]["state"] == "queued"
    cli("dispatch", "--once")
    after = cli("show", second, "--json").json()[0]
    assert after["state"] == "scheduled"
    assert split_ref(after["provider_ref"])[0] != old_bulk
    clock.advance(timedelta(hours=1, minutes=1))
    cli("dispatch", "--once")
    assert cli("show", second, "--json").json()[0]["state"] == "delivered"
    assert cli("show", first, "--json").json()[0]["state"] == "cancelled"
    # Each key went to Infobip once: the old one in the cancelled bulk, the fresh one after.
    assert sorted(sim.creates_by_key().values()) == [1, 1, 1]
    delivered = [m for m in sim.messages if m.reported]
    assert [m.to for m in delivered] == [BOB.removeprefix("+")]


def test_rescheduling_one_message_of_a_bulk_moves_only_it(
    cli: Cli, account: str, clock: ManualClock, sim: InfobipSimulator
) -> None:
    batch = _schedule(cli, clock, timedelta(hours=1), ANN, BOB)
    cli("dispatch", "--once")
    first, second = (m["message"]["id"] for m in batch["messages"])
    r = cli("reschedule", first, "--at", _at(clock, timedelta(hours=4)), "--json")
    assert r.code == 0, r.out + r.err
    cli("dispatch", "--once")
    shown = {m["id"]: m for m in cli("show", batch["batch_id"], "--json").json()}
    assert {m["state"] for m in shown.values()} == {"scheduled"}
    bulks = {m["id"]: split_ref(m["provider_ref"])[0] for m in shown.values()}
    assert bulks[first] != bulks[second]
    assert sim.bulks[bulks[first]].send_at == clock.now() + timedelta(hours=4)
    assert sim.bulks[bulks[second]].send_at == clock.now() + timedelta(hours=1)


def test_provider_test_shows_the_keys_capability_checklist(cli: Cli, sim: InfobipSimulator) -> None:
    tutorial = "ib-key-tutorial-51a0"  # sms:message:send only, as Infobip's tutorial makes it
    sim.add_key(tutorial, "sms:message:send")
    args = ("provider", "add", "Tutorial", "--kind", "infobip", "--base-url", sim.base_url)
    assert cli(*args, "--option", "timeout=1.0", stdin=tutorial + "\n").code == 0
    r = cli("provider", "test", "Tutorial")
    assert r.code == 0, r.err
    assert "can send and schedule ✓" in r.out
    assert "can reschedule, pause and cancel ✗ (the key lacks sms:manage)" in r.out
    assert tutorial not in r.out + r.err


def test_a_delivery_window_under_an_hour_is_refused_at_save_and_nothing_is_stored(
    cli: Cli, sim: InfobipSimulator
) -> None:
    args = ("provider", "add", "Short", "--kind", "infobip", "--base-url", sim.base_url)
    r = cli(*args, "--option", "delivery_window=08:00-08:30", stdin=KEY + "\n")
    assert r.code == 2
    assert "at least one hour" in r.err and len(r.err.strip().splitlines()) == 1
    assert "Short" not in {a["name"] for a in cli("provider", "list", "--json").json()}
    assert sim.log == []
