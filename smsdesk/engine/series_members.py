"""A series to a group reaches the group as it is at each occurrence, also for the
occurrences already stored ahead: new members get them, removed members no longer do.

Each pass (``follow_groups``, from ``series.fill_due``) compares, for every active series
with a group, who its stored future occurrences reach with who they should reach now (its
typed numbers, its contact and the group's members). Only a series whose group changed
since this process last looked is read in full, so a pass costs one read per group when
nothing changed.

* A new member's message is planned through the normal scheduling (quiet hours, opt-outs)
  and stored in the occurrence's own batch, under the series row's lock (as a fill is),
  after reading again who the occurrence reaches: so two desks, or a pass redone after a
  crash, never add it twice. Its id is derived from (series, occurrence, batch, recipient,
  how many that recipient had in it before), so the primary key is the last guard.
* A removed member's message is cancelled through the normal actions: held on this
  computer, in the database alone; at the provider, under an intent committed before the
  request. One that cannot be cancelled now (being handed off) is tried again next pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import col, select

from smsdesk.core.errors import InvalidInput, NotFound, SmsdeskError
from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.engine.actions import Actions
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.scheduling import Prepared, Scheduling
from smsdesk.store import queries
from smsdesk.store.db import Database
from smsdesk.store.integrity import DatabaseDamaged
from smsdesk.store.models import (
    Contact,
    ContactGroup,
    GroupMember,
    Message,
    Series,
    SeriesOccurrence,
)

log = logging.getLogger(__name__)

ACTIVE, STORED = "active", "stored"
FOLLOW_BUDGET = 1.0  # seconds one pass spends following groups; the rest waits a pass
# A removed member's message in these states is cancelled; in others it is sent, ended or
# being handed off (then the next pass, seeing it held at the provider, cancels it there).
CANCELLABLE = (State.QUEUED.value, State.SCHEDULED.value)
_IN_FLIGHT = frozenset({State.HANDING_OFF.value, *(st.value for st in INTENTS)})

_behind: weakref.WeakSet[Database] = weakref.WeakSet()
# Per database opened: the group members each series was last brought in line with.
_followed: weakref.WeakKeyDictionary[Database, dict[str, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass
class MembersReport:
    series: int = 0  # series read in full (their group changed, or first look)
    added: int = 0  # messages stored for new members
    taken: int = 0  # added meanwhile by another process: left alone
    cancelled: int = 0  # removed members' messages cancelled
    kept: list[str] = field(default_factory=list)  # could not be cancelled now (why)
    left: int = 0  # series left for the next pass (the pass's time was used up)


@dataclass
class MembersPlan:
    """One series' changes, planned and not yet stored."""

    row: Series
    wanted: frozenset[str]
    adds: list[tuple[SeriesOccurrence, Prepared]]
    removes: list[Message]


def message_key(series_id: str, nominal: str, batch_id: str, recipient: str, n: int) -> str:
    """The id of an occurrence's message to ``recipient`` (its ``n``-th in that batch)."""
    raw = f"{series_id}|{nominal}|{batch_id}|{recipient}|{n}".encode()
    return f"m-{hashlib.sha256(raw).hexdigest()[:16]}"


def keyed(
    prepared: Prepared, series_id: str, nominal: str, batch_id: str, taken: dict[str, int]
) -> None:
    """Give a prepared occurrence's messages their derived ids and ``batch_id`` (the
    occurrence's). ``taken``: how many messages each recipient has in that batch already."""
    renamed: dict[object, str] = {}
    for row in prepared.messages:
        recipient = str(row["recipient"])
        new = message_key(series_id, nominal, batch_id, recipient, taken.get(recipient, 0))
        renamed[row["id"]] = new
        row["id"] = new
        row["batch_id"] = batch_id
    for event in prepared.events:
        event["message_id"] = renamed.get(event["message_id"], event["message_id"])


def wanted_numbers(
    ctx: AppContext, row: Series, groups: dict[str, list[str]] | None = None
) -> tuple[str, ...]:
    """Who the series' occurrences should reach now (sorted E.164 numbers). ``groups``:
    the members of every group, read once for many series."""
    book = ContactBook(ctx)
    numbers = set(json.loads(row.numbers_json))
    if row.group_name and groups is not None:
        numbers.update(groups.get(row.group_name, ()))
    elif row.group_name:
        with contextlib.suppress(NotFound):  # a deleted group: nobody of it any more
            numbers.update(book.group_numbers(row.group_name))
    if row.contact_id is not None:
        with contextlib.suppress(NotFound):  # a removed contact: the fill says so
            numbers.add(book.contact(row.contact_id).number)
    return tuple(sorted(numbers))


def follow_groups(
    ctx: AppContext, report: MembersReport | None = None, budget: float = FOLLOW_BUDGET
) -> MembersReport:
    """Bring the stored future occurrences of every active group series in line with its
    group, for at most about ``budget`` seconds (the rest next pass)."""
    report = report or MembersReport()
    with ctx.db.read() as s:
        rows = s.exec(
            select(Series)
            .where(Series.state == ACTIVE, col(Series.group_name).is_not(None))
            .order_by(col(Series.created_at))
        ).all()
        members: dict[str, list[str]] = defaultdict(list)
        names = {r.group_name for r in rows}
        for name, number in s.exec(
            select(ContactGroup.name, Contact.number)
            .join(GroupMember, col(GroupMember.group_id) == col(ContactGroup.id))
            .join(Contact, col(Contact.id) == col(GroupMember.contact_id))
            .where(col(ContactGroup.name).in_(names))
        ).all():
            members[name].append(number)
        existing = set(
            s.exec(select(ContactGroup.name).where(col(ContactGroup.name).in_(names))).all()
        )
    seen = _followed.setdefault(ctx.db, {})
    ends = time.monotonic() + budget
    _behind.discard(ctx.db)
    for done, row in enumerate(rows, 1):
        if row.group_name not in existing:
            # Deleted or renamed: the stored occurrences are left as they are (new ones
            # say the group is gone) rather than all cancelled by a rename.
            continue
        try:
            wanted = wanted_numbers(ctx, row, members)
            if seen.get(row.id) == wanted:
                continue
            if follow_one(ctx, row.id, report, wanted):
                seen[row.id] = wanted
        except DatabaseDamaged:
            raise
        except SmsdeskError as exc:
            log.warning("series %s: its group could not be followed: %s", row.id, exc)
        except Exception:
            # One series' fault must not stop the sending of everything else.
            log.exception("series %s: its group could not be followed", row.id)
        if time.monotonic() > ends:
            report.left += len(rows) - done
            if report.left:
                _behind.add(ctx.db)  # the next pass is due at once (see series.next_fill)
            break
    return report


def behind(ctx: AppContext) -> bool:
    """Whether the last pass left group series to follow for lack of time."""
    return ctx.db in _behind


def follow_one(
    ctx: AppContext,
    series_id: str,
    report: MembersReport | None = None,
    wanted: tuple[str, ...] | None = None,
) -> bool:
    """Add and cancel one series' messages; True when its occurrences are in line (none
    left to try again)."""
    report = report if report is not None else MembersReport()
    plan = plan_members(ctx, series_id, wanted)
    if plan is None:
        return True
    report.series += 1
    store_members(ctx, plan, report)
    return cancel_removed(ctx, plan, report)


def plan_members(
    ctx: AppContext, series_id: str, wanted: tuple[str, ...] | None = None
) -> MembersPlan | None:
    """What following the group would change (None: the series is not active)."""
    now = ctx.clock.now()
    with ctx.db.read() as s:
        row = s.get(Series, series_id)
        if row is None or row.state != ACTIVE:
            return None
        occs = s.exec(
            select(SeriesOccurrence).where(
                SeriesOccurrence.series_id == series_id,
                SeriesOccurrence.status == STORED,
                col(SeriesOccurrence.send_at) > now,
            )
        ).all()
        batches = [o.batch_id for o in occs if o.batch_id]
        messages = s.exec(select(Message).where(col(Message.batch_id).in_(batches))).all()
    who = frozenset(wanted if wanted is not None else wanted_numbers(ctx, row))
    live: dict[str, set[str]] = defaultdict(set)
    removes: list[Message] = []
    for m in messages:
        if m.state == State.CANCELLED.value:
            continue
        live[m.batch_id].add(m.recipient)
        if m.recipient not in who and m.send_at > now:
            removes.append(m)
    adds: list[tuple[SeriesOccurrence, Prepared]] = []
    account = ctx.account_by_id(row.account_id).name
    for occ in sorted(occs, key=lambda o: o.send_at):
        missing = sorted(who - live[occ.batch_id or ""])
        if not missing or occ.batch_id is None:
            continue
        try:
            prepared = Scheduling(ctx).prepare(
                missing, row.text, occ.send_at, row.zone, account=account, sender=row.sender
            )
        except InvalidInput as exc:  # e.g. every new member opted out
            log.info("series %s %s: no message for new members: %s", row.id, occ.nominal, exc)
            continue
        adds.append((occ, prepared))
    return MembersPlan(row, who, adds, removes)


def store_members(ctx: AppContext, plan: MembersPlan, report: MembersReport) -> None:
    """Store the new members' messages in one transaction, each only if its recipient is
    still missing from the occurrence; nothing when the series changed since planning."""
    if not plan.adds:
        return
    with ctx.db.write() as s:
        current = s.exec(
            select(Series).where(Series.id == plan.row.id).with_for_update()
        ).one_or_none()
        if current is None or current.state != ACTIVE or current.updated_at != plan.row.updated_at:
            return  # changed meanwhile (paused, edited): the next pass looks again
        batches = [occ.batch_id for occ, _p in plan.adds]
        existing = s.exec(
            select(Message.batch_id, Message.recipient, Message.state).where(
                col(Message.batch_id).in_(batches)
            )
        ).all()
        stored = {
            (o.series_id, o.nominal): o.batch_id
            for o in s.exec(
                select(SeriesOccurrence).where(
                    SeriesOccurrence.series_id == plan.row.id,
                    SeriesOccurrence.status == STORED,
                )
            ).all()
        }
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        live: set[tuple[str, str]] = set()
        for batch_id, recipient, state in existing:
            counts[batch_id][recipient] += 1
            if state != State.CANCELLED.value:
                live.add((batch_id, recipient))
        messages: list[dict[str, object]] = []
        events: list[dict[str, object]] = []
        for occ, prepared in plan.adds:
            batch_id = occ.batch_id or ""
            if stored.get((occ.series_id, occ.nominal)) != batch_id:
                continue  # withdrawn meanwhile
            keyed(prepared, plan.row.id, occ.nominal, batch_id, counts[batch_id])
            ids = set()
            for row in prepared.messages:
                if (batch_id, str(row["recipient"])) in live:
                    report.taken += 1
                    continue
                ids.add(row["id"])
                messages.append(row)
            events += [e for e in prepared.events if e["message_id"] in ids]
        queries.insert_messages(s, messages, events)
        report.added += len(messages)


def cancel_removed(ctx: AppContext, plan: MembersPlan, report: MembersReport) -> bool:
    """Cancel the removed members' messages through the normal actions; False when one
    must be tried again (being handed off now, or the provider could not be asked)."""
    done = True
    actions = Actions(ctx)
    for m in plan.removes:
        if m.state not in CANCELLABLE:
            if m.state in _IN_FLIGHT:
                done = False  # in flight: cancelled once it settles
            continue
        results = actions.cancel(m.id)
        if all(r.ok for r in results):
            report.cancelled += len(results)
        else:
            report.kept += [f"{m.recipient}: {r.detail}" for r in results if not r.ok]
            done = False
    return done
