"""A server (or a proxy in between) that echoes the request's credentials in its error text
never gets the API key into smsdesk's error messages or logs, in any form it echoes: raw,
base64, URL-encoded. Each provider is tried with a key of its documented shape, and the echo
comes from a real loopback simulator answering in that provider's own error format."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.providers.base import Provider, ProviderError
from smsdesk.providers.registry import open_provider
from tests.simulators.base import Request, Response, Simulator
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.kaleyra import DEFAULT_SID, KaleyraSimulator
from tests.simulators.telnyx import TelnyxSimulator
from tests.simulators.twilio import ACCOUNT_SID, SERVICE_SID, TwilioSimulator

# Infobip's own example (Authorization header section of its API reference): digit runs
# that look like phone numbers sit inside the key.
INFOBIP_KEY = "003026bbc133714df1834b8638bb496e-8f4b3d9a-e931-478d-a994-28a725159ab9"
# Telnyx v2 keys: "KEY", 32 hex digits, "_", 22 characters.
TELNYX_KEY = "KEY0185E2A41737B9C40231D65F0E8A9B2C_Zq7W2x9Lp0aB3cD4eF5gH6"
# Kaleyra: "A" and 32 hex digits.
KALEYRA_KEY = "A1b2c3d4e5f60718293a4b5c6d7e8f901"
# Twilio Auth Token: 32 hex digits (sent as Basic auth of "AccountSid:token").
TWILIO_KEY = "5f8e2a9c1b7d403926154e8a7f3c2d10"


def _echoed(request: Request, key: str) -> str:
    """What a careless server quotes back: the auth header, and the key URL-encoded and
    base64-encoded as some gateways log it."""
    header = request.headers.get("authorization") or request.headers.get("api-key") or ""
    words = [
        f"bad request from 4179302672 with Authorization: {header}",
        f"key={quote(key, safe='')}",
        f"k={quote_plus(key)}",
        f"b64={base64.b64encode(key.encode()).decode()}",
    ]
    if header.startswith("Basic "):
        words.append(f"user={base64.b64decode(header[6:]).decode()}")
    return "; ".join(words)


def _infobip(text: str) -> Any:
    return {"requestError": {"serviceException": {"messageId": "BAD_REQUEST", "text": text}}}


def _telnyx(text: str) -> Any:
    return {"errors": [{"code": "10015", "title": "Bad Request", "detail": text}]}


def _kaleyra(text: str) -> Any:
    return {"code": "E400", "message": text}


def _twilio(text: str) -> Any:
    return {"code": 21604, "message": text, "status": 400}


def _echoing(base: type[Simulator], shape: Callable[[str], Any]) -> type[Simulator]:
    class Echoing(base):  # type: ignore[valid-type, misc]
        def route(self, request: Request) -> Response:
            return Response(400, shape(_echoed(request, self.api_key)))

    return Echoing


def _status(provider: Provider) -> None:
    provider.fetch_status(["4179302672-ref"])


def _cancel(provider: Provider) -> None:
    provider.cancel("4179302672-ref")


# A call whose refusal each provider client reports as an error (others are retried later).
CASES = {
    "infobip": (InfobipSimulator, _infobip, INFOBIP_KEY, {}, _status),
    "telnyx": (TelnyxSimulator, _telnyx, TELNYX_KEY, {}, _cancel),
    "kaleyra": (KaleyraSimulator, _kaleyra, KALEYRA_KEY, {"sid": DEFAULT_SID}, _status),
    "twilio": (
        TwilioSimulator,
        _twilio,
        TWILIO_KEY,
        {"account_sid": ACCOUNT_SID, "messaging_service_sid": SERVICE_SID},
        _cancel,
    ),
}


def _fragments(key: str) -> set[str]:
    """Every 10-character piece of the key in each form it was echoed in: finding any of
    them means part of the key survived."""
    forms = {key, quote(key, safe=""), quote_plus(key), base64.b64encode(key.encode()).decode()}
    return {form[i : i + 10] for form in forms for i in range(len(form) - 9)}


@pytest.fixture
def captured_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


@pytest.mark.parametrize("kind", sorted(CASES))
def test_an_echoed_key_leaves_no_trace_in_the_error_or_the_log(
    kind: str, clock: ManualClock, tmp_path: Path, captured_log: pytest.LogCaptureFixture
) -> None:
    simulator, shape, key, options, call = CASES[kind]
    with _echoing(simulator, shape)(clock, key, stall=5.0) as sim:
        provider = open_provider(
            kind,
            home=tmp_path,
            clock=clock,
            settings_json=json.dumps(options),
            base_url=sim.base_url,
            api_key=key,
        )
        try:
            with pytest.raises(ProviderError) as info:
                call(provider)
        finally:
            provider.close()
    text = str(info.value)
    assert "Authorization" in text or "bad request" in text, text  # the echo came through
    assert "…" in text, text
    leaked = sorted(f for f in _fragments(key) if f in text or f in captured_log.text)
    assert not leaked, f"{kind}: {leaked[:3]} in {text!r}"
    assert "4179302672" not in text  # numbers are still shortened, after the key is gone
