"""The Infobip client against the loopback Infobip simulator, over real sockets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.providers.base import (
    AuthenticationError,
    DeliveryWindow,
    ForbiddenError,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
)
from smsdesk.providers.infobip import (
    CAPABILITIES,
    InfobipProvider,
    build,
    error_reason,
    format_send_at,
    split_ref,
)
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
ANN, BOB, CAT = "+41793026727", "+41793026834", "+41793026901"
FAILS, EXPIRES, INVALID, OPTED_OUT = "+41793020001", "+41793021001", "+41793022001", "+41793026999"
DND = "+41793026998"
HOUR = timedelta(hours=1)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY, stall=5.0)
    simulator.fail_prefixes = ("4179302000",)
    simulator.expire_prefixes = ("4179302100",)
    simulator.reject_prefixes = ("4179302200",)
    simulator.opted_out = {OPTED_OUT.removeprefix("+")}
    simulator.dnd = {DND.removeprefix("+")}
    simulator.start()
    yield simulator
    simulator.stop()


def _provider(sim: InfobipSimulator, clock: ManualClock, tmp_path: Path, **kw: Any) -> Any:
    options = {"timeout": "1.0", **kw.pop("options", {})}
    return build(
        home=tmp_path,
        clock=clock,
        options=options,
        base_url=sim.base_url,
        api_key=kw.pop("api_key", KEY),
        **kw,
    )


@pytest.fixture
def ib(sim: InfobipSimulator, clock: ManualClock, tmp_path: Path) -> Iterator[InfobipProvider]:
    provider = _provider(sim, clock, tmp_path)
    yield provider
    provider.close()


def _out(key: str, to: str = ANN, at: Any = None, text: str = "Your appointment") -> Outgoing:
    return Outgoing(key, to, text, "Clinic", at)


def _send(provider: InfobipProvider, messages: list[Outgoing]) -> list[Any]:
    """As the engine hands off: bulks chosen (and stored) first, then the requests."""
    return provider.schedule(provider.assign_groups(messages))


def _receipts(ib: InfobipProvider, messages: list[Outgoing]) -> list[Receipt]:
    outcomes = _send(ib, messages)
    receipts = [o for o in outcomes if isinstance(o, Receipt)]
    assert receipts == outcomes
    return receipts


def _by_key(outcomes: list[Any]) -> dict[str, Any]:
    return {o.key: o for o in outcomes}


def test_one_request_per_send_time_and_text_with_our_keys_as_message_ids(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    t1, t2 = clock.now() + HOUR, clock.now() + 2 * HOUR
    outcomes = _by_key(
        _send(
            ib,
            [
                _out("k1", ANN, t1),
                _out("k2", BOB, t1, text="Other words"),
                _out("k3", CAT, t2),
                _out("k4", CAT, None),
            ],
        )
    )
    # One text per request: the only bulk Infobip documents as changeable as a whole.
    assert len(sim.bodies) == 4
    first = sim.bodies[0]
    assert [m["content"]["text"] for m in first["messages"]] == ["Your appointment"]
    assert [m["content"]["text"] for m in sim.bodies[1]["messages"]] == ["Other words"]
    assert first["messages"][0]["destinations"] == [{"to": "41793026727", "messageId": "k1"}]
    assert first["messages"][0]["sender"] == "Clinic"
    schedule = first["options"]["schedule"]
    assert schedule["sendAt"] == "2026-12-01T10:00:00.000+0000"
    # Sent now: our bulkId without a sendAt.
    assert sim.bodies[3]["options"] == {"schedule": {"bulkId": ib.group_of(outcomes["k4"].ref)}}
    k1, k2, k3, k4 = (outcomes[k] for k in ("k1", "k2", "k3", "k4"))
    assert all(isinstance(o, Receipt) for o in (k1, k2, k3, k4))
    assert split_ref(k1.ref) == (schedule["bulkId"], "k1")
    assert ib.group_of(k1.ref) == schedule["bulkId"]
    assert len({ib.group_of(o.ref) for o in (k1, k2, k3, k4)}) == 4
    assert (k1.state, k1.send_at, k4.state) == (State.SCHEDULED, t1, State.SENT)
    assert sim.creates_by_key() == {"k1": 1, "k2": 1, "k3": 1, "k4": 1}
    assert CAPABILITIES.batch_size == 1000 and CAPABILITIES.lookup_by_key


def test_a_thousand_recipients_per_request(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    outcomes = _send(ib, [_out(f"k{i}", f"+417930{i:05d}", at) for i in range(1001)])
    assert len(outcomes) == 1001 and len(sim.bodies) == 2
    assert [len(b["messages"][0]["destinations"]) for b in sim.bodies] == [1000, 1]


def test_horizon_edge(ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock) -> None:
    edge = clock.now() + timedelta(days=180)
    outcomes = _by_key(_send(ib, [_out("in", ANN, edge), _out("out", BOB, edge + HOUR)]))
    assert isinstance(outcomes["in"], Receipt) and outcomes["in"].state is State.SCHEDULED
    beyond = outcomes["out"]
    assert isinstance(beyond, Rejected)
    assert "180 days" in beyond.reason and "(E400)" in beyond.reason
    assert sim.creates_by_key() == {"in": 1}


def test_per_message_rejections_do_not_affect_the_others(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    outcomes = _by_key(
        _send(ib, [_out("ok", ANN, at), _out("bad", INVALID, at), _out("dnd", DND, at)])
    )
    assert isinstance(outcomes["ok"], Receipt)
    bad, dnd = outcomes["bad"], outcomes["dnd"]
    assert isinstance(bad, Rejected) and "Invalid destination address" in bad.reason
    assert not bad.opted_out
    # REJECTED_DND is a Do-Not-Disturb registration as documented, not a STOP from everything.
    assert isinstance(dnd, Rejected) and not dnd.opted_out
    assert "subscribed to DND (Do Not Disturb) services (REJECTED_DND)" in dnd.reason


def test_a_stop_arrives_as_error_603_and_is_reported_as_an_opt_out(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    outcomes = _by_key(_send(ib, [_out("stop", OPTED_OUT, at), _out("ok", ANN, at)]))
    refs = {key: o.ref for key, o in outcomes.items() if isinstance(o, Receipt)}
    assert set(refs) == {"stop", "ok"}  # Infobip takes it; the STOP shows in the report
    clock.advance(HOUR + timedelta(minutes=1))
    reports = {r.ref: r for r in ib.fetch_status(list(refs.values()))}
    stop, ok = reports[refs["stop"]], reports[refs["ok"]]
    assert (stop.state, stop.opted_out) == (State.FAILED, True)
    assert stop.detail == "Content blocked by user opt-out (MO: STOP) (EC_CONTENT_BLOCKED)"
    assert (ok.state, ok.opted_out) == (State.DELIVERED, False)


def test_reschedule_moves_the_whole_bulk(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    first, second = _receipts(ib, [_out("k1", ANN, at), _out("k2", BOB, at)])
    later = clock.now() + timedelta(days=3)
    ib.reschedule(first.ref, later)
    bulk = sim.bulks[split_ref(first.ref)[0]]
    assert bulk.send_at == later
    assert sim.log[-1][:2] == ("PUT", "/sms/1/bulks")
    with pytest.raises(PermanentError, match="180 days"):
        ib.reschedule(second.ref, clock.now() + timedelta(days=181))
    clock.advance(HOUR + timedelta(minutes=1))
    assert {r.state for r in ib.fetch_status([first.ref, second.ref])} == {State.SCHEDULED}


def test_cancel_is_bulk_wide_and_idempotent(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    at = clock.now() + HOUR
    first, second = _receipts(ib, [_out("k1", ANN, at), _out("k2", BOB, at)])
    ib.cancel(first.ref)
    ib.cancel(second.ref)  # same bulk, already cancelled: fine
    ib.cancel(first.ref)
    assert sim.bulk_status(split_ref(first.ref)[0]) == "CANCELED"
    clock.advance(2 * HOUR)
    reports = {r.ref: r.state for r in ib.fetch_status([first.ref, second.ref])}
    assert reports == {first.ref: State.CANCELLED, second.ref: State.CANCELLED}
    with pytest.raises(PermanentError, match=r"cannot reschedule .*: it was cancelled"):
        ib.reschedule(first.ref, clock.now() + HOUR)


def test_pause_holds_a_bulk_past_its_time_and_resume_lets_it_go(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    [receipt] = _receipts(ib, [_out("k1", ANN, clock.now() + HOUR)])
    bulk = split_ref(receipt.ref)[0]
    ib.pause(receipt.ref)
    assert sim.bulk_status(bulk) == "PAUSED"
    with pytest.raises(PermanentError, match=r"cannot pause .*: it is paused"):
        ib.pause(receipt.ref)
    clock.advance(2 * HOUR)  # its send time passes while paused: nothing goes out
    assert [r.state for r in ib.fetch_status([receipt.ref])] == [State.SCHEDULED]
    ib.resume(receipt.ref)
    with pytest.raises(PermanentError, match="cannot resume"):
        ib.resume(receipt.ref)
    clock.advance(timedelta(minutes=5))
    assert [r.state for r in ib.fetch_status([receipt.ref])] == [State.DELIVERED]


def test_a_lost_cancel_answer_is_repeated_safely(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    [receipt] = _receipts(ib, [_out("k1", ANN, clock.now() + HOUR)])
    sim.inject(Fault.LOST, match="PUT /sms/1/bulks/status")
    ib.cancel(receipt.ref)  # HttpClient repeats the PUT; Infobip refuses it; it is done
    assert sim.bulk_status(split_ref(receipt.ref)[0]) == "CANCELED"


@pytest.mark.parametrize(
    ("after", "words"),
    [(timedelta(seconds=10), "already sending"), (timedelta(minutes=5), "already sent")],
)
def test_no_change_once_the_bulk_is_being_sent(
    ib: InfobipProvider, clock: ManualClock, after: timedelta, words: str
) -> None:
    at = clock.now() + HOUR
    [receipt] = _receipts(ib, [_out("k1", ANN, at)])
    clock.set(at + after)  # PROCESSING for 30 s after the send time, then FINISHED
    with pytest.raises(PermanentError, match=f"cannot cancel .*{words}"):
        ib.cancel(receipt.ref)
    with pytest.raises(PermanentError, match=f"cannot reschedule .*{words}"):
        ib.reschedule(receipt.ref, clock.now() + HOUR)


def test_status_progression_and_mapping(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    sim.delivery_delay = timedelta(minutes=2)
    at = clock.now() + HOUR
    receipts = _receipts(ib, [_out("ok", ANN, at), _out("ko", FAILS, at), _out("old", EXPIRES, at)])
    refs = {r.key: r.ref for r in receipts}

    def states() -> dict[str, tuple[State, str]]:
        found = {r.ref: (r.state, r.detail) for r in ib.fetch_status(list(refs.values()))}
        return {k: found[ref] for k, ref in refs.items()}

    assert {s for s, _ in states().values()} == {State.SCHEDULED}
    clock.set(at + timedelta(minutes=1))  # left Infobip, no delivery report yet
    assert {s for s, _ in states().values()} == {State.SENT}
    clock.set(at + timedelta(minutes=3))
    now = states()
    assert now["ok"] == (State.DELIVERED, "")
    assert now["ko"] == (State.FAILED, "Unknown subscriber (EC_UNKNOWN_SUBSCRIBER)")
    assert now["old"] == (State.EXPIRED, "")


def test_each_report_is_given_once_and_never_lost(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    sim.delivery_delay = timedelta(minutes=2)
    at = clock.now() + HOUR
    [ok, ko] = _receipts(ib, [_out("ok", ANN, at), _out("ko", FAILS, at)])
    clock.set(at + timedelta(minutes=4))
    [now] = _receipts(ib, [_out("now", BOB, None)])  # no report yet: only the logs know it
    clock.set(at + timedelta(minutes=5))
    # The reports are pulled, then the logs (needed for `now`) fail: what was pulled is
    # still answered...
    sim.inject(Fault.SERVER_ERROR, times=3, match="GET /sms/3/logs")
    assert {r.ref: r.state for r in ib.fetch_status([ok.ref, ko.ref, now.ref])} == {
        ok.ref: State.DELIVERED,
        ko.ref: State.FAILED,
    }
    assert sim.pending_faults() == 0
    # ...Infobip will not hand them out again...
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"App {KEY}"}) as raw:
        again_raw = raw.get("/sms/3/reports", params={"bulkId": split_ref(ok.ref)[0]})
        assert again_raw.json() == {"results": []}
    # ...the client kept them, and a fresh client (a restart) reads the logs instead.
    again = {r.ref: r.state for r in ib.fetch_status([ok.ref, ko.ref, now.ref])}
    assert again == {ok.ref: State.DELIVERED, ko.ref: State.FAILED, now.ref: State.SENT}
    fresh = _provider(sim, clock, tmp_path)
    try:
        restarted = {r.ref: (r.state, r.detail) for r in fresh.fetch_status([ok.ref, ko.ref])}
        assert restarted[ko.ref] == (State.FAILED, "Unknown subscriber (EC_UNKNOWN_SUBSCRIBER)")
        assert restarted[ok.ref] == (State.DELIVERED, "")
        # Infobip keeps logs about 48 hours: after that only a kept report knows the outcome;
        # the finished bulk still says the message left.
        clock.advance(timedelta(hours=49))
        later = _provider(sim, clock, tmp_path)
        try:
            assert [r.state for r in later.fetch_status([ok.ref])] == [State.SENT]
        finally:
            later.close()
        assert [r.state for r in fresh.fetch_status([ok.ref])] == [State.DELIVERED]
        assert [r.state for r in ib.fetch_status([ok.ref])] == [State.DELIVERED]
    finally:
        fresh.close()
    assert not {"GET /sms/1/logs", "GET /sms/1/reports"} & set(sim.requests_per_path())


def test_sent_now_messages_are_followed_without_a_bulk_to_ask(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    sim.delivery_delay = timedelta(minutes=2)
    [receipt] = _receipts(ib, [_out("now", ANN, None)])
    assert receipt.state is State.SENT and ib.group_of(receipt.ref)
    # Infobip knows no *scheduled* bulk for it (404): the log alone says it has left.
    assert [r.state for r in ib.fetch_status([receipt.ref])] == [State.SENT]
    clock.advance(timedelta(minutes=3))
    assert [r.state for r in ib.fetch_status([receipt.ref])] == [State.DELIVERED]


def test_preview_and_check(ib: InfobipProvider) -> None:
    preview = ib.preview("a" * 161)
    assert preview is not None and (preview.segments, preview.text) == (2, "a" * 161)
    assert preview.characters_remaining == 153 * 2 - 161
    assert "accepted the API key" in ib.check()


def test_a_wrong_key_is_a_clear_error_and_never_shown(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-key-0a1b2c3d"
    provider = _provider(sim, clock, tmp_path, api_key=wrong)
    try:
        with pytest.raises(AuthenticationError, match="refused the API key") as check:
            provider.check()
        with pytest.raises(AuthenticationError) as send:
            _send(provider, [_out("k1", ANN, clock.now() + HOUR)])
        for exc in (check.value, send.value):
            assert wrong not in str(exc) and KEY not in str(exc)
        assert wrong not in repr(provider)
    finally:
        provider.close()
    assert sim.creates_by_key() == {}
    assert wrong not in caplog.text and caplog.text  # the requests were logged, without it


def test_a_later_request_failing_leaves_its_messages_to_reconciliation(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    class SecondCreateTimesOut(httpx.HTTPTransport):
        creates = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path == "/sms/3/messages":
                self.creates += 1
                if self.creates in (2, 3):
                    raise httpx.ReadTimeout("no answer", request=request)
            return super().handle_request(request)

    provider = _provider(sim, clock, tmp_path, transport=SecondCreateTimesOut())
    try:
        at = clock.now() + HOUR
        outcomes = _send(provider, [_out("k1", ANN, at), _out("k2", BOB, at + HOUR)])
        # k2's outcome is unclear: left out, so the engine looks it up instead of resending.
        assert [o.key for o in outcomes] == ["k1"]
        with pytest.raises(Exception, match="did not answer"):
            _send(provider, [_out("k3", ANN, at)])  # the first request: nothing created
    finally:
        provider.close()


def test_message_options_are_sent(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    options = {
        "validity_minutes": "720",
        "delivery_window": "08:00-21:30",
        "delivery_days": "mon,TUESDAY",
    }
    provider = _provider(sim, clock, tmp_path, options=options)
    try:
        _send(provider, [_out("k1", ANN, clock.now() + HOUR)])
    finally:
        provider.close()
    assert sim.bodies[0]["messages"][0]["options"] == {
        "validityPeriod": {"amount": 720, "timeUnit": "MINUTES"},
        "deliveryTimeWindow": {
            "from": {"hour": 8, "minute": 0},
            "to": {"hour": 21, "minute": 30},
            "days": ["MONDAY", "TUESDAY"],
        },
    }


@pytest.mark.parametrize(
    ("options", "base_url", "api_key", "field"),
    [
        ({}, "https://x.api.infobip.com", None, "api_key"),
        ({}, None, "k", "base_url"),
        ({}, "http://x.api.infobip.com", "k", "base_url"),
        ({"region": "EU"}, "https://x.api.infobip.com", "k", "option"),
        ({"timeout": "soon"}, "https://x.api.infobip.com", "k", "option"),
        ({"validity_minutes": "5000"}, "https://x.api.infobip.com", "k", "option"),
        ({"delivery_window": "21:00-08:00"}, "https://x.api.infobip.com", "k", "option"),
        ({"delivery_days": "Funday"}, "https://x.api.infobip.com", "k", "option"),
    ],
)
def test_build_refuses_bad_settings(
    clock: ManualClock,
    tmp_path: Path,
    options: dict[str, str],
    base_url: str | None,
    api_key: str | None,
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        build(home=tmp_path, clock=clock, options=options, base_url=base_url, api_key=api_key)
    assert caught.value.field == field


def test_error_reasons_in_infobip_words() -> None:
    v1 = httpx.Response(
        400,
        json={"requestError": {"serviceException": {"messageId": "BAD_REQUEST", "text": "Nope"}}},
    )
    v3 = httpx.Response(
        400,
        json={
            "errorCode": "E400",
            "description": "Request cannot be processed.",
            "violations": [{"property": "messages[0].destinations", "violation": "empty"}],
        },
    )
    assert error_reason(v1) == "Nope (BAD_REQUEST)"
    assert error_reason(v3) == (
        "Request cannot be processed. [messages[0].destinations: empty] (E400)"
    )
    assert error_reason(httpx.Response(400, text="plain")) == "plain"


def test_send_at_format(clock: ManualClock) -> None:
    assert format_send_at(clock.now() + timedelta(milliseconds=7)) == (
        "2026-12-01T09:00:00.007+0000"
    )


# -- what the key's scopes allow (x-scopes) ---------------------------------------------------

TUTORIAL_KEY = "ib-key-tutorial-51a0"  # made as Infobip's scheduling tutorial says
LOGS_KEY = "ib-key-logs-only-7c2e"


def test_check_lists_what_a_full_key_can_do_and_changes_nothing(
    ib: InfobipProvider, sim: InfobipSimulator
) -> None:
    said = ib.check()
    assert said.endswith(
        "accepted the API key: can send and schedule ✓; can check scheduled bulks ✓; "
        "can reschedule, pause and cancel ✓; can preview on Infobip ✓; can read message logs ✓."
    )
    # Read-only probes: nothing created, changed or handed out.
    assert sim.bodies == [] and sim.bulks == {} and sim.messages == []
    assert "PUT" not in {method for method, _, _ in sim.log}


def test_a_tutorial_key_passes_for_sending_and_says_what_it_lacks(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    sim.add_key(TUTORIAL_KEY, "sms:message:send")
    provider = _provider(sim, clock, tmp_path, api_key=TUTORIAL_KEY)
    try:
        said = provider.check()
    finally:
        provider.close()
    assert "can send and schedule ✓; can check scheduled bulks ✓" in said
    assert "can reschedule, pause and cancel ✗ (the key lacks sms:manage)" in said
    assert "can preview on Infobip ✗ (the key lacks sms:manage)" in said
    assert "can read message logs ✗ (the key lacks sms:logs:read or sms:manage)" in said


def test_a_key_that_cannot_send_fails_the_check_with_the_list(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    sim.add_key(LOGS_KEY, "sms:logs:read")
    provider = _provider(sim, clock, tmp_path, api_key=LOGS_KEY)
    try:
        with pytest.raises(AuthenticationError) as refused:
            provider.check()
    finally:
        provider.close()
    said = str(refused.value)
    assert "accepted the API key, but it cannot send SMS" in said
    assert "can send and schedule ✗ (the key lacks sms:message:send, message:send or " in said
    assert "can read message logs ✓" in said


def test_a_tutorial_key_schedules_syncs_and_is_told_why_it_cannot_cancel(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    sim.add_key(TUTORIAL_KEY, "sms:message:send")
    provider = _provider(sim, clock, tmp_path, api_key=TUTORIAL_KEY)
    try:
        [receipt] = _receipts(provider, [_out("k1", ANN, clock.now() + HOUR)])
        with pytest.raises(ForbiddenError) as refused:
            provider.cancel(receipt.ref)
        assert provider.preview("hello") is None  # no server preview: the local count stands
        clock.advance(HOUR + timedelta(minutes=1))
        [report] = provider.fetch_status([receipt.ref])
    finally:
        provider.close()
    said = str(refused.value)
    assert said.startswith("Infobip refused to cancel with this API key: it lacks sms:manage")
    assert "Forbidden (FORBIDDEN)" in said and "refused the API key" not in said
    assert sim.bulk_status(split_ref(receipt.ref)[0]) == "FINISHED"  # not cancelled
    assert report.state is State.DELIVERED  # from the delivery reports; logs are closed to it


# -- deliveryTimeWindow: at least an hour, and the recipients' allowed hours -----------------


@pytest.mark.parametrize("window", ["08:00-08:30", "08:00-08:59", "21:00-08:00"])
def test_a_delivery_window_under_an_hour_is_refused_when_the_account_is_saved(
    clock: ManualClock, tmp_path: Path, window: str
) -> None:
    with pytest.raises(InvalidInput, match="at least one hour") as caught:
        build(
            home=tmp_path,
            clock=clock,
            options={"delivery_window": window},
            base_url="https://x.api.infobip.com",
            api_key="k",
        )
    assert caught.value.field == "option"
    # An hour exactly is Infobip's minimum, and accepted.
    build(
        home=tmp_path,
        clock=clock,
        options={"delivery_window": "08:00-09:00"},
        base_url="https://x.api.infobip.com",
        api_key="k",
    ).close()


def test_the_simulator_refuses_a_window_under_an_hour_as_infobip_documents(
    sim: InfobipSimulator,
) -> None:
    window = {"days": ["MONDAY"], "from": {"hour": 8, "minute": 0}, "to": {"hour": 8, "minute": 30}}
    body = {
        "messages": [
            {
                "destinations": [{"to": "41793026727"}],
                "content": {"text": "hi"},
                "options": {"deliveryTimeWindow": window},
            }
        ]
    }
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"App {KEY}"}) as http:
        answer = http.post("/sms/3/messages", json=body)
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "E400"
    [violation] = answer.json()["violations"]
    assert violation["property"] == "messages[0].options.deliveryTimeWindow"
    assert sim.messages == []


def test_recipients_allowed_hours_go_to_infobip_so_it_holds_a_late_release_until_morning(
    ib: InfobipProvider, sim: InfobipSimulator, clock: ManualClock
) -> None:
    from datetime import time
    from zoneinfo import ZoneInfo

    day = clock.now().date()
    zurich = DeliveryWindow.allowed(time(8), time(21), ZoneInfo("Europe/Zurich"), day)
    kolkata = DeliveryWindow.allowed(time(8), time(21), ZoneInfo("Asia/Kolkata"), day)
    assert zurich == DeliveryWindow(time(7), time(20))  # UTC, in winter
    assert kolkata == DeliveryWindow(time(2, 30), time(15, 30))
    at = clock.now() + HOUR
    outs = [
        replace(_out("zh", ANN, at), window=zurich),
        replace(_out("in", "+919876543210", at), window=kolkata),
    ]
    receipts = {r.key: r for r in _receipts(ib, outs)}
    # Each window is its own content, so its own bulk of one messages[] entry.
    windows = [m["options"]["deliveryTimeWindow"] for b in sim.bodies for m in b["messages"]]
    every_day = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
    assert windows == [
        {"days": every_day, "from": {"hour": 7, "minute": 0}, "to": {"hour": 20, "minute": 0}},
        {"days": every_day, "from": {"hour": 2, "minute": 30}, "to": {"hour": 15, "minute": 30}},
    ]
    assert len({split_ref(r.ref)[0] for r in receipts.values()}) == 2
    # Moved (say, by a late pause and resume) to 01:00 UTC: Infobip holds the Zurich message
    # until 07:00 UTC instead of waking the recipient.
    night = datetime.combine(day + timedelta(days=1), time(1), UTC)
    ib.reschedule(receipts["zh"].ref, night)
    clock.set(night + timedelta(minutes=30))
    assert sim.message("zh").to == ANN.removeprefix("+")
    statuses = {r.ref: r.state for r in ib.fetch_status([receipts["zh"].ref])}
    assert statuses[receipts["zh"].ref] is not State.DELIVERED
    clock.set(datetime.combine(day + timedelta(days=1), time(7, 1), UTC))
    [report] = ib.fetch_status([receipts["zh"].ref])
    assert report.state is State.DELIVERED


def test_hours_the_account_sets_take_precedence_over_the_recipients(
    sim: InfobipSimulator, clock: ManualClock, tmp_path: Path
) -> None:
    from datetime import time

    options = {"delivery_window": "09:00-17:00", "delivery_days": "MON,TUE,WED,THU,FRI"}
    provider = _provider(sim, clock, tmp_path, options=options)
    try:
        out = replace(_out("k1", ANN, clock.now() + HOUR), window=DeliveryWindow(time(7), time(20)))
        _send(provider, [out])
    finally:
        provider.close()
    window = sim.bodies[0]["messages"][0]["options"]["deliveryTimeWindow"]
    assert (window["from"], window["to"]) == ({"hour": 9, "minute": 0}, {"hour": 17, "minute": 0})
