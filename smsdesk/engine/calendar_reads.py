"""What the Calendar reads beyond the Queue's pages: messages per hour slot of a visible week,
and whether a message may be dropped on a new time before anything is changed.

Every read is bounded by the visible range, so its cost follows what is on screen, not the
size of the queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal
from sqlalchemy import select as core_select
from sqlmodel import col, select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import EDGE_MARGIN, Capabilities
from smsdesk.core.quiet_hours import adjust
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import quiet_hours_of, recipient_zone
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.scheduling import validate_send_at
from smsdesk.store.models import Message, ProviderAccount

MOVABLE = (State.QUEUED.value, State.SCHEDULED.value)


@dataclass(frozen=True)
class Badge:
    """What a slot shows of a message (and all a drop needs: its id and time)."""

    id: str
    send_at: datetime
    state: str
    recipient: str
    text: str


@dataclass(frozen=True)
class WeekSlots:
    """A week's hour slots: counts per state, and the first few messages of each slot."""

    counts: dict[datetime, dict[str, int]]  # local hour start (aware, in the zone) -> counts
    messages: dict[datetime, list[Badge]]  # the first ``per_slot`` of each hour


def hour_of(at: datetime, zone: str) -> datetime:
    """The start of the local hour ``at`` falls in, as an aware time in ``zone``."""
    local = at.astimezone(resolve_zone(zone))
    return local.replace(minute=0, second=0, microsecond=0)


class CalendarReads:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def week(self, start: datetime, end: datetime, zone: str, *, per_slot: int = 3) -> WeekSlots:
        """Counts per local hour and state between two instants, and the first ``per_slot``
        messages of each hour (by send time).

        Both come from the database grouped and ranked per hour, so a busy week costs two
        range reads on the send time's index, whatever the queue's size. Per UTC hour when
        the zone's offsets are whole hours; a zone a half hour off (India) per hour of its
        own clock while its offset holds over the range, else counted per UTC minute."""
        tz = resolve_zone(zone)
        day = timedelta(days=1)
        offsets = {tz.utcoffset(start + n * day) for n in range((end - start) // day + 2)}
        whole = all(o is not None and o % timedelta(hours=1) == timedelta(0) for o in offsets)
        counts: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        send_at = col(Message.send_at)
        in_range = (send_at >= start, send_at < end)
        with self.ctx.db.read() as s:
            dialect = s.get_bind().dialect.name
            bucket = _bucket(send_at, dialect, hours=True)
            shift = next(iter(offsets)) if len(offsets) == 1 and not whole else None
            if whole:
                counted = bucket
            elif shift is not None:
                counted = _shifted_hour(send_at, dialect, shift)
            else:
                counted = _bucket(send_at, dialect, hours=False)
            grouped = (
                core_select(counted, col(Message.state), func.count())
                .where(*in_range)
                .group_by(counted, col(Message.state))
            )
            for at, state, n in s.execute(grouped):
                instant = _bucket_start(at) - (shift or timedelta(0))
                counts[hour_of(instant, zone)][state] += n
            # The first few of each local hour (of each UTC hour, in the rare week when a
            # zone a half hour off changes its clocks: a slot then shows what those give).
            rank = (
                func.row_number()
                .over(
                    partition_by=counted if shift is not None else bucket,
                    order_by=(send_at, col(Message.id)),
                )
                .label("rank")
            )
            # Ranked over the (send_at, id) index alone; only the few kept are then read.
            ranked = core_select(col(Message.id), rank).where(*in_range).subquery()
            first = (
                core_select(col(Message.id), send_at, col(Message.state),
                            col(Message.recipient), func.substr(col(Message.text), 1, 80))
                .join(ranked, ranked.c.id == col(Message.id))
                .where(ranked.c.rank <= per_slot)
            )  # fmt: skip
            rows = list(s.execute(first))
        messages: dict[datetime, list[Badge]] = defaultdict(list)
        for message_id, at, state, recipient, text in sorted(rows, key=lambda r: (r[1], r[0])):
            when = _aware(at if isinstance(at, datetime) else datetime.fromisoformat(at))
            slot = messages[hour_of(when, zone)]
            if len(slot) < per_slot:
                slot.append(Badge(message_id, when, state, recipient, text))
        return WeekSlots(
            {hour: dict(by_state) for hour, by_state in counts.items()}, dict(messages)
        )

    def refusals(self, moves: Mapping[str, datetime], zone: str) -> dict[str, str]:
        """Why each message cannot be dropped on its new time (none: all may move).

        A drop is a quick gesture: a time the engine would quietly change (quiet hours move
        it to the morning; beyond the provider's horizon it comes back to this computer)
        is refused here instead, so what the user sees is what happens. ``zone``: the
        desk's, in which past times are quoted."""
        if not moves:
            return {}
        now = self.ctx.clock.now()
        settings = self.ctx.settings
        quiet = quiet_hours_of(settings)
        desk = resolve_zone(zone)
        with self.ctx.db.read() as s:
            found = s.exec(select(Message).where(col(Message.id).in_(list(moves)))).all()
            accounts = {a.id: a for a in s.exec(select(ProviderAccount))}
        contacts = ContactBook(self.ctx).by_numbers({m.recipient for m in found})
        by_id = {m.id: m for m in found}
        refused: dict[str, str] = {}
        caps: dict[int, Capabilities] = {}
        for message_id, at in moves.items():
            m = by_id.get(message_id)
            if m is None:
                refused[message_id] = "it no longer exists"
                continue
            if m.state not in MOVABLE:
                refused[message_id] = f"it is {m.state.replace('_', ' ')} and cannot be moved"
                continue
            try:
                validate_send_at(at, now, desk)
            except InvalidInput as exc:
                refused[message_id] = str(exc).rstrip(".")
                continue
            place = recipient_zone(m.recipient, contacts.get(m.recipient), resolve_zone(m.zone))
            if quiet is not None and place is not None and adjust(quiet, at, place).moved:
                refused[message_id] = (
                    f"{format_local(at, place)} is inside quiet hours for {m.recipient} "
                    f"({settings.quiet_start}–{settings.quiet_end} their time)"
                )
                continue
            why = self._provider_refuses(m, accounts.get(m.account_id), at, now, caps)
            if why:
                refused[message_id] = why
        return refused

    def _provider_refuses(
        self,
        m: Message,
        acct: ProviderAccount | None,
        at: datetime,
        now: datetime,
        known: dict[int, Capabilities],
    ) -> str:
        """Held at the provider: whether the provider lets it move to ``at`` and stay."""
        if m.state != State.SCHEDULED.value or acct is None or acct.id is None:
            return ""
        if acct.id not in known:  # opening a provider reads its key: once per account
            known[acct.id] = self.ctx.capabilities(acct)
        caps = known[acct.id]
        if not caps.native_reschedule and caps.cancel_cutoff is None:
            return f"{acct.name} cannot change a message it already holds"
        if caps.cancel_cutoff is not None and _aware(m.send_at) - now < caps.cancel_cutoff:
            return f"it is too close to its send time for {acct.name} to change it"
        if at - now > caps.horizon - EDGE_MARGIN:
            days = caps.horizon // timedelta(days=1)
            return (
                f"{acct.name} schedules at most {days} days ahead; moved there it would come "
                "back to this computer, which must then be on (use Change time… for that)"
            )
        return ""


def _bucket(column: Any, dialect: str, *, hours: bool) -> Any:
    """The UTC hour (or minute) a stored instant falls in. SQLite keeps instants as UTC text
    "YYYY-MM-DD HH:MM:SS.ffffff"; PostgreSQL as timestamps without zone, in UTC."""
    if dialect == "sqlite":
        return func.substr(column, 1, 13 if hours else 16)
    return func.date_trunc("hour" if hours else "minute", column)


def _shifted_hour(column: Any, dialect: str, offset: timedelta) -> Any:
    """The hour on a clock ``offset`` from UTC that a stored instant falls in."""
    minutes = offset // timedelta(minutes=1)
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H", column, f"{minutes:+d} minutes")
    return func.date_trunc("hour", column + literal(offset))


def _bucket_start(bucket: str | datetime) -> datetime:
    if isinstance(bucket, str):
        bucket = datetime.fromisoformat(bucket if len(bucket) > 13 else bucket + ":00")
    return _aware(bucket)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
