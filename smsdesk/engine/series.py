"""Recurring series: create, list, pause, resume, cancel, skip a date, and keep each active
series' next occurrences stored in the outbox as ordinary messages.

Filling (``fill_due``, called by the Dispatcher's pass) plans each occurrence through the
normal scheduling (quiet hours, opt-outs, the group's members as they are then) and stores
it with its ``series_occurrence`` row in one transaction. That row's key is (series, the
occurrence's wall-clock time), so an occurrence is stored once however many processes fill
at the same time, and a crash between planning and storing leaves nothing half done.

Each message's id is derived from (series, occurrence, batch, recipient), and the stored
occurrences of a series to a group follow the group's changes (see series_members).

Withdrawing future occurrences (pause, cancel, edit) cancels their messages through the
normal actions (intent first, at the provider if it holds them); only an occurrence whose
messages were all cancelled is marked withdrawn and may be stored anew later. One that could
not be cancelled stays as it is and is reported, so nothing is ever stored twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import col, select

from smsdesk.core.errors import InvalidInput, NotFound, SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.phones import normalize_number
from smsdesk.core.recurrence import (
    CLAMP,
    SKIP,
    Occurrence,
    Recurrence,
    between,
    check,
    describe,
    occurrences,
    parse_rule,
    place,
)
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.ids import new_id
from smsdesk.engine.reminder_plan import STATE_WORDS
from smsdesk.engine.scheduling import (
    MAX_AHEAD,
    PAST_TOLERANCE,
    Prepared,
    Scheduling,
    validate_text,
)
from smsdesk.engine.series_members import FOLLOW_BUDGET, MembersReport, follow_groups, keyed
from smsdesk.engine.series_members import behind as members_behind
from smsdesk.engine.series_outline import SHOWN, SeriesOutline, outline_of
from smsdesk.engine.service import Service
from smsdesk.store.integrity import DatabaseDamaged
from smsdesk.store.models import Message, ProviderAccount, Series, SeriesOccurrence

log = logging.getLogger(__name__)

ACTIVE, PAUSED, CANCELLED = "active", "paused", "cancelled"
STORED, SKIPPED, WITHDRAWN = "stored", "skipped", "withdrawn"
# Occurrences are stored this far ahead: beyond any provider's minimum lead, and far enough
# that a provider with a hand-off horizon (Telnyx 5 days) gets them in time.
HORIZON = timedelta(days=35)
# A series is filled again once its stored occurrences reach less than this far ahead.
REFILL = HORIZON - timedelta(days=1)
# Seconds one pass spends filling series (planning 1,000 weekly series takes over a minute).
FILL_BUDGET = 2.0
MAX_PER_FILL = 400  # occurrences one fill of one series stores (a daily series: ~35)


@dataclass(frozen=True)
class SeriesRequest:
    """What the user asks for. ``rule``: an RRULE or a preset word (daily, weekdays, weekly,
    monthly, yearly); COUNT/UNTIL in it count as ``count``/``until``. ``start``: the first
    occurrence's wall-clock time in ``zone`` (naive), or an aware instant."""

    text: str
    rule: str
    start: datetime
    zone: str
    numbers: tuple[str, ...] = ()
    group: str | None = None
    contact_id: int | None = None
    count: int | None = None
    until: date | None = None
    exceptions: tuple[date, ...] = ()
    holidays: str | None = None
    month_end: str = SKIP
    account: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class OccurrenceView:
    nominal: str  # "YYYY-MM-DDTHH:MM", wall-clock in the series' zone
    send_at: datetime | None  # UTC; None when skipped
    when: str  # local, e.g. "Mon 22 Mar 2027 09:00 GMT"
    status: str  # stored, skipped, withdrawn, planned (not stored yet)
    skipped_because: str = ""
    moved: str = ""
    batch_id: str | None = None
    states: tuple[str, ...] = ()  # the stored messages' states, in words


@dataclass(frozen=True)
class SeriesView:
    id: str
    text: str
    recipients: str  # "+447700900123, group Staff"
    rule: str
    description: str
    zone: str
    state: str
    account: str
    next_at: datetime | None
    next_when: str
    upcoming: tuple[OccurrenceView, ...] = field(default=())
    history: tuple[OccurrenceView, ...] = field(default=())


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing future occurrences did: how many, and those that stayed (why)."""

    withdrawn: int = 0
    kept: tuple[str, ...] = ()


@dataclass
class FillReport:
    series: int = 0
    stored: int = 0
    skipped: int = 0
    taken: int = 0  # stored meanwhile by another process: left alone
    left: int = 0  # series left for the next pass (the pass's time was used up)
    # Group series: new members added to, removed ones cancelled from stored occurrences.
    members: MembersReport = field(default_factory=MembersReport)


# -- the rule of a stored series ---------------------------------------------------------


def recurrence_of(row: Series) -> Recurrence:
    return Recurrence(
        rule=row.rule,
        start=datetime.fromisoformat(row.starts_local),
        zone=row.zone,
        count=row.count,
        until=date.fromisoformat(row.until_date) if row.until_date else None,
        exceptions=tuple(date.fromisoformat(d) for d in json.loads(row.exceptions_json)),
        holidays=row.holidays,
        month_end=row.month_end,
    )


# -- filling (the Dispatcher's part) -------------------------------------------------------


def next_fill(ctx: AppContext) -> datetime | None:
    """When an active series next needs filling or following its group (None: none is
    active)."""
    if members_behind(ctx):
        return ctx.clock.now()
    with ctx.db.read() as s:
        found = s.exec(
            select(Series.id, Series.filled_until)
            .where(Series.state == ACTIVE)
            .order_by(col(Series.filled_until).is_not(None), col(Series.filled_until))
            .limit(1)
        ).first()
    if found is None:
        return None
    now = ctx.clock.now()
    earliest = found[1]
    return now if earliest is None else max(earliest - REFILL, now)


def fill_due(
    ctx: AppContext, report: FillReport | None = None, budget: float = FILL_BUDGET
) -> FillReport:
    """Store the occurrences of every active series that needs it, up to now + HORIZON,
    the most pressing first, for at most about ``budget`` seconds: the rest is left for the
    next pass (which ``next_fill`` makes due at once), so hand-offs are not held up. A series
    that cannot be filled (a database error) is logged and left for the next pass."""
    report = report or FillReport()
    now = ctx.clock.now()
    with ctx.db.read() as s:
        due = s.exec(
            select(Series.id)
            .where(
                Series.state == ACTIVE,
                or_(col(Series.filled_until).is_(None), col(Series.filled_until) <= now + REFILL),
            )
            .order_by(col(Series.filled_until).is_not(None), col(Series.filled_until))
        ).all()
    ends = time.monotonic() + budget
    for done, series_id in enumerate(due, 1):
        try:
            fill_one(ctx, series_id, report)
        except DatabaseDamaged:
            raise  # nothing can be written: the pass stops and says so
        except SmsdeskError as exc:
            log.warning("series %s could not be filled: %s", series_id, exc)
        except Exception:
            # A fault in one series must not stop the sending of everything else.
            log.exception("series %s could not be filled", series_id)
        if time.monotonic() > ends:  # at least one series per pass
            report.left += len(due) - done
            break
    # The occurrences stored ahead reach each group as it is now.
    left = min(ends - time.monotonic(), FOLLOW_BUDGET)
    follow_groups(ctx, report.members, budget=max(left, 0.0))  # at least one series
    return report


def fill_one(ctx: AppContext, series_id: str, report: FillReport | None = None) -> FillReport:
    """Plan and store one series' occurrences up to now + HORIZON."""
    report = report or FillReport()
    fill = plan_fill(ctx, series_id)
    if fill is not None:
        store_fill(ctx, fill, report)
    return report


@dataclass
class Fill:
    """One series' occurrences, planned and not yet stored."""

    row: Series
    target: datetime  # stored up to this instant once this is stored
    planned: list[tuple[Occurrence, Prepared | None, str]]  # (occurrence, batch, detail)
    at: datetime


def plan_fill(ctx: AppContext, series_id: str) -> Fill | None:
    """What filling the series up to now + HORIZON would store (None: nothing to do)."""
    now = ctx.clock.now()
    target = now + HORIZON
    with ctx.db.read() as s:
        row = s.get(Series, series_id)
    if row is None or row.state != ACTIVE:
        return None
    begin = row.filled_until or row.created_at
    if begin >= target:
        return None
    rec = recurrence_of(row)
    occs = between(rec, begin, target, MAX_PER_FILL)
    if len(occs) >= MAX_PER_FILL:
        # Stop at the last one listed, so that the next fill goes on from there.
        target = occs[-1].at or place(occs[-1].nominal, resolve_zone(rec.zone)).at
        occs = occs[:-1]
    try:
        who: tuple[list[str], str] | str = _recipients(ctx, row)
    except InvalidInput as exc:
        who = exc.message  # e.g. the contact was removed: each occurrence says so
    return Fill(row, target, [(occ, *_plan(ctx, row, occ, now, who)) for occ in occs], now)


def _recipients(ctx: AppContext, row: Series) -> tuple[list[str], str]:
    """The series' typed numbers and its contact's number now, and its account's name."""
    numbers = list(json.loads(row.numbers_json))
    if row.contact_id is not None:
        numbers.append(ContactBook(ctx).contact(row.contact_id).number)
    return numbers, ctx.account_by_id(row.account_id).name


def store_fill(ctx: AppContext, fill: Fill, report: FillReport) -> None:
    """Store a planned fill in one transaction: each occurrence once (one another process
    stored meanwhile is left alone), and nothing when the series changed since planning.

    Every process that stores occurrences first locks the series row (SQLite: the write
    lock, taken at BEGIN; PostgreSQL: SELECT ... FOR UPDATE), then reads which occurrences
    are stored: so the rows it adds are new, and the primary key (series, occurrence) is
    the last guard, failing the whole transaction rather than storing anything twice."""
    series_id = fill.row.id
    report.series += 1
    with ctx.db.write() as s:
        current = s.exec(
            select(Series).where(Series.id == series_id).with_for_update()
        ).one_or_none()
        if current is None or current.state != ACTIVE or current.updated_at != fill.row.updated_at:
            return  # changed meanwhile: the next pass fills from the new state
        existing = {
            o.nominal: o.status
            for o in s.exec(
                select(SeriesOccurrence).where(
                    SeriesOccurrence.series_id == series_id,
                    col(SeriesOccurrence.nominal).in_([o.key for o, _p, _d in fill.planned]),
                )
            ).all()
        }
        batches: list[Prepared] = []
        new: list[SeriesOccurrence] = []
        again: list[SeriesOccurrence] = []  # stored anew after a withdrawal (same key)
        for occ, prepared, detail in fill.planned:
            status = existing.get(occ.key)
            if status is not None and status != WITHDRAWN:
                report.taken += 1
                continue
            (new if status is None else again).append(
                _occurrence_row(series_id, occ, prepared, detail, fill.at)
            )
            if prepared is not None:
                batches.append(prepared)
                report.stored += 1
            else:
                report.skipped += 1
        Scheduling.store_many(s, batches)  # first: the occurrence rows refer to them
        s.add_all(new)
        for row in again:
            s.execute(
                update(SeriesOccurrence)
                .where(
                    col(SeriesOccurrence.series_id) == series_id,
                    col(SeriesOccurrence.nominal) == row.nominal,
                    col(SeriesOccurrence.status) == WITHDRAWN,
                )
                .values(
                    send_at=row.send_at, batch_id=row.batch_id, status=row.status, detail=row.detail
                )
            )
        s.execute(
            update(Series)
            .where(
                col(Series.id) == series_id,
                or_(col(Series.filled_until).is_(None), col(Series.filled_until) < fill.target),
            )
            .values(filled_until=fill.target)
        )


def _occurrence_row(
    series_id: str, occ: Occurrence, prepared: Prepared | None, detail: str, now: datetime
) -> SeriesOccurrence:
    return SeriesOccurrence(
        series_id=series_id,
        nominal=occ.key,
        send_at=occ.at or place(occ.nominal, resolve_zone(occ.zone)).at,
        batch_id=prepared.batch.id if prepared is not None else None,
        status=STORED if prepared is not None else SKIPPED,
        detail=detail,
        created_at=now,
    )


def _plan(
    ctx: AppContext,
    row: Series,
    occ: Occurrence,
    now: datetime,
    who: tuple[list[str], str] | str,
) -> tuple[Prepared | None, str]:
    """The occurrence's batch through the normal scheduling (the group's members as they
    are now, quiet hours, opt-outs), or why it is skipped."""
    if occ.at is None:
        return None, occ.skipped_because
    if occ.at < now - PAST_TOLERANCE:
        return None, "its time passed before smsdesk could store it (nothing was running)"
    if isinstance(who, str):
        return None, who
    numbers, account = who
    try:
        prepared = Scheduling(ctx).prepare(
            numbers,
            row.text,
            occ.at,
            row.zone,
            account=account,
            sender=row.sender,
            group=row.group_name,
        )
    except InvalidInput as exc:
        return None, exc.message
    keyed(prepared, row.id, occ.key, prepared.batch.id, {})
    # Why its time moved: the clocks (the occurrence), quiet hours (its messages).
    quiet = next((m.note for m in prepared.result.messages if m.note), "")
    return prepared, "; ".join(w for w in (occ.moved, quiet) if w)


# -- the service part ----------------------------------------------------------------------


class SeriesBook:
    """Series for the window and the command line."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.ctx = service.ctx

    def _recurrence(self, req: SeriesRequest) -> Recurrence:
        rule, count, until = parse_rule(req.rule)
        zone = resolve_zone(req.zone)
        start = req.start
        if start.tzinfo is not None:
            start = start.astimezone(zone).replace(tzinfo=None)
        rec = Recurrence(
            rule=rule,
            start=start.replace(second=0, microsecond=0),
            zone=zone.key,
            count=req.count if req.count is not None else count,
            until=req.until if req.until is not None else until,
            exceptions=tuple(sorted(set(req.exceptions))),
            holidays=req.holidays.strip().upper() if req.holidays else None,
            month_end=req.month_end,
        )
        check(rec)
        return rec

    def _recipients_of(self, req: SeriesRequest) -> tuple[ProviderAccount, list[str]]:
        """The account and the typed numbers (E.164); the group and contact must exist."""
        account = self.ctx.account(req.account)
        numbers = (
            self.service.normalize_recipients(req.numbers, account.name) if req.numbers else []
        )
        book = ContactBook(self.ctx)
        if req.group:
            book.group_numbers(req.group)  # NotFound for a group that does not exist
        if req.contact_id is not None:
            book.contact(req.contact_id)
        if not numbers and not req.group and req.contact_id is None:
            raise InvalidInput("Add at least one recipient.", field="recipients")
        return account, numbers

    def _try_first(
        self, req: SeriesRequest, account: str, numbers: list[str], at: datetime
    ) -> None:
        """Plan the first occurrence as scheduling would, to refuse now what would refuse
        every occurrence (a bad sender, merge fields the text cannot fill). Who is there
        to send to is each occurrence's own question (a group may grow)."""
        if at > self.ctx.clock.now() + MAX_AHEAD:
            return
        contact = ContactBook(self.ctx).contact(req.contact_id) if req.contact_id else None
        try:
            self.service.scheduling.plan(
                [*numbers, *([contact.number] if contact else [])],
                req.text,
                at,
                req.zone,
                account=account,
                sender=req.sender,
                group=req.group,
            )
        except InvalidInput as exc:
            if exc.field not in ("recipients",):
                raise

    def describe(self, req: SeriesRequest) -> str:
        """The request's timing in words (InvalidInput for a bad rule, zone or end)."""
        return describe(self._recurrence(req))

    def outline(self, req: SeriesRequest, shown: int = SHOWN) -> SeriesOutline:
        """What the request will do, each time as filling will store it (nothing is
        stored); InvalidInput for a bad rule, zone or end."""
        return outline_of(self.ctx, self._recurrence(req), self._reached(req), shown)

    def outline_of(self, ident: str, shown: int = SHOWN) -> SeriesOutline:
        """A stored series' outline (the window and ``smsdesk series`` say this)."""
        return self.outline(self.request_of(ident), shown)

    def _reached(self, req: SeriesRequest) -> list[str]:
        """Who the request reaches now, as far as it can be read: an entry that is not a
        number, a group or contact that does not exist, is the plan's error, not this."""
        region = self.ctx.settings.default_region
        numbers: list[str] = []
        for raw in req.numbers:
            with contextlib.suppress(InvalidInput):
                numbers.append(normalize_number(raw, region, allow_test_numbers=True))
        book = ContactBook(self.ctx)
        if req.group:
            with contextlib.suppress(NotFound):
                numbers += book.group_numbers(req.group)
        if req.contact_id is not None:
            with contextlib.suppress(NotFound):
                numbers.append(book.contact(req.contact_id).number)
        return list(dict.fromkeys(numbers))

    def preview(self, req: SeriesRequest, n: int = 10) -> list[OccurrenceView]:
        """The next ``n`` occurrences the request gives (nothing is stored)."""
        rec = self._recurrence(req)
        now = self.ctx.clock.now()
        return [_planned_view(o) for o in _upcoming(rec, now, n)]

    def add(self, req: SeriesRequest, *, fill: bool = True) -> SeriesView:
        """Check and store a series, then store its first occurrences. Raises InvalidInput
        (nothing stored) for a bad rule, zone, end, text, recipients or a start in the past."""
        rec = self._recurrence(req)
        validate_text(req.text)
        now = self.ctx.clock.now()
        first = place(rec.start, resolve_zone(rec.zone)).at
        if first < now - PAST_TOLERANCE:
            raise InvalidInput("The series' first time is in the past.", field="start")
        account, numbers = self._recipients_of(req)
        assert account.id is not None
        sendable = next((o for o in islice(occurrences(rec), 500) if o.at is not None), None)
        if sendable is None or sendable.at is None:
            raise InvalidInput("The rule gives no occurrence to send.", field="rule")
        self._try_first(req, account.name, numbers, sendable.at)
        row = Series(
            id=new_id("s"),
            account_id=account.id,
            sender=req.sender,
            text=req.text,
            numbers_json=json.dumps(numbers),
            group_name=req.group,
            contact_id=req.contact_id,
            rule=rec.rule,
            starts_local=rec.start.isoformat(timespec="minutes"),
            zone=rec.zone,
            count=rec.count,
            until_date=rec.until.isoformat() if rec.until else None,
            exceptions_json=json.dumps([d.isoformat() for d in rec.exceptions]),
            holidays=rec.holidays,
            month_end=rec.month_end if rec.month_end in (SKIP, CLAMP) else SKIP,
            state=ACTIVE,
            # From just before the first time, so that it is not taken for a passed one.
            filled_until=min(now, first),
            created_at=now,
            updated_at=now,
        )
        with self.ctx.db.write() as s:
            s.add(row)
        if fill:  # else the engine's next pass stores them (the window: off its thread)
            fill_one(self.ctx, row.id)
        return self.show(row.id)

    def _row(self, ident: str) -> Series:
        with self.ctx.db.read() as s:
            row = s.get(Series, ident.strip())
        if row is None:
            raise NotFound(f"No series with id '{ident}'.", field="id")
        return row

    def request_of(self, ident: str) -> SeriesRequest:
        """The series as a request, to change some of it and ``edit``."""
        row = self._row(ident)
        rec = recurrence_of(row)
        account = self.ctx.accounts_by_id().get(row.account_id)
        return SeriesRequest(
            text=row.text,
            rule=row.rule,
            start=rec.start,
            zone=row.zone,
            numbers=tuple(json.loads(row.numbers_json)),
            group=row.group_name,
            contact_id=row.contact_id,
            count=row.count,
            until=rec.until,
            exceptions=rec.exceptions,
            holidays=row.holidays,
            month_end=row.month_end,
            account=account.name if account is not None else None,
            sender=row.sender,
        )

    def list_series(self, upcoming: int = 3) -> list[SeriesView]:
        with self.ctx.db.read() as s:
            rows = s.exec(select(Series).order_by(col(Series.created_at))).all()
        return [self._view(r, upcoming, history=False) for r in rows]

    def show(self, ident: str, upcoming: int = 10) -> SeriesView:
        return self._view(self._row(ident), upcoming, history=True)

    def _view(self, row: Series, n: int, *, history: bool) -> SeriesView:
        rec = recurrence_of(row)
        now = self.ctx.clock.now()
        zone = resolve_zone(row.zone)
        with self.ctx.db.read() as s:
            stored = {
                o.nominal: o
                for o in s.exec(
                    select(SeriesOccurrence).where(SeriesOccurrence.series_id == row.id)
                ).all()
            }
            batches = [o.batch_id for o in stored.values() if o.batch_id]
            states: dict[str, list[str]] = {}
            sent: dict[str, datetime] = {}  # each batch's first send time (after quiet hours)
            for batch_id, state, at in s.exec(
                select(Message.batch_id, Message.state, Message.send_at).where(
                    col(Message.batch_id).in_(batches)
                )
            ).all():
                states.setdefault(batch_id, []).append(STATE_WORDS.get(state, state))
                sent[batch_id] = min(at, sent.get(batch_id, at))
        ahead: list[OccurrenceView] = []
        if row.state == ACTIVE:
            for occ in _upcoming(rec, now, n):
                kept = stored.get(occ.key)
                ahead.append(
                    _stored_view(kept, zone, states, sent)
                    if kept is not None
                    else _planned_view(occ)
                )
        else:
            ahead = [
                _stored_view(o, zone, states, sent)
                for o in sorted(stored.values(), key=lambda o: o.send_at)
                if o.send_at >= now and o.status == STORED
            ][:n]
        past = (
            tuple(
                _stored_view(o, zone, states, sent)
                for o in sorted(stored.values(), key=lambda o: o.send_at)
                if o.send_at < now or o.status == WITHDRAWN
            )
            if history
            else ()
        )
        nxt = next((o for o in ahead if o.send_at is not None and o.status != SKIPPED), None)
        account = self.ctx.accounts_by_id().get(row.account_id)
        return SeriesView(
            id=row.id,
            text=row.text,
            recipients=self._recipients(row),
            rule=row.rule,
            description=describe(rec),
            zone=row.zone,
            state=row.state,
            account=account.name if account is not None else "",
            next_at=nxt.send_at if nxt else None,
            next_when=nxt.when if nxt else "",
            upcoming=tuple(ahead),
            history=past,
        )

    def _recipients(self, row: Series) -> str:
        parts = list(json.loads(row.numbers_json))
        if row.group_name:
            parts.append(f"group {row.group_name}")
        if row.contact_id is not None:
            try:
                contact = ContactBook(self.ctx).contact(row.contact_id)
                parts.append(f"{contact.name or contact.number}")
            except NotFound:
                parts.append("a removed contact")
        return ", ".join(parts)

    # -- changes --------------------------------------------------------------------------

    def pause(self, ident: str) -> Withdrawal:
        """No more occurrences are stored; the stored future ones are cancelled."""
        return self._stop(ident, PAUSED)

    def cancel(self, ident: str) -> Withdrawal:
        """The series ends: its future occurrences are cancelled; the history stays."""
        return self._stop(ident, CANCELLED)

    def _stop(self, ident: str, state: str) -> Withdrawal:
        row = self._row(ident)
        if row.state == CANCELLED:
            raise InvalidInput(f"Series {row.id} is cancelled already.", field="id")
        self._set_state(row.id, state)
        return self._withdraw(row.id, self.ctx.clock.now())

    def resume(self, ident: str) -> SeriesView:
        """A paused series goes on from now: what fell in the pause is not sent."""
        row = self._row(ident)
        if row.state != PAUSED:
            raise InvalidInput(f"Series {row.id} is {row.state}, not paused.", field="id")
        now = self.ctx.clock.now()
        self._set_state(row.id, ACTIVE, filled_until=now)
        fill_one(self.ctx, row.id)
        return self.show(row.id)

    def skip(self, ident: str, on: date) -> Withdrawal:
        """No occurrence on local date ``on``: added to the series' excepted dates, and a
        stored one that day is cancelled."""
        row = self._row(ident)
        dates = set(json.loads(row.exceptions_json)) | {on.isoformat()}
        with self.ctx.db.write() as s:
            s.execute(
                update(Series)
                .where(col(Series.id) == row.id)
                .values(exceptions_json=json.dumps(sorted(dates)), updated_at=self.ctx.clock.now())
            )
        return self._withdraw(row.id, self.ctx.clock.now(), on=on, why="skipped on request")

    def edit(self, ident: str, req: SeriesRequest) -> SeriesView:
        """The whole series changes from now on: the stored future occurrences are
        cancelled (at the provider too) and the series is planned again."""
        row = self._row(ident)
        if row.state == CANCELLED:
            raise InvalidInput(f"Series {row.id} is cancelled.", field="id")
        rec = self._recurrence(req)
        validate_text(req.text)
        account = self.ctx.account(req.account)
        assert account.id is not None
        numbers = (
            self.service.normalize_recipients(req.numbers, account.name) if req.numbers else []
        )
        was = row.state
        self._set_state(row.id, PAUSED)
        outcome = self._withdraw(row.id, self.ctx.clock.now())
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            s.execute(
                update(Series)
                .where(col(Series.id) == row.id)
                .values(
                    account_id=account.id,
                    sender=req.sender,
                    text=req.text,
                    numbers_json=json.dumps(numbers),
                    group_name=req.group,
                    contact_id=req.contact_id,
                    rule=rec.rule,
                    starts_local=rec.start.isoformat(timespec="minutes"),
                    zone=rec.zone,
                    count=rec.count,
                    until_date=rec.until.isoformat() if rec.until else None,
                    exceptions_json=json.dumps([d.isoformat() for d in rec.exceptions]),
                    holidays=rec.holidays,
                    month_end=rec.month_end,
                    state=was,
                    filled_until=now,
                    updated_at=now,
                )
            )
        if outcome.kept:
            log.warning("series %s edited; kept as they were: %s", row.id, "; ".join(outcome.kept))
        fill_one(self.ctx, row.id)
        return self.show(row.id)

    def following_request(self, ident: str, on: date) -> SeriesRequest:
        """The series from local date ``on`` on, as a request: starting at its first
        occurrence from that date, with the occurrences left of a count."""
        row = self._row(ident)
        rec = recurrence_of(row)
        before, first = _split_at(rec, on)
        if first is None:
            raise InvalidInput("The series has no occurrence from that date.", field="on")
        base = self.request_of(ident)
        # COUNT counts the rule's instances: a month without the day is not one.
        used = sum(1 for o in before if o.counted)
        count = rec.count - used if rec.count is not None else None
        return replace(base, start=first.nominal, count=count)

    def split(self, ident: str, on: date, req: SeriesRequest) -> SeriesView:
        """This occurrence and the following: the series ends before local date ``on`` (its
        stored occurrences from then are cancelled, at the provider too) and a new series,
        from ``req``, takes over. Returns the new series."""
        row = self._row(ident)
        if row.state == CANCELLED:
            raise InvalidInput(f"Series {row.id} is cancelled.", field="id")
        new = self._recurrence(req)
        validate_text(req.text)
        self._recipients_of(req)
        if new.start.date() < on:
            raise InvalidInput("The new part starts before the date it takes over.", field="start")
        before, _first = _split_at(recurrence_of(row), on)
        if not before:
            raise InvalidInput(
                "Nothing of the series comes before that date: edit the whole series.",
                field="on",
            )
        was = row.state
        self._set_state(row.id, PAUSED)
        outcome = self._withdraw(row.id, self.ctx.clock.now(), since=on)
        if outcome.kept:
            log.warning("series %s split; kept as they were: %s", row.id, "; ".join(outcome.kept))
        self._set_state(row.id, was, until_date=before[-1].nominal.date().isoformat(), count=None)
        return self.add(req)

    def _set_state(self, series_id: str, state: str, **values: object) -> None:
        with self.ctx.db.write() as s:
            s.execute(
                update(Series)
                .where(col(Series.id) == series_id)
                .values(state=state, updated_at=self.ctx.clock.now(), **values)
            )

    def _withdraw(
        self,
        series_id: str,
        now: datetime,
        on: date | None = None,
        why: str = "",
        since: date | None = None,
    ) -> Withdrawal:
        """Cancel the stored occurrences from ``now`` (only those on local date ``on``, or
        from local date ``since``) through the normal actions; mark those whose messages
        all ended cancelled."""
        with self.ctx.db.read() as s:
            rows = s.exec(
                select(SeriesOccurrence).where(
                    SeriesOccurrence.series_id == series_id,
                    col(SeriesOccurrence.send_at) >= now,
                    SeriesOccurrence.status == STORED,
                )
            ).all()
        if on is not None:
            rows = [r for r in rows if r.nominal.startswith(on.isoformat())]
        if since is not None:
            rows = [r for r in rows if r.nominal[:10] >= since.isoformat()]
        done, kept = 0, []
        for occ in rows:
            assert occ.batch_id is not None
            results = self.service.cancel(occ.batch_id)
            with self.ctx.db.read() as s:
                live = s.exec(
                    select(Message.id).where(
                        Message.batch_id == occ.batch_id,
                        col(Message.state) != State.CANCELLED.value,
                    )
                ).all()
            if live:
                why_not = "; ".join(r.detail for r in results if not r.ok) or "not cancelled"
                kept.append(f"{occ.nominal}: {why_not}")
                continue
            with self.ctx.db.write() as s:
                s.execute(
                    update(SeriesOccurrence)
                    .where(
                        col(SeriesOccurrence.series_id) == series_id,
                        col(SeriesOccurrence.nominal) == occ.nominal,
                        col(SeriesOccurrence.status) == STORED,
                    )
                    .values(
                        status=SKIPPED if why else WITHDRAWN,
                        detail=why or "withdrawn from the series",
                    )
                )
            done += 1
        return Withdrawal(done, tuple(kept))


def _split_at(rec: Recurrence, on: date) -> tuple[list[Occurrence], Occurrence | None]:
    """The occurrences before local date ``on``, and the first from it (None: none)."""
    before: list[Occurrence] = []
    for occ in occurrences(rec):
        if occ.nominal.date() >= on:
            return before, occ
        before.append(occ)
    return before, None


def _upcoming(rec: Recurrence, now: datetime, n: int) -> list[Occurrence]:
    return between(rec, now, datetime.max.replace(tzinfo=now.tzinfo), n)


def _planned_view(occ: Occurrence) -> OccurrenceView:
    zone = resolve_zone(occ.zone)
    at = occ.at or place(occ.nominal, zone).at
    return OccurrenceView(
        nominal=occ.key,
        send_at=occ.at,
        when=format_local(at, zone),
        status=SKIPPED if occ.skipped else "planned",
        skipped_because=occ.skipped_because,
        moved=occ.moved,
    )


def _stored_view(
    occ: SeriesOccurrence,
    tz: ZoneInfo,
    states: dict[str, list[str]],
    sent: dict[str, datetime],
) -> OccurrenceView:
    """A stored occurrence at the time its messages go (quiet hours may have moved them
    from the rule's time, which stays the occurrence's key)."""
    stored = occ.status == STORED
    at = sent.get(occ.batch_id or "", occ.send_at)
    return OccurrenceView(
        nominal=occ.nominal,
        send_at=at if occ.status != SKIPPED else None,
        when=format_local(at, tz),
        status=occ.status,
        skipped_because=occ.detail if occ.status == SKIPPED else "",
        moved=occ.detail if stored else "",
        batch_id=occ.batch_id,
        states=tuple(states.get(occ.batch_id or "", ())),
    )
