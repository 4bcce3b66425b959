"""Kaleyra (kaleyra.io v1): schedule SMS with a ``time`` field, one recipient per request.

Kaleyra is treated as unable to cancel or move a message it already holds (its scheduling
page documents neither), so its capabilities make the planner keep every message on this
computer until the last safe moment and only then hand it off. Until then cancel and
reschedule are local.

What lookup can settle: nothing. Kaleyra takes no client reference, and its status call
(``GET /v1/<SID>/sms/status?message_ids=``) knows only the ids Kaleyra itself returned, which an
unclear create never told us; every lookup answers "cannot tell" and the engine shows the
message to the user instead of resending it. Status sync asks for many ids per request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
from smsdesk.core.segments import count_segments
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    Outcome,
    Outgoing,
    PermanentError,
    ProviderError,
    Receipt,
    Rejected,
    ServerPreview,
    StatusReport,
)
from smsdesk.providers.http import HttpClient
from smsdesk.providers.one_by_one import OneByOne
from smsdesk.providers.options import reject_unknown, require_key, timeout_from

log = logging.getLogger(__name__)

TITLE = "Kaleyra"
NEEDS_KEY = True
DEFAULT_BASE_URL = "https://api.in.kaleyra.io"
CAPABILITIES = Capabilities(
    native_scheduling=True,
    min_lead=timedelta(minutes=15),
    # "3 months" in Kaleyra's words; 89 days is the shortest span three calendar months make.
    horizon=timedelta(days=89),
    native_reschedule=False,
    cancel_cutoff=None,  # no documented cancel: the planner holds messages here instead
    batch_size=1,
    server_preview=False,
    lookup_by_key=False,  # Kaleyra stores no reference of ours that could be looked up
)

# "API Domain and Value: IN pod api.in.kaleyra.io | SG Pod api.kaleyra.io | EU Pod
# api.eu.kaleyra.io | NA pod api.na.kaleyra.ai" (sms-api-schedule-sms, current version; the
# callback-profile pages say the same). An earlier version of the page gave SG as
# api.ap.kaleyra.io: the docs disagree, so the ``host`` option overrides the region's host.
PODS = {
    "IN": "api.in.kaleyra.io",
    "SG": "api.kaleyra.io",
    "EU": "api.eu.kaleyra.io",
    "NA": "api.na.kaleyra.ai",
}
# Only Kaleyra's own domains: a mistyped host must not receive the API key.
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+kaleyra\.(?:io|ai)")
MESSAGE_TYPES = ("MKT", "TXN", "TXND", "OTP")
OPTIONS = ("sid", "region", "host", "type", "template_id", "sender", "timeout")
_SID = re.compile(r"[A-Za-z0-9]{1,64}")

# -- unconfirmed parts of the kaleyra.io v1 API, kept together so they are easy to correct --
# Create: documented path; sent form-encoded like the documentation's example (it also names
# a JSON content type; which one the service enforces is unconfirmed).
CREATE_PATH = "/v1/{sid}/sms"
# Status (SMS Status API): GET "https://<api_domain>/v1/<sid>/sms/status?message_ids=<ids>",
# the ids comma-separated as in the documentation's "ee8aXXXX-...:1, ee8aXXXX-...:2".
STATUS_PATH = "/v1/{sid}/sms/status"
# How many ids one status request may carry is not documented: a URL of about 2 KB.
STATUS_IDS_PER_REQUEST = 50
# Credential check: kaleyra.io documents no balance or account call under /v1/<SID>; "Get
# Callback Profiles Detail" (GET /v1/<sid>/callback/profiles?limit=<limit>&offset=0, same
# api-key header and pods) is the cheapest documented read-only one. It proves the key and SID
# pair is accepted on this host, and nothing about sending.
CHECK_PATH = "/v1/{sid}/callback/profiles"
NOT_CHECKED = (
    "not checked: sender ID approval, SMS channel set-up and credit "
    "(Kaleyra documents no read-only call for them)"
)
# "The following are the SMS delivery statuses: Delivered, UnDelivered, NotSent, Sent" (status
# API) and "Sent, Delivered, Failed, Undelivered" (callbacks). NotSent is taken as final: the
# engine asks only after the send time, when Kaleyra should have sent it. The last three names
# are not documented and kept from the older API; anything else leaves the state as it was.
STATUS_NAMES: dict[str, State] = {
    "sent": State.SENT,
    "delivered": State.DELIVERED,
    "undelivered": State.FAILED,
    "notsent": State.FAILED,
    "failed": State.FAILED,
    "scheduled": State.SCHEDULED,
    "submitted": State.SENT,
    "rejected": State.FAILED,
}
# The documented answer names the message id ``campaign_id``; ``message_id`` is what the create
# answer calls it.
ID_FIELDS = ("message_id", "campaign_id", "id")


def status_entries(body: Any, asked: Sequence[str]) -> dict[str, tuple[State, str]]:
    """Read a status answer ``{"data": [{"campaign_id", "status", "status_details"}],
    "error": {}}`` into (state, detail) by message id. An entry without an id is the one
    asked when only one was."""
    data = body.get("data") if isinstance(body, dict) else None
    found: dict[str, tuple[State, str]] = {}
    for node in data if isinstance(data, list) else []:
        if not isinstance(node, dict):
            continue
        ident = next((str(node[f]) for f in ID_FIELDS if node.get(f)), None)
        if ident is None and len(asked) == 1:
            ident = asked[0]
        name = str(node.get("status", "")).strip()
        state = STATUS_NAMES.get(name.lower())
        if ident is None or state is None:
            if name:
                log.warning("Kaleyra reported a status smsdesk does not know: %r", name)
            continue
        detail = ""
        if state is State.FAILED:
            error = node.get("error")
            words = error.get("message", "") if isinstance(error, dict) else error
            detail = str(words or node.get("status_details") or f"Kaleyra reports {name}")
        found[ident] = (state, detail)
    return found


# ---------------------------------------------------------------------------------------------


def format_time(at: datetime) -> str:
    """Kaleyra's ``time``: ``YYYY-MM-DDThh:mm:ss±hh:mm`` (sent in UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def error_reason(response: httpx.Response) -> str:
    """Kaleyra's own words from ``{"code": "E402", "message": "...", "error": {...}}``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    message = str(body.get("message") or response.reason_phrase)
    code = body.get("code")
    return f"{message} [{code}]" if code else message


def message_ref(body: Any) -> str:
    """The id to track a created message by: ``data[0].message_id``, else the request ``id``.

    A success without either means it was probably created but cannot be tracked: ambiguous.
    """
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            ref = data[0].get("message_id")
            if ref:
                return str(ref)
        if body.get("id"):
            return str(body["id"])
    raise AmbiguousError("Kaleyra answered without a message id.")


class KaleyraProvider(OneByOne):
    kind = "kaleyra"
    title = TITLE
    # Never "not received": Kaleyra cannot be asked by our key (see the module's docstring).
    cannot_tell = (
        "Kaleyra cannot be asked whether it received a message by smsdesk's reference; "
        "check the Kaleyra console's reports"
    )
    no_reschedule = (
        "Kaleyra cannot reschedule a message it already holds; it goes out as scheduled."
    )
    no_reschedule_hint = (
        "smsdesk keeps Kaleyra messages on this computer until 15 minutes before their time, "
        "so change them earlier."
    )

    def __init__(
        self,
        http: HttpClient,
        clock: Clock,
        sid: str,
        *,
        sender: str | None = None,
        message_type: str = "TXN",
        template_id: str | None = None,
    ) -> None:
        self._http = http
        self._clock = clock
        self._sid = sid
        self._sender = sender
        self._type = message_type
        self._template_id = template_id
        # OTP messages cannot be scheduled: every one is held here and sent at its time.
        self.capabilities = (
            replace(CAPABILITIES, native_scheduling=False)
            if message_type == "OTP"
            else CAPABILITIES
        )

    def __repr__(self) -> str:
        return f"KaleyraProvider(sid={self._sid!r}, type={self._type!r})"

    # -- hand-off ---------------------------------------------------------------------------

    def _create(self, msg: Outgoing) -> Outcome:
        sender = msg.sender or self._sender
        if not sender:
            return Rejected(
                msg.key,
                "Kaleyra needs an approved sender ID: give the message a sender or set the "
                "account's (--sender or --option sender=...).",
            )
        if msg.send_at is not None and self._type == "OTP":
            return Rejected(msg.key, "Kaleyra cannot schedule OTP messages.")
        form = {"to": msg.to, "sender": sender, "body": msg.text, "type": self._type}
        if count_segments(msg.text).encoding == "UCS-2":
            # "-d "body=你好,世界" -d "unicode=1"" (sms-api-send-with-unicode): without it the
            # text may arrive garbled.
            form["unicode"] = "1"
        if self._template_id:
            form["template_id"] = self._template_id
        if msg.send_at is not None:
            form["time"] = format_time(msg.send_at)
        try:
            body = self._http.request(
                "POST", CREATE_PATH.format(sid=self._sid), creates=True, data=form
            )
        except AuthenticationError:
            raise  # the account, not this message: the engine reports it for all
        except PermanentError as exc:
            # A 4xx: Kaleyra refused this message (time window, sender, number).
            return Rejected(msg.key, str(exc))
        now = self._clock.now()
        scheduled = msg.send_at is not None and msg.send_at > now
        return Receipt(
            msg.key, message_ref(body), State.SCHEDULED if scheduled else State.SENT, msg.send_at
        )

    # -- no native cancel or reschedule (reschedule is refused like cancel) -----------------

    def cancel(self, ref: str) -> None:
        raise PermanentError(
            "Kaleyra cannot cancel a message it already holds; it goes out as scheduled.",
            hint="smsdesk keeps Kaleyra messages on this computer until 15 minutes before "
            "their time, so cancel them earlier.",
        )

    # -- status -----------------------------------------------------------------------------

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        """Many ids per request. A request Kaleyra refuses (4xx) is split in halves until the
        id it refuses is alone; that one is logged, and if every id was refused the error is
        raised, so a wrong SID or a changed API is never skipped in silence."""
        wanted = [r for r in dict.fromkeys(refs) if r]
        pending = [
            wanted[i : i + STATUS_IDS_PER_REQUEST]
            for i in range(0, len(wanted), STATUS_IDS_PER_REQUEST)
        ]
        reports: list[StatusReport] = []
        refused: list[PermanentError] = []
        while pending:
            chunk = pending.pop(0)
            try:
                found = self._statuses(chunk)
            except AuthenticationError:
                raise
            except PermanentError as exc:
                if len(chunk) > 1:
                    half = len(chunk) // 2
                    pending[:0] = [chunk[:half], chunk[half:]]
                    continue
                log.warning("Kaleyra refused the status of message %s: %s", chunk[0], exc)
                refused.append(exc)
                continue
            except ProviderError:
                if not reports:
                    raise
                break  # report what we have; the rest is asked again next time
            reports += [StatusReport(ref, *found[ref]) for ref in chunk if ref in found]
        if refused and len(refused) == len(wanted):
            raise refused[0]
        return reports

    def _statuses(self, refs: Sequence[str]) -> dict[str, tuple[State, str]]:
        body = self._http.request(
            "GET", STATUS_PATH.format(sid=self._sid), params={"message_ids": ",".join(refs)}
        )
        return status_entries(body, refs)

    def preview(self, text: str) -> ServerPreview | None:
        return None

    def check(self) -> str:
        path = CHECK_PATH.format(sid=self._sid)
        self._http.request("GET", path, params={"limit": "1", "offset": "0"})
        return f"Kaleyra account {self._sid}: the API key and SID were accepted; {NOT_CHECKED}."


def build(
    *,
    home: Path,
    clock: Clock,
    options: Mapping[str, str],
    base_url: str | None,
    api_key: str | None,
    transport: httpx.BaseTransport | None = None,
) -> KaleyraProvider:
    key = require_key(TITLE, api_key)
    reject_unknown(TITLE, options, OPTIONS)
    sid = options.get("sid", "").strip()
    if not _SID.fullmatch(sid):
        raise InvalidInput(
            "A Kaleyra account needs its account SID: --option sid=HX... (letters and digits).",
            field="option",
        )
    region = options.get("region", "IN").strip().upper()
    if region not in PODS:
        raise InvalidInput(
            f"Option region='{region}' is not a Kaleyra region; use one of {', '.join(PODS)}.",
            field="option",
        )
    host = options.get("host", "").strip().lower() or PODS[region]
    if not _HOST.fullmatch(host):
        raise InvalidInput(
            f"Option host='{host}' is not a Kaleyra API host (a name ending in kaleyra.io or "
            "kaleyra.ai, such as api.ap.kaleyra.io).",
            field="option",
        )
    message_type = options.get("type", "TXN").strip().upper()
    if message_type not in MESSAGE_TYPES:
        raise InvalidInput(
            f"Option type='{message_type}' is not a Kaleyra SMS type; use one of "
            f"{', '.join(MESSAGE_TYPES)}.",
            field="option",
        )
    http = HttpClient(
        "Kaleyra",
        base_url or f"https://{host}",  # an explicit address (a simulator) overrides the pod
        {"api-key": key, "Accept": "application/json"},
        secret=key,
        error_reason=error_reason,
        transport=transport,
        timeout=timeout_from(options),
        sleep=clock.sleep,
        now=lambda: clock.now().timestamp(),  # rate-limit pauses on the same clock
    )
    return KaleyraProvider(
        http,
        clock,
        sid,
        sender=options.get("sender", "").strip() or None,
        message_type=message_type,
        template_id=options.get("template_id", "").strip() or None,
    )
