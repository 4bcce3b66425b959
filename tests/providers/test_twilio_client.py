"""The Twilio client straight against the loopback simulator: Twilio's form fields and auth,
the 15-minute and 35-day edges, cancel, every status of the spec's enum, received messages,
and every fault kind over real HTTP."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    CannotTell,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
    TransientError,
)
from smsdesk.providers.twilio import CAPABILITIES, TwilioProvider, build
from smsdesk.providers.twilio_api import STATUS_MAP
from tests.engine.provider_setup import serving
from tests.simulators.base import Fault, Request, Response
from tests.simulators.twilio import (
    ACCOUNT_SID,
    OPTED_OUT,
    SERVICE_SID,
    STATUSES,
    TwilioSimulator,
)

TOKEN = "twtoken-4c1f9e0b7a2d-secret"
SENDER = "+12025550100"  # in the simulator's sender pool
TO = "+12025550143"
OTHER = "+12025550144"
[OPTED] = sorted(OPTED_OUT)
KEY_SID = "SK0123456789abcdef0123456789abcdef"
KEY_SECRET = "sk-secret-81f3aa09"
EXCERPT = Path(__file__).parents[1] / "simulators" / "twilio_spec_excerpt.md"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
OPTIONS = {"account_sid": ACCOUNT_SID, "messaging_service_sid": SERVICE_SID, "timeout": "1.0"}


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[TwilioSimulator]:
    yield from serving(TwilioSimulator(clock, api_key=TOKEN, stall=5.0))


_OPEN: list[TwilioProvider] = []


def _client(
    sim: TwilioSimulator, clock: ManualClock, tmp_path: Path, key: str = TOKEN, **extra: str
) -> TwilioProvider:
    provider = build(
        home=tmp_path,
        clock=clock,
        options={**OPTIONS, **extra},
        base_url=sim.base_url,
        api_key=key,
    )
    _OPEN.append(provider)
    return provider


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def client(sim: TwilioSimulator, clock: ManualClock, tmp_path: Path) -> TwilioProvider:
    return _client(sim, clock, tmp_path)


def _out(
    clock: ManualClock, ahead: timedelta | None, to: str = TO, sender: str | None = None
) -> Outgoing:
    send_at = None if ahead is None else clock.now() + ahead
    return Outgoing(f"k-{to}-{ahead}", to, "See you Tuesday", sender, send_at)


def _schedule(client: TwilioProvider, clock: ManualClock, ahead: timedelta, to: str = TO) -> str:
    [receipt] = client.schedule([_out(clock, ahead, to)])
    assert isinstance(receipt, Receipt), receipt
    return receipt.ref


# -- creating -------------------------------------------------------------------------------


def test_schedule_sends_twilios_form_fields_with_basic_auth(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    send_at = clock.now() + timedelta(hours=2, seconds=30)
    [receipt] = client.schedule([Outgoing("k1", TO, "See you Tuesday", SENDER, send_at)])
    assert isinstance(receipt, Receipt)
    assert (receipt.state, receipt.send_at) == (State.SCHEDULED, send_at)
    assert re.fullmatch(r"SM[0-9a-f]{32}", receipt.ref)
    [form] = sim.create_forms
    assert form == {
        "To": TO,
        "Body": "See you Tuesday",
        "MessagingServiceSid": SERVICE_SID,
        "From": SENDER,
        "ScheduleType": "fixed",
        "SendAt": send_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert sim.auth_users == [ACCOUNT_SID]
    [held] = sim.live()
    assert held.sid == receipt.ref and held.send_at == send_at


def test_an_api_key_signs_in_as_its_sid_with_its_secret(
    sim: TwilioSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    sim.add_api_key(KEY_SID, KEY_SECRET)
    client = _client(sim, clock, tmp_path, key=KEY_SECRET, api_key_sid=KEY_SID)
    ref = _schedule(client, clock, timedelta(hours=1))
    assert sim.auth_users == [KEY_SID]
    assert sim.requests_to("POST", MESSAGES) == 1 and ref in sim.messages
    # The key's secret with the Account SID as user is refused: the pair is what counts.
    wrong = _client(sim, clock, tmp_path, key=KEY_SECRET)
    with pytest.raises(AuthenticationError):
        wrong.schedule([_out(clock, timedelta(hours=1))])


@pytest.mark.parametrize(
    ("ahead", "accepted"),
    [
        (timedelta(minutes=15), True),
        (timedelta(minutes=15) - timedelta(seconds=1), False),
        (timedelta(days=35), True),
        (timedelta(days=35, seconds=1), False),
    ],
)
def test_scheduling_window_edges(
    client: TwilioProvider,
    sim: TwilioSimulator,
    clock: ManualClock,
    ahead: timedelta,
    accepted: bool,
) -> None:
    [outcome] = client.schedule([_out(clock, ahead)])
    if accepted:
        assert isinstance(outcome, Receipt) and outcome.state is State.SCHEDULED
        assert len(sim.live()) == 1
    else:
        assert isinstance(outcome, Rejected) and not outcome.opted_out
        assert "Scheduling does not support this timestamp. (code 35114)" in outcome.reason
        assert sim.messages == {}


def test_send_now_carries_no_schedule_and_is_sent(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    [receipt] = client.schedule([_out(clock, None)])
    assert isinstance(receipt, Receipt) and receipt.state is State.SENT and receipt.send_at is None
    [form] = sim.create_forms
    assert "SendAt" not in form and "ScheduleType" not in form and "From" not in form
    # Still through the Messaging Service, whose pool picks the number.
    assert form["MessagingServiceSid"] == SERVICE_SID
    clock.advance(timedelta(minutes=1))
    [report] = client.fetch_status([receipt.ref])
    assert report.state is State.DELIVERED


def test_opted_out_at_create_is_a_rejection_marked_opted_out(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    [outcome] = client.schedule([_out(clock, None, OPTED)])
    assert isinstance(outcome, Rejected) and outcome.opted_out
    assert "opted out" in outcome.reason and "21610" in outcome.reason
    assert sim.creates_by_recipient() == {}


def test_per_message_refusals_do_not_stop_the_others(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    bad_sender = _out(clock, timedelta(hours=1), OTHER, sender="+12025550199")
    outcomes = client.schedule([bad_sender, _out(clock, timedelta(hours=1))])
    assert isinstance(outcomes[0], Rejected) and "(code 21606)" in outcomes[0].reason
    assert isinstance(outcomes[1], Receipt)
    assert sim.creates_by_recipient() == {TO: 1}


# -- status ---------------------------------------------------------------------------------


def _spec_enum() -> list[str]:
    text = EXCERPT.read_text()
    block = text.split('`message_enum_status` `"enum"`', 1)[1].split("```")[1]
    return [word.strip() for word in block.replace("\n", " ").split(",") if word.strip()]


def test_the_status_map_covers_exactly_the_specs_enum() -> None:
    assert _spec_enum() == list(STATUSES) == list(STATUS_MAP)
    # The excerpt names the commit of the specification it quotes.
    assert "d50069b44ea8cd23141385bdb6db48f16ff75bb5" in EXCERPT.read_text()


EXPECTED = {
    "queued": State.SENT,
    "sending": State.SENT,
    "sent": State.SENT,
    "failed": State.FAILED,
    "delivered": State.DELIVERED,
    "undelivered": State.FAILED,
    "receiving": None,
    "received": None,
    "accepted": State.SENT,
    "scheduled": State.SCHEDULED,
    "read": State.DELIVERED,
    "partially_delivered": State.DELIVERED,
    "canceled": State.CANCELLED,
}


@pytest.mark.parametrize("status", STATUSES)
def test_every_twilio_status_maps(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock, status: str
) -> None:
    ref = _schedule(client, clock, timedelta(hours=1))
    failing = status in ("failed", "undelivered")
    sim.force_status(
        ref, status, 30007 if failing else None, "Message filtered" if failing else None
    )
    reports = client.fetch_status([ref])
    if EXPECTED[status] is None:
        assert reports == []  # an incoming message's status changes nothing
        return
    [report] = reports
    assert (report.ref, report.state) == (ref, EXPECTED[status])
    if failing:
        assert report.detail == "Message filtered (code 30007)" and not report.opted_out
    elif status == "partially_delivered":
        assert "partially delivered" in report.detail
    else:
        assert report.detail == ""


def test_failures_carry_twilios_error_code_and_message(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    failing = _schedule(client, clock, timedelta(minutes=20), "+12025550007")
    stopped = _schedule(client, clock, timedelta(minutes=20), OTHER)
    sim.opt_out(OTHER)  # after scheduling: Twilio does not cancel it, it fails at send time
    clock.advance(timedelta(minutes=21))
    reports = {r.ref: r for r in client.fetch_status([failing, stopped])}
    assert reports[failing].state is State.FAILED
    assert reports[failing].detail == "Unreachable destination handset (code 30003)"
    assert not reports[failing].opted_out
    assert reports[stopped].state is State.FAILED and reports[stopped].opted_out
    assert (
        "opted out (STOP)" in reports[stopped].detail and "(code 21610)" in reports[stopped].detail
    )


def test_errors_in_the_rfc_9457_shape_are_read_too(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    sim.problem_details = True
    [outcome] = client.schedule([_out(clock, None, OPTED)])
    assert isinstance(outcome, Rejected) and outcome.opted_out


# -- cancel and reschedule ------------------------------------------------------------------


def test_cancel_and_a_repeated_cancel_both_succeed(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    ref = _schedule(client, clock, timedelta(hours=1))
    client.cancel(ref)
    assert sim.live() == [] and sim.messages[ref].canceled
    # Twilio refuses the repeat (30409: no longer scheduled); the record says it is canceled.
    client.cancel(ref)
    [report] = client.fetch_status([ref])
    assert report.state is State.CANCELLED


def test_cancel_after_the_send_time_is_refused_in_twilios_words(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    ref = _schedule(client, clock, timedelta(minutes=20))
    clock.advance(timedelta(minutes=20))
    with pytest.raises(PermanentError) as refused:
        client.cancel(ref)
    assert "no longer scheduled (sent)" in str(refused.value)
    assert "This message cannot be canceled (code 30409)" in str(refused.value)
    assert not sim.messages[ref].canceled


def test_there_is_no_native_reschedule(client: TwilioProvider, clock: ManualClock) -> None:
    assert not CAPABILITIES.native_reschedule
    with pytest.raises(PermanentError, match="cancels it and schedules it again"):
        client.reschedule("SM" + "0" * 32, clock.now() + timedelta(hours=1))


def test_lookup_cannot_tell_and_asks_nothing(client: TwilioProvider, sim: TwilioSimulator) -> None:
    found = client.lookup([("k1", None), ("k2", None)])
    assert all(isinstance(f, CannotTell) for f in found)
    assert [f.key for f in found] == ["k1", "k2"]
    assert isinstance(found[0], CannotTell) and "cannot be asked" in found[0].reason
    assert sim.log == []


# -- received messages ----------------------------------------------------------------------


def test_received_lists_what_came_to_the_number_since_a_time_across_pages(
    sim: TwilioSimulator, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(sim, clock, tmp_path, reply_numbers=SENDER)
    monkeypatch.setattr("smsdesk.providers.twilio.LIST_PAGE_SIZE", 2)
    start = clock.now()
    sim.receive(TO, SENDER, "yesterday", start - timedelta(days=1))
    sim.receive(TO, SENDER, "earlier today", start - timedelta(minutes=5))
    wanted = [sim.receive(TO, SENDER, f"C {n}", start + timedelta(minutes=n)) for n in range(5)]
    sim.receive(TO, "+12025550101", "to another number", start + timedelta(minutes=1))
    _schedule(client, clock, timedelta(hours=1))  # outbound: never a reply
    clock.advance(timedelta(minutes=10))
    got = client.received(start)
    assert [r.provider_id for r in got] == wanted
    assert [r.text for r in got] == [f"C {n}" for n in range(5)]
    assert {(r.sender, r.to) for r in got} == {(TO, SENDER)}
    assert got[0].received_at == start
    lists = sim.queries
    assert all(q.get("To") == SENDER for m, p, q in lists if p == MESSAGES and m == "GET")
    assert sim.query_values("GET", MESSAGES, "DateSent>")[0] == start.date().isoformat()
    assert sim.requests_to("GET", MESSAGES) == 3  # 6 messages that day, 2 a page


def test_received_never_follows_a_next_page_to_another_address(
    sim: TwilioSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    class Elsewhere(TwilioSimulator):
        def _list(self, path: str, query: dict[str, str]) -> Response:
            answer = super()._list(path, query)
            answer.body["next_page_uri"] = "https://elsewhere.example/steal?x=1"
            return answer

    other = Elsewhere(clock, api_key=TOKEN)
    other.start()
    try:
        client = _client(other, clock, tmp_path)
        other.receive(TO, SENDER, "C")
        assert [r.text for r in client.received(clock.now() - timedelta(minutes=1))] == ["C"]
        assert other.requests_to("GET", MESSAGES) == 1
    finally:
        other.stop()


# -- credentials, options, secrets ----------------------------------------------------------


def test_a_wrong_token_is_refused_without_showing_it(
    sim: TwilioSimulator, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "twtoken-wrong-77aa01"
    client = _client(sim, clock, tmp_path, key=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as refused:
        client.check()
    with pytest.raises(AuthenticationError):
        client.schedule([_out(clock, timedelta(hours=1))])
    basic = base64.b64encode(f"{ACCOUNT_SID}:{wrong}".encode()).decode()
    shown = str(refused.value) + caplog.text + repr(client)
    assert "Twilio refused the API key or account (401)" in str(refused.value)
    assert wrong not in shown and basic not in shown
    assert sim.creates_by_recipient() == {}


def test_check_proves_the_pair_and_names_the_service(
    client: TwilioProvider, sim: TwilioSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    said = client.check()
    assert said.startswith("Twilio account AC…1659 accepted the credentials")
    assert "MG…66fa" in said
    assert sim.query_values("GET", MESSAGES, "PageSize") == ["1"]
    assert sim.creates_by_recipient() == {}
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"messaging_service_sid": SERVICE_SID}, "needs its Account SID: --option account_sid=AC"),
        ({"account_sid": ACCOUNT_SID}, "needs its Messaging Service SID"),
        ({**OPTIONS, "account_sid": "AC123"}, "is not a Twilio Account SID"),
        ({**OPTIONS, "messaging_service_sid": "PN" + "0" * 32}, "is not a Twilio Messaging"),
        ({**OPTIONS, "api_key_sid": "AC" + "0" * 32}, "is not a Twilio API key SID"),
        ({**OPTIONS, "reply_numbers": "+12025550100, 555-0101"}, "'555-0101' is not a number"),
        ({**OPTIONS, "region": "us1"}, "Twilio has no option region"),
    ],
)
def test_bad_settings_are_invalid_input(
    clock: ManualClock, tmp_path: Path, options: dict[str, str], words: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(words)) as bad:
        build(home=tmp_path, clock=clock, options=options, base_url=None, api_key=TOKEN)
    assert TOKEN not in str(bad.value)


def test_a_missing_token_is_invalid_input(clock: ManualClock, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="A Twilio account needs an API key"):
        build(home=tmp_path, clock=clock, options=OPTIONS, base_url=None, api_key=" ")


# -- every fault kind, over real HTTP -------------------------------------------------------

# (fault, what the create raises, whether Twilio processed it before the answer went wrong)
CREATE_FAULTS = [
    (Fault.RATE_LIMIT, TransientError, False),
    (Fault.UNAVAILABLE, TransientError, False),
    (Fault.SERVER_ERROR, AmbiguousError, False),
    (Fault.TIMEOUT, AmbiguousError, True),
    (Fault.MALFORMED, AmbiguousError, True),
    (Fault.RESET, AmbiguousError, False),
    (Fault.LOST, AmbiguousError, True),
]


@pytest.mark.parametrize(("fault", "raised", "processed"), CREATE_FAULTS)
def test_a_create_is_tried_once_and_its_fault_says_what_may_have_happened(
    client: TwilioProvider,
    sim: TwilioSimulator,
    clock: ManualClock,
    fault: Fault,
    raised: type[Exception],
    processed: bool,
) -> None:
    sim.inject(fault, match=f"POST {MESSAGES}", retry_after=7)
    with pytest.raises(raised) as caught:
        client.schedule([_out(clock, timedelta(hours=1))])
    if fault is Fault.RATE_LIMIT:
        assert isinstance(caught.value, TransientError) and caught.value.retry_after == 7
    assert sim.requests_to("POST", MESSAGES) == 1  # never repeated inside the call
    assert sim.creates_by_recipient() == ({TO: 1} if processed else {})
    assert TOKEN not in str(caught.value)


def test_a_fault_after_one_was_accepted_leaves_the_rest_out_of_the_answer(
    clock: ManualClock, tmp_path: Path
) -> None:
    class LosesTheSecond(TwilioSimulator):
        def _create(self, form: dict[str, str]) -> Response:
            answer = super()._create(form)
            if len(self.create_forms) == 1:
                self.inject(Fault.LOST, match=f"POST {MESSAGES}")
            return answer

    sim = LosesTheSecond(clock, api_key=TOKEN, stall=5.0)
    sim.start()
    try:
        client = _client(sim, clock, tmp_path)
        third = _out(clock, timedelta(hours=1), "+12025550145")
        outcomes = client.schedule(
            [_out(clock, timedelta(hours=1)), _out(clock, timedelta(hours=1), OTHER), third]
        )
        # The first is accepted; raising now would put it back in the queue (a resend). The
        # second may exist (its answer was lost) and the third was never tried: both are left
        # out, which the engine treats as unknown.
        [first] = outcomes
        assert isinstance(first, Receipt) and first.key == f"k-{TO}-1:00:00"
        assert sim.creates_by_recipient() == {TO: 1, OTHER: 1}
    finally:
        sim.stop()


@pytest.mark.parametrize("fault", list(Fault))
def test_status_reads_are_repeated_through_every_fault(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock, fault: Fault
) -> None:
    ref = _schedule(client, clock, timedelta(hours=1))
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{ref}.json"
    sim.inject(fault, match=f"GET {path}", retry_after=1)
    [report] = client.fetch_status([ref])
    assert report.state is State.SCHEDULED
    assert sim.requests_to("GET", path) == 2


@pytest.mark.parametrize("fault", list(Fault))
def test_cancel_gets_through_every_fault(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock, fault: Fault
) -> None:
    ref = _schedule(client, clock, timedelta(hours=1))
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{ref}.json"
    sim.inject(fault, match=f"POST {path}", retry_after=1)
    client.cancel(ref)
    assert sim.messages[ref].canceled and sim.live() == []


@pytest.mark.parametrize("fault", list(Fault))
def test_the_received_list_gets_through_every_fault(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock, fault: Fault
) -> None:
    sid = sim.receive(TO, SENDER, "R")
    sim.inject(fault, match=f"GET {MESSAGES}", retry_after=1)
    got = client.received(clock.now() - timedelta(minutes=1))
    assert [r.provider_id for r in got] == [sid]
    assert sim.requests_to("GET", MESSAGES) == 2


def test_a_lasting_fault_on_the_list_raises_rather_than_returning_half(
    client: TwilioProvider, sim: TwilioSimulator, clock: ManualClock
) -> None:
    sim.receive(TO, SENDER, "C")
    sim.inject(Fault.UNAVAILABLE, times=5, match=f"GET {MESSAGES}", retry_after=1)
    with pytest.raises(TransientError):
        client.received(clock.now() - timedelta(minutes=1))
    assert sim.requests_to("GET", MESSAGES) == 3


def test_the_simulator_answers_twilios_error_shape(sim: TwilioSimulator) -> None:
    answer = sim.route(Request("GET", MESSAGES, {}, {}, b""))
    assert answer.status == 401
    assert answer.body == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
