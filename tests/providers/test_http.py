"""The shared HTTP layer over real loopback sockets: what each kind of failure becomes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

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
from smsdesk.providers.http import HttpClient, redact_numbers
from tests.simulators.base import Fault, Request, Response, Simulator

KEY = "secret-key-93bd"


class Echo(Simulator):
    name = "Echo"

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock, api_key=KEY, stall=0.5)
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


def test_rate_limit_is_retried_after_the_time_asked(
    client: HttpClient, sim: Echo, clock: ManualClock
) -> None:
    before = clock.now()
    sim.inject(Fault.RATE_LIMIT, retry_after=7)
    assert client.request("POST", "/messages", creates=True, json={})["n"] == 1
    assert (clock.now() - before).total_seconds() == 7  # slept on the injected clock
    assert [entry[2] for entry in sim.log] == ["429", "ok"]


def test_rate_limit_that_persists_is_transient_with_retry_after(
    client: HttpClient, sim: Echo
) -> None:
    sim.inject(Fault.RATE_LIMIT, times=3, retry_after=30)
    with pytest.raises(TransientError) as info:
        client.request("POST", "/messages", creates=True, json={})
    assert info.value.retry_after == 30
    assert sim.created == 0


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
