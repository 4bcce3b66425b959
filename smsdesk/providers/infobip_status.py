"""Infobip's reading side: reconciliation (``lookup``) and status sync, asked per bulk.

What each answer proves is in ``infobip``'s notes. Delivery reports are handed out by Infobip
*once*: every report received is kept here until the engine has asked for it. The logs are
read with comma-separated bulkIds, page after page, paced to Infobip's 120 requests a minute.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from smsdesk.core.clock import Clock
from smsdesk.core.lifecycle import FINAL, State
from smsdesk.providers.base import (
    AuthenticationError,
    CannotTell,
    ForbiddenError,
    Found,
    NotReceived,
    PermanentError,
    ProviderError,
    Receipt,
    StatusReport,
)
from smsdesk.providers.http import HttpClient, expect
from smsdesk.providers.infobip_api import (
    BULK_STATE,
    BULK_STATUS_KEPT,
    BULK_STATUS_PATH,
    CHANGEABLE,
    LOGS_PATH,
    LOGS_PER_MINUTE,
    MAX_PAGES,
    NOW_BULK,
    PAGE_LIMIT,
    REPORTS_PATH,
    TITLE,
    failure_detail,
    final_state,
    id_lists,
    is_bulk_not_found,
    make_ref,
    opted_out,
    parse_time,
    scheduled_time,
    split_ref,
)
from smsdesk.providers.pace import Spacing

log = logging.getLogger(__name__)

KEPT_REPORTS = 20_000  # reports kept for the engine (each is given out once by Infobip)


class InfobipStatus:
    """Asks Infobip what became of messages; holds the reports it was handed."""

    def __init__(self, http: HttpClient, clock: Clock) -> None:
        self._http = http
        self._clock = clock
        # Reports Infobip has handed out (it never repeats one), by ref, until asked for;
        # those already given to the engine are the first to go when the store is full.
        self._kept: OrderedDict[str, StatusReport] = OrderedDict()
        self.logs_pace = Spacing.per_minute(clock, LOGS_PER_MINUTE)
        self.logs_forbidden = False  # the key lacks the logs scope (a 403 said so)

    def bulk_status(self, bulk: str) -> str:
        body = self._http.request("GET", BULK_STATUS_PATH, params={"bulkId": bulk})
        return str(expect(body, TITLE, "status")).upper()

    def _scheduled_bulk_status(self, bulk: str) -> str | None:
        """The bulk's status, or None when Infobip knows no scheduled bulk of that id (a
        bulk sent at once)."""
        try:
            return self.bulk_status(bulk)
        except AuthenticationError:
            raise
        except PermanentError:
            return None

    # -- reconciliation ---------------------------------------------------------------------

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        """One bulk-status request per distinct bulk (see the module's notes on what each
        answer proves), then one logs request per 2,048 characters of send-now bulkIds that
        bulk status does not know."""
        answers: dict[int, Found] = {}
        by_bulk: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for i, (key, group) in enumerate(messages):
            if group:
                by_bulk[group].append((i, key))
            else:
                answers[i] = CannotTell(
                    key,
                    "no Infobip bulkId was stored for it before its hand-off, so Infobip "
                    "cannot be asked about it; check the Infobip portal",
                )
        to_logs: dict[str, list[tuple[int, str]]] = {}
        now = self._clock.now()
        for bulk, members in by_bulk.items():
            try:
                status = self.bulk_status(bulk)
            except AuthenticationError:
                raise
            except PermanentError as exc:
                if not is_bulk_not_found(exc):
                    reason = f"Infobip could not answer for bulk {bulk}: {exc}"
                    answers.update({i: CannotTell(key, reason) for i, key in members})
                elif NOW_BULK.match(bulk):
                    to_logs[bulk] = members
                else:
                    answers.update(self._absent(bulk, members, now))
                continue
            state = BULK_STATE.get(status)
            if state is None:
                reason = f"Infobip reports bulk {bulk} as {status}, which smsdesk does not know"
                answers.update({i: CannotTell(key, reason) for i, key in members})
                continue
            detail = f"Infobip reports bulk {bulk} as FAILED" if state is State.FAILED else ""
            send_at = scheduled_time(bulk) if state is State.SCHEDULED else None
            for i, key in members:
                answers[i] = Receipt(key, make_ref(bulk, key), state, send_at, detail=detail)
        if to_logs:
            answers.update(self._sent_now_from_logs(to_logs))
        return [answers[i] for i in range(len(messages))]

    def _absent(
        self, bulk: str, members: Sequence[tuple[int, str]], now: datetime
    ) -> dict[int, Found]:
        """Bulk status said 404 for a bulk that is not one of our send-now bulks."""
        at = scheduled_time(bulk)
        if at is None:
            reason = (
                f"Infobip knows no scheduled bulk {bulk}, but smsdesk did not name it as a "
                "scheduled bulk, so that does not prove it never arrived; check the portal"
            )
            return {i: CannotTell(key, reason) for i, key in members}
        if now - at > BULK_STATUS_KEPT:
            reason = (
                f"Infobip no longer knows bulk {bulk}, whose send time passed long ago; it may "
                "have been sent and forgotten; check the Infobip portal"
            )
            return {i: CannotTell(key, reason) for i, key in members}
        detail = f"Infobip has no bulk {bulk} (Bulk not found): the request never reached it"
        return {i: NotReceived(key, detail) for i, key in members}

    def _sent_now_from_logs(self, bulks: Mapping[str, list[tuple[int, str]]]) -> dict[int, Found]:
        wanted = {key for members in bulks.values() for _, key in members}
        entries = self._logs_for("bulkId", list(bulks), wanted)
        answers: dict[int, Found] = {}
        for bulk, members in bulks.items():
            for i, key in members:
                entry = entries.get(key)
                if entry is None:
                    answers[i] = CannotTell(
                        key,
                        "Infobip's logs do not list it (yet), and Infobip documents bulk status "
                        "for scheduled messages only; check the Infobip portal",
                    )
                    continue
                state = final_state(entry) or State.SENT
                failed = state is State.FAILED
                answers[i] = Receipt(
                    key,
                    make_ref(str(entry.get("bulkId") or bulk), key),
                    state,
                    parse_time(entry.get("sentAt")),
                    detail=f"Infobip rejected it: {failure_detail(entry)}" if failed else "",
                    opted_out=failed and opted_out(entry),
                )
        return answers

    # -- status -----------------------------------------------------------------------------

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        """Kept reports first; then per bulk: its status, its new delivery reports, and the
        logs (by comma-separated bulkIds) for what is still unsettled."""
        wanted = [r for r in dict.fromkeys(refs) if r]
        found: dict[str, StatusReport] = {}
        try:
            # A kept final report settles it; an earlier intermediate one may be outdated.
            self._settle_from_kept(wanted, found, final_only=True)
            by_bulk: dict[str, list[str]] = defaultdict(list)
            for ref in wanted:
                if ref not in found:
                    by_bulk[split_ref(ref)[0]].append(ref)
            # Our send-now bulks are not asked: bulk status covers scheduled messages only.
            statuses = {
                b: None if NOW_BULK.match(b) else self._scheduled_bulk_status(b)
                for b in by_bulk
                if b
            }
            left: dict[str, list[str]] = {}  # bulks that may have reports: sent or unknown
            for bulk, members in by_bulk.items():
                status = statuses.get(bulk)
                if status in CHANGEABLE or status == "CANCELED":
                    state = BULK_STATE[str(status)]
                    found.update({r: StatusReport(r, state) for r in members})
                else:
                    left[bulk] = members
            for bulk, members in left.items():
                ids = {split_ref(r)[1] for r in members}
                if bulk:
                    self._pull_reports({"bulkId": bulk}, ids)
                else:  # refs from before bulks were ours: reports take one messageId
                    for message_id in sorted(ids):
                        self._pull_reports({"messageId": message_id}, {message_id})
                self._settle_from_kept(members, found, final_only=True)
            self._settle_from_logs(left, statuses, found)
        except ProviderError as exc:
            self._settle_from_kept(wanted, found, final_only=False)
            # Reports already pulled stay kept, so nothing Infobip gave out is lost.
            if not found:
                raise
            log.warning("Infobip status sync stopped early: %s", exc)
        else:
            self._settle_from_kept(wanted, found, final_only=False)
        return list(found.values())

    def _settle_from_kept(
        self, refs: Sequence[str], found: dict[str, StatusReport], *, final_only: bool
    ) -> None:
        for ref in refs:
            report = self._kept.get(ref)
            if report is None or ref in found or (final_only and report.state not in FINAL):
                continue
            found[ref] = report
            self._kept.move_to_end(ref, last=False)  # used: first to go when full

    def _settle_from_logs(
        self,
        left: Mapping[str, list[str]],
        statuses: Mapping[str, str | None],
        found: dict[str, StatusReport],
    ) -> None:
        missing = {b: [r for r in refs if r not in found] for b, refs in left.items()}
        missing = {b: refs for b, refs in missing.items() if refs}
        if not missing:
            return
        wanted = {split_ref(r)[1] for refs in missing.values() for r in refs}
        entries = self._logs_for("bulkId", [b for b in missing if b], wanted)
        legacy = [split_ref(r)[1] for r in missing.get("", [])]
        if legacy:
            entries.update(self._logs_for("messageId", legacy, set(legacy)))
        for entry in entries.values():
            # A page holds a whole bulk's final outcomes: kept, so that the rest of the bulk,
            # asked for in the engine's next batch, needs no request.
            final = final_state(entry)
            if final is not None and entry.get("bulkId"):
                own = make_ref(str(entry["bulkId"]), str(entry.get("messageId")))
                self._keep(_report(own, final, entry))
        for bulk, refs in missing.items():
            status = statuses.get(bulk)
            for ref in refs:
                entry = entries.get(split_ref(ref)[1])
                state = final_state(entry) if entry is not None else None
                if state is not None and entry is not None:
                    found[ref] = _report(ref, state, entry)
                elif status is not None:
                    # PROCESSING/FINISHED: it has left; FAILED: the bulk failed as a whole.
                    detail = "Infobip reports its bulk as FAILED" if status == "FAILED" else ""
                    found[ref] = StatusReport(ref, BULK_STATE.get(status, State.SENT), detail)
                elif entry is not None:
                    found[ref] = StatusReport(ref, State.SENT)  # listed, sent at once

    def _pull_reports(self, params: Mapping[str, str], ids: set[str]) -> None:
        """New delivery reports for one bulk (or one message), page after page while full
        pages come back and some of ``ids`` have none yet; every report is kept."""
        for _ in range(MAX_PAGES):
            body = self._http.request(
                "GET", REPORTS_PATH, params={**params, "limit": str(PAGE_LIMIT)}
            )
            results = body.get("results") if isinstance(body, dict) else None
            entries = [e for e in results or [] if isinstance(e, dict) and e.get("messageId")]
            for entry in entries:
                # Kept under its own ref, even if it is not one asked for.
                own = make_ref(str(entry.get("bulkId") or ""), str(entry["messageId"]))
                self._keep(_report(own, final_state(entry) or State.SENT, entry))
                ids.discard(str(entry["messageId"]))
            if len(entries) < PAGE_LIMIT or not ids:
                return

    def _keep(self, report: StatusReport) -> None:
        old = self._kept.get(report.ref)
        if old is not None and old.state in FINAL and report.state not in FINAL:
            return  # a late intermediate report does not undo a final one
        self._kept[report.ref] = report
        self._kept.move_to_end(report.ref)
        while len(self._kept) > KEPT_REPORTS:
            self._kept.popitem(last=False)

    def _logs_for(self, name: str, ids: Sequence[str], wanted: set[str]) -> dict[str, Any]:
        """Log entries by messageId for ``ids`` (bulkIds or messageIds, as ``name`` says):
        comma-separated lists of at most 2,048 characters, cursor pages until every one of
        ``wanted`` is seen or the pages end. Paced to Infobip's 120 requests a minute."""
        entries: dict[str, Any] = {}
        if self.logs_forbidden:
            return entries
        for value in id_lists(ids):
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                params = {name: value, "limit": str(PAGE_LIMIT), "useCursor": "true"}
                if cursor:
                    params["cursor"] = cursor
                try:
                    body = self.logs(params, refused_403=True)
                except ForbiddenError as exc:
                    # A key without sms:logs:read (Infobip's tutorial makes such keys): the
                    # reports and bulk status still tell the rest; not asked again.
                    log.warning("Infobip logs are closed to this API key: %s", exc)
                    self.logs_forbidden = True
                    return entries
                results = body.get("results") if isinstance(body, dict) else None
                page = [e for e in results or [] if isinstance(e, dict)]
                for entry in page:
                    entries.setdefault(str(entry.get("messageId")), entry)
                info = body.get("cursor") if isinstance(body, dict) else None
                cursor = info.get("nextCursor") if isinstance(info, dict) else None
                if not cursor or len(page) < PAGE_LIMIT or wanted <= entries.keys():
                    break
        return entries

    def logs(self, params: Mapping[str, str], *, refused_403: bool = False) -> Any:
        self.logs_pace.wait()
        return self._http.request("GET", LOGS_PATH, params=params, refused_403=refused_403)


def _report(ref: str, state: State, entry: Mapping[str, Any]) -> StatusReport:
    """A report or log entry as a status: Infobip's words for a failure, and whether it
    carries the documented opt-out error."""
    if state is not State.FAILED:
        return StatusReport(ref, state)
    return StatusReport(ref, state, failure_detail(entry), opted_out=opted_out(entry))
