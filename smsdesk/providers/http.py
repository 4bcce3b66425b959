"""The HTTP layer every real provider client shares.

Timeouts with a bound on the whole request, TLS verification, HTTPS (except loopback), one
error taxonomy, and logging that never shows an API key or a whole phone number.

What a failure means depends on whether the request may have taken effect:
* nothing reached the provider (connect error, 429, 503) → TransientError, safe to retry;
* a request that creates something got no clear answer (read timeout, reset after sending,
  500/502/504, an unreadable 2xx body) → AmbiguousError: the engine asks the provider before
  doing anything else;
* a request that only reads may simply be repeated.

A request that creates is tried once, whatever the answer: its retries and back-off belong to
the engine, which holds a lease on the messages and must know that no request of its outlives
that lease (``worst_case_seconds``). Reads are repeated here, a few times, briefly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from smsdesk.core.redaction import redact_numbers as redact_numbers  # also imported from here
from smsdesk.core.secret_forms import remove_secrets, remove_secrets_bytes, secret_forms
from smsdesk.core.urls import check_provider_url
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    ForbiddenError,
    PermanentError,
    ProviderError,
    TransientError,
)

log = logging.getLogger("smsdesk.providers.http")

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=5.0)
READ_ATTEMPTS = 3
# Longer waits for a read go back to the caller: a read runs under the engine's lease too.
_MAX_READ_WAIT = 5.0


def _phases(timeout: httpx.Timeout) -> float:
    """One attempt: waiting for a pooled connection, connecting, sending, then the answer:
    its headers within the read limit, its body within the read limit as a whole (checked
    after each piece, see ``_fetch``, so the piece that crosses it may add one more read
    limit). An answer trickling in byte by byte cannot stretch it further."""
    read = timeout.read or 0.0
    return sum(p or 0.0 for p in (timeout.pool, timeout.connect, timeout.write)) + 3 * read


def worst_case_seconds(timeout: httpx.Timeout = DEFAULT_TIMEOUT, *, creates: bool) -> float:
    """The longest one ``HttpClient.request`` can take: what a lease must still have left
    before the request starts. A create is one attempt; a read is up to READ_ATTEMPTS with
    the waits between them."""
    if creates:
        return _phases(timeout)
    waits = (READ_ATTEMPTS - 1) * _MAX_READ_WAIT
    return READ_ATTEMPTS * _phases(timeout) + waits


def ratelimit_reset_seconds(response: httpx.Response) -> float | None:
    """``x-ratelimit-reset``: "the time in seconds until the rate limit resets" (Telnyx's
    rate-limiting page)."""
    try:
        return max(float(response.headers.get("x-ratelimit-reset", "")), 0.0)
    except ValueError:
        return None


def ratelimit_exhausted(response: httpx.Response) -> bool:
    """``x-ratelimit-remaining: 0``: the next request before the reset would be refused."""
    try:
        return float(response.headers.get("x-ratelimit-remaining", "")) <= 0
    except ValueError:
        return False


def retry_after_seconds(response: httpx.Response) -> float | None:
    """How long a 429/503 asks to wait: ``Retry-After``, else ``x-ratelimit-reset``."""
    value = response.headers.get("Retry-After")
    if not value:
        return ratelimit_reset_seconds(response)
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(when.timestamp() - time.time(), 0.0)


class _Retryable(Exception):
    """Internal: a failure the client may repeat by itself before giving up."""

    def __init__(self, error: ProviderError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


ErrorReader = Callable[[httpx.Response], str]


_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})


def _default_reason(response: httpx.Response) -> str:
    return response.text[:200] if response.text else response.reason_phrase


class HttpClient:
    def __init__(
        self,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        secret: str,
        error_reason: ErrorReader = _default_reason,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        attempts: int = READ_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self._now = now  # seconds, on the same clock as ``sleep``
        # Until when the provider's rate-limit headers said no request would be accepted.
        self._pause_until = 0.0
        # The key in every form a server could echo it back in, auth headers included
        # (Basic auth sends it only inside base64 of "user:key").
        self._secret_forms = secret_forms(
            secret,
            [
                v
                for k, v in headers.items()
                if k.lower() in _AUTH_HEADERS or (secret and secret in v)
            ],
        )
        self._error_reason = error_reason
        self._attempts = min(attempts, READ_ATTEMPTS)  # worst_case_seconds counts on it
        self._sleep = sleep
        self._body_deadline = timeout.read
        self._client = httpx.Client(
            base_url=check_provider_url(base_url),
            headers=dict(headers),
            timeout=timeout,
            transport=transport,
            verify=True,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        creates: bool = False,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        refused_403: bool = False,
    ) -> Any:
        """Send a request and return its decoded JSON body (None for an empty body).

        ``creates``: the request makes something at the provider (a message), so an unclear
        outcome must not be repeated blindly; it is tried once, and a 429/503 comes back as
        a TransientError carrying ``retry_after`` for the engine's back-off.
        ``refused_403``: the endpoint documents 403 as a refusal of this request (Telnyx's
        cancel of a message no longer cancellable, an Infobip key without the operation's
        scope), so it is a ForbiddenError with the provider's own reason, not a refused key.
        """
        if creates:
            try:
                return self._once(method, path, creates, json, data, params, refused_403)
            except _Retryable as exc:
                raise exc.error from None

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            asked = exc.wait if isinstance(exc, _Retryable) else None
            backoff = 0.5 * float(1 << (state.attempt_number - 1))
            return min(max(asked or 0.0, backoff), _MAX_READ_WAIT)

        def worth_waiting(exc: BaseException) -> bool:
            # A provider asking for a longer pause than we wait here is answered at once.
            if not isinstance(exc, _Retryable):
                return False
            return exc.wait is None or exc.wait <= _MAX_READ_WAIT

        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait,
            retry=retry_if_exception(worth_waiting),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, creates, json, data, params, refused_403)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        path: str,
        creates: bool,
        json: Any,
        data: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        refused_403: bool = False,
    ) -> Any:
        name = self.provider
        left = self._pause_until - self._now()
        if left > 0:
            # Sent now it would only be refused (429): nothing is sent, so nothing is unclear.
            self._log(method, path, f"held back {left:.1f} s for the rate limit", time.monotonic())
            error = TransientError(
                f"{name}'s rate limit is used up; it resets in {left:.0f} s.", retry_after=left
            )
            raise _Retryable(error, left)
        started = time.monotonic()
        try:
            response = self._fetch(method, path, json, data, params)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            self._log(method, path, f"not connected ({type(exc).__name__})", started)
            raise _Retryable(TransientError(f"{name} could not be reached.")) from None
        except httpx.TransportError as exc:
            # The request may have been delivered: timeouts, resets, broken responses.
            self._log(method, path, f"no answer ({type(exc).__name__})", started)
            message = f"{name} did not answer ({type(exc).__name__})."
            if creates:
                raise AmbiguousError(message) from None
            raise _Retryable(TransientError(message)) from None
        self._log(method, path, str(response.status_code), started)
        reset = ratelimit_reset_seconds(response)
        if reset and (ratelimit_exhausted(response) or response.status_code == 429):
            self._pause_until = max(self._pause_until, self._now() + reset)
        return self._decode(response, creates, refused_403)

    def _fetch(
        self,
        method: str,
        path: str,
        json: Any,
        data: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        """The response with its whole body read within the read limit (httpx bounds only
        the wait for each piece), so that ``worst_case_seconds`` holds."""
        request = self._client.build_request(method, path, json=json, data=data, params=params)
        response = self._client.send(request, stream=True)
        try:
            deadline = time.monotonic() + (self._body_deadline or 0.0)
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if self._body_deadline is not None and time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took too long", request=request)
        finally:
            response.close()
        # The body is decoded already: its encoding and length headers no longer apply.
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k not in ("content-encoding", "content-length")
        ]
        # The key leaves the body before any reader sees it: error readers shorten digit runs
        # and cut text, after which the key could no longer be recognised.
        content = remove_secrets_bytes(bytes(body), self._secret_forms)
        return httpx.Response(
            response.status_code, headers=headers, content=content, request=request
        )

    def _decode(self, response: httpx.Response, creates: bool, refused_403: bool = False) -> Any:
        name = self.provider
        status = response.status_code
        if status == 403 and refused_403:
            reason = self._safe(self._error_reason(response))
            raise ForbiddenError(f"{name} refused the request: {reason}")
        if status in (401, 403):
            raise AuthenticationError(
                f"{name} refused the API key or account ({status}).",
                hint="Check the key and account settings, then use 'Test connection'.",
            )
        if status in (429, 503):
            wait = retry_after_seconds(response)
            error = TransientError(
                f"{name} is busy ({status}); it asked to wait {wait or 0:.0f} s."
                if status == 429
                else f"{name} is unavailable (503).",
                retry_after=wait,
            )
            raise _Retryable(error, wait)
        if status >= 500:
            message = f"{name} had an internal error ({status})."
            if creates:
                raise AmbiguousError(message)
            raise _Retryable(TransientError(message))
        if status >= 400:
            reason = self._safe(self._error_reason(response))
            raise PermanentError(f"{name} refused the request: {reason}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            message = f"{name} sent an answer smsdesk cannot read."
            if creates:
                raise AmbiguousError(message) from None
            raise _Retryable(TransientError(message)) from None

    def _safe(self, text: str) -> str:
        """Text fit for an error message or a log line: the key removed in every form first,
        then phone-number-like digit runs shortened."""
        return redact_numbers(remove_secrets(text, self._secret_forms))

    def _log(self, method: str, path: str, outcome: str, started: float) -> None:
        elapsed = (time.monotonic() - started) * 1000
        safe_path = self._safe(path)
        log.info("%s %s %s → %s in %.0f ms", self.provider, method, safe_path, outcome, elapsed)


def expect(body: Any, provider: str, *keys: str) -> Any:
    """Walk ``keys`` into a decoded body; a missing piece means the answer is not what the
    provider documents, which is reported rather than crashing."""
    node = body
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise AmbiguousError(f"{provider} answered without '{key}'.")
        node = node[key]
    return node
