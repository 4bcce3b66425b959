"""Telnyx: one message per request, scheduled by Telnyx 5 minutes to 5 days ahead.

What lookup can settle: nothing. Telnyx takes no idempotency key and cannot be asked for a
message by ours (only ``GET /v2/messages/{id}`` by its own id, which an unclear create never
told us), so every lookup answers "cannot tell": the message stays ``unknown``, flagged for
the user, and is never resent. It has no reschedule either: smsdesk cancels (``DELETE``) and
creates anew. Status has no batch form: one ``GET`` per message, spaced to the rate below.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from smsdesk.core.clock import Clock
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    CannotTell,
    Found,
    Outcome,
    Outgoing,
    PermanentError,
    ProviderError,
    Receipt,
    Rejected,
    ServerPreview,
    StatusReport,
    TransientError,
)
from smsdesk.providers.http import HttpClient, expect, redact_numbers
from smsdesk.providers.options import reject_unknown, require_key, timeout_from
from smsdesk.providers.pace import Spacing

log = logging.getLogger(__name__)

TITLE = "Telnyx"
NEEDS_KEY = True
DEFAULT_BASE_URL = "https://api.telnyx.com"

# -- What could not be checked against Telnyx itself (providers.md: "unconfirmed"). ----------
# Telnyx publishes no single messages-per-second figure for creating messages; 10/s is a
# conservative guess that is only shown to users and planners.
RATE_LIMIT_PER_SECOND = 10.0
# Status reads share the account's API rate limit, which Telnyx does not publish as a figure
# (only x-ratelimit-* headers): they are spaced to the same conservative rate.
STATUS_READS_PER_SECOND = RATE_LIMIT_PER_SECOND
# `to[].status` → smsdesk state. "cancelled" is the documented-nowhere spelling (both are
# accepted); "delivery_unconfirmed" is read as expired once the validity period passed.
STATUS_MAP: dict[str, State] = {
    "scheduled": State.SCHEDULED,
    "queued": State.SENT,
    "sending": State.SENT,
    "sent": State.SENT,
    "delivered": State.DELIVERED,
    "sending_failed": State.FAILED,
    "delivery_failed": State.FAILED,
    "delivery_unconfirmed": State.EXPIRED,
    "expired": State.EXPIRED,  # in the status enum of the official SDK
    "cancelled": State.CANCELLED,
    "canceled": State.CANCELLED,
}
# -------------------------------------------------------------------------------------------

OPTED_OUT_CODE = "40300"  # "Blocked due to STOP message", HTTP 409 (developers.telnyx.com)
OPTIONS = ("messaging_profile_id", "timeout")

CAPABILITIES = Capabilities(
    native_scheduling=True,
    min_lead=timedelta(minutes=5),
    horizon=timedelta(days=5),
    native_reschedule=False,
    cancel_cutoff=timedelta(minutes=1),
    batch_size=1,
    rate_limit_per_second=RATE_LIMIT_PER_SECOND,
    server_preview=False,
    lookup_by_key=False,
)

_CODE = re.compile(r"\(code (\w+)\)")


def error_reason(response: httpx.Response) -> str:
    """Telnyx's own words from ``{"errors": [{"code", "title", "detail", "source"}]}``.

    Each error ends with "(code N)" so the caller can recognise codes in the message that
    HttpClient builds from this text.
    """
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        errors = None
    if not isinstance(errors, list) or not errors:
        return response.text[:200] if response.text else response.reason_phrase
    parts: list[str] = []
    for err in errors[:3]:
        if not isinstance(err, dict):
            continue
        words = str(err.get("detail") or err.get("title") or "error")
        source = err.get("source")
        pointer = source.get("pointer") if isinstance(source, dict) else None
        if pointer:
            words += f" [{pointer}]"
        if err.get("code"):
            words += f" (code {err['code']})"
        parts.append(words)
    return "; ".join(parts) or response.reason_phrase


def error_codes(exc: ProviderError) -> set[str]:
    return set(_CODE.findall(str(exc)))


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _status_of(record: Any) -> str:
    to = record.get("to") if isinstance(record, dict) else None
    if isinstance(to, list) and to and isinstance(to[0], dict):
        return str(to[0].get("status") or "")
    return ""


def _errors_text(record: Any) -> str:
    errors = record.get("errors") if isinstance(record, dict) else None
    if not isinstance(errors, list):
        return ""
    words = []
    for err in errors:
        if isinstance(err, dict):
            text = str(err.get("detail") or err.get("title") or "")
            if str(err.get("code")) == OPTED_OUT_CODE:
                text = "the recipient has opted out (STOP)" + (f": {text}" if text else "")
            words.append(f"{text} (code {err.get('code')})" if err.get("code") else text)
    return redact_numbers("; ".join(w for w in words if w))


class TelnyxProvider:
    kind = "telnyx"
    capabilities = CAPABILITIES

    def __init__(self, http: HttpClient, clock: Clock, *, messaging_profile_id: str | None) -> None:
        self._http = http
        self._clock = clock
        self._profile = messaging_profile_id
        self.status_pace = Spacing.per_second(clock, STATUS_READS_PER_SECOND)

    def __repr__(self) -> str:
        return f"TelnyxProvider(profile={self._profile!r})"

    def close(self) -> None:
        self._http.close()

    # -- hand-off -------------------------------------------------------------------------

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        return list(messages)  # one message per request, no provider-side group

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for msg in messages:
            try:
                outcomes.append(self._create(msg))
            except AuthenticationError as exc:
                if not outcomes:
                    raise
                # Raising now would mark the ones already accepted as failed too.
                outcomes.append(Rejected(msg.key, str(exc)))
            except (TransientError, AmbiguousError):
                if not outcomes:
                    raise
                # Some were accepted: raising would put them back in the queue (a resend).
                # Leaving the rest out of the answer makes the engine treat them as unknown.
                log.warning("Telnyx hand-off stopped after %d of %d", len(outcomes), len(messages))
                break
        return outcomes

    def _create(self, msg: Outgoing) -> Outcome:
        if not msg.sender:
            return Rejected(
                msg.key,
                "Telnyx needs a sender number: set the account's sender or give the message one.",
            )
        body: dict[str, str] = {"from": msg.sender, "to": msg.to, "text": msg.text}
        if msg.send_at is not None:
            body["send_at"] = _iso(msg.send_at)
        if self._profile:
            body["messaging_profile_id"] = self._profile
        try:
            answer = self._http.request("POST", "/v2/messages", creates=True, json=body)
        except AuthenticationError:
            raise
        except PermanentError as exc:
            if OPTED_OUT_CODE in error_codes(exc):
                reason = (
                    "The recipient has opted out (replied STOP) of messages from this sender; "
                    f"Telnyx will not send to them (code {OPTED_OUT_CODE})."
                )
                return Rejected(msg.key, reason, opted_out=True)
            return Rejected(msg.key, str(exc))
        record = expect(answer, TITLE, "data")
        ref = expect(record, TITLE, "id")
        if not isinstance(ref, str) or not ref:
            raise AmbiguousError("Telnyx answered without a message id.")
        state = STATUS_MAP.get(_status_of(record))
        if state not in (State.SCHEDULED, State.SENT, State.DELIVERED, State.FAILED):
            state = State.SCHEDULED if msg.send_at is not None else State.SENT
        return Receipt(msg.key, ref, state, _parse_time(record.get("send_at")) or msg.send_at)

    def group_of(self, ref: str) -> str | None:
        return None

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        # Never "not received": Telnyx cannot be asked by our key (no request is made).
        reason = (
            "Telnyx cannot be asked whether it received a message by smsdesk's key; "
            "check the Telnyx portal's message log"
        )
        return [CannotTell(key, reason) for key, _ in messages]

    # -- changes --------------------------------------------------------------------------

    def reschedule(self, ref: str, send_at: datetime) -> None:
        raise PermanentError(
            "Telnyx cannot move a scheduled message; smsdesk cancels it and schedules it again."
        )

    def cancel(self, ref: str) -> None:
        try:
            self._http.request("DELETE", f"/v2/messages/{quote(ref, safe='')}")
        except AuthenticationError:
            raise
        except PermanentError as exc:
            # Telnyx's error for a late or finished message is not documented; ask it why.
            self._explain_refused_cancel(ref, exc)

    def _explain_refused_cancel(self, ref: str, refused: PermanentError) -> None:
        try:
            record = expect(self._get(ref), TITLE, "data")
        except ProviderError:
            raise refused from None
        status = _status_of(record)
        if STATUS_MAP.get(status) is State.CANCELLED:
            return  # an earlier attempt (whose answer was lost) already cancelled it
        if status != "scheduled":
            raise PermanentError(
                f"Telnyx cannot cancel this message: it is no longer scheduled ({status})."
            ) from None
        send_at = _parse_time(record.get("send_at"))
        cutoff = CAPABILITIES.cancel_cutoff or timedelta(0)
        if send_at is not None and send_at - self._clock.now() <= cutoff:
            raise PermanentError(
                "Telnyx cannot cancel a message within 1 minute of its send time."
            ) from None
        raise refused

    # -- reading --------------------------------------------------------------------------

    def _get(self, ref: str) -> Any:
        return self._http.request("GET", f"/v2/messages/{quote(ref, safe='')}")

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        reports: list[StatusReport] = []
        for ref in refs:
            try:
                self.status_pace.wait()
                record = expect(self._get(ref), TITLE, "data")
            except AuthenticationError:
                raise
            except PermanentError as exc:
                # E.g. older than the 10 days Telnyx keeps: nothing new to learn about it.
                log.info("Telnyx status of %s unavailable: %s", ref, exc)
                continue
            except ProviderError as exc:
                # Telnyx is struggling: keep what we have, the next pass asks again.
                log.warning("Telnyx status sync stopped: %s", exc)
                break
            status = _status_of(record)
            state = STATUS_MAP.get(status)
            if state is None:
                log.warning("Telnyx reported an unknown status %r for %s", status, ref)
                continue
            detail = _errors_text(record) if state in (State.FAILED, State.EXPIRED) else ""
            reports.append(StatusReport(ref, state, detail))
        return reports

    def preview(self, text: str) -> ServerPreview | None:
        return None  # Telnyx has no preview; the create answer's parts/encoding come too late

    def check(self) -> str:
        if self._profile:
            path = f"/v2/messaging_profiles/{quote(self._profile, safe='')}"
            profile = expect(self._http.request("GET", path), TITLE, "data")
            name = profile.get("name") if isinstance(profile, dict) else None
            return f"Telnyx: API key accepted; messaging profile '{name or self._profile}'."
        body = self._http.request("GET", "/v2/messaging_profiles")
        profiles = expect(body, TITLE, "data")
        count = len(profiles) if isinstance(profiles, list) else 0
        return f"Telnyx: API key accepted; {count} messaging profile(s)."


def build(
    *,
    home: Path,
    clock: Clock,
    options: Mapping[str, str],
    base_url: str | None,
    api_key: str | None,
    transport: httpx.BaseTransport | None = None,
) -> TelnyxProvider:
    key = require_key(TITLE, api_key)
    reject_unknown(TITLE, options, OPTIONS)
    timeout = timeout_from(options)
    profile = (options.get("messaging_profile_id") or "").strip() or None
    http = HttpClient(
        TITLE,
        base_url or DEFAULT_BASE_URL,
        {"Authorization": f"Bearer {key}", "Accept": "application/json"},
        secret=key,
        error_reason=error_reason,
        transport=transport,
        timeout=timeout,
        sleep=clock.sleep,
    )
    return TelnyxProvider(http, clock, messaging_profile_id=profile)
