"""A loopback Telnyx: the v2 messages API with its paths, Bearer auth, JSON shapes and rules.

Rules it enforces under its clock: ``send_at`` 5 minutes to 5 days ahead; cancel only while
scheduled and more than 1 minute before ``send_at``; statuses move from ``scheduled`` to
``sent``/``delivered`` after the send time. Numbers starting with a fail prefix end
``delivery_failed``; opted-out numbers are refused with code 40300 (HTTP 409), or fail with it
at send time when they opted out after scheduling.

Telnyx has no idempotency key, so ``creates_by_recipient`` counts create requests per number:
more than one shows a resend.
"""

from __future__ import annotations

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
        self._creates: Counter[str] = Counter()

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

    def opt_out(self, number: str) -> None:
        with self._lock:
            self.opted_out.add(number)

    # -- routing --------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
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
            data = [self._profile(pid) for pid in self.profiles]
            meta = {"total_results": len(data), "page_number": 1, "page_size": 20}
            return Response(200, {"data": data, "meta": {**meta, "total_pages": 1}})
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
        for name in ("from", "to", "text"):
            if not isinstance(body.get(name), str) or not body[name]:
                return _error(
                    422, "10004", "Missing required parameter", f"'{name}' is required", f"/{name}"
                )
        to, sender = body["to"], body["from"]
        if not _E164.fullmatch(to):
            return _error(
                422, "10016", "Phone number must be in +E.164 format", "Invalid 'to'", "/to"
            )
        profile = body.get("messaging_profile_id")
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
        self._creates[to] += 1
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
        # Real wording for this refusal is not documented (unconfirmed); the shape is Telnyx's.
        if self._status(msg, now) != "scheduled" or msg.send_at - now <= CANCEL_CUTOFF:
            return _error(
                422,
                "10015",
                "Bad Request",
                "Only scheduled messages more than 1 minute before send_at can be cancelled.",
            )
        msg.cancelled = True
        return Response(200, {"data": self._record(msg, now)})

    # -- state ----------------------------------------------------------------------------

    def _status(self, msg: SimMessage, now: datetime) -> str:
        if msg.cancelled:
            return "cancelled"
        if now < msg.send_at:
            return "scheduled"
        if msg.to.startswith(FAIL_PREFIXES):
            return "delivery_failed"
        if msg.to in self.opted_out:
            return "sending_failed"
        return "delivered" if now >= msg.send_at + self.delivery_delay else "sent"

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
        }

    def _profile(self, pid: str) -> dict[str, Any]:
        return {"record_type": "messaging_profile", "id": pid, "name": self.profiles[pid]}
