"""Infobip: many recipients per request, scheduled by Infobip up to 180 days ahead.

One create request is one Infobip *bulk*, of one text (see ``_requests``: the only kind of
bulk Infobip documents as changeable as a whole). smsdesk chooses every bulkId itself
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
    MIN_DELIVERY_WINDOW,
    AuthenticationError,
    DeliveryWindow,
    ForbiddenError,
    Found,
    KeyCapability,
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
    BULK_READ_SCOPES,
    BULK_STATUS_PATH,
    CHANGEABLE,
    LOGS_SCOPES,
    MANAGE_SCOPES,
    PREVIEW_PATH,
    PROBE_BULK,
    REPORTS_PATH,
    SEND_PATH,
    SEND_SCOPES,
    TITLE,
    bulk_id_for,
    error_reason,
    failure_detail,
    final_state,
    format_send_at,
    make_ref,
    opted_out,
    split_ref,
)
from smsdesk.providers.infobip_inbox import InboxMessage, pull_batch
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
# Replies are pulled from Infobip's inbox (infobip_inbox; the replies engine stores them).
PULLS_REPLIES = True


# -- What could not be checked against Infobip itself (providers.md: "unconfirmed"). --------
MAX_VALIDITY_MINUTES = 2880  # 48 hours, Infobip's default validity and its maximum
# deliveryTimeWindow hours are in UTC.
# -------------------------------------------------------------------------------------------

_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
# India DLT: IndiaDltOptions' fields, by our option names (see ``_india_dlt``).
DLT_OPTIONS = {
    "dlt_principal_entity_id": "principalEntityId",
    "dlt_content_template_id": "contentTemplateId",
    "dlt_telemarketer_id": "telemarketerId",
}
INDIA = "+91"
# Several texts per bulk: "no" (the default) or "yes" (see ``_requests``).
MIXED_BULKS = "several_texts_per_bulk"
OPTIONS = (
    "timeout",
    "validity_minutes",
    "delivery_window",
    "delivery_days",
    MIXED_BULKS,
    *DLT_OPTIONS,
)

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
    delivery_window=True,
)


class InfobipProvider:
    kind = "infobip"
    capabilities = CAPABILITIES

    def __init__(
        self,
        http: HttpClient,
        clock: Clock,
        *,
        base_url: str,
        message_options: dict[str, Any],
        india_dlt: Mapping[str, str] | None = None,
        mixed_bulks: bool = False,
    ) -> None:
        self._http = http
        self._clock = clock
        self._base_url = base_url
        self._message_options = message_options
        self._india_dlt = dict(india_dlt or {})
        self._mixed_bulks = mixed_bulks
        self._status = InfobipStatus(http, clock)

    def __repr__(self) -> str:
        return f"InfobipProvider({self._base_url!r})"

    def close(self) -> None:
        self._http.close()

    # -- hand-off ---------------------------------------------------------------------------

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        """Each message with the bulkId of the request ``schedule`` will put it in: one
        request per distinct send time and content (``_requests``) and per 1000 recipients."""
        groups: dict[int, str] = {}
        for send_at, members in _requests(messages, self._bulk_key):
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
        for bulk, chunk in _bulks(messages, self._bulk_key):
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

    def _content(self, msg: Outgoing) -> Content:
        """What one ``messages[]`` entry shares: text, sender, window, and whether it goes
        to India with the account's DLT fields."""
        return (msg.text, msg.sender, msg.window, bool(self._india_dlt) and _in_india(msg.to))

    def _bulk_key(self, msg: Outgoing) -> Content | None:
        """What messages of one send time must share to be in one bulk: their content (the
        default), or nothing when the account lets a bulk hold several texts."""
        return None if self._mixed_bulks else self._content(msg)

    def _create(self, chunk: Sequence[Outgoing], our_bulk: str) -> list[Outcome]:
        send_at = chunk[0].send_at
        entries: dict[Content, list[dict[str, str]]] = defaultdict(list)
        for msg in chunk:
            entries[self._content(msg)].append(
                {"to": msg.to.removeprefix("+"), "messageId": msg.key}
            )
        body: dict[str, Any] = {"messages": []}
        for (text, sender, window, india), destinations in entries.items():
            entry: dict[str, Any] = {"destinations": destinations, "content": {"text": text}}
            if sender:
                entry["sender"] = sender
            options = self._options_for(window)
            if india:
                # MessageOptions.regional.indiaDlt: "Distributed Ledger Technology (DLT)
                # specific parameters required for sending SMS to phone numbers registered
                # in India"; sent only to Indian numbers.
                options["regional"] = {"indiaDlt": dict(self._india_dlt)}
            if options:
                entry["options"] = options
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
                reason = f"Infobip rejected it: {failure_detail(item)}"
                outcomes.append(Rejected(key, reason, opted_out=opted_out(item)))
                continue
            if state is None:
                state = State.SCHEDULED if send_at is not None else State.SENT
            outcomes.append(Receipt(key, make_ref(bulk, key), state, send_at))
        return outcomes

    def _options_for(self, window: DeliveryWindow | None) -> dict[str, Any]:
        """The account's message options, with the recipients' allowed hours as the
        deliveryTimeWindow, so Infobip itself holds the message out of their night even when
        it is released late (paused, moved). Hours the account sets itself take precedence;
        its days apply to both."""
        options = dict(self._message_options)
        current = options.get("deliveryTimeWindow")
        if window is None or (isinstance(current, dict) and "from" in current):
            return options
        days = current.get("days") if isinstance(current, dict) else None
        options["deliveryTimeWindow"] = {
            "days": days or list(_DAYS),
            "from": {"hour": window.start.hour, "minute": window.start.minute},
            "to": {"hour": window.end.hour, "minute": window.end.minute},
        }
        return options

    # -- bulk management --------------------------------------------------------------------

    def group_of(self, ref: str) -> str | None:
        return split_ref(ref)[0] or None

    def reschedule(self, ref: str, send_at: datetime) -> None:
        bulk = self._bulk_of(ref)
        status = self._bulk_status(bulk)
        if status not in CHANGEABLE:
            raise PermanentError(_not_changeable(bulk, status, "reschedule"))
        with _scope_needed("reschedule", MANAGE_SCOPES):
            self._http.request(
                "PUT",
                BULK_PATH,
                params={"bulkId": bulk},
                json={"sendAt": format_send_at(send_at)},
                refused_403=True,
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
            with _scope_needed("cancel", MANAGE_SCOPES):
                self._http.request(
                    "PUT",
                    BULK_STATUS_PATH,
                    params={"bulkId": bulk},
                    json={"status": "CANCELED"},
                    refused_403=True,
                )
        except (AuthenticationError, ForbiddenError):
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
        with _scope_needed(verb, MANAGE_SCOPES):
            self._http.request(
                "PUT",
                BULK_STATUS_PATH,
                params={"bulkId": bulk},
                json={"status": wanted},
                refused_403=True,
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

    def inbox_batch(self) -> tuple[list[InboxMessage], int]:
        """Replies waiting in Infobip's inbox, each handed out once (infobip_inbox)."""
        return pull_batch(self._http)

    # -- the rest ---------------------------------------------------------------------------

    def preview(self, text: str) -> ServerPreview | None:
        try:
            body = self._http.request("POST", PREVIEW_PATH, json={"text": text}, refused_403=True)
        except ForbiddenError:
            # A key without sms:manage (as Infobip's tutorial makes them): no server preview.
            log.info("Infobip preview needs the sms:manage scope; showing the local count")
            return None
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
        """What the key can do (``key_capabilities``) in one line; fails only when the key
        cannot send."""
        found = self.key_capabilities()
        host = urlsplit(self._base_url).netloc
        listed = "; ".join(c.describe() for c in found)
        if not found[0].allowed:
            raise AuthenticationError(
                f"Infobip at {host} accepted the API key, but it cannot send SMS: {listed}.",
                hint="Give the key the sms:message:send scope (or sms:manage) on the Infobip "
                "portal's API keys page.",
            )
        return f"Infobip at {host} accepted the API key: {listed}."

    def key_capabilities(self) -> list[KeyCapability]:
        """What the key's scopes allow, sending first: one read-only request per scope set
        (none creates, changes or consumes anything: the probes name a bulk smsdesk never
        makes)."""
        probe = {"bulkId": PROBE_BULK}
        checks = [
            # GET reports takes exactly the scopes of POST /sms/3/messages.
            ("send and schedule", SEND_SCOPES, "GET", REPORTS_PATH, {**probe, "limit": "1"}),
            ("check scheduled bulks", BULK_READ_SCOPES, "GET", BULK_STATUS_PATH, probe),
            ("reschedule, pause and cancel", MANAGE_SCOPES, "POST", PREVIEW_PATH, None),
            ("preview on Infobip", MANAGE_SCOPES, "POST", PREVIEW_PATH, None),
            ("read message logs", LOGS_SCOPES, "GET", "", {"limit": "1"}),
        ]
        answers: dict[tuple[str, str], bool] = {}
        found: list[KeyCapability] = []
        for label, scopes, method, path, params in checks:
            if (method, path) not in answers:
                answers[method, path] = self._allowed(method, path, params)
            found.append(KeyCapability(label, answers[method, path], _scope_words(scopes)))
        return found

    def _allowed(self, method: str, path: str, params: Mapping[str, str] | None) -> bool:
        """Whether the key may call ``method path``: 403 no; any answer past the scope check
        (even the documented 404 "Bulk not found") yes; 401 raises."""
        try:
            if not path:
                self._status.logs(params or {}, refused_403=True)
            elif method == "POST":
                self._http.request(method, path, json={"text": "smsdesk"}, refused_403=True)
            else:
                self._http.request(method, path, params=params, refused_403=True)
        except ForbiddenError:
            return False
        except AuthenticationError:
            raise
        except PermanentError:
            return True  # refused for what was asked (no such bulk), not for the scope
        return True


def _scope_words(scopes: Sequence[str]) -> str:
    return scopes[0] if len(scopes) == 1 else f"{', '.join(scopes[:-1])} or {scopes[-1]}"


@contextmanager
def _scope_needed(verb: str, scopes: Sequence[str]) -> Iterator[None]:
    """A 403 from a bulk change is the key's missing scope (x-scopes), said as such."""
    try:
        yield
    except ForbiddenError as exc:
        raise ForbiddenError(
            f"Infobip refused to {verb} with this API key: it lacks {_scope_words(scopes)} "
            f"({str(exc).removeprefix('Infobip refused the request: ')}).",
            hint="Give the key the sms:manage scope on the Infobip portal's API keys page, "
            "then use 'Test connection'.",
        ) from None


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


Content = tuple[str, str | None, DeliveryWindow | None, bool]


def _in_india(number: str) -> bool:
    return number.startswith(INDIA)


def _requests(
    messages: Sequence[Outgoing], content: Callable[[Outgoing], Content | None]
) -> Iterator[tuple[datetime | None, list[int]]]:
    """Indexes of ``messages`` per request: grouped by send time (None: now) and by content
    (text, sender, delivery window, India DLT), at most a batch of recipients each.

    One content per request, so every bulk is one ``messages[]`` entry: the only kind of
    bulk Infobip is documented to reschedule and cancel as a whole. "Rescheduling (and
    canceling) bulk messages is supported when an advanced SMS request contains only one
    message per bulk and the message "bulkId" is unique. ... multiple messages in one bulk
    send request can't be updated" (Infobip, 2017; the current spec neither confirms nor
    withdraws it). Personalised texts thus cost one request per distinct text, and a cancel
    or move of one recipient's text never reaches another's. An account may trade that for
    fewer requests (option several_texts_per_bulk=yes): then Infobip may refuse to move or
    cancel such a bulk, and the user is told so; nothing is changed silently."""
    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, msg in enumerate(messages):
        groups[(msg.send_at, content(msg))].append(i)
    size = CAPABILITIES.batch_size
    for group in groups.values():
        for start in range(0, len(group), size):
            yield messages[group[0]].send_at, group[start : start + size]


def _bulks(
    messages: Sequence[Outgoing], content: Callable[[Outgoing], Content | None]
) -> list[tuple[str, list[Outgoing]]]:
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
        contents = {content(m) for m in chunk}
        if (
            len({m.send_at for m in chunk}) != 1
            or len(contents) != 1
            or len(chunk) > CAPABILITIES.batch_size
        ):
            raise PermanentError(
                f"Infobip bulk {bulk} would mix send times or texts or exceed "
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
        opens, closes = hours[0] * 60 + hours[1], hours[2] * 60 + hours[3]
        if closes - opens < MIN_DELIVERY_WINDOW.total_seconds() // 60:
            # "Properties `from` and `to` should be both provided with the minimum 1 hour
            # difference or omitted" (DeliveryTimeWindow): refused when the account is saved.
            raise InvalidInput(
                "delivery_window must end at least one hour after it starts, on the same UTC "
                "day (e.g. 08:00-21:00).",
                field="option",
            )
        window["from"] = {"hour": hours[0], "minute": hours[1]}
        window["to"] = {"hour": hours[2], "minute": hours[3]}
    if options.get("delivery_days") or window:
        window["days"] = _days(options.get("delivery_days", ""))
        result["deliveryTimeWindow"] = window
    return result


def _india_dlt(options: Mapping[str, str]) -> dict[str, str]:
    """IndiaDltOptions from the account's options: none, or at least ``principalEntityId``
    ("required": ["principalEntityId"]; the others are optional: "telemarketerId ... required
    for Aggregators")."""
    dlt = {
        field: options[name].strip()
        for name, field in DLT_OPTIONS.items()
        if options.get(name, "").strip()
    }
    if dlt and "principalEntityId" not in dlt:
        raise InvalidInput(
            "dlt_principal_entity_id is needed with the other India DLT options: Infobip "
            "requires your DLT principal entity ID on every message to India.",
            field="option",
        )
    if any(any(c.isspace() for c in value) for value in dlt.values()):
        raise InvalidInput("India DLT IDs are written without spaces.", field="option")
    return dlt


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
    india_dlt = _india_dlt(options)
    mixed = options.get(MIXED_BULKS, "no").strip().lower() or "no"
    if mixed not in ("no", "yes"):
        raise InvalidInput(f"{MIXED_BULKS} is yes or no.", field="option")
    http = HttpClient(
        TITLE,
        base_url,
        {"Authorization": f"App {key}", "Accept": "application/json"},
        secret=key,
        error_reason=error_reason,
        transport=transport,
        timeout=timeout,
        sleep=clock.sleep,
        now=lambda: clock.now().timestamp(),  # rate-limit pauses on the same clock
    )
    return InfobipProvider(
        http,
        clock,
        base_url=base_url.strip().rstrip("/"),
        message_options=message_options,
        india_dlt=india_dlt,
        mixed_bulks=mixed == "yes",
    )
