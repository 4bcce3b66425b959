"""Twilio's wire formats: paths, times, error bodies, the status enum, and message records.

Quotes are from Twilio's OpenAPI specification (``twilio_api_v2010.json``) and its Python SDK;
the excerpt smsdesk follows is kept with the simulator (``twilio_spec_excerpt.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from smsdesk.core.lifecycle import State
from smsdesk.providers.base import ProviderError
from smsdesk.providers.http import redact_numbers

TITLE = "Twilio"
API = "/2010-04-01"

# Path parameter patterns: AccountSid "^AC[0-9a-fA-F]{32}$", message Sid "^(SM|MM)[0-9a-fA-F]{32}$",
# MessagingServiceSid "^MG[0-9a-fA-F]{32}$"; API keys are SK… (the SDK's username).
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")

# Error codes smsdesk acts on (twilio.com/docs/api/errors/<code>).
OPTED_OUT_CODE = "21610"  # "Attempt to send to unsubscribed recipient" (replied STOP)
BAD_SEND_AT_CODE = "35114"  # "Scheduling does not support this timestamp" (15 min .. 35 days)
NOT_CANCELLABLE_CODE = "30409"  # "This message cannot be canceled" (no longer scheduled)

# message_enum_status, every value, in the specification's order. None: an incoming message's
# status, which a message smsdesk sent never has; it changes nothing.
# * accepted: "(Messaging Services only)" Twilio is choosing the sender: it has the message and
#   sends it now, so it has left smsdesk's hands (as Telnyx's "queued" is read).
# * scheduled: held by Twilio "until the SendAt time, at which point it will move to the queued
#   status (or failed if there is an issue)".
# * read: "(WhatsApp only)", after delivery.
# * partially_delivered: in the enum without a description (unconfirmed): read as delivered, with
#   Twilio's word kept in the detail so nobody resends a message that partly arrived.
STATUS_MAP: dict[str, State | None] = {
    "queued": State.SENT,
    "sending": State.SENT,
    "sent": State.SENT,
    "failed": State.FAILED,
    "delivered": State.DELIVERED,
    "undelivered": State.FAILED,
    "receiving": None,
    "received": None,
    "accepted": State.SENT,
    "scheduled": State.SCHEDULED,
    "read": State.DELIVERED,
    "partially_delivered": State.DELIVERED,
    "canceled": State.CANCELLED,
}

_CODE = re.compile(r"\(code (\w+)\)")


def account_path(account_sid: str, tail: str) -> str:
    return f"{API}/Accounts/{quote(account_sid, safe='')}/{tail}"


def message_path(account_sid: str, sid: str) -> str:
    return account_path(account_sid, f"Messages/{quote(sid, safe='')}.json")


def send_at_text(at: datetime) -> str:
    """``SendAt``: "Must be in ISO 8601 format"; the SDK sends ``%Y-%m-%dT%H:%M:%SZ``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """Twilio's dates are RFC 2822 ("Thu, 24 Aug 2023 05:01:45 +0000"); ISO 8601 is read too."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def error_reason(response: httpx.Response) -> str:
    """Twilio's own words, ending "(code N)" so callers can recognise codes.

    Two shapes (the SDK's ``Version.exception``): RFC 9457 ``{"type", "title", "status",
    "code", "detail"}``, else the legacy ``{"code", "message", "more_info", "status"}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return response.text[:200] if response.text else response.reason_phrase
    words = str(body.get("detail") or body.get("message") or body.get("title") or "")
    words = words or response.reason_phrase
    code = body.get("code")
    return f"{words} (code {code})" if code is not None else words


def error_codes(exc: ProviderError) -> set[str]:
    return set(_CODE.findall(str(exc)))


def status_of(record: Any) -> str:
    return str(record.get("status") or "") if isinstance(record, dict) else ""


def failure_detail(record: Any) -> str:
    """``error_message (code N)`` of a failed or undelivered message, numbers shortened."""
    if not isinstance(record, dict):
        return ""
    code = record.get("error_code")
    words = str(record.get("error_message") or "")
    if code is not None and str(code) == OPTED_OUT_CODE:
        words = "the recipient has opted out (STOP)" + (f": {words}" if words else "")
    if code is not None:
        words = f"{words} (code {code})" if words else f"Twilio error {code}"
    return redact_numbers(words)


def is_opted_out(record: Any) -> bool:
    return isinstance(record, dict) and str(record.get("error_code")) == OPTED_OUT_CODE


@dataclass(frozen=True)
class Received:
    """One message a number of the account received, as Twilio lists it."""

    provider_id: str  # Twilio's message SID: unique, so a reply is stored once
    sender: str  # who wrote it (the patient), E.164
    to: str  # the account's number it came to
    text: str
    received_at: datetime  # ``date_sent``, else ``date_created``


def received_from(record: Any) -> Received | None:
    """A list entry as a received message; None for anything that is not an incoming SMS
    (``"direction": "inbound"``) with a SID and a time."""
    if not isinstance(record, dict) or record.get("direction") != "inbound":
        return None
    sid = record.get("sid")
    at = parse_time(record.get("date_sent")) or parse_time(record.get("date_created"))
    if not isinstance(sid, str) or not sid or at is None:
        return None
    return Received(
        sid,
        str(record.get("from") or ""),
        str(record.get("to") or ""),
        str(record.get("body") or ""),
        at,
    )


def next_page_path(body: Any, first_path: str) -> str | None:
    """``next_page_uri`` when it names the same list on the same host; anything else (an
    absolute address, another path) is not followed, so the credentials go nowhere else."""
    uri = body.get("next_page_uri") if isinstance(body, dict) else None
    if not isinstance(uri, str) or not uri:
        return None
    if not uri.startswith(first_path + "?"):
        return None
    return uri
