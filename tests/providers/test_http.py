"""The shared HTTP layer over real loopback sockets: what each kind of failure becomes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    PermanentError,
    TransientError,
)
from smsdesk.providers.http import HttpClient, redact_numbers, worst_case_seconds
from tests.simulators.base import Fault, Request, Response, Simulator

KEY = "secret-key-93bd"


class Echo(Simulator):
    name = "Echo"

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock, api_key=KEY, stall=5.0)
        self.created = 0

    def route(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response(401, {"error": "bad key"})
        if request.path == "/reject":
            return Response(400, {"error": f"number +41793026727 invalid; key {KEY}"})
        if request.method == "POST":
            self.created += 1
        return Response(200, {"ok": True, "n": self.created})


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[Echo]:
    with Echo(clock) as s:
        yield s  # type: ignore[misc]


@pytest.fixture
def client(sim: Echo, clock: ManualClock) -> Iterator[HttpClient]:
    c = HttpClient(
        "Echo",
        sim.base_url,
        {"Authorization": f"Bearer {KEY}"},
        secret=KEY,
        error_reason=lambda r: str(r.json()["error"]),
        timeout=httpx.Timeout(5.0, read=0.2),
        sleep=clock.sleep,
    )
    yield c
    c.close()


def test_success_decodes_json(client: HttpClient) -> None:
    assert client.request("POST", "/messages", creates=True, json={}) == {"ok": True, "n": 1}


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.UNAVAILABLE])
def test_a_busy_answer_to_a_create_is_not_retried_here(
    client: HttpClient, sim: Echo, clock: ManualClock, fault: Fault
) -> None:
    """The engine owns a create's retries (it must know no request outlives its lease): one
    try, no wait, the provider's Retry-After handed back for the engine's back-off."""
    before = clock.now()
    sim.inject(fault, retry_after=60)
    with pytest.raises(TransientError) as info:
        client.request("POST", "/messages", creates=True, json={})
    assert info.value.retry_after == (60 if fault is Fault.RATE_LIMIT else None)
    assert clock.now() == before  # nothing slept
    assert [entry[2] for entry in sim.log] == [fault.value]
    assert sim.created == 0


def test_a_read_is_retried_after_a_short_retry_after(
    client: HttpClient, sim: Echo, clock: ManualClock
) -> None:
    before = clock.now()
    sim.inject(Fault.RATE_LIMIT, retry_after=2)
    assert client.request("GET", "/status") == {"ok": True, "n": 0}
    assert (clock.now() - before).total_seconds() == 2  # slept on the injected clock
    assert [entry[2] for entry in sim.log] == ["429", "ok"]


def test_a_read_asked_to_wait_long_gives_up_at_once(
    client: HttpClient, sim: Echo, clock: ManualClock
) -> None:
    before = clock.now()
    sim.inject(Fault.RATE_LIMIT, retry_after=60)
    with pytest.raises(TransientError) as info:
        client.request("GET", "/status")
    assert info.value.retry_after == 60
    assert clock.now() == before
    assert len(sim.log) == 1


def test_worst_case_bounds_the_requests_the_engine_makes_under_a_lease() -> None:
    timeout = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=5.0)
    # Pool, connect, write, then the headers and the body within a read limit each (and the
    # piece crossing the body's limit).
    assert worst_case_seconds(timeout, creates=True) == 5 + 5 + 10 + 3 * 20
    # A read: three attempts and the short waits between them.
    assert worst_case_seconds(timeout, creates=False) == 3 * 80.0 + 2 * 5.0


class Trickle(Echo):
    """Answers its headers at once, then the body a byte at a time."""

    def _serve(self, handler: Any) -> None:
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        self.log.append((handler.command, handler.path, "trickle"))
        body = b'{"ok": true}' + b" " * 200
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.01)
        except OSError:
            pass  # the client gave up: what this test expects


def test_an_answer_trickling_in_cannot_stretch_a_create_past_its_read_limit(
    clock: ManualClock,
) -> None:
    with Trickle(clock) as sim:
        c = HttpClient(
            "Echo",
            sim.base_url,
            {"Authorization": f"Bearer {KEY}"},
            secret=KEY,
            timeout=httpx.Timeout(5.0, read=0.5),
            sleep=clock.sleep,
        )
        started = time.monotonic()
        with pytest.raises(AmbiguousError):
            c.request("POST", "/messages", creates=True, json={})
        # Each byte came well within the read limit; the whole answer did not.
        assert time.monotonic() - started < 1.5
        c.close()


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.LOST, Fault.TIMEOUT, Fault.MALFORMED])
def test_unclear_outcome_of_a_create_is_ambiguous_and_not_repeated(
    client: HttpClient, sim: Echo, fault: Fault
) -> None:
    sim.inject(fault)
    with pytest.raises(AmbiguousError):
        client.request("POST", "/messages", creates=True, json={})
    assert len(sim.log) == 1


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.LOST, Fault.RESET, Fault.MALFORMED])
def test_a_read_is_simply_repeated(client: HttpClient, sim: Echo, fault: Fault) -> None:
    sim.inject(fault)
    assert client.request("GET", "/status") == {"ok": True, "n": 0}
    assert len(sim.log) == 2


def test_unreachable_is_transient(clock: ManualClock) -> None:
    c = HttpClient("Echo", "http://127.0.0.1:9", {}, secret=KEY, sleep=clock.sleep)
    with pytest.raises(TransientError, match="could not be reached"):
        c.request("POST", "/messages", creates=True)
    c.close()


def test_auth_failure_says_what_to_do(sim: Echo, clock: ManualClock) -> None:
    c = HttpClient(
        "Echo", sim.base_url, {"Authorization": "Bearer wrong"}, secret="wrong", sleep=clock.sleep
    )
    with pytest.raises(AuthenticationError) as info:
        c.request("GET", "/status")
    assert "Test connection" in info.value.hint
    c.close()


def test_rejection_carries_the_reason_without_key_or_whole_number(
    client: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="smsdesk.providers.http")
    with pytest.raises(PermanentError) as info:
        client.request("POST", "/reject", creates=True, json={"to": "+41793026727"})
    text = str(info.value)
    assert text.startswith("Echo refused the request: number +417…27 invalid")
    assert KEY not in text and "41793026727" not in text
    logged = caplog.text
    assert "POST /reject → 400" in logged and KEY not in logged


def test_plain_http_is_refused_except_on_loopback() -> None:
    with pytest.raises(InvalidInput, match="must use https"):
        HttpClient("Echo", "http://api.example.com", {}, secret=KEY)
    HttpClient("Echo", "https://api.example.com", {}, secret=KEY).close()


def test_redaction_keeps_numbers_recognisable() -> None:
    assert redact_numbers("to=+15551234567&x=12") == "to=+155…67&x=12"
