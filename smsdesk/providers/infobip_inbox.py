"""Infobip's inbox: received SMS pulled by the client, no server needed.

Contract (Infobip's official Python SDK, infobip/infobip-api-python-client, ``SmsApi.
get_inbound_sms_messages`` and the models ``SmsInboundMessageResult``/``SmsInboundMessage``;
the excerpt in specs/ lists only the path): ``GET /sms/1/inbox/reports`` with ``limit`` ("If
not set, the latest 50 records are returned. Maximum limit value is 1000 and you can only
access messages for the last 48h"), answering ``{"results": [{"messageId", "from", "to",
"text", "cleanText", "keyword", "receivedAt", "smsCount", ...}], "messageCount",
"pendingMessageCount"}``. "Each request will return a batch of received messages, only once":
the pull consumes what it returns, so the caller stores each batch at once; a batch whose
answer is lost on the way (a timeout after Infobip answered) cannot be fetched again.

Unconfirmed: the request rate the inbox allows (the specification gives the logs 120 a
minute and says nothing of the inbox); the engine asks at most once a minute per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsdesk.providers.http import HttpClient
from smsdesk.providers.infobip_api import parse_time

INBOX_PATH = "/sms/1/inbox/reports"
INBOX_LIMIT = 1000  # "Maximum limit value is 1000"
# A pull goes on while Infobip says more are waiting, up to this many batches.
MAX_BATCHES = 10


@dataclass(frozen=True)
class InboxMessage:
    """One received SMS, in the shape the replies engine stores."""

    provider_id: str  # Infobip's messageId: unique, so a reply is stored once
    sender: str
    to: str
    text: str
    received_at: datetime


def _number(value: object) -> str:
    """Infobip writes numbers as digits without '+'; a numeric one becomes E.164."""
    text = str(value or "").strip()
    return "+" + text if text.isdigit() else text


def inbox_message(record: Any) -> InboxMessage | None:
    """A result entry as a received message; None without an id or a time."""
    if not isinstance(record, dict):
        return None
    ident = record.get("messageId")
    at = parse_time(record.get("receivedAt"))
    if not isinstance(ident, str) or not ident or at is None:
        return None
    return InboxMessage(
        ident,
        _number(record.get("from")),
        _number(record.get("to")),
        str(record.get("text") or ""),
        at,
    )


def pull_batch(http: HttpClient) -> tuple[list[InboxMessage], int]:
    """One request: the messages it handed out (each only once) and how many still wait.
    Tried once (``creates``): what Infobip handed out is gone from the inbox, so a hidden
    repeat would only hide that an answer was lost."""
    body = http.request("GET", INBOX_PATH, params={"limit": str(INBOX_LIMIT)}, creates=True)
    results = body.get("results") if isinstance(body, dict) else None
    found = [m for m in map(inbox_message, results if isinstance(results, list) else []) if m]
    pending = body.get("pendingMessageCount") if isinstance(body, dict) else 0
    return found, pending if isinstance(pending, int) and pending > 0 else 0
