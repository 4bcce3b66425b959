"""A loopback Kaleyra (kaleyra.io v1): ``api-key`` auth, ``POST /v1/<SID>/sms`` (form or JSON),
the 15 minutes .. 3 months scheduling window with Kaleyra's E402 body, and statuses that move
on after the send time.

Documented: the create fields (including ``unicode``), the response shape, the E402 body, the
SMS Status API ``GET /v1/<SID>/sms/status?message_ids=<id>,<id>`` answering ``{"data":
[{"campaign_id", "status", "status_details"}], "error": {}}`` with the statuses Delivered,
UnDelivered, NotSent, Sent, and the read-only "Get Callback Profiles Detail" call
``GET /v1/<SID>/callback/profiles?limit=&offset=`` (developers.kaleyra.io,
platform-apis-get-callback-profiles-detail). Simulated where Kaleyra's documentation is silent:
error codes other than E402 (the ``_CODES`` table), the callback profile list's answer (shaped
like the documented single-profile answer), the status of a message before its send time
("Scheduled"), what a status request with an unknown id gets (``unknown_ids``: "omit" leaves it
out of ``data``, "refuse" answers 400 for the whole request), and how non-GSM text sent without
``unicode`` reaches the handset (``handset_text``: each such character as "?"). There is no
cancel or reschedule endpoint, and no ``/balance``: undocumented paths answer 404.

Numbers starting with ``fail_prefix`` fail after their send time; numbers in ``dnd`` (India's
Do-Not-Disturb registry) fail too when the message is promotional (MKT); numbers in
``blocked`` are refused at create time.
"""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from smsdesk.core.clock import Clock
from smsdesk.core.segments import GSM7_BASIC, GSM7_EXTENSION
from tests.simulators.base import Request, Response, Simulator

DEFAULT_SID = "HXIN1700000000IN"
MIN_LEAD = timedelta(minutes=15)
TIME_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
E402 = (
    "Message can be scheduled for after 15 minutes from current time and before 3 months from now."
)
# "-d "unicode=1"" (sms-api-send-with-unicode) and "-d "unicode=Auto"" (sms-api-send-the-
# first-sms sample): the only values the documentation shows, so the only ones accepted here.
UNICODE_VALUES = ("1", "Auto")
# Codes the documentation does not give; the simulator's own, in Kaleyra's error shape.
_CODES = {
    "auth": "E401",
    "field": "E400",
    "sender": "E407",
    "number": "E413",
    "otp": "E403",
    "missing": "E404",
}


def add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


@dataclass
class SimMessage:
    request_id: str
    message_id: str
    recipient: str
    sender: str
    body: str
    type: str
    send_at: datetime
    created_at: datetime
    unicode: str | None = None


class KaleyraSimulator(Simulator):
    name = "kaleyra"

    def __init__(
        self,
        clock: Clock,
        api_key: str = "sim-key-7d1f2a",
        *,
        stall: float = 1.0,
        sid: str = DEFAULT_SID,
        fail_prefix: str = "+9199900",
        delivery_delay: timedelta = timedelta(seconds=30),
    ) -> None:
        super().__init__(clock, api_key, stall=stall)
        self.sid = sid
        self.fail_prefix = fail_prefix
        self.delivery_delay = delivery_delay
        self.dnd: set[str] = set()
        self.blocked: set[str] = set()
        self.approved_senders: set[str] | None = None  # None: any sender is approved
        self.messages: dict[str, SimMessage] = {}  # by message_id
        self.creates: list[dict[str, str]] = []  # every create request that was processed
        self.unknown_ids = "omit"  # or "refuse"
        self.status_queries: list[str] = []  # every message_ids value asked for
        self.callback_profiles: list[dict[str, object]] = [
            {"profile_id": f"IN_{uuid.UUID(int=1)}", "title": "front desk", "status": 1}
        ]

    # -- what tests look at -------------------------------------------------------------------

    def creates_by_recipient(self) -> dict[str, int]:
        """How many processed create requests carried each number (Kaleyra takes no client
        reference, so tests use one number per message)."""
        counts: dict[str, int] = {}
        for fields in self.creates:
            counts[fields.get("to", "")] = counts.get(fields.get("to", ""), 0) + 1
        return counts

    def message_to(self, number: str) -> SimMessage:
        [msg] = [m for m in self.messages.values() if m.recipient == number]
        return msg

    # -- routing ------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if len(parts) < 3 or parts[0] != "v1":
            return _error(404, "missing", "Not found.")
        if request.headers.get("api-key") != self.api_key or parts[1] != self.sid:
            return _error(401, "auth", "Invalid api-key or SID.")
        rest, method = parts[2:], request.method
        if rest == ["sms"] and method == "POST":
            return self._create(_fields(request))
        if rest == ["sms", "status"] and method == "GET":
            return self._status(request.query.get("message_ids", ""))
        if rest == ["callback", "profiles"] and method == "GET":
            return self._callback_profiles(request.query)
        return _error(404, "missing", f"No {method} /{'/'.join(rest)} here.")

    def _create(self, fields: dict[str, str]) -> Response:
        now = self.clock.now()
        to, sender = fields.get("to", ""), fields.get("sender", "")
        kind = fields.get("type", "")
        if not re.fullmatch(r"\+?\d{8,15}", to):
            return _error(400, "field", "Invalid 'to'.", to="invalid")
        if not sender:
            return _error(400, "field", "'sender' is required.", sender="required")
        if not (fields.get("body") or fields.get("template_id")):
            return _error(400, "field", "'body' or 'template_id' is required.", body="required")
        if kind not in ("MKT", "TXN", "TXND", "OTP"):
            return _error(400, "field", "Invalid 'type'.", type="invalid")
        if self.approved_senders is not None and sender not in self.approved_senders:
            return _error(400, "sender", "Sender ID is not approved.", sender="not approved")
        if to in self.blocked:
            return _error(400, "number", "The number is not valid.", to="invalid")
        unicode = fields.get("unicode")
        if unicode is not None and unicode not in UNICODE_VALUES:
            return _error(400, "field", "Invalid 'unicode'.", unicode="invalid")
        send_at = now
        if "time" in fields:
            raw = fields["time"]
            if kind == "OTP":
                return _error(400, "otp", "OTP messages cannot be scheduled.", time=raw)
            if not TIME_FORMAT.fullmatch(raw):
                return _error(400, "field", "Invalid 'time' format.", time=raw)
            send_at = datetime.fromisoformat(raw).astimezone(UTC)
            if send_at < now + MIN_LEAD or send_at > add_months(now, 3):
                return Response(400, {"code": "E402", "message": E402, "error": {"time": raw}})
        self.creates.append(fields)
        request_id = str(uuid.uuid4())
        msg = SimMessage(
            request_id,
            f"{request_id}:1",
            to,
            sender,
            fields.get("body", ""),
            kind,
            send_at,
            now,
            unicode,
        )
        self.messages[msg.message_id] = msg
        return Response(
            200,
            {
                "id": request_id,
                "sender": sender,
                "type": kind,
                "body": msg.body,
                "createdDateTime": now.isoformat(timespec="seconds"),
                "totalCount": 1,
                "data": [{"message_id": msg.message_id, "recipient": to}],
                "dlrurl": None,
            },
        )

    def state_of(self, msg: SimMessage) -> tuple[str, str]:
        """(status, status_details) in the status API's names."""
        now = self.clock.now()
        if now < msg.send_at:
            return "Scheduled", "SCHEDULED"  # not documented: the simulator's choice
        if msg.type == "MKT" and msg.recipient in self.dnd:
            return "NotSent", "Recipient is registered as Do Not Disturb"
        if self.fail_prefix and msg.recipient.startswith(self.fail_prefix):
            return "UnDelivered", "Number unreachable"
        if now < msg.send_at + self.delivery_delay:
            return "Sent", "SENT"
        return "Delivered", "DELIVERED"

    def _status(self, message_ids: str) -> Response:
        self.status_queries.append(message_ids)
        ids = [i.strip() for i in message_ids.split(",") if i.strip()]
        if not ids:
            return _error(400, "field", "'message_ids' is required.", message_ids="required")
        unknown = [i for i in ids if i not in self.messages]
        if unknown and (self.unknown_ids == "refuse" or len(unknown) == len(ids)):
            return _error(400, "field", "Invalid message id.", message_ids=unknown[0])
        data = []
        for ident in ids:
            if ident in self.messages:
                status, details = self.state_of(self.messages[ident])
                data.append({"campaign_id": ident, "status": status, "status_details": details})
        return Response(200, {"data": data, "error": {}})

    def handset_text(self, msg: SimMessage) -> str:
        """What the recipient's phone shows: non-GSM characters survive only with ``unicode``
        (the documentation gives the flag, not what happens without it)."""
        if msg.unicode is not None:
            return msg.body
        return "".join(ch if ch in GSM7_BASIC | GSM7_EXTENSION else "?" for ch in msg.body)

    def _callback_profiles(self, query: dict[str, str]) -> Response:
        # "limit | Number | ... The default limit for callback profiles is 25" (Get Callback
        # Profiles Detail); the list answer is not shown there, so it mirrors the documented
        # single-profile answer {"code", "message", "data", "error", "status"}.
        raw_limit, raw_offset = query.get("limit", "25"), query.get("offset", "0")
        if not (raw_limit.isdigit() and raw_offset.isdigit()):
            return _error(400, "field", "Invalid 'limit' or 'offset'.", limit=raw_limit)
        limit, offset = int(raw_limit), int(raw_offset)
        page = self.callback_profiles[offset : offset + limit]
        return Response(
            200,
            {
                "code": "RBC024",
                "message": "Profiles fetched successfully",
                "data": page,
                "error": {},
                "status": 200,
            },
        )


def _fields(request: Request) -> dict[str, str]:
    """The documentation shows form-encoding and also names JSON: accept both."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = request.json()
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return request.form()


def _error(status: int, code: str, message: str, **fields: str) -> Response:
    return Response(status, {"code": _CODES[code], "message": message, "error": fields})
