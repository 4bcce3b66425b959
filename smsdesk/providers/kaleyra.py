"""Kaleyra (kaleyra.io v1): schedule SMS with a ``time`` field, one recipient per request.

Kaleyra is treated as unable to cancel or move a message it already holds (its scheduling
page documents neither), so its capabilities make the planner keep every message on this
computer until the last safe moment and only then hand it off. Until then cancel and
reschedule are local. Kaleyra takes no client reference either, so a hand-off whose outcome
is unclear cannot be settled by asking; the engine shows it to the user instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
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
from smsdesk.providers.http import HttpClient
from smsdesk.providers.options import reject_unknown, require_key, timeout_from

TITLE = "Kaleyra"
NEEDS_KEY = True
DEFAULT_BASE_URL = "https://api.in.kaleyra.io"
CAPABILITIES = Capabilities(
    native_scheduling=True,
    min_lead=timedelta(minutes=15),
    # "3 months" in Kaleyra's words; 89 days is the shortest span three calendar months make.
    horizon=timedelta(days=89),
    native_reschedule=False,
    cancel_cutoff=None,  # no documented cancel: the planner holds messages here instead
    batch_size=1,
    server_preview=False,
    lookup_by_key=False,  # Kaleyra stores no reference of ours that could be looked up
)

PODS = {
    "IN": "https://api.in.kaleyra.io",
    "SG": "https://api.ap.kaleyra.io",
    "EU": "https://api.eu.kaleyra.io",
}
MESSAGE_TYPES = ("MKT", "TXN", "TXND", "OTP")
OPTIONS = ("sid", "region", "type", "template_id", "sender", "timeout")
_SID = re.compile(r"[A-Za-z0-9]{1,64}")

# -- unconfirmed parts of the kaleyra.io v1 API, kept together so they are easy to correct --
# Create: documented path; sent form-encoded like the documentation's example (it also names
# a JSON content type; which one the service enforces is unconfirmed).
CREATE_PATH = "/v1/{sid}/sms"
# Status by message id: not on the scheduling page; modelled on the older API.
STATUS_PATH = "/v1/{sid}/sms/{ref}"
# Credential check: any cheap authenticated GET will do; this one is an assumption.
CHECK_PATH = "/v1/{sid}/balance"
# Status names Kaleyra reports (unconfirmed); anything else leaves the state as it was.
STATUS_NAMES: dict[str, State] = {
    "scheduled": State.SCHEDULED,
    "sent": State.SENT,
    "submitted": State.SENT,
    "delivered": State.DELIVERED,
    "failed": State.FAILED,
    "undelivered": State.FAILED,
    "rejected": State.FAILED,
}


def status_of(body: Any) -> tuple[State, str] | None:
    """Read a status answer: ``{"data": [{"status": ..., "error": ...}]}`` or a flat
    ``{"status": ...}`` (unconfirmed shape). None when it names no status we know."""
    node = body
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        node = body["data"][0]
    if not isinstance(node, dict):
        return None
    state = STATUS_NAMES.get(str(node.get("status", "")).strip().lower())
    if state is None:
        return None
    error = node.get("error")
    detail = str(error.get("message", "")) if isinstance(error, dict) else str(error or "")
    return state, detail


# ---------------------------------------------------------------------------------------------


def format_time(at: datetime) -> str:
    """Kaleyra's ``time``: ``YYYY-MM-DDThh:mm:ss±hh:mm`` (sent in UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def error_reason(response: httpx.Response) -> str:
    """Kaleyra's own words from ``{"code": "E402", "message": "...", "error": {...}}``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    message = str(body.get("message") or response.reason_phrase)
    code = body.get("code")
    return f"{message} [{code}]" if code else message


def message_ref(body: Any) -> str:
    """The id to track a created message by: ``data[0].message_id``, else the request ``id``.

    A success without either means it was probably created but cannot be tracked: ambiguous.
    """
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            ref = data[0].get("message_id")
            if ref:
                return str(ref)
        if body.get("id"):
            return str(body["id"])
    raise AmbiguousError("Kaleyra answered without a message id.")


class KaleyraProvider:
    kind = "kaleyra"

    def __init__(
        self,
        http: HttpClient,
        clock: Clock,
        sid: str,
        *,
        sender: str | None = None,
        message_type: str = "TXN",
        template_id: str | None = None,
    ) -> None:
        self._http = http
        self._clock = clock
        self._sid = sid
        self._sender = sender
        self._type = message_type
        self._template_id = template_id
        # OTP messages cannot be scheduled: every one is held here and sent at its time.
        self.capabilities = (
            replace(CAPABILITIES, native_scheduling=False)
            if message_type == "OTP"
            else CAPABILITIES
        )

    def __repr__(self) -> str:
        return f"KaleyraProvider(sid={self._sid!r}, type={self._type!r})"

    def close(self) -> None:
        self._http.close()

    # -- hand-off ---------------------------------------------------------------------------

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for msg in messages:
            try:
                outcomes.append(self._create(msg))
            except ProviderError:
                if not outcomes:
                    raise
                # Earlier ones were accepted and must be recorded; the engine treats the rest
                # as unknown rather than resending. (With batch_size 1 this never happens.)
                break
        return outcomes

    def _create(self, msg: Outgoing) -> Outcome:
        sender = msg.sender or self._sender
        if not sender:
            return Rejected(
                msg.key,
                "Kaleyra needs an approved sender ID: give the message a sender or set the "
                "account's (--sender or --option sender=...).",
            )
        if msg.send_at is not None and self._type == "OTP":
            return Rejected(msg.key, "Kaleyra cannot schedule OTP messages.")
        form = {"to": msg.to, "sender": sender, "body": msg.text, "type": self._type}
        if self._template_id:
            form["template_id"] = self._template_id
        if msg.send_at is not None:
            form["time"] = format_time(msg.send_at)
        try:
            body = self._http.request(
                "POST", CREATE_PATH.format(sid=self._sid), creates=True, data=form
            )
        except AuthenticationError:
            raise  # the account, not this message: the engine reports it for all
        except PermanentError as exc:
            # A 4xx: Kaleyra refused this message (time window, sender, number).
            return Rejected(msg.key, str(exc))
        now = self._clock.now()
        scheduled = msg.send_at is not None and msg.send_at > now
        return Receipt(
            msg.key, message_ref(body), State.SCHEDULED if scheduled else State.SENT, msg.send_at
        )

    def group_of(self, ref: str) -> str | None:
        return None

    # -- no native cancel or reschedule -----------------------------------------------------

    def reschedule(self, ref: str, send_at: datetime) -> None:
        raise PermanentError(
            "Kaleyra cannot reschedule a message it already holds; it goes out as scheduled.",
            hint="smsdesk keeps Kaleyra messages on this computer until 15 minutes before "
            "their time, so change them earlier.",
        )

    def cancel(self, ref: str) -> None:
        raise PermanentError(
            "Kaleyra cannot cancel a message it already holds; it goes out as scheduled.",
            hint="smsdesk keeps Kaleyra messages on this computer until 15 minutes before "
            "their time, so cancel them earlier.",
        )

    # -- status -----------------------------------------------------------------------------

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        reports: list[StatusReport] = []
        for ref in refs:
            try:
                found = self._status(ref)
            except AuthenticationError:
                raise
            except PermanentError:
                continue  # Kaleyra does not know this id (any more): keep the last state
            except ProviderError:
                if not reports:
                    raise
                break  # report what we have; the rest is asked again next time
            if found is not None:
                reports.append(StatusReport(ref, *found))
        return reports

    def _status(self, ref: str) -> tuple[State, str] | None:
        # Unconfirmed endpoint and shape (see STATUS_PATH and status_of above).
        path = STATUS_PATH.format(sid=self._sid, ref=quote(ref, safe=":"))
        return status_of(self._http.request("GET", path))

    def lookup(self, key: str) -> Receipt | None:
        # Returning None would claim "never received" and invite a resend; refuse instead.
        raise PermanentError("Kaleyra cannot be asked for a message by smsdesk's reference.")

    def preview(self, text: str) -> ServerPreview | None:
        return None

    def check(self) -> str:
        self._http.request("GET", CHECK_PATH.format(sid=self._sid))
        return f"Kaleyra account {self._sid}: the API key was accepted."


def build(
    *,
    home: Path,
    clock: Clock,
    options: Mapping[str, str],
    base_url: str | None,
    api_key: str | None,
    transport: httpx.BaseTransport | None = None,
) -> KaleyraProvider:
    key = require_key(TITLE, api_key)
    reject_unknown(TITLE, options, OPTIONS)
    sid = options.get("sid", "").strip()
    if not _SID.fullmatch(sid):
        raise InvalidInput(
            "A Kaleyra account needs its account SID: --option sid=HX... (letters and digits).",
            field="option",
        )
    region = options.get("region", "IN").strip().upper()
    if region not in PODS:
        raise InvalidInput(
            f"Option region='{region}' is not a Kaleyra region; use one of {', '.join(PODS)}.",
            field="option",
        )
    message_type = options.get("type", "TXN").strip().upper()
    if message_type not in MESSAGE_TYPES:
        raise InvalidInput(
            f"Option type='{message_type}' is not a Kaleyra SMS type; use one of "
            f"{', '.join(MESSAGE_TYPES)}.",
            field="option",
        )
    http = HttpClient(
        "Kaleyra",
        base_url or PODS[region],  # an explicit address (a simulator) overrides the pod
        {"api-key": key, "Accept": "application/json"},
        secret=key,
        error_reason=error_reason,
        transport=transport,
        timeout=timeout_from(options),
        sleep=clock.sleep,
    )
    return KaleyraProvider(
        http,
        clock,
        sid,
        sender=options.get("sender", "").strip() or None,
        message_type=message_type,
        template_id=options.get("template_id", "").strip() or None,
    )
