"""Infobip's wire, as its specification excerpt documents it: paths, limits, formats, how
smsdesk names bulks, and how Infobip's answers read. Shared by the client's writing side
(``infobip``) and its reading side (``infobip_status``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from smsdesk.core.lifecycle import State
from smsdesk.providers.base import PermanentError

TITLE = "Infobip"

SEND_PATH = "/sms/3/messages"
BULK_PATH = "/sms/1/bulks"
BULK_STATUS_PATH = "/sms/1/bulks/status"
# v3 successors of the deprecated /sms/1/reports and /sms/1/logs (deprecated 2024-05-16).
REPORTS_PATH = "/sms/3/reports"
LOGS_PATH = "/sms/3/logs"
PREVIEW_PATH = "/sms/1/preview"
# GET /sms/3/logs, bulkId and messageId: "May contain multiple comma-separated values.
# Maximum length 2048 characters." (GET /sms/3/reports documents one id per parameter.)
MAX_ID_LIST = 2048
# logs and reports: "Maximum limit value is 1000".
PAGE_LIMIT = 1000
MAX_PAGES = 50  # a bound on following cursors / draining reports in one sync
# GET /sms/3/logs: "x-throttling-info": 120 requests per minute.
LOGS_PER_MINUTE = 120
# x-scopes (a key needs one of an operation's): the checklist ``check`` shows, and the words
# for a 403. Infobip's scheduling tutorial makes a key with sms:message:send only.
SEND_SCOPES = ("sms:message:send", "message:send", "sms:manage")  # send; reports
BULK_READ_SCOPES = ("sms:message:send", "sms:manage")  # GET bulks, GET bulks/status
MANAGE_SCOPES = ("sms:manage",)  # PUT bulks, PUT bulks/status, preview
LOGS_SCOPES = ("sms:logs:read", "sms:manage")  # GET logs
# A bulkId smsdesk never creates (ours are smsdesk-<time>-… or smsdesk-now-…): asking about it
# proves a scope without touching anything.
PROBE_BULK = "smsdesk-check"
# GET /sms/1/bulks/status, 404 example: {"messageId": "NOT_FOUND", "text": "Bulk not found"}.
BULK_NOT_FOUND = ("NOT_FOUND", "Bulk not found")

# -- What could not be checked against Infobip itself (providers.md: "unconfirmed"). --------
# How long Infobip answers bulk status for a bulk whose send time has passed is not
# documented; after this long a 404 is no longer taken as "never received" (48 hours is what
# Infobip keeps logs and reports for).
BULK_STATUS_KEPT = timedelta(hours=48)
# -------------------------------------------------------------------------------------------

# An opt-out is an *error*, not a status: "error id 603 EC_CONTENT_BLOCKED (permanent):
# Content blocked by user opt-out (MO: STOP)" (Infobip's status and error code registry). No
# status named REJECTED_OPTOUT exists; REJECTED_DND (status id 10) is a Do-Not-Disturb
# registration, which refuses some traffic (promotional routes), not a STOP from everything,
# so it fails the message in Infobip's words without opting the number out.
OPT_OUT_ERROR = (603, "EC_CONTENT_BLOCKED")

# Infobip bulk statuses in which the bulk is still held and may be changed.
CHANGEABLE = frozenset({"PENDING", "PAUSED"})
# A bulk status as the state of its messages; PROCESSING/FINISHED are refined by status sync.
BULK_STATE = {
    "PENDING": State.SCHEDULED,
    "PAUSED": State.SCHEDULED,
    "PROCESSING": State.SENT,
    "FINISHED": State.SENT,
    "CANCELED": State.CANCELLED,
    "FAILED": State.FAILED,
}
# Status groups (providers.md): 1 PENDING, 2 UNDELIVERABLE, 3 DELIVERED, 4 EXPIRED, 5 REJECTED.
GROUP_NAMES = {"PENDING": 1, "UNDELIVERABLE": 2, "DELIVERED": 3, "EXPIRED": 4, "REJECTED": 5}
GROUP_STATE = {2: State.FAILED, 3: State.DELIVERED, 4: State.EXPIRED, 5: State.FAILED}
# Our bulkIds say whether the bulk was scheduled, and for when (to the second).
SCHEDULED_BULK = re.compile(r"^smsdesk-(\d{8}T\d{6}Z)-[0-9a-f]{20}$")
NOW_BULK = re.compile(r"^smsdesk-now-[0-9a-f]{20}$")


def error_reason(response: httpx.Response) -> str:
    """Infobip's own words: ``{"requestError": {"serviceException": {"messageId", "text"}}}``
    (API v1/v2), or v3's ``{"errorCode", "description", "violations": [...]}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        request_error = body.get("requestError")
        service = request_error.get("serviceException") if isinstance(request_error, dict) else None
        if isinstance(service, dict) and (service.get("text") or service.get("messageId")):
            text = str(service.get("text") or "")
            code = str(service.get("messageId") or "")
            return f"{text} ({code})" if text and code else text or code
        if body.get("description"):
            words = str(body["description"])
            violations = body.get("violations")
            if isinstance(violations, list) and violations and isinstance(violations[0], dict):
                first = violations[0]
                words += f" [{first.get('property', '')}: {first.get('violation', '')}]"
            return f"{words} ({body['errorCode']})" if body.get("errorCode") else words
    return response.text[:200] if response.text else response.reason_phrase


def format_send_at(at: datetime) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS+0000`` in UTC."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def bulk_id_for(keys: Sequence[str], send_at: datetime | None) -> str:
    """The bulkId of one create request: derived from its keys and send time, and saying
    whether the bulk is scheduled (and for when), which decides what a 404 from bulk status
    proves. At most 45 characters (Infobip takes 100)."""
    when = "now" if send_at is None else format_send_at(send_at)
    digest = hashlib.sha256("\n".join([when, *keys]).encode()).hexdigest()[:20]
    if send_at is None:
        return f"smsdesk-now-{digest}"
    return f"smsdesk-{send_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest}"


def scheduled_time(bulk_id: str) -> datetime | None:
    """The send time one of our scheduled bulkIds names (to the second), else None."""
    match = SCHEDULED_BULK.match(bulk_id)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def id_lists(ids: Sequence[str]) -> Iterator[str]:
    """Comma-separated lists of ``ids``, each at most MAX_ID_LIST characters."""
    current: list[str] = []
    length = 0
    for ident in dict.fromkeys(ids):
        extra = len(ident) + (1 if current else 0)
        if current and length + extra > MAX_ID_LIST:
            yield ",".join(current)
            current, length, extra = [], 0, len(ident)
        current.append(ident)
        length += extra
    if current:
        yield ",".join(current)


def make_ref(bulk_id: str, message_id: str) -> str:
    return f"{bulk_id}:{message_id}"


def split_ref(ref: str) -> tuple[str, str]:
    """(bulkId, messageId); bulkId is "" for a ref without one."""
    bulk, sep, message = ref.rpartition(":")
    return (bulk, message) if sep else ("", ref)


def status_group(status: object) -> int | None:
    if not isinstance(status, dict):
        return None
    group = status.get("groupId")
    if isinstance(group, int):
        return group
    return GROUP_NAMES.get(str(status.get("groupName", "")).upper())


def failure_detail(entry: Mapping[str, Any]) -> str:
    """The most specific words Infobip gave: the error (if any) before the status."""
    for part in ("error", "status"):
        item = entry.get(part)
        if isinstance(item, dict) and item.get("groupId") != 0 and item.get("description"):
            name = item.get("name")
            return f"{item['description']} ({name})" if name else str(item["description"])
    return "failed at Infobip"


def opted_out(entry: Mapping[str, Any]) -> bool:
    """Whether a report, log entry or create answer carries the documented opt-out error."""
    error = entry.get("error")
    if not isinstance(error, dict):
        return False
    ident, name = OPT_OUT_ERROR
    return error.get("id") == ident or str(error.get("name", "")).upper() == name


def final_state(entry: Mapping[str, Any]) -> State | None:
    """The state of a report/log entry when its status group settles it, else None."""
    group = status_group(entry.get("status"))
    return GROUP_STATE.get(group) if group is not None else None


def is_bulk_not_found(exc: PermanentError) -> bool:
    """The documented 404 for an unknown bulk, as ``error_reason`` words it."""
    code, text = BULK_NOT_FOUND
    return f"{text} ({code})" in str(exc)
