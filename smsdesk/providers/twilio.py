"""Twilio (Programmable Messaging, API 2010-04-01): one message per request, scheduled by
Twilio's Messaging Service 15 minutes to 35 days ahead.

Scheduling needs a Messaging Service: "If you only pass a From number in your API request and do
not pass a Messaging Service SID, the scheduling parameters will be dropped from the API request
and the message will be sent immediately" (Twilio's scheduling FAQ). So every request carries
``MessagingServiceSid``, an account option that is required. A message nearer than 15 minutes is
sent by this computer at its time (no ``SendAt``); one further than 35 days is held here and
handed off once inside the window (the planner does both from CAPABILITIES).

Cancel is ``POST .../Messages/{Sid}.json`` with ``Status=canceled`` ("used to redact Message
``body`` text and to cancel not-yet-sent messages", UpdateMessage). There is no reschedule: the
engine cancels and creates anew, never leaving two live.

What lookup can settle: nothing. Twilio takes no idempotency key and the message resource has
no field that would carry ours back (CreateMessageRequest has none; ``StatusCallback`` is not
returned). Listing messages ``To`` the number is no proof either way: "Filter by recipient" and
"Filter by Message ``sent_date``" are all ListMessage offers, a scheduled message has
``"date_sent": null`` (the scheduled examples), the specification says nothing of whether or
how soon a new or scheduled message is listed, and the same text to the same number may have
been sent on purpose (a second reminder, a message from Twilio's console). A match would prove
little and an absence nothing, so every lookup answers "cannot tell": an unclear hand-off stays
``unknown``, flagged for the user, and is never resent automatically.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
    Receipt,
    Rejected,
    ServerPreview,
    StatusReport,
)
from smsdesk.providers.http import HttpClient
from smsdesk.providers.one_by_one import OneByOne, statuses_one_by_one, still_scheduled
from smsdesk.providers.options import reject_unknown, require_key, timeout_from
from smsdesk.providers.pace import Spacing
from smsdesk.providers.twilio_api import (
    ACCOUNT_SID,
    API_KEY_SID,
    MESSAGE_SID,
    OPTED_OUT_CODE,
    SERVICE_SID,
    STATUS_MAP,
    TITLE,
    Received,
    account_path,
    error_codes,
    error_reason,
    failure_detail,
    is_opted_out,
    message_path,
    next_page_path,
    received_from,
    send_at_text,
    status_of,
)

log = logging.getLogger(__name__)

NEEDS_KEY = True  # the Auth Token, or the secret of the API key named by ``api_key_sid``
DEFAULT_BASE_URL = "https://api.twilio.com"
OPTIONS = ("account_sid", "messaging_service_sid", "api_key_sid", "reply_numbers", "timeout")
# Twilio can list what the account's numbers received (``received``); the replies engine
# (engine/replies.py) pulls and stores them.
PULLS_REPLIES = True

# -- What could not be checked against Twilio itself ("unconfirmed"). -----------------------
# Twilio publishes no request rate for creating messages (it answers 429, error 20429, to too
# many at once); 10 a second is a conservative pace for creates and for status reads.
RATE_LIMIT_PER_SECOND = 10.0
# A list walk stops after this many pages (1000 messages each) even if Twilio offers more.
MAX_LIST_PAGES = 50
LIST_PAGE_SIZE = 1000  # PageSize: "The default is 50, and the maximum is 1000."
# -------------------------------------------------------------------------------------------

CAPABILITIES = Capabilities(
    native_scheduling=True,
    # "Messages must be scheduled at least 15 minutes before the intended send time" and "A
    # message cannot be scheduled more than 35 days in advance of the request" (error 35114).
    min_lead=timedelta(minutes=15),
    horizon=timedelta(days=35),
    native_reschedule=False,
    # Cancellable while "scheduled", which it stays "until the SendAt time" (error 30409).
    cancel_cutoff=timedelta(0),
    batch_size=1,
    rate_limit_per_second=RATE_LIMIT_PER_SECOND,
    server_preview=False,
    lookup_by_key=False,  # see the module's docstring
)

_E164 = re.compile(r"\+[1-9]\d{6,14}")


class TwilioProvider(OneByOne):
    kind = "twilio"
    title = TITLE
    capabilities = CAPABILITIES
    # Never "not received": see the module's docstring.
    cannot_tell = (
        "Twilio cannot be asked whether it received a message by smsdesk's key; check the "
        "Messaging logs in the Twilio console"
    )
    no_reschedule = (
        "Twilio cannot move a scheduled message; smsdesk cancels it and schedules it again."
    )

    def __init__(
        self,
        http: HttpClient,
        clock: Clock,
        *,
        account_sid: str,
        messaging_service_sid: str,
        reply_numbers: Sequence[str] = (),
    ) -> None:
        self._http = http
        self._clock = clock
        self._account = account_sid
        self._service = messaging_service_sid
        self._reply_numbers = tuple(reply_numbers)
        self._messages = account_path(account_sid, "Messages.json")
        self.read_pace = Spacing.per_second(clock, RATE_LIMIT_PER_SECOND)

    def __repr__(self) -> str:
        return f"TwilioProvider(account={self._account!r}, service={self._service!r})"

    # -- hand-off -------------------------------------------------------------------------

    def _create(self, msg: Outgoing) -> Outcome:
        form = {"To": msg.to, "Body": msg.text, "MessagingServiceSid": self._service}
        if msg.sender:
            # "You may also provide a `from` parameter if you want to use a specific Sender
            # from the Sender Pool"; without it Twilio picks one from the pool.
            form["From"] = msg.sender
        if msg.send_at is not None:
            form["ScheduleType"] = "fixed"
            form["SendAt"] = send_at_text(msg.send_at)
        try:
            answer = self._http.request("POST", self._messages, creates=True, data=form)
        except AuthenticationError:
            raise
        except PermanentError as exc:
            if OPTED_OUT_CODE in error_codes(exc):
                reason = (
                    "The recipient has opted out (replied STOP) of messages from this Messaging "
                    f"Service; Twilio will not send to them (code {OPTED_OUT_CODE})."
                )
                return Rejected(msg.key, reason, opted_out=True)
            return Rejected(msg.key, str(exc))
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not MESSAGE_SID.fullmatch(sid):
            raise AmbiguousError("Twilio answered without a message SID.")
        state = STATUS_MAP.get(status_of(answer))
        if state is State.FAILED:
            return Receipt(
                msg.key,
                sid,
                State.FAILED,
                msg.send_at,
                detail=failure_detail(answer),
                opted_out=is_opted_out(answer),
            )
        if msg.send_at is not None:
            # Asked for a fixed time inside the window: Twilio holds it, whatever early status
            # the answer shows (its own scheduled-SMS example answers "queued").
            return Receipt(msg.key, sid, State.SCHEDULED, msg.send_at)
        if state not in (State.SENT, State.DELIVERED):
            state = State.SENT
        return Receipt(msg.key, sid, state, None)

    # -- changes (no reschedule: the engine cancels and creates anew) ----------------------

    def cancel(self, ref: str) -> None:
        path = message_path(self._account, ref)
        try:
            self._http.request("POST", path, data={"Status": "canceled"})
        except AuthenticationError:
            raise
        except PermanentError as exc:
            self._explain_refused_cancel(ref, exc)

    def _explain_refused_cancel(self, ref: str, refused: PermanentError) -> None:
        """A refused cancel may be a repeat of one that worked (its answer lost): Twilio then
        answers 30409 like for any message past "scheduled". The message says which."""
        record = still_scheduled(TITLE, refused, lambda: self._get(ref), status_of, STATUS_MAP)
        if record is not None:
            raise refused

    # -- reading --------------------------------------------------------------------------

    def _get(self, ref: str) -> Any:
        return self._http.request("GET", message_path(self._account, ref))

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        return statuses_one_by_one(TITLE, refs, self.read_pace, self._get, self._report)

    def _report(self, ref: str, record: Any) -> StatusReport | None:
        status = status_of(record)
        if status not in STATUS_MAP:
            log.warning("Twilio reported an unknown status %r for %s", status, ref)
            return None
        state = STATUS_MAP[status]
        if state is None:
            log.warning("Twilio reports %s as an incoming message (%s)", ref, status)
            return None
        detail = ""
        if state is State.FAILED:
            detail = failure_detail(record) or f"Twilio reports it {status}"
        elif status == "partially_delivered":
            detail = "Twilio reports it partially delivered"
        stopped = state is State.FAILED and is_opted_out(record)
        return StatusReport(ref, state, detail, opted_out=stopped)

    def received(self, since: datetime, numbers: Sequence[str] = ()) -> list[Received]:
        """Messages received since ``since``, oldest first, each once (by SID): ListMessage
        filtered ``To`` each of ``numbers`` (else the account's ``reply_numbers``; with none,
        every message of the account) and ``DateSent>`` the day of ``since`` ("Accepts GMT
        dates ... ``>=YYYY-MM-DD``"), so earlier ones of that day are dropped here. Raises
        ProviderError when Twilio could not be asked; nothing is half-returned."""
        wanted = tuple(numbers) or self._reply_numbers
        found: dict[str, Received] = {}
        for to in wanted or (None,):
            params = {"DateSent>": since.date().isoformat(), "PageSize": str(LIST_PAGE_SIZE)}
            if to is not None:
                params["To"] = to
            for item in self._walk(params):
                if item.received_at >= since and (to is None or item.to == to):
                    found.setdefault(item.provider_id, item)
        return sorted(found.values(), key=lambda r: (r.received_at, r.provider_id))

    def _walk(self, params: Mapping[str, str]) -> list[Received]:
        items: list[Received] = []
        self.read_pace.wait()
        body = self._http.request("GET", self._messages, params=params)
        for _page in range(MAX_LIST_PAGES):
            messages = body.get("messages") if isinstance(body, dict) else None
            for record in messages if isinstance(messages, list) else []:
                item = received_from(record)
                if item is not None:
                    items.append(item)
            following = next_page_path(body, self._messages)
            if following is None:
                break
            self.read_pace.wait()
            body = self._http.request("GET", following)
        return items

    def preview(self, text: str) -> ServerPreview | None:
        return None  # Twilio has no preview: segments are counted on this computer

    def check(self) -> str:
        # A one-message list proves the credentials and the Account SID belong together (and
        # that they may read messages, which replies need). Fetching the Account is avoided:
        # its answer carries the account's auth_token.
        self._http.request("GET", self._messages, params={"PageSize": "1"})
        return (
            f"Twilio account {_short(self._account)} accepted the credentials; messages go "
            f"through Messaging Service {_short(self._service)} (Twilio checks it with the "
            "first message)."
        )


def _short(sid: str) -> str:
    return sid[:2] + "…" + sid[-4:]


def _sid_option(options: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str:
    value = options.get(name, "").strip()
    if not value:
        raise InvalidInput(
            f"A Twilio account needs its {what}: --option {name}={pattern.pattern[:2]}….",
            field="option",
        )
    if not pattern.fullmatch(value):
        raise InvalidInput(
            f"Option {name}='{value}' is not a Twilio {what} ({pattern.pattern[:2]} followed by "
            "32 hexadecimal characters).",
            field="option",
        )
    return value


def _numbers(raw: str) -> tuple[str, ...]:
    numbers = tuple(n.strip() for n in raw.split(",") if n.strip())
    for number in numbers:
        if not _E164.fullmatch(number):
            raise InvalidInput(
                f"Option reply_numbers: '{number}' is not a number in international format "
                "(+ and digits, e.g. +12025550100).",
                field="option",
            )
    return numbers


def build(
    *,
    home: Path,
    clock: Clock,
    options: Mapping[str, str],
    base_url: str | None,
    api_key: str | None,
    transport: httpx.BaseTransport | None = None,
) -> TwilioProvider:
    secret = require_key(TITLE, api_key)
    reject_unknown(TITLE, options, OPTIONS)
    account = _sid_option(options, "account_sid", ACCOUNT_SID, "Account SID")
    service = _sid_option(options, "messaging_service_sid", SERVICE_SID, "Messaging Service SID")
    user = account
    if options.get("api_key_sid", "").strip():
        # An API key signs in as its own SID with its secret; the account stays in the path.
        user = _sid_option(options, "api_key_sid", API_KEY_SID, "API key SID")
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    http = HttpClient(
        TITLE,
        base_url or DEFAULT_BASE_URL,
        {"Authorization": f"Basic {basic}", "Accept": "application/json"},
        secret=secret,
        error_reason=error_reason,
        transport=transport,
        timeout=timeout_from(options),
        sleep=clock.sleep,
        now=lambda: clock.now().timestamp(),  # rate-limit pauses on the same clock
    )
    return TwilioProvider(
        http,
        clock,
        account_sid=account,
        messaging_service_sid=service,
        reply_numbers=_numbers(options.get("reply_numbers", "")),
    )
