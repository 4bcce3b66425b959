"""The Kaleyra client against its loopback simulator: payloads, Kaleyra's rules, statuses,
errors, and the options an account is built from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.providers import kaleyra
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    CannotTell,
    Outcome,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
    StatusReport,
    TransientError,
)
from tests.simulators.base import Fault
from tests.simulators.kaleyra import DEFAULT_SID, E402, KaleyraSimulator, add_months

KEY = "sim-key-7d1f2a"
TO = "+919876543210"


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[KaleyraSimulator]:
    simulator = KaleyraSimulator(clock, KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


def _build(
    clock: ManualClock,
    tmp_path: Path,
    base_url: str | None,
    key: str | None = KEY,
    transport: httpx.BaseTransport | None = None,
    **options: str,
) -> kaleyra.KaleyraProvider:
    return _build_with(clock, tmp_path, base_url, key, transport, options)


def _build_with(
    clock: ManualClock,
    tmp_path: Path,
    base_url: str | None,
    key: str | None,
    transport: httpx.BaseTransport | None,
    options: dict[str, str],
) -> kaleyra.KaleyraProvider:
    opts = {"sid": DEFAULT_SID, "timeout": "1.0", **options}
    return kaleyra.build(
        home=tmp_path,
        clock=clock,
        options=opts,
        base_url=base_url,
        api_key=key,
        transport=transport,
    )


@pytest.fixture
def client(
    sim: KaleyraSimulator, clock: ManualClock, tmp_path: Path
) -> Iterator[kaleyra.KaleyraProvider]:
    provider = _build(clock, tmp_path, sim.base_url, sender="KLRHXA")
    yield provider
    provider.close()


def _msg(clock: ManualClock, ahead: timedelta | None, to: str = TO, key: str = "k1") -> Outgoing:
    return Outgoing(
        key,
        to,
        "Your appointment is tomorrow",
        None,
        None if ahead is None else clock.now() + ahead,
    )


# -- creating ---------------------------------------------------------------------------------


def test_schedule_sends_kaleyras_form_fields_and_returns_the_message_id(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    [outcome] = client.schedule([_msg(clock, timedelta(hours=2))])
    assert isinstance(outcome, Receipt)
    assert (outcome.key, outcome.state) == ("k1", State.SCHEDULED)
    stored = sim.message_to(TO)
    assert outcome.ref == stored.message_id and outcome.ref.endswith(":1")
    assert client.group_of(outcome.ref) is None
    [fields] = sim.creates
    assert fields == {
        "to": TO,
        "sender": "KLRHXA",
        "body": "Your appointment is tomorrow",
        "type": "TXN",
        "time": "2026-12-01T11:00:00+00:00",
    }
    assert ("POST", f"/v1/{DEFAULT_SID}/sms", "ok") in sim.log


def test_message_sender_and_options_reach_kaleyra(
    sim: KaleyraSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    provider = _build(
        clock, tmp_path, sim.base_url, sender="KLRHXA", type="mkt", template_id="1107161234"
    )
    try:
        msg = Outgoing("k1", TO, "Sale today", "SHOPIN", clock.now() + timedelta(hours=1))
        [outcome] = provider.schedule([msg])
    finally:
        provider.close()
    assert isinstance(outcome, Receipt)
    [fields] = sim.creates
    assert (fields["sender"], fields["type"], fields["template_id"]) == (
        "SHOPIN",
        "MKT",
        "1107161234",
    )


def test_send_now_has_no_time_and_is_sent(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    [outcome] = client.schedule([_msg(clock, None)])
    assert isinstance(outcome, Receipt) and outcome.state is State.SENT
    assert "time" not in sim.creates[0]


def test_the_simulator_also_takes_json(sim: KaleyraSimulator, clock: ManualClock) -> None:
    with httpx.Client(base_url=sim.base_url, headers={"api-key": KEY}) as http:
        body = {"to": TO, "sender": "KLRHXA", "body": "hi", "type": "TXN"}
        answer = http.post(f"/v1/{DEFAULT_SID}/sms", json=body).json()
    assert answer["totalCount"] == 1 and answer["data"][0]["recipient"] == TO


@pytest.mark.parametrize(
    ("ahead", "accepted"),
    [
        (timedelta(minutes=14, seconds=59), False),
        (timedelta(minutes=15), True),
        (None, True),  # three calendar months ahead, to the second
        ("past", False),  # one second beyond three months
    ],
)
def test_scheduling_window_edges(
    client: kaleyra.KaleyraProvider,
    sim: KaleyraSimulator,
    clock: ManualClock,
    ahead: timedelta | str | None,
    accepted: bool,
) -> None:
    three_months = add_months(clock.now(), 3) - clock.now()
    if ahead is None:
        ahead = three_months
    elif ahead == "past":
        ahead = three_months + timedelta(seconds=1)
    assert isinstance(ahead, timedelta)
    [outcome] = client.schedule([_msg(clock, ahead)])
    if accepted:
        assert isinstance(outcome, Receipt) and outcome.state is State.SCHEDULED
    else:
        assert isinstance(outcome, Rejected)
        assert outcome.reason == f"Kaleyra refused the request: {E402} [E402]"
        assert sim.creates == []


def test_planner_window_fits_inside_kaleyras() -> None:
    # Whatever the month lengths, the declared horizon never exceeds three calendar months.
    assert kaleyra.CAPABILITIES.horizon <= timedelta(days=89)
    assert kaleyra.CAPABILITIES.min_lead == timedelta(minutes=15)


def test_per_message_rejections_are_permanent_and_clear(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    sim.blocked.add("+919811111111")
    sim.approved_senders = {"KLRHXA"}
    blocked = _msg(clock, timedelta(hours=1), to="+919811111111", key="blocked")
    stranger = Outgoing("stranger", TO, "hi", "NOTOK", clock.now() + timedelta(hours=1))
    outcomes = {o.key: o for o in client.schedule([blocked])}
    outcomes |= {o.key: o for o in client.schedule([stranger])}
    assert isinstance(outcomes["blocked"], Rejected)
    assert outcomes["blocked"].reason.endswith("The number is not valid. [E413]")
    assert isinstance(outcomes["stranger"], Rejected)
    assert "Sender ID is not approved" in outcomes["stranger"].reason
    assert sim.creates == []


def test_no_sender_is_refused_without_a_request(
    sim: KaleyraSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    provider = _build(clock, tmp_path, sim.base_url)
    try:
        [outcome] = provider.schedule([_msg(clock, timedelta(hours=1))])
    finally:
        provider.close()
    assert isinstance(outcome, Rejected) and "sender ID" in outcome.reason
    assert sim.log == []


def test_otp_is_never_scheduled_at_kaleyra(
    sim: KaleyraSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    provider = _build(clock, tmp_path, sim.base_url, sender="KLRHXA", type="OTP")
    try:
        # The planner is told to hold OTP messages here and send them at their time.
        assert provider.capabilities.native_scheduling is False
        [later] = provider.schedule([_msg(clock, timedelta(hours=1))])
        [now] = provider.schedule([_msg(clock, None, key="k2")])
    finally:
        provider.close()
    assert isinstance(later, Rejected) and "OTP" in later.reason
    assert isinstance(now, Receipt) and now.state is State.SENT
    assert len(sim.creates) == 1


def test_wrong_key_is_an_authentication_error_that_never_shows_the_key(
    sim: KaleyraSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    wrong = "wrong-key-1234567"
    provider = _build(clock, tmp_path, sim.base_url, key=wrong, sender="KLRHXA")
    try:
        with pytest.raises(AuthenticationError) as info:
            provider.schedule([_msg(clock, timedelta(hours=1))])
        with pytest.raises(AuthenticationError):
            provider.check()
    finally:
        provider.close()
    assert "refused the API key" in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(provider)
    assert sim.creates == []


def test_check_uses_a_documented_read_only_call_and_says_what_it_did_not_prove(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator
) -> None:
    said = client.check()
    assert said.startswith(f"Kaleyra account {DEFAULT_SID}: the API key and SID were accepted")
    assert "not checked: sender ID approval" in said
    # "Get Callback Profiles Detail", not the undocumented /balance (which answers 404 here).
    path = f"/v1/{DEFAULT_SID}/callback/profiles"
    assert sim.log == [("GET", path, "ok")]
    assert sim.query_values("GET", path, "limit") == ["1"]
    assert sim.messages == {}  # nothing was sent to prove it
    with httpx.Client(base_url=sim.base_url, headers={"api-key": KEY}) as http:
        assert http.get(f"/v1/{DEFAULT_SID}/balance").status_code == 404


def test_non_gsm_text_carries_the_unicode_flag(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    hindi, plain = "+919876543211", "+919876543212"
    texts = {hindi: "आपकी अपॉइंटमेंट कल है", plain: "Ciao, è domani alle 10:00 {sala 3}"}
    for n, (to, text) in enumerate(texts.items()):
        msg = Outgoing(f"k{n}", to, text, None, clock.now() + timedelta(hours=1))
        [outcome] = client.schedule([msg])
        assert isinstance(outcome, Receipt)
    by_to = {fields["to"]: fields for fields in sim.creates}
    assert by_to[hindi]["unicode"] == "1"
    assert "unicode" not in by_to[plain]  # GSM-7 text (extension table too) needs no flag
    # So the phone shows what was written.
    assert sim.handset_text(sim.message_to(hindi)) == texts[hindi]
    assert sim.handset_text(sim.message_to(plain)) == texts[plain]


# -- faults at the create request ---------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_a_busy_kaleyra_is_left_to_the_engines_back_off(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock, fault: Fault
) -> None:
    sim.inject(fault, match="POST", retry_after=7)
    started = clock.now()
    # A create is sent once per call: repeating it here could outlive the engine's lease.
    with pytest.raises(TransientError) as refused:
        client.schedule([_msg(clock, timedelta(hours=1))])
    if fault is Fault.RATE_LIMIT:
        assert refused.value.retry_after == 7
    assert sim.creates_by_recipient() == {} and len(sim.log) == 1
    assert clock.now() == started  # nothing waited inside the call


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
def test_unclear_create_outcomes_are_ambiguous_and_not_repeated(
    client: kaleyra.KaleyraProvider,
    sim: KaleyraSimulator,
    clock: ManualClock,
    fault: Fault,
    created: int,
) -> None:
    sim.inject(fault, match="POST")
    with pytest.raises(AmbiguousError):
        client.schedule([_msg(clock, timedelta(hours=1))])
    assert len(sim.creates) == created
    assert [entry for entry in sim.log if entry[0] == "POST"] == [
        ("POST", f"/v1/{DEFAULT_SID}/sms", fault)
    ]


def _two_after(
    clock: ManualClock, tmp_path: Path, second_answer: httpx.Response
) -> tuple[Outgoing, list[Outcome]]:
    """Two messages scheduled in one call: Kaleyra accepts the first, then answers
    ``second_answer``."""
    answers = iter(
        [httpx.Response(200, json={"id": "r1", "data": [{"message_id": "r1:1"}]}), second_answer]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    provider = _build(clock, tmp_path, None, transport=transport, sender="KLRHXA")
    try:
        first = _msg(clock, timedelta(hours=1), key="k1")
        second = _msg(clock, timedelta(hours=1), to="+919822222222", key="k2")
        return first, provider.schedule([first, second])
    finally:
        provider.close()


def test_a_failure_after_an_accepted_message_keeps_the_receipt(
    clock: ManualClock, tmp_path: Path
) -> None:
    # The engine sends one message per request; a longer list must still never lose a receipt.
    boom = httpx.Response(500, json={"code": "E500", "message": "boom"})
    first, outcomes = _two_after(clock, tmp_path, boom)
    assert outcomes == [Receipt("k1", "r1:1", State.SCHEDULED, first.send_at)]


def test_a_refused_key_after_an_accepted_message_refuses_only_the_rest(
    clock: ManualClock, tmp_path: Path
) -> None:
    # As with every one-message-per-request provider: a 401 proves Kaleyra took nothing, so
    # the rest is refused (not left unknown) and the receipt already given is kept.
    refused_key = httpx.Response(401, json={"code": "E401", "message": "Invalid API key"})
    first, outcomes = _two_after(clock, tmp_path, refused_key)
    assert outcomes[0] == Receipt("k1", "r1:1", State.SCHEDULED, first.send_at)
    [refused] = outcomes[1:]
    assert isinstance(refused, Rejected) and refused.key == "k2"
    assert "refused the API key" in refused.reason and KEY not in refused.reason


# -- after the hand-off -------------------------------------------------------------------


def test_statuses_follow_the_send_time(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    ok, failing = "+919876543210", "+919990001234"
    refs = []
    for n, to in enumerate([ok, failing]):
        [r] = client.schedule([_msg(clock, timedelta(minutes=30), to=to, key=f"k{n}")])
        assert isinstance(r, Receipt)
        refs.append(r.ref)
    assert [s.state for s in client.fetch_status(refs)] == [State.SCHEDULED, State.SCHEDULED]
    clock.advance(timedelta(minutes=30))
    assert client.fetch_status(refs) == [
        StatusReport(refs[0], State.SENT, ""),
        StatusReport(refs[1], State.FAILED, "Number unreachable"),
    ]
    clock.advance(timedelta(minutes=1))
    assert client.fetch_status(refs)[0].state is State.DELIVERED
    # One request for both, at the documented status endpoint.
    assert sim.requests_per_path()[f"GET /v1/{DEFAULT_SID}/sms/status"] == 3
    with pytest.raises(PermanentError, match="Invalid message id"):
        client.fetch_status(["no-such-id:1"])  # refused, and said so


def test_status_is_asked_for_many_ids_per_request(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    refs = []
    for n in range(60):
        [r] = client.schedule([_msg(clock, timedelta(minutes=20), f"+9198765{n:05d}", f"k{n}")])
        assert isinstance(r, Receipt)
        refs.append(r.ref)
    clock.advance(timedelta(hours=1))
    reports = client.fetch_status(refs)
    assert [r.ref for r in reports] == refs and {r.state for r in reports} == {State.DELIVERED}
    path = f"GET /v1/{DEFAULT_SID}/sms/status"
    assert sim.requests_per_path()[path] == 2  # 50 ids, then 10
    assert all(len(q.split(",")) <= kaleyra.STATUS_IDS_PER_REQUEST for q in sim.status_queries)


def test_a_refused_status_request_is_narrowed_to_the_id_and_logged(
    client: kaleyra.KaleyraProvider,
    sim: KaleyraSimulator,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim.unknown_ids = "refuse"
    refs = []
    for n in range(4):
        [r] = client.schedule([_msg(clock, timedelta(minutes=20), f"+9198765{n:05d}", f"k{n}")])
        assert isinstance(r, Receipt)
        refs.append(r.ref)
    clock.advance(timedelta(hours=1))
    with caplog.at_level("WARNING", logger="smsdesk.providers.kaleyra"):
        reports = client.fetch_status([*refs[:2], "gone:1", *refs[2:]])
    assert [r.ref for r in reports] == refs  # the others are still read
    assert "gone:1" in caplog.text and "Invalid message id" in caplog.text


def test_dnd_numbers_fail_promotional_messages(
    sim: KaleyraSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    sim.dnd.add(TO)
    provider = _build(clock, tmp_path, sim.base_url, sender="KLRHXA", type="MKT")
    try:
        [r] = provider.schedule([_msg(clock, timedelta(minutes=20))])
        assert isinstance(r, Receipt)
        clock.advance(timedelta(minutes=21))
        [report] = provider.fetch_status([r.ref])
    finally:
        provider.close()
    assert (report.state, report.detail) == (
        State.FAILED,
        "Recipient is registered as Do Not Disturb",
    )


def test_cancel_and_reschedule_are_refused_without_a_request(
    client: kaleyra.KaleyraProvider, sim: KaleyraSimulator, clock: ManualClock
) -> None:
    with pytest.raises(PermanentError, match="Kaleyra cannot cancel a message it already holds"):
        client.cancel("abc:1")
    with pytest.raises(PermanentError, match="Kaleyra cannot reschedule"):
        client.reschedule("abc:1", clock.now() + timedelta(hours=3))
    # Never "not received" (that would invite a resend), and nothing to ask.
    [answer] = client.lookup([("k1", None)])
    assert isinstance(answer, CannotTell) and "cannot be asked" in answer.reason
    assert client.preview("hello") is None
    assert sim.log == []


# -- building an account -------------------------------------------------------------------


def _recording(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": "RBC024", "data": [], "error": {}})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("options", "host"),
    [
        ({}, "api.in.kaleyra.io"),
        ({"region": "IN"}, "api.in.kaleyra.io"),
        # The current page's SG host; an earlier version said api.ap.kaleyra.io.
        ({"region": "sg"}, "api.kaleyra.io"),
        ({"region": "EU"}, "api.eu.kaleyra.io"),
        ({"region": "NA"}, "api.na.kaleyra.ai"),
        # Where the documentation disagrees, the account names its host.
        ({"region": "SG", "host": "API.ap.kaleyra.io "}, "api.ap.kaleyra.io"),
    ],
)
def test_region_or_host_selects_the_pod(
    clock: ManualClock, tmp_path: Path, options: dict[str, str], host: str
) -> None:
    seen: list[httpx.Request] = []
    provider = _build(clock, tmp_path, None, transport=_recording(seen), **options)
    try:
        provider.check()
    finally:
        provider.close()
    [request] = seen
    assert (request.url.scheme, request.url.host) == ("https", host)
    assert request.url.path == f"/v1/{DEFAULT_SID}/callback/profiles"
    assert request.headers["api-key"] == KEY


@pytest.mark.parametrize(
    ("options", "key", "field"),
    [
        ({"sid": ""}, KEY, "option"),
        ({"sid": "HX/../x"}, KEY, "option"),
        ({"region": "US"}, KEY, "option"),
        ({"host": "api.kaleyra.io.example.com"}, KEY, "option"),  # the key stays with Kaleyra
        ({"host": "https://api.ap.kaleyra.io/v1"}, KEY, "option"),
        ({"type": "PROMO"}, KEY, "option"),
        ({"timeout": "soon"}, KEY, "option"),
        ({}, None, "api_key"),
        ({}, "  ", "api_key"),
    ],
)
def test_bad_settings_are_invalid_input(
    clock: ManualClock, tmp_path: Path, options: dict[str, str], key: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        _build_with(clock, tmp_path, None, key, None, options)
    assert info.value.field == field


def test_missing_sid_option_is_refused(clock: ManualClock, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="account SID"):
        kaleyra.build(home=tmp_path, clock=clock, options={}, base_url=None, api_key=KEY)


def test_plain_http_only_for_this_computer(clock: ManualClock, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        _build(clock, tmp_path, "http://kaleyra.example.com")


# -- reading answers (no network) ---------------------------------------------------------


def test_error_reason_reads_kaleyras_error_shape() -> None:
    body = {"code": "E402", "message": E402, "error": {"time": "x"}}
    assert kaleyra.error_reason(httpx.Response(400, json=body)) == f"{E402} [E402]"
    assert kaleyra.error_reason(httpx.Response(400, text="oops")) == "oops"


def test_message_ref_prefers_the_message_id() -> None:
    assert kaleyra.message_ref({"id": "a", "data": [{"message_id": "a:1"}]}) == "a:1"
    assert kaleyra.message_ref({"id": "a", "data": []}) == "a"
    with pytest.raises(AmbiguousError):
        kaleyra.message_ref({"data": "?"})


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # The status API's documented names, then the callbacks' "Failed".
        ({"status": "Delivered", "status_details": "DELIVERED"}, (State.DELIVERED, "")),
        ({"status": "Sent"}, (State.SENT, "")),
        ({"status": "UnDelivered", "status_details": "ABSENT"}, (State.FAILED, "ABSENT")),
        ({"status": "NotSent"}, (State.FAILED, "Kaleyra reports NotSent")),
        ({"status": "Failed", "error": {"message": "DND"}}, (State.FAILED, "DND")),
        ({"status": "queued-somewhere"}, None),
    ],
)
def test_status_names_map_in_one_place(entry: dict[str, object], expected: object) -> None:
    body = {"data": [{"campaign_id": "a:1", **entry}], "error": {}}
    assert kaleyra.status_entries(body, ["a:1"]).get("a:1") == expected
    # An entry that names no id is the one asked, when one was.
    assert kaleyra.status_entries({"data": [entry]}, ["b:1"]).get("b:1") == expected


def test_time_is_sent_in_kaleyras_format() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime(2026, 12, 1, 14, 30, 5, 999, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert kaleyra.format_time(at) == "2026-12-01T09:00:05+00:00"
    assert json.dumps(kaleyra.CAPABILITIES.as_dict())  # shown by 'provider list --json'
