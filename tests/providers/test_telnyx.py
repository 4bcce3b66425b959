"""Telnyx through the command line and the engine, against the loopback simulator.

The simulator and smsdesk share one ManualClock: moving it makes time pass for both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.providers.base import (
    AuthenticationError,
    CannotTell,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
    TransientError,
)
from smsdesk.providers.telnyx import RATE_LIMIT_PER_SECOND, TelnyxProvider, build
from tests.cli_runner import Run
from tests.engine.provider_setup import serving
from tests.providers.one_by_one_setup import Desk as OneByOneDesk
from tests.simulators.telnyx import OPTED_OUT, PROFILE_ID, TelnyxSimulator

KEY = "KEY019f3c2e-telnyx-secret-5a7b"
SENDER = "+12025550100"
TO = "+12025550143"
OTHER = "+12025550144"
FAILING = "+12025550001"  # the simulator's fail prefix +1202555000
[OPTED] = sorted(OPTED_OUT)


class Desk(OneByOneDesk[TelnyxSimulator]):
    """The command line of one smsdesk home, with a Telnyx account on the simulator."""

    to = TO

    def add(
        self, *extra: str, key: str = KEY, name: str = "Telnyx", sender: bool = True, code: int = 0
    ) -> Run:
        args = ["provider", "add", name, "--kind", "telnyx", "--base-url", self.sim.base_url]
        args += ["--sender", SENDER] if sender else []
        args += ["--option", "timeout=1.0", "--default", *extra]
        run = self.cli(*args, stdin=key + "\n")
        assert run.code == code, run.err
        return run


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[TelnyxSimulator]:
    yield from serving(TelnyxSimulator(clock, api_key=KEY, stall=5.0))


@pytest.fixture
def desk(clock: ManualClock, sim: TelnyxSimulator) -> Desk:
    return Desk(clock, sim)


@pytest.fixture
def client(clock: ManualClock, sim: TelnyxSimulator, tmp_path: Path) -> Iterator[TelnyxProvider]:
    provider = build(
        home=tmp_path, clock=clock, options={"timeout": "1.0"}, base_url=sim.base_url, api_key=KEY
    )
    yield provider
    provider.close()


# -- accounts -------------------------------------------------------------------------------


def test_add_keeps_the_key_out_of_every_file_and_lists_capabilities(
    desk: Desk, isolated_home: Path
) -> None:
    run = desk.add("--option", f"messaging_profile_id={PROFILE_ID}")
    assert "API key is in the system keyring" in run.out and KEY not in run.out
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    accounts = {a["name"]: a for a in desk.cli("provider", "list", "--json").json()}
    caps = accounts["Telnyx"]["capabilities"]
    assert caps == {
        "native_scheduling": True,
        "min_lead_seconds": 300.0,
        "horizon_seconds": 5 * 86400.0,
        "native_reschedule": False,
        "cancel_cutoff_seconds": 60.0,
        "batch_size": 1,
        "rate_limit_per_second": 10.0,
        "server_preview": False,
        "lookup_by_key": False,
    }
    run = desk.cli("provider", "test", "Telnyx")
    assert run.code == 0, run.err
    assert run.out.strip() == "OK: Telnyx: API key accepted; messaging profile 'Front desk'."


def test_provider_test_without_a_profile_counts_profiles(desk: Desk) -> None:
    desk.add()
    run = desk.cli("provider", "test", "Telnyx")
    assert run.out.strip() == "OK: Telnyx: API key accepted; 1 messaging profile(s)."


def test_a_wrong_key_is_a_clear_error_that_never_shows_the_key(desk: Desk) -> None:
    wrong = "KEYwrong-0c1d2e3f4a5b"
    desk.add(key=wrong)
    run = desk.cli("provider", "test", "Telnyx")
    assert run.code == 1
    assert "Telnyx refused the API key or account (401)" in run.err
    assert wrong not in run.err + run.out
    # A hand-off with that key is refused with the same reason and nothing is created; the
    # message waits (queued) for the key to be fixed rather than failing.
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "queued"
    assert "refused the API key" in shown["last_error"] and wrong not in json.dumps(shown)
    assert desk.sim.creates_by_recipient() == {}


def test_unknown_option_is_refused_when_the_account_is_added(desk: Desk) -> None:
    run = desk.add("--option", "region=EU", code=2)
    assert run.err.strip() == (
        "smsdesk: Telnyx has no option region; known: messaging_profile_id, timeout."
    )
    assert [a["name"] for a in desk.cli("provider", "list", "--json").json()] == ["Sandbox"]


# -- the life of a message ------------------------------------------------------------------


def test_scheduled_at_telnyx_then_delivered(desk: Desk, clock: ManualClock) -> None:
    desk.add("--option", f"messaging_profile_id={PROFILE_ID}")
    msg_id = desk.schedule(timedelta(hours=2))
    report = desk.dispatch()
    assert report["handed_off"] == 1
    shown = desk.show(msg_id)
    assert (shown["state"], shown["where"]) == ("scheduled", "at provider")
    [held] = desk.sim.live()
    assert shown["provider_ref"] == held.id
    assert (held.sender, held.to, held.profile) == (SENDER, TO, PROFILE_ID)
    assert held.send_at == clock.now() + timedelta(hours=2)
    clock.advance(timedelta(hours=2, minutes=1))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "delivered"
    assert [e["kind"] for e in shown["events"]] == [
        "created",
        "handing_off",
        "handed_off",
        "status",
    ]
    assert desk.sim.creates_by_recipient() == {TO: 1}


def test_nearer_than_five_minutes_is_sent_from_here_at_its_time(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=4))
    desk.dispatch()
    assert desk.sim.creates_by_recipient() == {}
    assert desk.show(msg_id)["where"] == "on this computer"
    clock.advance(timedelta(minutes=3, seconds=59))
    desk.dispatch()
    assert desk.sim.creates_by_recipient() == {}
    clock.advance(timedelta(seconds=1))
    assert desk.dispatch()["handed_off"] == 1
    [sent] = desk.sim.messages.values()
    assert not sent.scheduled  # a plain send: no send_at in the request
    assert desk.show(msg_id)["state"] == "sent"
    clock.advance(timedelta(minutes=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "delivered"


def test_beyond_five_days_is_held_here_until_it_enters_the_window(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    send_at = clock.now() + timedelta(days=7)
    msg_id = desk.schedule(timedelta(days=7))
    desk.dispatch()
    assert desk.show(msg_id)["where"] == "on this computer"
    assert desk.sim.creates_by_recipient() == {}
    clock.advance(timedelta(days=2))
    desk.dispatch()
    assert desk.sim.creates_by_recipient() == {}  # one minute of margin is still missing
    clock.advance(timedelta(minutes=1))
    assert desk.dispatch()["handed_off"] == 1
    [held] = desk.sim.live()
    assert held.send_at == send_at
    assert desk.show(msg_id)["state"] == "scheduled"


def test_failing_number_fails_with_telnyx_reason(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=30), FAILING)
    desk.dispatch()
    clock.advance(timedelta(minutes=31))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "failed"
    assert "Carrier rejected (code 40008)" in shown["last_error"]


def test_opted_out_recipient_fails_alone_and_the_queue_goes_on(desk: Desk) -> None:
    desk.add()
    run = desk.cli(
        "schedule", "--to", f"{OPTED},{TO}", "--text", "Hi", "--at", desk.at(timedelta(hours=1))
    )
    assert run.code == 0, run.err
    report = desk.dispatch()
    assert (report["failed"], report["handed_off"]) == (1, 1)
    by_to = {m["recipient"]: m for m in desk.cli("list", "--json").json()}
    assert by_to[TO]["state"] == "scheduled"
    assert by_to[OPTED]["state"] == "failed"
    assert "opted out" in by_to[OPTED]["last_error"]
    assert desk.sim.creates_by_recipient() == {TO: 1}


def test_opting_out_after_scheduling_fails_at_send_time(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=30), OTHER)
    desk.dispatch()
    desk.sim.opt_out(OTHER)
    clock.advance(timedelta(minutes=31))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "failed" and "opted out" in shown["last_error"]


def test_without_a_sender_the_message_fails_clearly(desk: Desk) -> None:
    desk.add(sender=False)
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    shown = desk.show(msg_id)
    assert shown["state"] == "failed"
    assert shown["last_error"].startswith("Telnyx needs a sender number")
    assert desk.sim.creates_by_recipient() == {}
    # The message's own sender is enough.
    msg_id = desk.schedule(timedelta(hours=1), TO, "--from", "+12025550101")
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "scheduled"
    [held] = desk.sim.live()
    assert held.sender == "+12025550101"


def test_preview_has_no_server_part(desk: Desk) -> None:
    desk.add()
    run = desk.cli("preview", "--provider", "Telnyx", "--text", "Hello there", "--json")
    assert run.code == 0, run.err
    preview = run.json()
    assert (preview["provider"], preview["server"], preview["segments"]) == ("Telnyx", None, 1)
    assert desk.sim.log == []  # nothing asked of Telnyx


# -- cancel and reschedule ------------------------------------------------------------------


def test_cancel_at_telnyx(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    run = desk.cli("cancel", msg_id)
    assert run.code == 0 and "cancelled at Telnyx" in run.out
    assert desk.sim.live() == []
    clock.advance(timedelta(hours=2))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "cancelled"
    [gone] = desk.sim.messages.values()
    assert gone.cancelled


def test_cancel_inside_the_last_minute_is_refused_and_changes_nothing(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=10))
    desk.dispatch()
    clock.advance(timedelta(minutes=9, seconds=30))
    run = desk.cli("cancel", msg_id)
    assert run.code == 1
    assert "Telnyx cannot cancel a message within 1 minute of its send time." in run.out
    assert desk.show(msg_id)["state"] == "scheduled"
    assert len(desk.sim.live()) == 1


def test_reschedule_cancels_at_telnyx_and_creates_one_new_message(
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
    assert new.id != old.id and new.send_at == new_time
    assert old.cancelled
    shown = desk.show(msg_id)
    assert (shown["state"], shown["provider_ref"]) == ("scheduled", new.id)
    assert desk.sim.creates_by_recipient() == {TO: 2}  # the cancelled one and its successor
    clock.advance(timedelta(hours=3, minutes=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "delivered"
    assert [m.id for m in desk.sim.messages.values() if not m.cancelled] == [new.id]


def test_reschedule_inside_the_last_minute_keeps_the_original(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=10))
    desk.dispatch()
    clock.advance(timedelta(minutes=9, seconds=30))
    run = desk.cli("reschedule", msg_id, "--at", desk.at(timedelta(hours=1)))
    assert run.code == 1 and "within 1 minute" in run.out
    [held] = desk.sim.live()
    assert held.id == desk.show(msg_id)["provider_ref"]
    assert desk.show(msg_id)["state"] == "scheduled"


# -- Telnyx's own rules, straight at the client ---------------------------------------------


def _out(clock: ManualClock, ahead: timedelta | None, to: str = TO) -> Outgoing:
    send_at = None if ahead is None else clock.now() + ahead
    return Outgoing(f"k-{to}-{ahead}", to, "Hello", SENDER, send_at)


@pytest.mark.parametrize(
    ("ahead", "accepted"),
    [
        (timedelta(minutes=5), True),
        (timedelta(minutes=5) - timedelta(seconds=1), False),
        (timedelta(days=5), True),
        (timedelta(days=5, seconds=1), False),
    ],
)
def test_scheduling_window_edges(
    client: TelnyxProvider, clock: ManualClock, ahead: timedelta, accepted: bool
) -> None:
    [outcome] = client.schedule([_out(clock, ahead)])
    if accepted:
        assert isinstance(outcome, Receipt) and outcome.state.value == "scheduled"
        assert outcome.send_at == clock.now() + ahead
    else:
        assert isinstance(outcome, Rejected) and not outcome.opted_out
        assert "at least 5 minutes and at most 5 days" in outcome.reason
        assert "[/send_at]" in outcome.reason


def test_opted_out_is_a_rejection_marked_opted_out(
    client: TelnyxProvider, clock: ManualClock
) -> None:
    [outcome] = client.schedule([_out(clock, timedelta(hours=1), OPTED)])
    assert isinstance(outcome, Rejected) and outcome.opted_out
    assert "opted out" in outcome.reason and "40300" in outcome.reason


def test_cancel_of_a_sent_message_says_so(client: TelnyxProvider, clock: ManualClock) -> None:
    [receipt] = client.schedule([_out(clock, None)])
    assert isinstance(receipt, Receipt) and receipt.state.value == "sent"
    with pytest.raises(PermanentError, match=r"no longer scheduled \((sent|delivered)\)"):
        client.cancel(receipt.ref)


def test_unknown_message_status_is_skipped_and_lookup_knows_nothing(
    client: TelnyxProvider, sim: TelnyxSimulator, clock: ManualClock
) -> None:
    [receipt] = client.schedule([_out(clock, timedelta(hours=1))])
    assert isinstance(receipt, Receipt)
    reports = client.fetch_status(["no-such-id", receipt.ref])
    assert [(r.ref, r.state.value) for r in reports] == [(receipt.ref, "scheduled")]
    # Never "not received": Telnyx cannot be asked by our key, and is not asked at all.
    asked = len(sim.log)
    [answer] = client.lookup([(receipt.key, None)])
    assert isinstance(answer, CannotTell) and "cannot be asked" in answer.reason
    assert len(sim.log) == asked
    assert client.assign_groups([_out(clock, None)])[0].group is None
    assert client.group_of(receipt.ref) is None
    assert client.preview("Hello") is None
    with pytest.raises(PermanentError, match="cancels it and schedules it again"):
        client.reschedule(receipt.ref, clock.now() + timedelta(hours=2))


def test_status_is_one_request_per_message_within_the_rate_limit(
    client: TelnyxProvider, sim: TelnyxSimulator, clock: ManualClock
) -> None:
    refs = []
    for n in range(30):
        [receipt] = client.schedule([_out(clock, timedelta(hours=1), f"+1202555{n:04d}")])
        assert isinstance(receipt, Receipt)
        refs.append(receipt.ref)
    started = clock.now()
    assert len(client.fetch_status(refs)) == 30
    gets = [path for method, path, _ in sim.log if method == "GET"]
    assert len(gets) == 30 and len(set(gets)) == 30  # Telnyx has no batch form
    # Spaced at the conservative rate, on the injected clock: 30 reads take 2.9 s at least.
    assert clock.now() - started >= timedelta(seconds=29 / RATE_LIMIT_PER_SECOND)


def test_send_at_goes_out_in_utc(client: TelnyxProvider, clock: ManualClock) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 12, 1, 12, 30, tzinfo=ZoneInfo("America/New_York"))
    [receipt] = client.schedule([Outgoing("k1", TO, "Hi", SENDER, local)])
    assert isinstance(receipt, Receipt)
    assert receipt.send_at == datetime(2026, 12, 1, 17, 30, tzinfo=UTC)


# -- the spec's own answers: 403 on cancel, rate-limit headers, number pools, pages ----------


def test_a_403_refusing_a_cancel_is_telnyxs_reason_not_a_bad_key(
    client: TelnyxProvider, sim: TelnyxSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    [receipt] = client.schedule([_out(clock, None)])
    assert isinstance(receipt, Receipt)
    with pytest.raises(PermanentError) as refused:
        client.cancel(receipt.ref)
    assert not isinstance(refused.value, AuthenticationError)
    assert ("DELETE", f"/v2/messages/{receipt.ref}", "ok") in sim.log
    said = str(refused.value)
    assert "no longer scheduled" in said and "API key" not in said
    assert said.endswith(
        "Telnyx said: Only messages with status=scheduled and send_at more than a minute from "
        "now can be cancelled. (code 10010)"
    )
    # A key Telnyx does not know is still a key problem, on the same endpoint (401).
    wrong = build(
        home=tmp_path,
        clock=clock,
        options={"timeout": "1.0"},
        base_url=sim.base_url,
        api_key="KEYwrong-0c1d2e3f4a5b",
    )
    try:
        with pytest.raises(AuthenticationError):
            wrong.cancel(receipt.ref)
    finally:
        wrong.close()


def test_a_refused_cancel_in_the_window_names_telnyxs_reason(
    desk: Desk, clock: ManualClock
) -> None:
    desk.add()
    msg_id = desk.schedule(timedelta(minutes=10))
    desk.dispatch()
    clock.advance(timedelta(minutes=9, seconds=30))
    run = desk.cli("cancel", msg_id)
    assert run.code == 1
    assert "Telnyx said: Only messages with status=scheduled" in run.out
    assert "API key" not in run.out + run.err
    assert desk.cli("provider", "test", "Telnyx").code == 0  # the account is fine


def test_rate_limit_headers_hold_back_the_next_create_until_the_reset(
    client: TelnyxProvider, sim: TelnyxSimulator, clock: ManualClock
) -> None:
    sim.rate_limit = (3, 60.0)
    for n in range(3):
        [ok] = client.schedule([_out(clock, timedelta(hours=1), f"+1202555{n:04d}")])
        assert isinstance(ok, Receipt)
    clock.advance(timedelta(seconds=20))
    # The third answer said "x-ratelimit-remaining: 0, x-ratelimit-reset: 60": a fourth create
    # now would only be refused, so it is not sent; the engine waits what is left.
    with pytest.raises(TransientError) as held:
        client.schedule([_out(clock, timedelta(hours=1), "+12025550009")])
    assert held.value.retry_after == pytest.approx(40.0)
    assert sim.requests_to("POST", "/v2/messages") == 3
    assert all(status == "ok" for _, _, status in sim.log)
    clock.advance(timedelta(seconds=40))
    [later] = client.schedule([_out(clock, timedelta(hours=1), "+12025550009")])
    assert isinstance(later, Receipt)


def test_status_reads_wait_out_a_short_rate_limit_reset(
    client: TelnyxProvider, sim: TelnyxSimulator, clock: ManualClock
) -> None:
    refs = []
    for n in range(3):
        [receipt] = client.schedule([_out(clock, timedelta(hours=1), f"+1202555{n:04d}")])
        assert isinstance(receipt, Receipt)
        refs.append(receipt.ref)
    sim.rate_limit = (2, 4.0)
    started = clock.now()
    reports = client.fetch_status(refs)
    assert [r.ref for r in reports] == refs
    # The third read waited for the reset on the clock instead of meeting a 429.
    gets = [(m, status) for m, _, status in sim.log if m == "GET"]
    assert gets == [("GET", "ok")] * 3
    assert clock.now() - started >= timedelta(seconds=4)


def test_a_429_without_retry_after_waits_for_x_ratelimit_reset(
    client: TelnyxProvider, sim: TelnyxSimulator, clock: ManualClock
) -> None:
    sim.rate_limit = (1, 30.0)
    sim.rate_limit_used(1)  # another program with the same key used the limit up
    with pytest.raises(TransientError) as busy:
        client.schedule([_out(clock, timedelta(hours=1))])
    assert busy.value.retry_after == pytest.approx(30.0)
    assert sim.creates_by_recipient() == {}


def test_an_account_without_a_sender_sends_from_its_profiles_number_pool(desk: Desk) -> None:
    pool_number = "+12025550177"
    desk.sim.number_pools[PROFILE_ID] = [pool_number]
    desk.add("--option", f"messaging_profile_id={PROFILE_ID}", sender=False)
    msg_id = desk.schedule(timedelta(hours=1))
    desk.dispatch()
    assert desk.show(msg_id)["state"] == "scheduled"
    [body] = desk.sim.create_bodies
    assert "from" not in body and body["messaging_profile_id"] == PROFILE_ID
    [held] = desk.sim.live()
    assert held.sender == pool_number


def test_provider_test_counts_profiles_on_every_page(desk: Desk) -> None:
    for n in range(300):
        desk.sim.profiles[f"00000000-0000-4000-8000-{n:012d}"] = f"Desk {n}"
    desk.add()
    run = desk.cli("provider", "test", "Telnyx")
    assert run.out.strip() == "OK: Telnyx: API key accepted; 301 messaging profile(s)."
    path = "/v2/messaging_profiles"
    assert desk.sim.query_values("GET", path, "page[number]") == ["1", "2"]
    assert desk.sim.query_values("GET", path, "page[size]") == ["250", "250"]


def test_a_stop_reported_at_send_time_opts_the_number_out(desk: Desk, clock: ManualClock) -> None:
    desk.add()
    desk.schedule(timedelta(minutes=30), OTHER)
    desk.dispatch()
    desk.sim.opt_out(OTHER)
    clock.advance(timedelta(minutes=31))
    desk.dispatch()
    # Telnyx's 40300 at send time put the number on the opt-out list: no new message to it.
    run = desk.cli(
        "schedule", "--to", OTHER, "--text", "Again", "--at", desk.at(timedelta(hours=1))
    )
    assert run.code == 2 and "opted out" in run.err
    assert desk.sim.creates_by_recipient() == {OTHER: 1}
