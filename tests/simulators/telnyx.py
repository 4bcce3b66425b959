"""A loopback Telnyx: the v2 messages API with its paths, Bearer auth, JSON shapes and rules.

Rules it enforces under its clock: ``send_at`` 5 minutes to 5 days ahead; cancel only while
scheduled and more than 1 minute before ``send_at``; statuses move from ``scheduled`` to
``sent``/``delivered`` after the send time. Numbers starting with a fail prefix end
``delivery_failed``; opted-out numbers are refused with code 40300 (HTTP 409), or fail with it
at send time when they opted out after scheduling.

Telnyx has no idempotency key, so ``creates_by_recipient`` counts create requests per number:
more than one shows a resend.

From the spec excerpt (telnyx-messaging-openapi-excerpt.txt) and Telnyx's pages:
* a refused cancel is a 403 ("'403': ... messaging_Error ... description: Forbidden" under
  ``DELETE /messages/{id}``). Its code is not documented: the simulator answers 10010, the
  code Telnyx's error list calls "Authorization failed", which is exactly the answer smsdesk
  must not read as a refused key;
* ``rate_limit`` (requests, seconds; off by default) sends "x-ratelimit-limit,
  x-ratelimit-remaining, x-ratelimit-reset | Shows the time in seconds until the rate limit
  resets" on every answer and, once used up, 429 with ``{"errors":[{"code":"10011","title":
  "Too many requests"}]}`` (rate-limiting page). Whether that 429 also carries Retry-After is
  not documented: it does not here;
* ``from`` may be left out when ``messaging_profile_id`` names a profile with a number pool
  ("Required if sending via number pool", CreateMessageRequest; ``number_pool_settings`` on
  the profile). Without a pool the simulator refuses it as a missing ``from`` (its choice);
* per-sender throughput (``sender_throttle``, on by default): messages due together from one
  sender leave at its documented rate, "Long Code 0.1 MPS", "Toll-Free 20 MPS", "Short Code
  1,000 MPS", "Alphanumeric 0.1 MPS" (messaging rate-limiting page), ``queued`` until their
  turn, never refused; a sent message's ``wait_seconds`` says how long it waited ("Seconds the
  message is queued due to rate limiting before being sent to the carrier",
  OutboundMessagePayload). ``waited()`` lists those that waited;
* ``GET /v2/messaging_profiles`` pages with ``page[number]`` (from 1) and ``page[size]``
  (1..250, default 20), answering ``meta`` {total_pages, total_results, page_number,
  page_size} (PageConsolidated, messaging_PaginationMeta).
"""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from smsdesk.core.clock import Clock
from tests.simulators.base import Request, Response, Simulator

MIN_LEAD = timedelta(minutes=5)
HORIZON = timedelta(days=5)
CANCEL_CUTOFF = timedelta(minutes=1)
LONG_CODE_GAP = timedelta(seconds=10)  # "Long Code 0.1 MPS"
# "Toll-Free 20 MPS", "Short Code 1,000 MPS", "Alphanumeric 0.1 MPS" (rate-limiting page).
TOLL_FREE_GAP = timedelta(seconds=1 / 20)
SHORT_CODE_GAP = timedelta(seconds=1 / 1000)
SENDER_ID_GAP = timedelta(seconds=10)
# North American toll-free prefixes; a short code is 3 to 8 digits without a "+".
_TOLL_FREE = re.compile(r"\+1(800|833|844|855|866|877|888)\d{7}")
_SHORT_CODE = re.compile(r"\d{3,8}")
# +1555000 like the Sandbox (only reachable by a client used directly); +1202555000 is a
# valid US range, so messages to it pass smsdesk's own number check.
FAIL_PREFIXES = ("+1555000", "+1202555000")
OPTED_OUT = frozenset({"+12025550990"})
PROFILE_ID = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
_E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass
class SimMessage:
    id: str
    sender: str
    to: str
    text: str
    send_at: datetime  # when it goes out (the create time for a plain send)
    scheduled: bool
    created_at: datetime
    profile: str | None
    cancelled: bool = False


def _error(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> Response:
    err: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if pointer:
        err["source"] = {"pointer": pointer}
    return Response(status, {"errors": [err]})


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TelnyxSimulator(Simulator):
    name = "telnyx"

    def __init__(
        self,
        clock: Clock,
        api_key: str = "sim-key-7d1f2a",
        *,
        stall: float = 1.0,
        delivery_delay: timedelta = timedelta(seconds=10),
    ) -> None:
        super().__init__(clock, api_key, stall=stall)
        self.delivery_delay = delivery_delay
        self.messages: dict[str, SimMessage] = {}
        self.opted_out: set[str] = set(OPTED_OUT)
        self.profiles = {PROFILE_ID: "Front desk"}
        self.number_pools: dict[str, list[str]] = {}  # profile id -> its pool's numbers
        self.rate_limit: tuple[int, float] | None = None  # (requests, per seconds)
        self.sender_throttle = True  # each sender's documented rate (see the docstring)
        self._leaving: dict[str, datetime] | None = None  # message id -> when it leaves
        self._window: tuple[datetime, int] | None = None  # (window start, requests in it)
        self._creates: Counter[str] = Counter()
        self.create_bodies: list[dict[str, Any]] = []  # every create request body accepted

    # -- what tests ask -------------------------------------------------------------------

    def creates_by_recipient(self) -> dict[str, int]:
        """How many create requests were processed per recipient (2+ means a resend)."""
        with self._lock:
            return dict(self._creates)

    def live(self) -> list[SimMessage]:
        """Messages Telnyx still holds to send later (scheduled, not cancelled)."""
        now = self.clock.now()
        with self._lock:
            return [m for m in self.messages.values() if self._status(m, now) == "scheduled"]

    def waited(self) -> list[SimMessage]:
        """Messages held in the queue for their sender's throughput (due, then queued)."""
        with self._lock:
            return [m for m in self.messages.values() if self.leaves_at(m) > m.send_at]

    def rate_limit_used(self, requests: int) -> None:
        """Count ``requests`` made by someone else with the same key in the current window."""
        with self._lock:
            start, used = self._window or (self.clock.now(), 0)
            self._window = (start, used + requests)

    def opt_out(self, number: str) -> None:
        with self._lock:
            self.opted_out.add(number)

    # -- routing --------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        if self.rate_limit is None:
            return self._route(request)
        limit, seconds = self.rate_limit
        now = self.clock.now()
        start, used = self._window or (now, 0)
        if now >= start + timedelta(seconds=seconds):
            start, used = now, 0
        reset = max(math.ceil((start + timedelta(seconds=seconds) - now).total_seconds()), 0)
        if used >= limit:
            response = _error(
                429, "10011", "Too many requests", "You have exceeded the rate limit."
            )
        else:
            used += 1
            response = self._route(request)
        self._window = (start, used)
        response.headers.update(
            {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(limit - used),
                "x-ratelimit-reset": str(reset),
            }
        )
        return response

    def _route(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(
                401,
                "10009",
                "Authentication failed",
                "The required authentication headers were either invalid or not included in "
                "the request.",
            )
        path = request.path.rstrip("/")
        if request.method == "POST" and path in ("/v2/messages", "/v2/messages/schedule"):
            return self._create(request)
        if path.startswith("/v2/messages/"):
            ident = path.removeprefix("/v2/messages/")
            if request.method == "GET":
                return self._show(ident)
            if request.method == "DELETE":
                return self._cancel(ident)
        if request.method == "GET" and path == "/v2/messaging_profiles":
            return self._profiles_page(request.query)
        if request.method == "GET" and path.startswith("/v2/messaging_profiles/"):
            pid = path.removeprefix("/v2/messaging_profiles/")
            if pid in self.profiles:
                return Response(200, {"data": self._profile(pid)})
        return _error(404, "10005", "Resource not found", f"No route for {request.method} {path}")

    def _create(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return _error(400, "10023", "Invalid JSON", "The body is not JSON.")
        if not isinstance(body, dict):
            return _error(400, "10015", "Bad Request", "The body must be an object.")
        profile = body.get("messaging_profile_id")
        pool = self.number_pools.get(profile) if isinstance(profile, str) else None
        required = ("to", "text") if pool and "from" not in body else ("from", "to", "text")
        for name in required:
            if not isinstance(body.get(name), str) or not body[name]:
                return _error(
                    422, "10004", "Missing required parameter", f"'{name}' is required", f"/{name}"
                )
        to = body["to"]
        # The pool's choice of number is Telnyx's own; the simulator takes the first.
        sender = body["from"] if "from" in body else (pool or [""])[0]
        if not _E164.fullmatch(to):
            return _error(
                422, "10016", "Phone number must be in +E.164 format", "Invalid 'to'", "/to"
            )
        if profile is not None and profile not in self.profiles:
            return _error(
                422,
                "10017",
                "Associated resource does not exist",
                "Unknown messaging profile",
                "/messaging_profile_id",
            )
        if to in self.opted_out:
            return _error(
                409,
                "40300",
                "Blocked due to STOP message",
                f"Messages cannot be sent from {sender} to {to} due to an existing block rule.",
            )
        now = self.clock.now()
        send_at = now
        scheduled = body.get("send_at") is not None
        if scheduled:
            try:
                send_at = datetime.fromisoformat(str(body["send_at"]).replace("Z", "+00:00"))
            except ValueError:
                return _error(400, "10015", "Bad Request", "send_at is not ISO 8601", "/send_at")
            if send_at.tzinfo is None:
                send_at = send_at.replace(tzinfo=UTC)
            # Code as in providers.md's example (unconfirmed for this exact case).
            if not MIN_LEAD <= send_at - now <= HORIZON:
                return _error(
                    400,
                    "10007",
                    "Invalid send_at",
                    "send_at must be at least 5 minutes and at most 5 days in the future.",
                    "/send_at",
                )
        msg = SimMessage(
            id=str(uuid.uuid4()),
            sender=sender,
            to=to,
            text=body["text"],
            send_at=send_at,
            scheduled=scheduled,
            created_at=now,
            profile=profile,
        )
        self.messages[msg.id] = msg
        self._leaving = None
        self._creates[to] += 1
        self.create_bodies.append(body)
        return Response(200, {"data": self._record(msg, now, fresh=True)})

    def _show(self, ident: str) -> Response:
        msg = self.messages.get(ident)
        if msg is None:
            return _error(404, "10005", "Resource not found", f"No message {ident}")
        return Response(200, {"data": self._record(msg, self.clock.now())})

    def _cancel(self, ident: str) -> Response:
        msg = self.messages.get(ident)
        if msg is None:
            return _error(404, "10005", "Resource not found", f"No message {ident}")
        now = self.clock.now()
        # "Only messages with `status=scheduled` and `send_at` more than a minute from now can
        # be cancelled", refused with the documented 403 (its code: see the docstring).
        if self._status(msg, now) != "scheduled" or msg.send_at - now <= CANCEL_CUTOFF:
            return _error(
                403,
                "10010",
                "Forbidden",
                "Only messages with status=scheduled and send_at more than a minute from now "
                "can be cancelled.",
            )
        msg.cancelled = True
        self._leaving = None
        return Response(200, {"data": self._record(msg, now)})

    # -- state ----------------------------------------------------------------------------

    def leaves_at(self, msg: SimMessage) -> datetime:
        """When it leaves Telnyx: at its time, or, with ``sender_throttle``, once the messages
        due before it from the same sender have left at that sender's documented rate."""
        if not self.sender_throttle:
            return msg.send_at
        if self._leaving is None:
            self._leaving = self._queue_times()
        return self._leaving.get(msg.id, msg.send_at)

    def _queue_times(self) -> dict[str, datetime]:
        by_sender: dict[str, list[SimMessage]] = {}
        for m in self.messages.values():
            if not m.cancelled:
                by_sender.setdefault(m.sender, []).append(m)
        leaving: dict[str, datetime] = {}
        for sender, queue in by_sender.items():
            gap = _gap(sender)
            last: datetime | None = None
            for m in sorted(queue, key=lambda m: (m.send_at, m.created_at)):
                last = m.send_at if last is None else max(m.send_at, last + gap)
                leaving[m.id] = last
        return leaving

    def _status(self, msg: SimMessage, now: datetime) -> str:
        if msg.cancelled:
            return "cancelled"
        if now < msg.send_at:
            return "scheduled"
        leaves = self.leaves_at(msg)
        if now < leaves:
            return "queued"  # due, waiting for the sender's throughput
        if msg.to.startswith(FAIL_PREFIXES):
            return "delivery_failed"
        if msg.to in self.opted_out:
            return "sending_failed"
        return "delivered" if now >= leaves + self.delivery_delay else "sent"

    def _record(self, msg: SimMessage, now: datetime, *, fresh: bool = False) -> dict[str, Any]:
        status = self._status(msg, now)
        if fresh and not msg.scheduled:
            status = "queued"  # what a plain send answers with
        errors: list[dict[str, str]] = []
        if status == "delivery_failed":
            errors = [{"code": "40008", "title": "Undeliverable", "detail": "Carrier rejected"}]
        elif status == "sending_failed":
            errors = [{"code": "40300", "title": "Blocked due to STOP message"}]
        return {
            "record_type": "message",
            "id": msg.id,
            "direction": "outbound",
            "type": "SMS",
            "from": {"phone_number": msg.sender},
            "to": [{"phone_number": msg.to, "status": status}],
            "text": msg.text,
            "send_at": _iso(msg.send_at) if msg.scheduled else None,
            "messaging_profile_id": msg.profile,
            "parts": 1,
            "encoding": "GSM-7",
            "errors": errors,
            "wait_seconds": self._wait(msg, status),
        }

    def _wait(self, msg: SimMessage, status: str) -> float | None:
        if status in ("scheduled", "cancelled"):
            return None
        return (self.leaves_at(msg) - msg.send_at).total_seconds()

    def _profiles_page(self, query: dict[str, str]) -> Response:
        raw_number, raw_size = query.get("page[number]", "1"), query.get("page[size]", "20")
        number = int(raw_number) if raw_number.isdigit() else 0
        size = int(raw_size) if raw_size.isdigit() else 0
        if number < 1 or not 1 <= size <= 250:
            err = _error(400, "10015", "Bad Request", "Invalid page parameters.")
            err.body["errors"][0]["source"] = {"parameter": "page"}
            return err
        ids = list(self.profiles)
        data = [self._profile(pid) for pid in ids[(number - 1) * size : number * size]]
        meta = {
            "total_pages": max(math.ceil(len(ids) / size), 1),
            "total_results": len(ids),
            "page_number": number,
            "page_size": size,
        }
        return Response(200, {"data": data, "meta": meta})

    def _profile(self, pid: str) -> dict[str, Any]:
        pool = {"long_code_weight": 1, "toll_free_weight": 0} if pid in self.number_pools else None
        return {
            "record_type": "messaging_profile",
            "id": pid,
            "name": self.profiles[pid],
            "number_pool_settings": pool,
        }


def _gap(sender: str) -> timedelta:
    """The least time between two messages leaving from ``sender``."""
    if _TOLL_FREE.fullmatch(sender):
        return TOLL_FREE_GAP
    if _SHORT_CODE.fullmatch(sender):
        return SHORT_CODE_GAP
    if sender.startswith("+"):
        return LONG_CODE_GAP
    return SENDER_ID_GAP
