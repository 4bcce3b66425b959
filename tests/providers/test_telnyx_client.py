"""The Telnyx client's parsing and request shapes, against httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    Outgoing,
    PermanentError,
    Receipt,
    Rejected,
)
from smsdesk.providers.telnyx import STATUS_MAP, TelnyxProvider, build, error_reason

KEY = "KEY-mock-1f2e3d4c5b6a"
Handler = Callable[[httpx.Request], httpx.Response]


def _message(ident: str, status: str, send_at: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "data": {
            "record_type": "message",
            "id": ident,
            "to": [{"phone_number": "+12025550143", "status": status}],
            "send_at": send_at,
            "errors": [],
            **extra,
        }
    }


@pytest.fixture
def make(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., TelnyxProvider]]:
    made: list[TelnyxProvider] = []

    def factory(handler: Handler, **options: str) -> TelnyxProvider:
        provider = build(
            home=tmp_path,
            clock=clock,
            options=options,
            base_url=None,
            api_key=KEY,
            transport=httpx.MockTransport(handler),
        )
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        provider.close()


def test_create_request_shape(make: Callable[..., TelnyxProvider], clock: ManualClock) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(request.content)
        status = "scheduled" if "send_at" in body else "queued"
        return httpx.Response(200, json=_message(f"id-{len(seen)}", status, body.get("send_at")))

    client = make(handler, messaging_profile_id="prof-1")
    later = Outgoing("k1", "+12025550143", "Hi", "+12025550100", clock.now() + timedelta(hours=1))
    now = Outgoing("k2", "+12025550143", "Hi", "+12025550100", None)
    outcomes = client.schedule([later, now])
    assert [(o.key, o.state) for o in outcomes if isinstance(o, Receipt)] == [
        ("k1", State.SCHEDULED),
        ("k2", State.SENT),
    ]
    first, second = (json.loads(r.content) for r in seen)
    assert first == {
        "from": "+12025550100",
        "to": "+12025550143",
        "text": "Hi",
        "send_at": "2026-12-01T10:00:00Z",
        "messaging_profile_id": "prof-1",
    }
    assert "send_at" not in second
    assert all(r.url.path == "/v2/messages" and r.url.host == "api.telnyx.com" for r in seen)
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"


def test_an_answer_without_an_id_is_ambiguous(make: Callable[..., TelnyxProvider]) -> None:
    client = make(lambda r: httpx.Response(200, json={"data": {"to": []}}))
    with pytest.raises(AmbiguousError, match="without 'id'"):
        client.schedule([Outgoing("k", "+12025550143", "Hi", "+12025550100", None)])


def test_a_later_failure_in_a_batch_keeps_the_earlier_receipts(
    make: Callable[..., TelnyxProvider],
) -> None:
    answers = iter([httpx.Response(200, json=_message("id-1", "queued"))])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(500, json={"errors": []}))

    client = make(handler)
    msgs = [Outgoing(k, "+12025550143", "Hi", "+12025550100", None) for k in ("a", "b")]
    # "b" is left out of the answer, so the engine makes it unknown instead of retrying "a".
    assert [o.key for o in client.schedule(msgs)] == ["a"]


def test_errors_are_read_in_telnyx_words_and_never_show_the_key(
    make: Callable[..., TelnyxProvider],
) -> None:
    body = {
        "errors": [
            {
                "code": "10016",
                "title": "Phone number must be in +E.164 format",
                "detail": f"bad 'to' (key {KEY})",
                "source": {"pointer": "/to"},
            }
        ]
    }
    client = make(lambda r: httpx.Response(422, json=body))
    [outcome] = client.schedule([Outgoing("k", "+12025550143", "Hi", "+12025550100", None)])
    assert isinstance(outcome, Rejected) and not outcome.opted_out
    assert "bad 'to'" in outcome.reason and "[/to] (code 10016)" in outcome.reason
    assert KEY not in outcome.reason
    assert KEY not in repr(client)


def test_error_reason_without_json() -> None:
    assert error_reason(httpx.Response(400, text="nope")) == "nope"
    assert error_reason(httpx.Response(400)) == "Bad Request"
    assert error_reason(httpx.Response(409, json={"errors": [{"code": "40300"}]})) == (
        "error (code 40300)"
    )


def test_auth_failure_is_raised_for_the_whole_request(make: Callable[..., TelnyxProvider]) -> None:
    client = make(lambda r: httpx.Response(401, json={"errors": [{"code": "10009"}]}))
    with pytest.raises(AuthenticationError) as caught:
        client.schedule([Outgoing("k", "+12025550143", "Hi", "+12025550100", None)])
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(("status", "state"), sorted(STATUS_MAP.items()))
def test_every_telnyx_status_maps(
    make: Callable[..., TelnyxProvider], status: str, state: State
) -> None:
    errors = [{"code": "40300", "title": "Blocked due to STOP message"}]
    client = make(lambda r: httpx.Response(200, json=_message("id-1", status, errors=errors)))
    [report] = client.fetch_status(["id-1"])
    assert report.state is state
    if state is State.FAILED:
        assert "opted out" in report.detail and "40300" in report.detail
    elif state is not State.EXPIRED:
        assert report.detail == ""


def test_an_unknown_status_is_skipped(make: Callable[..., TelnyxProvider]) -> None:
    client = make(lambda r: httpx.Response(200, json=_message("id-1", "teleported")))
    assert client.fetch_status(["id-1"]) == []


def _cancel_handler(get: httpx.Response) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(422, json={"errors": [{"code": "10015", "title": "Bad"}]})
        return get

    return handler


def test_refused_cancel_close_to_the_send_time_says_so(
    make: Callable[..., TelnyxProvider], clock: ManualClock
) -> None:
    soon = (clock.now() + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    client = make(_cancel_handler(httpx.Response(200, json=_message("m", "scheduled", soon))))
    with pytest.raises(PermanentError) as caught:
        client.cancel("m")
    assert str(caught.value) == (
        "Telnyx cannot cancel a message within 1 minute of its send time. "
        "Telnyx said: Bad (code 10015)"
    )


def test_refused_cancel_of_a_cancelled_message_is_done(
    make: Callable[..., TelnyxProvider],
) -> None:
    client = make(_cancel_handler(httpx.Response(200, json=_message("m", "canceled"))))
    client.cancel("m")  # nothing raised: it is cancelled, whoever did it


def test_refused_cancel_that_cannot_be_explained_keeps_telnyx_words(
    make: Callable[..., TelnyxProvider], clock: ManualClock
) -> None:
    client = make(_cancel_handler(httpx.Response(404, json={"errors": [{"code": "10005"}]})))
    with pytest.raises(PermanentError, match=r"refused the request: Bad \(code 10015\)"):
        client.cancel("m")


def test_refs_are_quoted_into_the_path(make: Callable[..., TelnyxProvider]) -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json=_message("x", "sent"))

    make(handler).fetch_status(["../v2/other?x=1"])
    assert paths == ["/v2/messages/..%2Fv2%2Fother%3Fx%3D1"]


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"api_key": ""}, "api_key", "needs an API key"),
        ({"options": {"timeout": "soon"}}, "option", "number of seconds"),
        ({"options": {"timeout": "0"}}, "option", "number of seconds"),
        ({"options": {"region": "EU"}}, "option", "no option region"),
        ({"base_url": "http://api.telnyx.com"}, "base_url", "https://"),
    ],
)
def test_build_refuses_bad_settings(
    tmp_path: Path, clock: ManualClock, kwargs: dict[str, Any], field: str, words: str
) -> None:
    args: dict[str, Any] = {"options": {}, "base_url": None, "api_key": KEY, **kwargs}
    with pytest.raises(InvalidInput) as caught:
        build(home=tmp_path, clock=clock, **args)
    assert caught.value.field == field and words in str(caught.value)


def test_a_key_refused_mid_batch_rejects_only_the_rest(
    make: Callable[..., TelnyxProvider],
) -> None:
    answers = iter([httpx.Response(200, json=_message("id-1", "queued"))])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(401, json={"errors": [{"code": "10009"}]}))

    msgs = [Outgoing(k, "+12025550143", "Hi", "+12025550100", None) for k in ("a", "b")]
    first, second = make(handler).schedule(msgs)
    assert isinstance(first, Receipt) and isinstance(second, Rejected)
    assert "refused the API key" in second.reason
