"""Infobip: many recipients per request, scheduled by Infobip up to 180 days ahead.

One create request is one Infobip *bulk*; each recipient in it is one message whose
``messageId`` is our idempotency key, so an unclear create is settled by looking the key up in
Infobip's message logs. Infobip reschedules and cancels whole bulks only: the provider ref is
``"<bulkId>:<messageId>"`` and ``group_of(ref)`` names the bulk so the engine can tell when a
change to one message touches others.

Delivery reports are handed out by Infobip *once*; every report received is kept in memory
until the engine has asked for it, and messages without a new report are read from the logs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import FINAL, State
from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import (
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
from smsdesk.providers.http import HttpClient, expect
from smsdesk.providers.options import reject_unknown, require_key, timeout_from

log = logging.getLogger(__name__)

TITLE = "Infobip"
NEEDS_KEY = True
DEFAULT_BASE_URL = None  # every account has its own https://<subdomain>.api.infobip.com

# -- What could not be checked against Infobip itself (providers.md: "unconfirmed"). --------
SEND_PATH = "/sms/3/messages"
BULK_PATH = "/sms/1/bulks"
BULK_STATUS_PATH = "/sms/1/bulks/status"
REPORTS_PATH = "/sms/1/reports"
LOGS_PATH = "/sms/1/logs"
PREVIEW_PATH = "/sms/1/preview"
# check(): the cheapest authenticated read with no side effect that needs the same key scope
# as lookup() (message logs), so "Test connection" also proves reconciliation will work.
CHECK_PARAMS = {"limit": "1"}
# lookup() assumes a scheduled message is listed in /sms/1/logs (with a PENDING status) from
# the moment Infobip accepted it; if it were not, an unclear create could be sent twice.
# Rejections that mean "this recipient does not want messages".
OPTED_OUT_NAMES = frozenset({"REJECTED_DND", "REJECTED_OPTOUT"})
MAX_VALIDITY_MINUTES = 2880  # 48 hours, Infobip's default validity and its maximum
# deliveryTimeWindow hours are in UTC.
# -------------------------------------------------------------------------------------------

# Infobip bulk statuses in which the bulk is still held and may be changed.
CHANGEABLE = frozenset({"PENDING", "PAUSED"})
# Status groups (providers.md): 1 PENDING, 2 UNDELIVERABLE, 3 DELIVERED, 4 EXPIRED, 5 REJECTED.
_GROUP_NAMES = {"PENDING": 1, "UNDELIVERABLE": 2, "DELIVERED": 3, "EXPIRED": 4, "REJECTED": 5}
_GROUP_STATE = {2: State.FAILED, 3: State.DELIVERED, 4: State.EXPIRED, 5: State.FAILED}
_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_KEPT_REPORTS = 10_000  # reports kept for the engine (each is given out once by Infobip)
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


def error_reason(response: httpx.Response) -> str:
    """Infobip's own words: ``{"requestError": {"serviceException": {"messageId", "text"}}}``
    (API v1/v2), or v3's ``{"errorCode", "description", "violations": [...]}``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        request_error = body.get("requestError")
        service = request_error.get("serviceException") if isinstance(request_error, dict) else None
        if isinstance(service, dict) and (service.get("text") or service.get("messageId")):
            text = str(service.get("text") or "")
            code = str(service.get("messageId") or "")
            return f"{text} ({code})" if text and code else text or code
        if body.get("description"):
            words = str(body["description"])
            violations = body.get("violations")
            if isinstance(violations, list) and violations and isinstance(violations[0], dict):
                first = violations[0]
                words += f" [{first.get('property', '')}: {first.get('violation', '')}]"
            return words
    return response.text[:200] if response.text else response.reason_phrase


def format_send_at(at: datetime) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS+0000`` in UTC."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(UTC)
        except ValueError:
            continue
    return None


def bulk_id_for(keys: Sequence[str]) -> str:
    """One bulkId per request, the same for the same messages: derived from their keys."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
    return f"smsdesk-bulk-{digest}"


def make_ref(bulk_id: str, message_id: str) -> str:
    return f"{bulk_id}:{message_id}"


def split_ref(ref: str) -> tuple[str, str]:
    """(bulkId, messageId); bulkId is "" for a ref without one."""
    bulk, sep, message = ref.rpartition(":")
    return (bulk, message) if sep else ("", ref)


def _group(status: object) -> int | None:
    if not isinstance(status, dict):
        return None
    group = status.get("groupId")
    if isinstance(group, int):
        return group
    return _GROUP_NAMES.get(str(status.get("groupName", "")).upper())


def _failure_detail(entry: Mapping[str, Any]) -> str:
    """The most specific words Infobip gave: the error (if any) before the status."""
    for part in ("error", "status"):
        item = entry.get(part)
        if isinstance(item, dict) and item.get("groupId") != 0 and item.get("description"):
            name = item.get("name")
            return f"{item['description']} ({name})" if name else str(item["description"])
    return "failed at Infobip"


def _final_state(entry: Mapping[str, Any]) -> State | None:
    """The state of a report/log entry when its status group settles it, else None."""
    group = _group(entry.get("status"))
    return _GROUP_STATE.get(group) if group is not None else None


def _pending_state(bulk_status: str | None) -> State | None:
    """A PENDING message: still held (bulk PENDING/PAUSED), withdrawn, or on its way."""
    if bulk_status == "CANCELED":
        return State.CANCELLED
    if bulk_status in CHANGEABLE:
        return State.SCHEDULED
    if bulk_status is None:
        return None
    return State.SENT


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
        # Reports Infobip has handed out (it never repeats one), by ref, until asked for.
        self._kept: OrderedDict[str, StatusReport] = OrderedDict()

    def __repr__(self) -> str:
        return f"InfobipProvider({self._base_url!r})"

    def close(self) -> None:
        self._http.close()

    # -- hand-off ---------------------------------------------------------------------------

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """One request per distinct send time (and per 1000 recipients).

        When a later request fails after an earlier one created messages, raising would make
        the engine treat the created ones as not sent; instead the failed and unsent ones are
        left out of the answer, so the engine asks about them by key before anything else.
        """
        outcomes: list[Outcome] = []
        created = False
        for send_at, chunk in _requests(messages):
            try:
                outcomes += self._create(chunk, send_at)
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

    def _create(self, chunk: Sequence[Outgoing], send_at: datetime | None) -> list[Outcome]:
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
        our_bulk = ""
        if send_at is not None:
            our_bulk = bulk_id_for([m.key for m in chunk])
            body["options"] = {"schedule": {"bulkId": our_bulk, "sendAt": format_send_at(send_at)}}
        answer = self._http.request("POST", SEND_PATH, creates=True, json=body)
        items = expect(answer, TITLE, "messages")
        bulk = str(answer.get("bulkId") or our_bulk)
        wanted = {m.key for m in chunk}
        outcomes: list[Outcome] = []
        for item in items if isinstance(items, list) else []:
            key = item.get("messageId") if isinstance(item, dict) else None
            if key not in wanted:
                continue  # not ours; the engine asks about any key left unmentioned
            wanted.discard(key)
            state = _final_state(item)
            if state is State.FAILED:
                status = item.get("status") or {}
                outcomes.append(
                    Rejected(
                        key,
                        f"Infobip rejected it: {_failure_detail(item)}",
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
        body = self._http.request("GET", BULK_STATUS_PATH, params={"bulkId": bulk})
        return str(expect(body, TITLE, "status")).upper()

    def _scheduled_bulk_status(self, bulk: str) -> str | None:
        """The bulk's status, or None when Infobip knows no scheduled bulk of that id (a
        message sent at once)."""
        try:
            return self._bulk_status(bulk)
        except AuthenticationError:
            raise
        except PermanentError:
            return None

    # -- status -----------------------------------------------------------------------------

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        """Kept reports first, then new delivery reports, then the logs and bulk status."""
        wanted = [r for r in dict.fromkeys(refs) if r]
        found = {r: self._kept[r] for r in wanted if r in self._kept}
        bulks: dict[str, str | None] = {}
        try:
            for ref in wanted:
                if ref not in found:
                    self._pull_reports(ref)
                    if ref in self._kept:
                        found[ref] = self._kept[ref]
            missing = [r for r in wanted if r not in found]
            found.update(self._from_logs(missing, bulks))
        except ProviderError as exc:
            # Reports already pulled stay kept, so nothing Infobip gave out is lost.
            if not found:
                raise
            log.warning("Infobip status sync stopped early: %s", exc)
        return list(found.values())

    def _pull_reports(self, ref: str) -> None:
        body = self._http.request(
            "GET", REPORTS_PATH, params={"messageId": split_ref(ref)[1], "limit": "100"}
        )
        results = body.get("results") if isinstance(body, dict) else None
        for entry in results if isinstance(results, list) else []:
            if not isinstance(entry, dict) or not entry.get("messageId"):
                continue
            # Keep it under its own ref, even if it is not the one asked for.
            own = make_ref(str(entry.get("bulkId") or ""), str(entry["messageId"]))
            state = _final_state(entry) or State.SENT
            detail = _failure_detail(entry) if state is State.FAILED else ""
            self._keep(StatusReport(own, state, detail))
            if own != ref and split_ref(own)[1] == split_ref(ref)[1]:
                self._keep(StatusReport(ref, state, detail))

    def _keep(self, report: StatusReport) -> None:
        old = self._kept.get(report.ref)
        if old is not None and old.state in FINAL and report.state not in FINAL:
            return  # a late intermediate report does not undo a final one
        self._kept[report.ref] = report
        self._kept.move_to_end(report.ref)
        while len(self._kept) > _KEPT_REPORTS:
            self._kept.popitem(last=False)

    def _from_logs(
        self, refs: Sequence[str], bulks: dict[str, str | None]
    ) -> dict[str, StatusReport]:
        by_bulk: dict[str, list[str]] = defaultdict(list)
        for ref in refs:
            by_bulk[split_ref(ref)[0]].append(ref)
        found: dict[str, StatusReport] = {}
        for bulk, members in by_bulk.items():
            entries: dict[str, dict[str, Any]] = {}
            queries = [{"bulkId": bulk}] if bulk and len(members) > 1 else None
            for params in queries or [{"messageId": split_ref(r)[1]} for r in members]:
                for entry in self._logs({**params, "limit": "1000"}):
                    entries.setdefault(str(entry.get("messageId")), entry)
            for ref in members:
                report = self._report_from_log(ref, entries.get(split_ref(ref)[1]), bulks)
                if report is not None:
                    found[ref] = report
        return found

    def _report_from_log(
        self, ref: str, entry: dict[str, Any] | None, bulks: dict[str, str | None]
    ) -> StatusReport | None:
        state = _final_state(entry) if entry is not None else None
        if state is not None and entry is not None:
            detail = _failure_detail(entry) if state is State.FAILED else ""
            return StatusReport(ref, state, detail)
        bulk = split_ref(ref)[0]
        if bulk and bulk not in bulks:
            bulks[bulk] = self._scheduled_bulk_status(bulk)
        state = _pending_state(bulks.get(bulk))
        if state is None and entry is not None:
            state = State.SENT  # listed, not held in a scheduled bulk: it has left
        return StatusReport(ref, state) if state is not None else None

    def _logs(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        body = self._http.request("GET", LOGS_PATH, params=params)
        results = body.get("results") if isinstance(body, dict) else None
        return [e for e in results or [] if isinstance(e, dict)]

    def lookup(self, key: str) -> Receipt | None:
        """Ask Infobip's message logs for our key (Infobip keeps them about 48 hours)."""
        matches = [e for e in self._logs({"messageId": key}) if e.get("messageId") == key]
        if not matches:
            return None
        entry = matches[0]
        bulk = str(entry.get("bulkId") or "")
        ref = make_ref(bulk, key)
        state = _final_state(entry)
        if state is None and bulk:
            state = _pending_state(self._scheduled_bulk_status(bulk))
        failed = state is State.FAILED
        raw_status = entry.get("status")
        status: Mapping[str, Any] = raw_status if isinstance(raw_status, dict) else {}
        return Receipt(
            key,
            ref,
            state or State.SENT,
            parse_time(entry.get("sentAt")),
            detail=f"Infobip rejected it: {_failure_detail(entry)}" if failed else "",
            opted_out=failed and status.get("name") in OPTED_OUT_NAMES,
        )

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
        self._http.request("GET", LOGS_PATH, params=CHECK_PARAMS)
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


def _requests(messages: Sequence[Outgoing]) -> Iterator[tuple[datetime | None, list[Outgoing]]]:
    """Messages grouped by send time (None: now), at most a batch of recipients each."""
    groups: dict[datetime | None, list[Outgoing]] = defaultdict(list)
    for msg in messages:
        groups[msg.send_at].append(msg)
    size = CAPABILITIES.batch_size
    for send_at, group in groups.items():
        for start in range(0, len(group), size):
            yield send_at, group[start : start + size]


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
