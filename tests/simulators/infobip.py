"""A loopback Infobip: SMS v3 send, v1 scheduled-bulk management, v3 (and deprecated v1)
reports and logs, preview, and the inbox of received SMS (``receive``; ``_inbox`` names its
source: Infobip's official Python SDK).

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

Keys carry scopes (``keys``: key -> scopes; ``add_key``). Each operation needs one of its
``x-scopes`` (specs excerpt: "x-scopes: POST /sms/3/messages ["message:send","sms:message:send",
"sms:manage"]; GET bulks & GET bulks/status ["sms:message:send","sms:manage"]; PUT bulks & PUT
bulks/status ["sms:manage"]; POST preview ["sms:manage"]; GET logs v1/v3 ["sms:logs:read",
"sms:manage"]; GET reports v1/v3 ["message:send","sms:message:send","sms:manage"]"), else 403
with the documented body: ``ApiError403`` on the v3 paths, ``ApiException403`` on the others.
An unknown key gets 401. The simulator's own key has ``sms:manage``, which every operation takes.

What the specification leaves open is a switch, for tests to try both ways:
``logs_lag`` (a message is listed in the logs only that long after it was accepted),
``hide_scheduled_in_logs`` (a scheduled message is listed only once its bulk has gone out),
``logs_per_minute`` (answer 429 beyond that many logs requests in a minute of its clock),
``mixed_bulks_changeable`` (off: a bulk created with several ``messages[]`` entries cannot be
rescheduled, paused or cancelled, as Infobip said in 2017: "multiple messages in one bulk send
request can't be updated"; the 400 answer is the simulator's choice, the spec names none).

Numbers (digits, no '+') starting with one of ``fail_prefixes`` are undeliverable after the
send time, ``expire_prefixes`` expire, ``reject_prefixes`` are rejected at once as invalid
destinations, numbers in ``dnd`` are rejected at once with REJECTED_DND (status id 10, a
Do-Not-Disturb registration), and numbers in ``opted_out`` (replied STOP) are accepted, then
fail with the registry's opt-out error "603 EC_CONTENT_BLOCKED (permanent): Content blocked by
user opt-out (MO: STOP)" (specs excerpt, Source D) under status UNDELIVERABLE (the registry
names neither the status nor the error group that carry it: the simulator's choice). Status
ids beyond those in providers.md are this simulator's choice.
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
DND = _status(
    5,
    "REJECTED",
    10,
    "REJECTED_DND",
    "Message has been received and rejected because the user is subscribed to DND (Do Not "
    "Disturb) services",
)
NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR", "permanent": False}
CONTENT_BLOCKED = {
    "groupId": 3,
    "groupName": "OPERATOR_ERRORS",
    "id": 603,
    "name": "EC_CONTENT_BLOCKED",
    "description": "Content blocked by user opt-out (MO: STOP)",
    "permanent": True,
}
UNKNOWN_SUBSCRIBER = {
    "groupId": 1,
    "groupName": "HANDSET_ERRORS",
    "id": 1,
    "name": "EC_UNKNOWN_SUBSCRIBER",
    "description": "Unknown subscriber",
    "permanent": True,
}


# x-scopes per operation (see the module's notes): a key needs at least one of them.
_SEND = frozenset({"message:send", "sms:message:send", "sms:manage"})
_BULKS = frozenset({"sms:message:send", "sms:manage"})
_MANAGE = frozenset({"sms:manage"})
_LOGS = frozenset({"sms:logs:read", "sms:manage"})
SCOPES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/sms/3/messages"): _SEND,
    ("GET", "/sms/1/bulks"): _BULKS,
    ("GET", "/sms/1/bulks/status"): _BULKS,
    ("PUT", "/sms/1/bulks"): _MANAGE,
    ("PUT", "/sms/1/bulks/status"): _MANAGE,
    ("POST", "/sms/1/preview"): _MANAGE,
    ("GET", "/sms/1/logs"): _LOGS,
    ("GET", "/sms/3/logs"): _LOGS,
    ("GET", "/sms/1/reports"): _SEND,
    ("GET", "/sms/3/reports"): _SEND,
}
# ApiError403 (v3 operations) and ApiException403 (the others), verbatim examples.
FORBIDDEN_V3 = {
    "errorCode": "E403",
    "description": "Insufficient permissions to access the requested resource.",
    "action": "Repeat the request with new or different credentials.",
    "violations": [],
    "resources": [
        {
            "name": "API Scopes",
            "url": "https://www.infobip.com/docs/essentials/api-essentials/api-authorization#api-scopes",
        }
    ],
}
FORBIDDEN_V1 = {
    "requestError": {"serviceException": {"messageId": "FORBIDDEN", "text": "Forbidden"}}
}


def fmt(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def bad_v3(prop: str, violation: str) -> Response:
    """The v3 400 (POST /sms/3/messages "Bad request" example): ApiError with violations."""
    return Response(
        400,
        {
            "errorCode": "E400",
            "description": "Request cannot be processed.",
            "action": "Check the syntax, violations and adjust the request.",
            "violations": [{"property": prop, "violation": violation}],
            "resources": [],
        },
    )


DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def window_violation(window: object) -> str | None:
    """What DeliveryTimeWindow's schema refuses: "days ... At least one day must be
    provided", DeliveryDay values, DeliveryTime hour 0..23 and minute 0..59 (both required),
    and "Properties `from` and `to` should be both provided with the minimum 1 hour
    difference or omitted". Whether ``to`` before ``from`` (over midnight) counts as a
    difference is not documented: the simulator refuses it."""
    if not isinstance(window, dict):
        return "must be an object"
    days = window.get("days")
    if not isinstance(days, list) or not days:
        return "days: at least one day must be provided"
    if any(day not in DAYS for day in days):
        return "days: must be one of " + ", ".join(DAYS)
    ends = [window.get("from"), window.get("to")]
    if ends == [None, None]:
        return None
    if None in ends:
        return "from and to should be both provided or omitted"
    minutes = []
    for end in ends:
        hour = end.get("hour") if isinstance(end, dict) else None
        minute = end.get("minute") if isinstance(end, dict) else None
        if not (isinstance(hour, int) and 0 <= hour <= 23):
            return "hour must be 0 to 23"
        if not (isinstance(minute, int) and 0 <= minute <= 59):
            return "minute must be 0 to 59"
        minutes.append(hour * 60 + minute)
    if minutes[1] - minutes[0] < 60:
        return "from and to should be provided with the minimum 1 hour difference"
    return None


REGIONAL = ("indiaDlt", "turkeyIys", "southKorea")  # RegionalOptions' properties
INDIA_DLT = ("contentTemplateId", "principalEntityId", "telemarketerId")  # IndiaDltOptions'


def regional_violation(regional: object) -> str | None:
    """What RegionalOptions and IndiaDltOptions refuse: an unknown property, a DLT field that
    is not a string, or no ``principalEntityId`` ("required": ["principalEntityId"]; "Your
    assigned DLT principal entity ID"). Turkey's and South Korea's options are not checked."""
    if not isinstance(regional, dict):
        return "must be an object"
    unknown = sorted(set(regional) - set(REGIONAL))
    if unknown:
        return f"unknown property {unknown[0]}"
    dlt = regional.get("indiaDlt")
    if dlt is None:
        return None
    if not isinstance(dlt, dict):
        return "indiaDlt: must be an object"
    unknown = sorted(set(dlt) - set(INDIA_DLT))
    if unknown:
        return f"indiaDlt: unknown property {unknown[0]}"
    if any(not isinstance(value, str) for value in dlt.values()):
        return "indiaDlt: values must be strings"
    if not dlt.get("principalEntityId"):
        return "indiaDlt.principalEntityId: must not be null"
    return None


def release_time(window: dict[str, Any] | None, at: datetime) -> datetime:
    """The first moment from ``at`` inside the delivery window (UTC days and hours)."""
    if not window:
        return at
    opens = window.get("from") or {"hour": 0, "minute": 0}
    closes = window.get("to")
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(8):
        start = day + timedelta(days=offset, hours=opens["hour"], minutes=opens["minute"])
        end = (
            day + timedelta(days=offset, hours=closes["hour"], minutes=closes["minute"])
            if closes
            else day + timedelta(days=offset + 1)
        )
        if DAYS[start.weekday()] in window["days"] and at < end:
            return max(at, start)
    return at  # no allowed day (refused at create)


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
    entries: int = 1  # messages[] entries of the create request


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
    window: dict[str, Any] | None = None  # options.deliveryTimeWindow of its entry
    regional: dict[str, Any] | None = None  # options.regional of its entry


@dataclass
class Inbound:
    message_id: str
    sender: str
    to: str
    text: str
    received_at: datetime
    pulled: bool = False


class InfobipSimulator(Simulator):
    name = "infobip"

    def __init__(self, clock: Clock, api_key: str = "sim-key-7d1f2a", *, stall: float = 1.0):
        super().__init__(clock, api_key, stall=stall)
        self.keys: dict[str, frozenset[str]] = {api_key: frozenset({"sms:manage"})}
        self.fail_prefixes: tuple[str, ...] = ("1555000",)
        self.expire_prefixes: tuple[str, ...] = ("1555001",)
        self.reject_prefixes: tuple[str, ...] = ("1555002",)
        self.opted_out: set[str] = set()  # replied STOP: fail with EC_CONTENT_BLOCKED
        self.dnd: set[str] = set()  # registered Do-Not-Disturb: REJECTED_DND at once
        self.delivery_delay = timedelta(0)  # from the send time to the final status
        self.processing = timedelta(seconds=30)  # a bulk is PROCESSING this long, then FINISHED
        self.logs_lag = timedelta(0)
        self.hide_scheduled_in_logs = False
        self.logs_per_minute: int | None = None
        self.mixed_bulks_changeable = False
        self._logs_asked: list[datetime] = []
        self.bulks: dict[str, Bulk] = {}
        self.messages: list[Message] = []
        self.bodies: list[Any] = []  # every accepted create request's body, for assertions
        self._creates: Counter[str] = Counter()
        self.inbox: list[Inbound] = []  # received SMS, each handed out by one pull
        self.inbox_pulls = 0

    # -- for tests ------------------------------------------------------------------------

    def add_key(self, key: str, *scopes: str) -> None:
        """Another API key of the account, with only ``scopes``."""
        with self._lock:
            self.keys[key] = frozenset(scopes)

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

    def receive(self, sender: str, to: str, text: str, at: datetime | None = None) -> str:
        """An SMS ``sender`` (digits, no '+') texted to the account's number ``to``; waits
        in the inbox until a pull hands it out. Returns its messageId."""
        with self._lock:
            ident = "MO-" + uuid.uuid4().hex
            self.inbox.append(Inbound(ident, sender, to, text, at or self.clock.now()))
            return ident

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
        # Held until its delivery window opens: "Sets specific message delivery window outside
        # of which messages won't be delivered" (DeliveryTimeWindow).
        released = release_time(msg.window, bulk.send_at)
        if bulk.held in ("CANCELED", "PAUSED") or now < released:
            return ACCEPTED, NO_ERROR, False
        if now < released + self.delivery_delay:
            return ENROUTE, NO_ERROR, False
        if msg.to.startswith(self.fail_prefixes):
            return UNDELIVERABLE, UNKNOWN_SUBSCRIBER, True
        if msg.to in self.opted_out:
            return UNDELIVERABLE, CONTENT_BLOCKED, True
        if msg.to.startswith(self.expire_prefixes):
            return EXPIRED, NO_ERROR, True
        return DELIVERED, NO_ERROR, True

    def _entry(self, msg: Message, now: datetime) -> dict[str, Any]:
        status, err, final = self._state(msg, now)
        bulk = self.bulks[msg.bulk_id]
        released = release_time(msg.window, bulk.send_at)
        done = (released + self.delivery_delay) if msg.rejected is None else msg.created
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
        given = request.headers.get("authorization", "").removeprefix("App ")
        scopes = self.keys.get(given)
        if scopes is None:
            return error(401, "UNAUTHORIZED", "Invalid login details")
        needed = SCOPES.get((request.method, request.path))
        if needed is not None and not scopes & needed:
            body = FORBIDDEN_V3 if request.path.startswith("/sms/3/") else FORBIDDEN_V1
            return Response(403, body)
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
            ("GET", "/sms/1/inbox/reports"): self._inbox,
        }
        handler = routes.get((request.method, request.path))
        if handler is None:
            return error(404, "NOT_FOUND", f"No such resource: {request.method} {request.path}")
        try:
            request.json()
        except ValueError:
            return error(400, "BAD_REQUEST", "Request body is not valid JSON")
        return handler(request)

    def _send_at(self, value: object, now: datetime) -> datetime | str:
        """The time, or why it is refused."""
        if not isinstance(value, str) or not SEND_AT.match(value):
            return "sendAt must look like 2026-12-01T09:00:00.000+0000"
        at = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
        if at - now > HORIZON:
            return "sendAt can not be more than 180 days in the future"
        return at

    def _create(self, request: Request) -> Response:
        now = self.clock.now()
        body = request.json()
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            return bad_v3("messages", "must not be empty")
        for n, m in enumerate(messages):
            text = (m.get("content") or {}).get("text") if isinstance(m, dict) else None
            dests = m.get("destinations") if isinstance(m, dict) else None
            if not isinstance(text, str) or not text or not isinstance(dests, list) or not dests:
                return bad_v3(f"messages[{n}]", "needs content.text and destinations")
            if any(not isinstance(d, dict) or not d.get("to") for d in dests):
                return bad_v3(f"messages[{n}].destinations", "each destination needs 'to'")
            options = m.get("options") or {}
            validity = (options.get("validityPeriod") or {}).get("amount")
            if validity is not None and not (isinstance(validity, int) and 0 < validity <= 2880):
                return bad_v3(f"messages[{n}].options.validityPeriod", "must be 1 to 2880 minutes")
            if "deliveryTimeWindow" in options:
                wrong = window_violation(options["deliveryTimeWindow"])
                if wrong:
                    return bad_v3(f"messages[{n}].options.deliveryTimeWindow", wrong)
            if "regional" in options:
                wrong = regional_violation(options["regional"])
                if wrong:
                    return bad_v3(f"messages[{n}].options.regional", wrong)
        schedule = (body.get("options") or {}).get("schedule")
        send_at, scheduled = now, False
        bulk_id = f"sim-bulk-{uuid.uuid4().hex[:12]}"
        if isinstance(schedule, dict):
            if "sendAt" in schedule:
                parsed = self._send_at(schedule["sendAt"], now)
                if isinstance(parsed, str):
                    return bad_v3("options.schedule.sendAt", parsed)
                send_at, scheduled = max(parsed, now), True
            if schedule.get("bulkId"):
                bulk_id = str(schedule["bulkId"])
                if len(bulk_id) > MAX_BULK_ID:
                    return bad_v3("options.schedule.bulkId", "is longer than 100 characters")
                if bulk_id in self.bulks:
                    return bad_v3("options.schedule.bulkId", f"{bulk_id} is already used")
        self.bulks[bulk_id] = Bulk(bulk_id, send_at, scheduled, entries=len(messages))
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
                    window=(m.get("options") or {}).get("deliveryTimeWindow"),
                    regional=(m.get("options") or {}).get("regional"),
                )
                if not NUMBER.match(to) or to.startswith(self.reject_prefixes):
                    msg.rejected = BAD_DESTINATION
                elif to in self.dnd:
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

    def _changeable(self, request: Request) -> Bulk | Response:
        """The bulk a PUT changes, unless it mixes several messages[] entries."""
        bulk = self._bulk(request)
        if isinstance(bulk, Bulk) and bulk.entries > 1 and not self.mixed_bulks_changeable:
            return error(400, "BAD_REQUEST", "Bulk with several messages can not be updated")
        return bulk

    def _get_bulk(self, request: Request) -> Response:
        bulk = self._bulk(request)
        if isinstance(bulk, Response):
            return bulk
        return Response(200, {"bulkId": bulk.bulk_id, "sendAt": fmt(bulk.send_at)})

    def _reschedule(self, request: Request) -> Response:
        now = self.clock.now()
        bulk = self._changeable(request)
        if isinstance(bulk, Response):
            return bulk
        status = self._bulk_status(bulk, now)
        if status not in ("PENDING", "PAUSED"):
            return error(400, "BAD_REQUEST", f"Bulk in status {status} can not be rescheduled")
        body = request.json()
        parsed = self._send_at(body.get("sendAt") if isinstance(body, dict) else None, now)
        if isinstance(parsed, str):
            return error(400, "BAD_REQUEST", parsed)
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
        bulk = self._changeable(request)
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

    def _inbox(self, request: Request) -> Response:
        """``GET /sms/1/inbox/reports`` (Infobip's official Python SDK, infobip/
        infobip-api-python-client ``SmsApi.get_inbound_sms_messages`` and models
        ``SmsInboundMessageResult``/``SmsInboundMessage``; the excerpt in specs/ names only the
        path): "Each request will return a batch of received messages, only once"; ``limit``
        default 50, at most 1000, "only ... messages for the last 48h". Answers ``results``,
        ``messageCount`` and ``pendingMessageCount``. The scope it needs is not in the
        excerpt: any key of the account may pull here (unconfirmed)."""
        now = self.clock.now()
        self.inbox_pulls += 1
        waiting = [m for m in self.inbox if not m.pulled and now - m.received_at <= LOG_RETENTION]
        batch = waiting[: self._limit(request)]
        for m in batch:
            m.pulled = True
        results = [
            {
                "messageId": m.message_id,
                "from": m.sender,
                "to": m.to,
                "text": m.text,
                "cleanText": m.text,
                "keyword": "",
                "receivedAt": fmt(m.received_at),
                "smsCount": count_segments(m.text).segments,
                "price": {"pricePerMessage": 0, "currency": "EUR"},
                "callbackData": "",
            }
            for m in batch
        ]
        body = {
            "results": results,
            "messageCount": len(results),
            "pendingMessageCount": len(waiting) - len(batch),
        }
        return Response(200, body)

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
