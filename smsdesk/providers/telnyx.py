"""Telnyx: one message per request, scheduled by Telnyx 5 minutes to 5 days ahead.

What lookup can settle: nothing. Telnyx takes no idempotency key and cannot be asked for a
message by ours (only ``GET /v2/messages/{id}`` by its own id, which an unclear create never
told us), so every lookup answers "cannot tell": the message stays ``unknown``, flagged for
the user, and is never resent. It has no reschedule either: smsdesk cancels (``DELETE``) and
creates anew. Status has no batch form: one ``GET`` per message, spaced to the rate below.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from smsdesk.core.clock import Clock
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities, SendRate
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    Outcome,
    Outgoing,
    PermanentError,
    ProviderError,
    Receipt,
    Rejected,
    ServerPreview,
    StatusReport,
)
from smsdesk.providers.http import HttpClient, expect, redact_numbers
from smsdesk.providers.one_by_one import (
    OneByOne,
    provider_said,
    statuses_one_by_one,
    still_scheduled,
)
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

# "page[size] ... minimum: 1, maximum: 250, default: 20" (PageConsolidated). The page bound
# only stops a provider that keeps answering "more" from keeping smsdesk asking.
PROFILE_PAGE_SIZE = 250
MAX_PROFILE_PAGES = 100

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


# -- per-sender throughput -------------------------------------------------------------------
# Telnyx's messaging rate-limiting page (developers.telnyx.com/docs/messaging/messages/
# rate-limiting): Account "SMS 50 messages/second"; Sender "Long Code 0.1 MPS Number",
# "Toll-Free 20 MPS Number", "Short Code 1,000 MPS", "Alphanumeric 0.1 MPS Sender ID". A message
# over the rate is not refused: it waits in Telnyx's queue ("wait_seconds: Seconds the message
# is queued due to rate limiting before being sent to the carrier", OutboundMessagePayload).
#
# smsdesk spreads the send times of a batch instead of letting Telnyx queue it: a message
# scheduled at Telnyx is released by Telnyx itself at its send_at, so pacing our own requests
# would change nothing for it; only its send_at can. Spread times are stored, handed to Telnyx
# and shown in the plan, so the time the window shows is the time it leaves (to Telnyx's own
# accuracy, "accurate up till a minute"). Messages this computer sends itself go at their
# stored (spread) time too, so the same times pace them.
SENDER_MPS = {"long code": 0.1, "toll-free number": 20.0, "short code": 1000.0, "sender ID": 0.1}
ACCOUNT_MPS = 50.0  # the account's own limit caps a short code's 1,000 a second
# Telnyx schedules "accurate up till a minute" (send_at): later than that is worth a warning.
LATE_TOLERANCE = timedelta(minutes=1)
_TOLL_FREE = re.compile(r"\+1(800|833|844|855|866|877|888)\d{7}")
_SHORT_CODE = re.compile(r"\d{3,8}")


def sender_kind(sender: str | None) -> str | None:
    """Which of Telnyx's sender kinds ``sender`` is; None for a number pool (no sender)."""
    if not sender:
        return None
    if _TOLL_FREE.fullmatch(sender):
        return "toll-free number"
    if _SHORT_CODE.fullmatch(sender):
        return "short code"
    if sender.startswith("+") and sender[1:].isdigit():
        return "long code"
    return "sender ID"


def _limit_words(mps: float) -> str:
    if mps < 1:
        return f"1 message every {1 / mps:g} seconds"
    return f"{mps:,g} messages a second"


def sender_rate(sender: str | None) -> SendRate | None:
    """How fast Telnyx sends from ``sender`` (read by the engine's plan, which spreads a
    batch's send times to it). None for a number pool: its rate is the sum of its numbers',
    and how many numbers a pool has is not something smsdesk can ask (see schedule_warnings)."""
    kind = sender_kind(sender)
    if kind is None or sender is None:
        return None
    mps = min(SENDER_MPS[kind], ACCOUNT_MPS)
    if mps >= 1:
        per_slot, slot = int(mps), timedelta(seconds=1)
    else:
        per_slot, slot = 1, timedelta(seconds=math.ceil(1 / mps))
    shown = redact_numbers(sender) if kind != "sender ID" else sender
    limit = f"Telnyx sends at most {_limit_words(SENDER_MPS[kind])} from a {kind}"
    if SENDER_MPS[kind] > ACCOUNT_MPS:
        limit += f" and {_limit_words(ACCOUNT_MPS)} from an account"
    return SendRate(per_slot, slot, f"the {kind} {shown}", limit)


def schedule_warnings(sender: str | None, send_times: Sequence[datetime]) -> list[str]:
    """What the plan warns of before a batch from ``sender`` is scheduled (read by the
    engine's plan for every provider module that has it): a burst through a number pool,
    which smsdesk cannot spread because it cannot know how many numbers share the burst."""
    if sender or len(send_times) < 2:
        return []
    gap = timedelta(seconds=1 / SENDER_MPS["long code"])
    ordered = sorted(send_times)
    leaving = ordered[0]
    late = timedelta(0)
    for at in ordered[1:]:
        leaving = max(at, leaving + gap)
        late = max(late, leaving - at)
    if late <= LATE_TOLERANCE:
        return []
    minutes = max(round(late.total_seconds() / 60), 1)
    return [
        f"{len(send_times)} messages go through the messaging profile's number pool close "
        f"together: Telnyx sends from each long code in it at most "
        f"{_limit_words(SENDER_MPS['long code'])}, and smsdesk cannot see how many numbers the "
        f"pool has; with one long code the last would leave about {minutes} minute"
        f"{'s' if minutes != 1 else ''} late."
    ]


def _error_codes(record: Any) -> set[str]:
    errors = record.get("errors") if isinstance(record, dict) else None
    return {str(e.get("code")) for e in errors or [] if isinstance(e, dict)}


class TelnyxProvider(OneByOne):
    kind = "telnyx"
    title = TITLE
    capabilities = CAPABILITIES
    # Never "not received": Telnyx cannot be asked by our key (see the module's docstring).
    cannot_tell = (
        "Telnyx cannot be asked whether it received a message by smsdesk's key; "
        "check the Telnyx portal's message log"
    )
    no_reschedule = (
        "Telnyx cannot move a scheduled message; smsdesk cancels it and schedules it again."
    )

    def __init__(self, http: HttpClient, clock: Clock, *, messaging_profile_id: str | None) -> None:
        self._http = http
        self._clock = clock
        self._profile = messaging_profile_id
        self.status_pace = Spacing.per_second(clock, STATUS_READS_PER_SECOND)

    def __repr__(self) -> str:
        return f"TelnyxProvider(profile={self._profile!r})"

    # -- hand-off -------------------------------------------------------------------------

    def _create(self, msg: Outgoing) -> Outcome:
        if not msg.sender and not self._profile:
            return Rejected(
                msg.key,
                "Telnyx needs a sender number: set the account's sender or give the message "
                "one, or set a messaging profile whose number pool picks one.",
            )
        # ``from`` "Required if sending with a phone number, short code, or alphanumeric
        # sender ID"; ``messaging_profile_id`` "Required if sending via number pool"
        # (CreateMessageRequest): without a sender the profile's pool chooses the number.
        body: dict[str, str] = {"to": msg.to, "text": msg.text}
        if msg.sender:
            body["from"] = msg.sender
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

    # -- changes (no reschedule: the engine cancels and creates anew) ----------------------

    def cancel(self, ref: str) -> None:
        try:
            # The spec lists "'403': ... description: Forbidden" for this DELETE: a refusal of
            # this cancel (too late, not scheduled), not of the key, which a 401 refuses.
            self._http.request("DELETE", f"/v2/messages/{quote(ref, safe='')}", refused_403=True)
        except AuthenticationError:
            raise
        except PermanentError as exc:
            # The 403's codes are not documented; ask Telnyx about the message to explain it.
            self._explain_refused_cancel(ref, exc)

    def _explain_refused_cancel(self, ref: str, refused: PermanentError) -> None:
        record = still_scheduled(TITLE, refused, lambda: self._read(ref), _status_of, STATUS_MAP)
        if record is None:
            return  # an earlier attempt (whose answer was lost) already cancelled it
        said = provider_said(TITLE, refused)
        send_at = _parse_time(record.get("send_at"))
        cutoff = CAPABILITIES.cancel_cutoff or timedelta(0)
        if send_at is not None and send_at - self._clock.now() <= cutoff:
            raise PermanentError(
                "Telnyx cannot cancel a message within 1 minute of its send time. "
                f"Telnyx said: {said}"
            ) from None
        raise refused

    # -- reading --------------------------------------------------------------------------

    def _read(self, ref: str) -> Any:
        """``GET /v2/messages/{id}``, the one message Telnyx knows by its id."""
        path = f"/v2/messages/{quote(ref, safe='')}"
        return expect(self._http.request("GET", path), TITLE, "data")

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        # A message Telnyx will not tell about (e.g. older than the 10 days it keeps) is
        # skipped: there is nothing new to learn about it.
        return statuses_one_by_one(TITLE, refs, self.status_pace, self._read, self._report)

    def _report(self, ref: str, record: Any) -> StatusReport | None:
        status = _status_of(record)
        state = STATUS_MAP.get(status)
        if state is None:
            log.warning("Telnyx reported an unknown status %r for %s", status, ref)
            return None
        detail = _errors_text(record) if state in (State.FAILED, State.EXPIRED) else ""
        # 40300 "Blocked due to STOP message" at send time: the recipient opted out.
        stopped = state is State.FAILED and OPTED_OUT_CODE in _error_codes(record)
        return StatusReport(ref, state, detail, opted_out=stopped)

    def preview(self, text: str) -> ServerPreview | None:
        return None  # Telnyx has no preview; the create answer's parts/encoding come too late

    def check(self) -> str:
        if self._profile:
            path = f"/v2/messaging_profiles/{quote(self._profile, safe='')}"
            profile = expect(self._http.request("GET", path), TITLE, "data")
            name = profile.get("name") if isinstance(profile, dict) else None
            return f"Telnyx: API key accepted; messaging profile '{name or self._profile}'."
        count = len(self.messaging_profiles())
        return f"Telnyx: API key accepted; {count} messaging profile(s)."

    def messaging_profiles(self) -> list[dict[str, Any]]:
        """Every messaging profile, page after page: ``page[number]`` (from 1) and
        ``page[size]`` (at most 250) until ``meta.total_pages`` (messaging_PaginationMeta)."""
        profiles: list[dict[str, Any]] = []
        number = 1
        while True:
            params = {"page[number]": str(number), "page[size]": str(PROFILE_PAGE_SIZE)}
            body = self._http.request("GET", "/v2/messaging_profiles", params=params)
            data = expect(body, TITLE, "data")
            page = [p for p in data if isinstance(p, dict)] if isinstance(data, list) else []
            profiles += page
            meta = body.get("meta") if isinstance(body, dict) else None
            total = meta.get("total_pages") if isinstance(meta, dict) else None
            # Without meta, or with an empty page, there is nothing further to ask for.
            if not page or not isinstance(total, int) or number >= min(total, MAX_PROFILE_PAGES):
                return profiles
            number += 1


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
        # x-ratelimit-reset waits are measured on the injected clock too.
        now=lambda: clock.now().timestamp(),
    )
    return TelnyxProvider(http, clock, messaging_profile_id=profile)
