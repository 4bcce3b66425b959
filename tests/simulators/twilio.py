"""A loopback Twilio: the 2010-04-01 Messages API with its paths, HTTP Basic auth, form bodies,
JSON answers and rules, following ``twilio_spec_excerpt.md`` (OpenAPI ``twilio_api_v2010.json``,
the Python SDK, the scheduling pages).

Rules it enforces under its clock:
* Basic auth as the Account SID with its Auth Token (``api_key``), or as an API key SID with its
  secret (``add_api_key``); anything else, or another account's path, is 401 code 20003;
* create (``POST .../Messages.json``): ``To`` (E.164), ``Body``, and ``MessagingServiceSid`` or
  ``From`` (the spec's "conditional"); ``ScheduleType=fixed`` with ``SendAt`` 15 minutes to
  35 days ahead, else 400 code 35114. Without a Messaging Service the scheduling parameters are
  dropped and the message goes at once (the FAQ's words). A scheduled create answers
  ``scheduled``; a plain one through a Messaging Service ``accepted``;
* a scheduled message stays ``scheduled`` until ``SendAt``, then ``sent`` and, after
  ``delivery_delay``, ``delivered``; numbers starting with a fail prefix end ``undelivered``
  (30003); numbers in ``opted_out`` are refused at create with 21610, or, when scheduled before
  they opted out, fail with 21610 at send time ("User opt-outs ... do not automatically cancel
  scheduled messages");
* cancel (``POST .../Messages/{Sid}.json`` ``Status=canceled``) only while ``scheduled``, else
  400 code 30409 (also for a message already canceled);
* list (``GET .../Messages.json``): ``To``, ``From``, ``DateSent``/``DateSent<``/``DateSent>``
  (by the GMT day of ``date_sent``; a message without one is not matched), ``PageSize`` (1..1000,
  default 50), ``PageToken``; newest first; ``next_page_uri`` as in the spec's example.
  ``receive`` adds an incoming message (``"direction": "inbound"``, ``"status": "received"``).

The simulator's choices where Twilio's material is silent (see the excerpt's last section): the
400 status of the 35114/30409/21610 answers, the codes for missing or invalid fields, that a
list shows scheduled messages only without a DateSent filter, list order, ``date_sent`` of an
incoming message = its arrival. ``problem_details`` answers errors in the RFC 9457 shape the
SDK also reads. Twilio has no idempotency key: ``creates_by_recipient`` counts creates per
number, so more than one shows a resend. ``force_status`` sets any status of the enum (with an
error code and message) so that every status can be asked for over HTTP.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from smsdesk.core.clock import Clock
from tests.simulators.base import Request, Response, Simulator

ACCOUNT_SID = "AC5ef8732a3c49700934481addd5ce1659"
SERVICE_SID = "MG9752274e9e519418a7406176694466fa"
POOL = ("+12025550100",)  # the Messaging Service's sender pool
MIN_LEAD = timedelta(minutes=15)
HORIZON = timedelta(days=35)
FAIL_PREFIXES = ("+1202555000",)
OPTED_OUT = frozenset({"+12025550990"})
STATUSES = (  # message_enum_status, verbatim order
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "partially_delivered",
    "canceled",
)
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_API = "/2010-04-01/Accounts/"
_MESSAGE = re.compile(r"Messages/((?:SM|MM)[0-9a-fA-F]{32})\.json")


@dataclass
class SimMessage:
    sid: str
    direction: str  # "outbound-api" or "inbound"
    sender: str | None
    to: str
    body: str
    created_at: datetime
    send_at: datetime  # when it leaves (the create time for a plain send; arrival if inbound)
    scheduled: bool
    service: str | None
    canceled: bool = False
    forced: tuple[str, int | None, str | None] | None = None  # status, error_code, message


def _rfc2822(at: datetime | None) -> str | None:
    return None if at is None else format_datetime(at.astimezone(UTC))


class TwilioSimulator(Simulator):
    name = "twilio"

    def __init__(
        self,
        clock: Clock,
        api_key: str = "sim-key-7d1f2a",
        *,
        stall: float = 1.0,
        account_sid: str = ACCOUNT_SID,
        delivery_delay: timedelta = timedelta(seconds=10),
    ) -> None:
        super().__init__(clock, api_key, stall=stall)
        self.account_sid = account_sid
        self.delivery_delay = delivery_delay
        self.services: dict[str, tuple[str, ...]] = {SERVICE_SID: POOL}
        self.api_keys: dict[str, str] = {}  # API key SID -> secret
        self.messages: dict[str, SimMessage] = {}
        self.opted_out: set[str] = set(OPTED_OUT)
        self.problem_details = False  # errors in the RFC 9457 shape instead of the legacy one
        self.create_forms: list[dict[str, str]] = []  # every create request body accepted
        self.auth_users: list[str] = []  # the Basic auth user of every request
        self._creates: Counter[str] = Counter()

    # -- what tests set up and ask --------------------------------------------------------

    def add_api_key(self, sid: str, secret: str) -> None:
        with self._lock:
            self.api_keys[sid] = secret

    def opt_out(self, number: str) -> None:
        with self._lock:
            self.opted_out.add(number)

    def receive(self, sender: str, to: str, body: str, at: datetime | None = None) -> str:
        """A message ``sender`` texted to the account's number ``to``; returns its SID."""
        at = at or self.clock.now()
        with self._lock:
            msg = SimMessage(
                "SM" + uuid.uuid4().hex, "inbound", sender, to, body, at, at, False, None
            )
            self.messages[msg.sid] = msg
            return msg.sid

    def force_status(
        self, sid: str, status: str, error_code: int | None = None, message: str | None = None
    ) -> None:
        assert status in STATUSES, status
        with self._lock:
            self.messages[sid].forced = (status, error_code, message)

    def creates_by_recipient(self) -> dict[str, int]:
        """How many create requests were processed per recipient (2+ means a resend)."""
        with self._lock:
            return dict(self._creates)

    def live(self) -> list[SimMessage]:
        """Messages Twilio still holds to send later (scheduled, not canceled)."""
        now = self.clock.now()
        with self._lock:
            return [m for m in self.messages.values() if self._status(m, now)[0] == "scheduled"]

    # -- routing --------------------------------------------------------------------------

    def _error(self, status: int, code: int, message: str) -> Response:
        more = f"https://www.twilio.com/docs/errors/{code}"
        if self.problem_details:
            return Response(
                status,
                {"type": more, "title": message, "status": status, "code": code, "detail": message},
            )
        return Response(
            status, {"code": code, "message": message, "more_info": more, "status": status}
        )

    def _user(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return None
        try:
            user, _, secret = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        self.auth_users.append(user)
        if user == self.account_sid and secret == self.api_key:
            return user
        if self.api_keys.get(user) == secret and user:
            return user
        return None

    def route(self, request: Request) -> Response:
        prefix = f"{_API}{self.account_sid}/"
        if self._user(request) is None or not request.path.startswith(prefix):
            return self._error(401, 20003, "Authenticate")
        tail = request.path.removeprefix(prefix)
        if tail == "Messages.json":
            if request.method == "POST":
                return self._create(request.form())
            if request.method == "GET":
                return self._list(request.path, request.query)
        found = _MESSAGE.fullmatch(tail)
        if found and request.method in ("GET", "POST"):
            msg = self.messages.get(found.group(1))
            if msg is None:
                return self._error(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            if request.method == "GET":
                return Response(200, self._record(msg, self.clock.now()))
            return self._update(msg, request.form())
        return self._error(404, 20404, f"The requested resource {request.path} was not found")

    def _create(self, form: dict[str, str]) -> Response:
        to, body = form.get("To", ""), form.get("Body", "")
        service, sender = form.get("MessagingServiceSid"), form.get("From")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not _E164.fullmatch(to):
            return self._error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if not service and not sender:
            return self._error(400, 21603, "A 'From' phone number is required.")
        if service and service not in self.services:
            return self._error(400, 21701, "The Messaging Service does not exist.")
        if service and sender and sender not in self.services[service]:
            return self._error(
                400, 21606, "The 'From' phone number provided is not in the Messaging Service."
            )
        now = self.clock.now()
        send_at, scheduled = now, False
        kind, at_text = form.get("ScheduleType"), form.get("SendAt")
        # "the scheduling parameters will be dropped ... and the message will be sent
        # immediately" when no Messaging Service is given (scheduling FAQ).
        if service and (kind is not None or at_text is not None):
            if kind != "fixed" or not at_text:
                return self._error(400, 35114, "Scheduling does not support this timestamp.")
            try:
                send_at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
            except ValueError:
                return self._error(400, 35114, "Scheduling does not support this timestamp.")
            if send_at.tzinfo is None or not MIN_LEAD <= send_at - now <= HORIZON:
                return self._error(400, 35114, "Scheduling does not support this timestamp.")
            scheduled = True
        if not scheduled and to in self.opted_out:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        msg = SimMessage(
            "SM" + uuid.uuid4().hex,
            "outbound-api",
            sender,
            to,
            body,
            now,
            send_at,
            scheduled,
            service,
        )
        self.messages[msg.sid] = msg
        self._creates[to] += 1
        self.create_forms.append(form)
        return Response(201, self._record(msg, now, fresh=True))

    def _update(self, msg: SimMessage, form: dict[str, str]) -> Response:
        now = self.clock.now()
        if form.get("Status") == "canceled":
            if self._status(msg, now)[0] != "scheduled":
                return self._error(400, 30409, "This message cannot be canceled")
            msg.canceled = True
            return Response(200, self._record(msg, now))
        if form.get("Body") == "":
            msg.body = ""  # "To redact the text content of a Message"
            return Response(200, self._record(msg, now))
        return self._error(400, 20001, "Invalid update: give Status=canceled or an empty Body.")

    # -- the list -------------------------------------------------------------------------

    def _list(self, path: str, query: dict[str, str]) -> Response:
        size_text = query.get("PageSize", "50")
        size = int(size_text) if size_text.isdigit() else 0
        if not 1 <= size <= 1000:
            return self._error(400, 20001, "PageSize must be between 1 and 1000.")
        now = self.clock.now()
        tests: list[tuple[str, date]] = []
        for name in ("DateSent", "DateSent<", "DateSent>"):
            if name in query:
                try:
                    tests.append((name, date.fromisoformat(query[name][:10])))
                except ValueError:
                    return self._error(400, 20001, f"Invalid {name}.")
        chosen = []
        for msg in self.messages.values():
            if "To" in query and msg.to != query["To"]:
                continue
            if "From" in query and (msg.sender or "") != query["From"]:
                continue
            sent = self._date_sent(msg, now)
            if tests and (sent is None or not all(_day_ok(n, sent.date(), d) for n, d in tests)):
                continue
            chosen.append(msg)
        chosen.sort(key=lambda m: (self._date_sent(m, now) or m.created_at, m.sid), reverse=True)
        start = 0
        token = query.get("PageToken", "")
        if token:
            after = token.removeprefix("PA")
            sids = [m.sid for m in chosen]
            start = sids.index(after) + 1 if after in sids else len(sids)
        page = chosen[start : start + size]
        number = int(query.get("Page", "0")) if query.get("Page", "0").isdigit() else 0
        keep = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}

        def uri(extra: dict[str, str]) -> str:
            return f"{path}?{urlencode({**keep, 'PageSize': str(size), **extra})}"

        following = None
        if start + size < len(chosen) and page:
            following = uri({"Page": str(number + 1), "PageToken": "PA" + page[-1].sid})
        return Response(
            200,
            {
                "end": start + len(page) - 1 if page else 0,
                "first_page_uri": uri({"Page": "0"}),
                "next_page_uri": following,
                "page": number,
                "page_size": size,
                "previous_page_uri": None,
                "start": start,
                "uri": uri({"Page": str(number)}),
                "messages": [self._record(m, now) for m in page],
            },
        )

    # -- state ----------------------------------------------------------------------------

    def _date_sent(self, msg: SimMessage, now: datetime) -> datetime | None:
        if msg.direction == "inbound":
            return msg.send_at
        if msg.canceled or now < msg.send_at:
            return None
        return msg.send_at

    def _status(self, msg: SimMessage, now: datetime) -> tuple[str, int | None, str | None]:
        if msg.forced is not None:
            return msg.forced
        if msg.direction == "inbound":
            return ("received", None, None)
        if msg.canceled:
            return ("canceled", None, None)
        if now < msg.send_at:
            return ("scheduled", None, None)
        if msg.scheduled and msg.to in self.opted_out:
            return ("failed", 21610, "Attempt to send to unsubscribed recipient")
        if now < msg.send_at + self.delivery_delay:
            return ("sent", None, None)
        if msg.to.startswith(FAIL_PREFIXES):
            return ("undelivered", 30003, "Unreachable destination handset")
        return ("delivered", None, None)

    def _record(self, msg: SimMessage, now: datetime, *, fresh: bool = False) -> dict[str, Any]:
        status, code, message = self._status(msg, now)
        if fresh and not msg.scheduled:
            status = "accepted" if msg.service else "queued"  # what a plain send answers
        sender = msg.sender
        if sender is None and msg.service and status not in ("scheduled", "accepted"):
            sender = self.services[msg.service][0]  # the pool's choice is Twilio's own
        path = f"{_API}{self.account_sid}/Messages/{msg.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": msg.body,
            "date_created": _rfc2822(msg.created_at),
            "date_sent": _rfc2822(self._date_sent(msg, now)),
            "date_updated": _rfc2822(now),
            "direction": msg.direction,
            "error_code": code,
            "error_message": message,
            "from": sender,
            "messaging_service_sid": msg.service,
            "num_media": "0",
            "num_segments": "1" if status not in ("scheduled", "accepted") else "0",
            "price": None,
            "price_unit": "USD",
            "sid": msg.sid,
            "status": status,
            "subresource_uris": {"media": path.removesuffix(".json") + "/Media.json"},
            "to": msg.to,
            "uri": path,
        }


def _day_ok(name: str, sent: date, wanted: date) -> bool:
    if name == "DateSent":
        return sent == wanted
    if name == "DateSent<":
        return sent <= wanted
    return sent >= wanted
