"""A loopback Infobip: SMS v3 send, v1 scheduled-bulk management, v3 (and deprecated v1)
reports and logs, and preview.

It keeps bulks and messages under its clock and follows the specification excerpt beside
providers.md: ``Authorization: App <key>``; ``sendAt`` at most 180 days ahead in Infobip's own
format; ``options.schedule.bulkId`` (at most 100 characters) with or without ``sendAt``;
bulk-wide reschedule/cancel only while PENDING/PAUSED; bulk status and schedule for
*scheduled* bulks only ("See the status of scheduled messages"), 404 ``{"requestError":
{"serviceException": {"messageId": "NOT_FOUND", "text": "Bulk not found"}}}`` otherwise; each
delivery report handed out once, one ``bulkId``/``messageId`` per reports request; logs with
comma-separated ``bulkId``/``messageId`` lists of at most 2,048 characters, ``limit`` up to
1000, cursor pages (``useCursor``/``cursor``, ``cursor.nextCursor``), kept 48 hours. It does
not de-duplicate by ``messageId`` (Infobip does not promise to), so a resend shows up in
``creates_by_key()``.

What the specification leaves open is a switch, for tests to try both ways:
``logs_lag`` (a message is listed in the logs only that long after it was accepted),
``hide_scheduled_in_logs`` (a scheduled message is listed only once its bulk has gone out),
``logs_per_minute`` (answer 429 beyond that many logs requests in a minute of its clock).

Numbers (digits, no '+') starting with one of ``fail_prefixes`` are undeliverable after the
send time, ``expire_prefixes`` expire, ``reject_prefixes`` are rejected at once as invalid
destinations, and numbers in ``opted_out`` are rejected as do-not-disturb. Status ids beyond
those in providers.md are this simulator's choice.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from smsdesk.core.clock import Clock
from smsdesk.core.segments import count_segments
from tests.simulators.base import Request, Response, Simulator

HORIZON = timedelta(days=180)
LOG_RETENTION = timedelta(hours=48)
MAX_ID_LIST = 2048  # logs bulkId/messageId: "Maximum length 2048 characters."
MAX_BULK_ID = 100  # RequestSchedulingSettings.bulkId maxLength
SEND_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
NUMBER = re.compile(r"^\d{7,15}$")


def _status(group: int, group_name: str, id_: int, name: str, text: str) -> dict[str, Any]:
    return {"groupId": group, "groupName": group_name, "id": id_, "name": name, "description": text}


ACCEPTED = _status(1, "PENDING", 26, "PENDING_ACCEPTED", "Message sent to next instance")
ENROUTE = _status(1, "PENDING", 7, "PENDING_ENROUTE", "Message sent to next instance")
DELIVERED = _status(3, "DELIVERED", 5, "DELIVERED_TO_HANDSET", "Message delivered to handset")
UNDELIVERABLE = _status(
    2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED", "Message sent not delivered"
)
EXPIRED = _status(4, "EXPIRED", 15, "EXPIRED_EXPIRED", "Message expired")
BAD_DESTINATION = _status(5, "REJECTED", 14, "REJECTED_DESTINATION", "Invalid destination address")
DND = _status(5, "REJECTED", 10, "REJECTED_DND", "Destination is on a do-not-disturb list")
NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "permanent": False}
UNKNOWN_SUBSCRIBER = {
    "groupId": 1,
    "groupName": "HANDSET_ERRORS",
    "id": 1,
    "name": "EC_UNKNOWN_SUBSCRIBER",
    "description": "Unknown subscriber",
    "permanent": True,
}


def fmt(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def error(status: int, code: str, text: str) -> Response:
    return Response(
        status, {"requestError": {"serviceException": {"messageId": code, "text": text}}}
    )


@dataclass
class Bulk:
    bulk_id: str
    send_at: datetime
    scheduled: bool  # created with a sendAt; only those can be managed
    held: str = "PENDING"  # PENDING, PAUSED or CANCELED as set by requests


@dataclass
class Message:
    bulk_id: str
    message_id: str
    to: str
    sender: str | None
    text: str
    created: datetime
    rejected: dict[str, Any] | None = None
    reported: bool = False


class InfobipSimulator(Simulator):
    name = "infobip"

    def __init__(self, clock: Clock, api_key: str = "sim-key-7d1f2a", *, stall: float = 1.0):
        super().__init__(clock, api_key, stall=stall)
        self.fail_prefixes: tuple[str, ...] = ("1555000",)
        self.expire_prefixes: tuple[str, ...] = ("1555001",)
        self.reject_prefixes: tuple[str, ...] = ("1555002",)
        self.opted_out: set[str] = set()
        self.delivery_delay = timedelta(0)  # from the send time to the final status
        self.processing = timedelta(seconds=30)  # a bulk is PROCESSING this long, then FINISHED
        self.logs_lag = timedelta(0)
        self.hide_scheduled_in_logs = False
        self.logs_per_minute: int | None = None
        self._logs_asked: list[datetime] = []
        self.bulks: dict[str, Bulk] = {}
        self.messages: list[Message] = []
        self.bodies: list[Any] = []  # every accepted create request's body, for assertions
        self._creates: Counter[str] = Counter()

    # -- for tests ------------------------------------------------------------------------

    def creates_by_key(self) -> dict[str, int]:
        """How many times a message with each messageId was taken in (more than 1: resent)."""
        with self._lock:
            return dict(self._creates)

    def bulk_status(self, bulk_id: str) -> str:
        with self._lock:
            return self._bulk_status(self.bulks[bulk_id], self.clock.now())

    def message(self, message_id: str) -> Message:
        with self._lock:
            return next(m for m in self.messages if m.message_id == message_id)

    # -- rules ----------------------------------------------------------------------------

    def _bulk_status(self, bulk: Bulk, now: datetime) -> str:
        if bulk.held in ("CANCELED", "PAUSED"):
            return bulk.held
        if now < bulk.send_at:
            return "PENDING"
        return "PROCESSING" if now < bulk.send_at + self.processing else "FINISHED"

    def _state(self, msg: Message, now: datetime) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """(status, error, final) of one message now."""
        if msg.rejected is not None:
            return msg.rejected, NO_ERROR, True
        bulk = self.bulks[msg.bulk_id]
        if bulk.held in ("CANCELED", "PAUSED") or now < bulk.send_at:
            return ACCEPTED, NO_ERROR, False
        if now < bulk.send_at + self.delivery_delay:
            return ENROUTE, NO_ERROR, False
        if msg.to.startswith(self.fail_prefixes):
            return UNDELIVERABLE, UNKNOWN_SUBSCRIBER, True
        if msg.to.startswith(self.expire_prefixes):
            return EXPIRED, NO_ERROR, True
        return DELIVERED, NO_ERROR, True

    def _entry(self, msg: Message, now: datetime) -> dict[str, Any]:
        status, err, final = self._state(msg, now)
        bulk = self.bulks[msg.bulk_id]
        done = (bulk.send_at + self.delivery_delay) if msg.rejected is None else msg.created
        return {
            "bulkId": msg.bulk_id,
            "messageId": msg.message_id,
            "to": msg.to,
            "from": msg.sender,
            "text": msg.text,
            "sentAt": fmt(bulk.send_at),
            "doneAt": fmt(done) if final else None,
            "smsCount": count_segments(msg.text).segments,
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "status": status,
            "error": err,
        }

    # -- serving --------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"App {self.api_key}":
            return error(401, "UNAUTHORIZED", "Invalid login details")
        routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("POST", "/sms/3/messages"): self._create,
            ("GET", "/sms/1/bulks"): self._get_bulk,
            ("PUT", "/sms/1/bulks"): self._reschedule,
            ("GET", "/sms/1/bulks/status"): self._get_status,
            ("PUT", "/sms/1/bulks/status"): self._set_status,
            ("GET", "/sms/1/reports"): self._reports,
            ("GET", "/sms/3/reports"): self._reports,
            ("GET", "/sms/1/logs"): self._logs,
            ("GET", "/sms/3/logs"): self._logs,
            ("POST", "/sms/1/preview"): self._preview,
        }
        handler = routes.get((request.method, request.path))
        if handler is None:
            return error(404, "NOT_FOUND", f"No such resource: {request.method} {request.path}")
        try:
            request.json()
        except ValueError:
            return error(400, "BAD_REQUEST", "Request body is not valid JSON")
        return handler(request)

    def _send_at(self, value: object, now: datetime) -> datetime | Response:
        if not isinstance(value, str) or not SEND_AT.match(value):
            return error(400, "BAD_REQUEST", "sendAt must look like 2026-12-01T09:00:00.000+0000")
        at = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
        if at - now > HORIZON:
            return error(400, "BAD_REQUEST", "sendAt can not be more than 180 days in the future")
        return at

    def _create(self, request: Request) -> Response:
        now = self.clock.now()
        body = request.json()
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return error(400, "BAD_REQUEST", "messages must not be empty")
        for m in messages:
            text = (m.get("content") or {}).get("text") if isinstance(m, dict) else None
            dests = m.get("destinations") if isinstance(m, dict) else None
            if not isinstance(text, str) or not text or not isinstance(dests, list) or not dests:
                return error(400, "BAD_REQUEST", "each message needs content.text and destinations")
            if any(not isinstance(d, dict) or not d.get("to") for d in dests):
                return error(400, "BAD_REQUEST", "each destination needs 'to'")
            validity = ((m.get("options") or {}).get("validityPeriod") or {}).get("amount")
            if validity is not None and not (isinstance(validity, int) and 0 < validity <= 2880):
                return error(400, "BAD_REQUEST", "validityPeriod must be 1 to 2880 minutes")
        schedule = (body.get("options") or {}).get("schedule")
        send_at, scheduled = now, False
        bulk_id = f"sim-bulk-{uuid.uuid4().hex[:12]}"
        if isinstance(schedule, dict):
            if "sendAt" in schedule:
                parsed = self._send_at(schedule["sendAt"], now)
                if isinstance(parsed, Response):
                    return parsed
                send_at, scheduled = max(parsed, now), True
            if schedule.get("bulkId"):
                bulk_id = str(schedule["bulkId"])
                if len(bulk_id) > MAX_BULK_ID:
                    return error(400, "BAD_REQUEST", "bulkId is longer than 100 characters")
                if bulk_id in self.bulks:
                    return error(400, "BAD_REQUEST", f"bulkId {bulk_id} is already used")
        self.bulks[bulk_id] = Bulk(bulk_id, send_at, scheduled)
        self.bodies.append(body)
        answer: list[dict[str, Any]] = []
        for m in messages:
            for dest in m["destinations"]:
                to = str(dest["to"])
                msg = Message(
                    bulk_id,
                    str(dest.get("messageId") or uuid.uuid4().hex),
                    to,
                    m.get("sender"),
                    m["content"]["text"],
                    now,
                )
                if not NUMBER.match(to) or to.startswith(self.reject_prefixes):
                    msg.rejected = BAD_DESTINATION
                elif to in self.opted_out:
                    msg.rejected = DND
                self.messages.append(msg)
                self._creates[msg.message_id] += 1
                answer.append(
                    {
                        "messageId": msg.message_id,
                        "destination": to,
                        "status": msg.rejected or ACCEPTED,
                    }
                )
        return Response(200, {"bulkId": bulk_id, "messages": answer})

    def _bulk(self, request: Request) -> Bulk | Response:
        bulk = self.bulks.get(request.query.get("bulkId", ""))
        if bulk is None or not bulk.scheduled:
            return error(404, "NOT_FOUND", "Bulk not found")
        return bulk

    def _get_bulk(self, request: Request) -> Response:
        bulk = self._bulk(request)
        if isinstance(bulk, Response):
            return bulk
        return Response(200, {"bulkId": bulk.bulk_id, "sendAt": fmt(bulk.send_at)})

    def _reschedule(self, request: Request) -> Response:
        now = self.clock.now()
        bulk = self._bulk(request)
        if isinstance(bulk, Response):
            return bulk
        status = self._bulk_status(bulk, now)
        if status not in ("PENDING", "PAUSED"):
            return error(400, "BAD_REQUEST", f"Bulk in status {status} can not be rescheduled")
        body = request.json()
        parsed = self._send_at(body.get("sendAt") if isinstance(body, dict) else None, now)
        if isinstance(parsed, Response):
            return parsed
        bulk.send_at = max(parsed, now)
        return Response(200, {"bulkId": bulk.bulk_id, "sendAt": fmt(bulk.send_at)})

    def _get_status(self, request: Request) -> Response:
        bulk = self._bulk(request)
        if isinstance(bulk, Response):
            return bulk
        status = self._bulk_status(bulk, self.clock.now())
        return Response(200, {"bulkId": bulk.bulk_id, "status": status})

    def _set_status(self, request: Request) -> Response:
        now = self.clock.now()
        bulk = self._bulk(request)
        if isinstance(bulk, Response):
            return bulk
        body = request.json()
        wanted = body.get("status") if isinstance(body, dict) else None
        current = self._bulk_status(bulk, now)
        allowed = {
            "CANCELED": ("PENDING", "PAUSED"),
            "PAUSED": ("PENDING",),
            "PROCESSING": ("PAUSED",),  # resume
        }
        if wanted not in allowed:
            return error(400, "BAD_REQUEST", "status must be CANCELED, PAUSED or PROCESSING")
        if current not in allowed[wanted]:
            return error(400, "BAD_REQUEST", f"Bulk in status {current} can not become {wanted}")
        if wanted == "PROCESSING":
            bulk.held = "PENDING"
            bulk.send_at = max(bulk.send_at, now)
        else:
            bulk.held = wanted
        return Response(200, {"bulkId": bulk.bulk_id, "status": self._bulk_status(bulk, now)})

    def _matching(self, request: Request, *, lists: bool) -> list[Message] | Response:
        """Messages the bulkId/messageId filters select: comma-separated lists where the
        endpoint documents them (logs), a single id otherwise (reports)."""
        wanted: dict[str, set[str] | None] = {}
        for name in ("bulkId", "messageId"):
            value = request.query.get(name)
            if value is None:
                wanted[name] = None
            elif lists:
                if len(value) > MAX_ID_LIST:
                    return error(400, "BAD_REQUEST", f"{name} is longer than 2048 characters")
                wanted[name] = set(value.split(","))
            else:
                wanted[name] = {value}
        bulks, ids = wanted["bulkId"], wanted["messageId"]
        return [
            m
            for m in self.messages
            if (bulks is None or m.bulk_id in bulks) and (ids is None or m.message_id in ids)
        ]

    def _limit(self, request: Request) -> int:
        try:
            return min(max(int(request.query.get("limit", "50")), 1), 1000)
        except ValueError:
            return 50

    def _v3(self, request: Request, entry: dict[str, Any], *, log: bool) -> dict[str, Any]:
        """An entry in the shape of the version asked: v3 names the recipient
        ``destination`` (logs) or ``to`` (reports), the sender ``sender``, the parts
        ``messageCount``, and puts the text under ``content``."""
        if not request.path.startswith("/sms/3/"):
            return entry
        out = {k: v for k, v in entry.items() if k not in ("to", "from", "text", "smsCount")}
        out["to" if not log else "destination"] = entry["to"]
        out["sender"] = entry["from"]
        out["messageCount"] = entry["smsCount"]
        if log:
            out["content"] = {"text": entry["text"]}
        return out

    def _reports(self, request: Request) -> Response:
        now = self.clock.now()
        matching = self._matching(request, lists=False)
        if isinstance(matching, Response):
            return matching
        results: list[dict[str, Any]] = []
        for msg in matching:
            if len(results) >= self._limit(request):
                break
            if msg.reported or not self._state(msg, now)[2]:
                continue
            msg.reported = True  # Infobip hands out each report once
            entry = self._v3(request, self._entry(msg, now), log=False)
            results.append({k: entry[k] for k in entry if k not in ("text", "from", "content")})
        return Response(200, {"results": results})

    def _listed(self, msg: Message, now: datetime) -> bool:
        """Whether the logs show this message now (see ``logs_lag`` and
        ``hide_scheduled_in_logs``)."""
        if now < msg.created + self.logs_lag:
            return False
        bulk = self.bulks[msg.bulk_id]
        gone_out = bulk.held not in ("CANCELED", "PAUSED") and now >= bulk.send_at
        return not (self.hide_scheduled_in_logs and bulk.scheduled and not gone_out)

    def _throttled(self, now: datetime) -> Response | None:
        if self.logs_per_minute is None:
            return None
        self._logs_asked = [t for t in self._logs_asked if now - t < timedelta(minutes=1)]
        if len(self._logs_asked) >= self.logs_per_minute:
            return Response(
                429,
                {"requestError": {"serviceException": {"messageId": "TOO_MANY_REQUESTS"}}},
                {"Retry-After": "60"},
            )
        self._logs_asked.append(now)
        return None

    def _logs(self, request: Request) -> Response:
        now = self.clock.now()
        refused = self._throttled(now)
        if refused is not None:
            return refused
        matching = self._matching(request, lists=True)
        if isinstance(matching, Response):
            return matching
        results = []
        for msg in matching:
            if not self._listed(msg, now):
                continue
            entry = self._entry(msg, now)
            done = entry["doneAt"]
            if done and now - datetime.strptime(done, "%Y-%m-%dT%H:%M:%S.%f%z") > LOG_RETENTION:
                continue  # Infobip keeps logs about 48 hours
            results.append(self._v3(request, entry, log=True))
        limit = self._limit(request)
        if request.query.get("useCursor") != "true":
            return Response(200, {"results": results[:limit]})
        try:
            start = int(request.query.get("cursor") or 0)
        except ValueError:
            return error(400, "BAD_REQUEST", "cursor is not one this server gave")
        page = results[start : start + limit]
        cursor: dict[str, Any] = {"limit": limit}
        if start + limit < len(results):
            cursor["nextCursor"] = str(start + limit)
        return Response(200, {"results": page, "cursor": cursor})

    def _preview(self, request: Request) -> Response:
        body = request.json()
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return error(400, "BAD_REQUEST", "text must not be empty")
        info = count_segments(text)
        return Response(
            200,
            {
                "originalText": text,
                "previews": [
                    {
                        "textPreview": text,
                        "messageCount": info.segments,
                        "charactersRemaining": info.remaining,
                        "configuration": {},
                    }
                ],
            },
        )
