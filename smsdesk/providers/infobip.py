"""Infobip: many recipients per request, scheduled by Infobip up to 180 days ahead.

One create request is one Infobip *bulk*. smsdesk chooses every bulkId itself
(``assign_groups``), the engine stores it with the messages before the request, and each
recipient's ``messageId`` is our idempotency key. Infobip reschedules and cancels whole bulks
only: the provider ref is ``"<bulkId>:<messageId>"`` and ``group_of(ref)`` names the bulk.

What lookup can settle (reconciliation after an unclear create):
* a **scheduled** bulk: definitive. ``GET /sms/1/bulks/status?bulkId=`` answers the bulk's
  status, or 404 "Bulk not found" for a bulk that does not exist; as smsdesk chose the bulkId
  before the request, "not found" means the request never reached Infobip.
* a **send-now** bulk: found when bulk status or the message logs list it; otherwise it
  cannot be told (Infobip documents bulk status for scheduled messages only, and logs may lag
  or omit messages), so the message stays ``unknown`` for the user.
* a message without a stored bulkId: cannot be told.
Absence from the logs never counts as "not received".

Status sync asks per bulk, not per message: bulk status, delivery reports by bulk (each
report is handed out *once*, so every one received is kept until the engine asks for it),
then the v3 logs with comma-separated bulkIds, paced to Infobip's 120 requests a minute.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import (
    AuthenticationError,
    Found,
    Outcome,
    Outgoing,
    PermanentError,
    ProviderError,
    Receipt,
    Rejected,
    ServerPreview,
    StatusReport,
)
from smsdesk.providers.http import HttpClient, expect
from smsdesk.providers.infobip_api import (
    BULK_PATH,
    BULK_STATUS_PATH,
    CHANGEABLE,
    OPTED_OUT_NAMES,
    PREVIEW_PATH,
    SEND_PATH,
    TITLE,
    bulk_id_for,
    error_reason,
    failure_detail,
    final_state,
    format_send_at,
    make_ref,
    split_ref,
)
from smsdesk.providers.infobip_status import InfobipStatus
from smsdesk.providers.options import reject_unknown, require_key, timeout_from

# What the registry, the engine's tests and the tools use from this module.
__all__ = [
    "CAPABILITIES",
    "DEFAULT_BASE_URL",
    "NEEDS_KEY",
    "OPTIONS",
    "SEND_PATH",
    "TITLE",
    "InfobipProvider",
    "build",
    "bulk_id_for",
    "error_reason",
    "format_send_at",
    "make_ref",
    "split_ref",
]

log = logging.getLogger(__name__)

NEEDS_KEY = True
DEFAULT_BASE_URL = None  # every account has its own https://<subdomain>.api.infobip.com

# check(): the cheapest authenticated read with no side effect.
CHECK_PARAMS = {"limit": "1"}

# -- What could not be checked against Infobip itself (providers.md: "unconfirmed"). --------
MAX_VALIDITY_MINUTES = 2880  # 48 hours, Infobip's default validity and its maximum
# deliveryTimeWindow hours are in UTC.
# -------------------------------------------------------------------------------------------

_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
OPTIONS = ("timeout", "validity_minutes", "delivery_window", "delivery_days")

CAPABILITIES = Capabilities(
    native_scheduling=True,
    min_lead=timedelta(0),
    horizon=timedelta(days=180),
    native_reschedule=True,
    # A bulk can be cancelled while it is PENDING/PAUSED, i.e. until it starts sending.
    cancel_cutoff=timedelta(0),
    batch_size=1000,
    server_preview=True,
    lookup_by_key=True,
)


class InfobipProvider:
    kind = "infobip"
    capabilities = CAPABILITIES

    def __init__(
        self, http: HttpClient, clock: Clock, *, base_url: str, message_options: dict[str, Any]
    ) -> None:
        self._http = http
        self._clock = clock
        self._base_url = base_url
        self._message_options = message_options
        self._status = InfobipStatus(http, clock)

    def __repr__(self) -> str:
        return f"InfobipProvider({self._base_url!r})"

    def close(self) -> None:
        self._http.close()

    # -- hand-off ---------------------------------------------------------------------------

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        """Each message with the bulkId of the request ``schedule`` will put it in: one
        request per distinct send time and per 1000 recipients."""
        groups: dict[int, str] = {}
        for send_at, members in _requests(messages):
            bulk = bulk_id_for([messages[i].key for i in members], send_at)
            groups.update(dict.fromkeys(members, bulk))
        return [replace(msg, group=groups[i]) for i, msg in enumerate(messages)]

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """One request per bulk (``Outgoing.group``, chosen by ``assign_groups`` and stored
        before this call).

        When a later request fails after an earlier one created messages, raising would make
        the engine treat the created ones as not sent; instead the failed and unsent ones are
        left out of the answer, so the engine asks about them before anything else.
        """
        outcomes: list[Outcome] = []
        created = False
        for bulk, chunk in _bulks(messages):
            try:
                outcomes += self._create(chunk, bulk)
                created = True
            except AuthenticationError:
                if created:
                    break
                raise
            except PermanentError as exc:
                # Infobip refused this request as a whole (say, a send time out of range):
                # each of its messages fails for that reason; other requests are independent.
                outcomes += [Rejected(m.key, str(exc)) for m in chunk]
            except ProviderError as exc:
                if created:
                    log.warning("Infobip: a later request of a hand-off failed: %s", exc)
                    break
                raise
        return outcomes

    def _create(self, chunk: Sequence[Outgoing], our_bulk: str) -> list[Outcome]:
        send_at = chunk[0].send_at
        entries: dict[tuple[str, str | None], list[dict[str, str]]] = defaultdict(list)
        for msg in chunk:
            entries[(msg.text, msg.sender)].append(
                {"to": msg.to.removeprefix("+"), "messageId": msg.key}
            )
        body: dict[str, Any] = {"messages": []}
        for (text, sender), destinations in entries.items():
            entry: dict[str, Any] = {"destinations": destinations, "content": {"text": text}}
            if sender:
                entry["sender"] = sender
            if self._message_options:
                entry["options"] = self._message_options
            body["messages"].append(entry)
        # RequestSchedulingSettings.bulkId: "Unique ID assigned to the request if messaging
        # multiple recipients or sending multiple messages via a single API request. If not
        # provided, it will be auto-generated". Its sendAt is optional (the schema requires
        # nothing), so a send-now request carries our bulkId in options.schedule as well.
        schedule: dict[str, str] = {"bulkId": our_bulk}
        if send_at is not None:
            schedule["sendAt"] = format_send_at(send_at)
        body["options"] = {"schedule": schedule}
        answer = self._http.request("POST", SEND_PATH, creates=True, json=body)
        items = expect(answer, TITLE, "messages")
        bulk = str(answer.get("bulkId") or our_bulk)
        if bulk != our_bulk:
            log.warning("Infobip answered bulk %s for our bulk %s", bulk, our_bulk)
        wanted = {m.key for m in chunk}
        outcomes: list[Outcome] = []
        for item in items if isinstance(items, list) else []:
            key = item.get("messageId") if isinstance(item, dict) else None
            if key not in wanted:
                continue  # not ours; the engine asks about any key left unmentioned
            wanted.discard(key)
            state = final_state(item)
            if state is State.FAILED:
                status = item.get("status") or {}
                outcomes.append(
                    Rejected(
                        key,
                        f"Infobip rejected it: {failure_detail(item)}",
                        opted_out=status.get("name") in OPTED_OUT_NAMES,
                    )
                )
                continue
            if state is None:
                state = State.SCHEDULED if send_at is not None else State.SENT
            outcomes.append(Receipt(key, make_ref(bulk, key), state, send_at))
        return outcomes

    # -- bulk management --------------------------------------------------------------------

    def group_of(self, ref: str) -> str | None:
        return split_ref(ref)[0] or None

    def reschedule(self, ref: str, send_at: datetime) -> None:
        bulk = self._bulk_of(ref)
        status = self._bulk_status(bulk)
        if status not in CHANGEABLE:
            raise PermanentError(_not_changeable(bulk, status, "reschedule"))
        self._http.request(
            "PUT", BULK_PATH, params={"bulkId": bulk}, json={"sendAt": format_send_at(send_at)}
        )

    def cancel(self, ref: str) -> None:
        """Cancel the whole bulk of ``ref``; cancelling a cancelled bulk succeeds."""
        bulk = self._bulk_of(ref)
        status = self._bulk_status(bulk)
        if status == "CANCELED":
            return
        if status not in CHANGEABLE:
            raise PermanentError(_not_changeable(bulk, status, "cancel"))
        try:
            self._http.request(
                "PUT", BULK_STATUS_PATH, params={"bulkId": bulk}, json={"status": "CANCELED"}
            )
        except AuthenticationError:
            raise
        except PermanentError:
            # A repeated cancel (our earlier answer was lost) is refused, yet done.
            if self._bulk_status(bulk) != "CANCELED":
                raise

    def pause(self, ref: str) -> None:
        """Hold the whole bulk of ``ref`` at Infobip: it will not go out until resumed."""
        self._set_bulk_status(ref, "PAUSED", allowed_from={"PENDING"}, verb="pause")

    def resume(self, ref: str) -> None:
        """Let a paused bulk go out again (at its send time, or at once if that passed)."""
        self._set_bulk_status(ref, "PROCESSING", allowed_from={"PAUSED"}, verb="resume")

    def _set_bulk_status(self, ref: str, wanted: str, *, allowed_from: set[str], verb: str) -> None:
        bulk = self._bulk_of(ref)
        status = self._bulk_status(bulk)
        if status not in allowed_from:
            raise PermanentError(_not_changeable(bulk, status, verb))
        self._http.request(
            "PUT", BULK_STATUS_PATH, params={"bulkId": bulk}, json={"status": wanted}
        )

    def _bulk_of(self, ref: str) -> str:
        bulk = split_ref(ref)[0]
        if not bulk:
            raise PermanentError(
                f"Infobip message {ref} was sent without a bulk; it cannot be changed."
            )
        return bulk

    def _bulk_status(self, bulk: str) -> str:
        return self._status.bulk_status(bulk)

    # -- reading (``infobip_status``) -----------------------------------------------------

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        return self._status.lookup(messages)

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        return self._status.fetch_status(refs)

    # -- the rest ---------------------------------------------------------------------------

    def preview(self, text: str) -> ServerPreview | None:
        body = self._http.request("POST", PREVIEW_PATH, json={"text": text})
        previews = expect(body, TITLE, "previews")
        if not isinstance(previews, list) or not previews or not isinstance(previews[0], dict):
            return None
        first = previews[0]
        remaining = first.get("charactersRemaining")
        others = len(previews) - 1
        return ServerPreview(
            text=str(first.get("textPreview", text)),
            segments=int(first.get("messageCount") or 0),
            characters_remaining=int(remaining) if isinstance(remaining, int) else None,
            note=f"Infobip also offers {others} other configuration(s)" if others else "",
        )

    def check(self) -> str:
        self._status.logs(CHECK_PARAMS)
        host = urlsplit(self._base_url).netloc
        return f"Infobip at {host} accepted the API key (message logs readable)."


def _not_changeable(bulk: str, status: str, verb: str) -> str:
    why = {
        "PROCESSING": "Infobip is already sending it",
        "FINISHED": "Infobip has already sent it",
        "FAILED": "it failed at Infobip",
        "CANCELED": "it was cancelled",
        "PAUSED": "it is paused",
        "PENDING": "it is not paused",
    }.get(status, f"it is {status}")
    return f"Infobip cannot {verb} bulk {bulk}: {why}."


def _requests(messages: Sequence[Outgoing]) -> Iterator[tuple[datetime | None, list[int]]]:
    """Indexes of ``messages`` per request: grouped by send time (None: now), at most a
    batch of recipients each."""
    groups: dict[datetime | None, list[int]] = defaultdict(list)
    for i, msg in enumerate(messages):
        groups[msg.send_at].append(i)
    size = CAPABILITIES.batch_size
    for send_at, group in groups.items():
        for start in range(0, len(group), size):
            yield send_at, group[start : start + size]


def _bulks(messages: Sequence[Outgoing]) -> list[tuple[str, list[Outgoing]]]:
    """The requests ``schedule`` makes: one per bulkId. Refused before any request when a
    message has no bulkId or a bulk would not be one request (mixed send times, too many)."""
    bulks: dict[str, list[Outgoing]] = defaultdict(list)
    for msg in messages:
        if not msg.group:
            raise PermanentError(
                "smsdesk chose no Infobip bulkId for this message before handing it off; "
                "nothing was sent."
            )
        bulks[msg.group].append(msg)
    for bulk, chunk in bulks.items():
        if len({m.send_at for m in chunk}) != 1 or len(chunk) > CAPABILITIES.batch_size:
            raise PermanentError(
                f"Infobip bulk {bulk} would mix send times or exceed "
                f"{CAPABILITIES.batch_size} recipients; nothing was sent."
            )
    return list(bulks.items())


def _message_options(options: Mapping[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if options.get("validity_minutes"):
        try:
            minutes = int(options["validity_minutes"])
        except ValueError:
            minutes = 0
        if not 1 <= minutes <= MAX_VALIDITY_MINUTES:
            raise InvalidInput(
                f"validity_minutes is a whole number of minutes, 1 to {MAX_VALIDITY_MINUTES}.",
                field="option",
            )
        result["validityPeriod"] = {"amount": minutes, "timeUnit": "MINUTES"}
    window: dict[str, Any] = {}
    if options.get("delivery_window"):
        match = _WINDOW.match(options["delivery_window"].strip())
        hours = [int(g) for g in match.groups()] if match else []
        if not hours or hours[0] > 23 or hours[2] > 23 or hours[1] > 59 or hours[3] > 59:
            raise InvalidInput(
                "delivery_window is HH:MM-HH:MM in UTC, e.g. 08:00-21:00.", field="option"
            )
        if (hours[0], hours[1]) >= (hours[2], hours[3]):
            raise InvalidInput("delivery_window must end after it starts.", field="option")
        window["from"] = {"hour": hours[0], "minute": hours[1]}
        window["to"] = {"hour": hours[2], "minute": hours[3]}
    if options.get("delivery_days") or window:
        window["days"] = _days(options.get("delivery_days", ""))
        result["deliveryTimeWindow"] = window
    return result


def _days(value: str) -> list[str]:
    if not value.strip():
        return list(_DAYS)
    days: list[str] = []
    for raw in value.split(","):
        name = raw.strip().upper()
        day = next((d for d in _DAYS if name and d.startswith(name) and len(name) >= 3), None)
        if day is None:
            raise InvalidInput(
                f"delivery_days: '{raw.strip()}' is not a weekday (MONDAY, TUE, ...).",
                field="option",
            )
        if day not in days:
            days.append(day)
    return days


def build(
    *,
    home: Path,
    clock: Clock,
    options: Mapping[str, str],
    base_url: str | None,
    api_key: str | None,
    transport: httpx.BaseTransport | None = None,
) -> InfobipProvider:
    key = require_key(TITLE, api_key)
    if not base_url or not base_url.strip():
        raise InvalidInput(
            "An Infobip account needs its own base URL (https://<yours>.api.infobip.com, "
            "shown on the Infobip portal's home page).",
            field="base_url",
        )
    reject_unknown(TITLE, options, OPTIONS)
    timeout = timeout_from(options)
    message_options = _message_options(options)
    http = HttpClient(
        TITLE,
        base_url,
        {"Authorization": f"App {key}", "Accept": "application/json"},
        secret=key,
        error_reason=error_reason,
        transport=transport,
        timeout=timeout,
        sleep=clock.sleep,
    )
    return InfobipProvider(
        http, clock, base_url=base_url.strip().rstrip("/"), message_options=message_options
    )
