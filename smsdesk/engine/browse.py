"""Reading the queue the way the window needs it: keyset pages, filters, counts per day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, bindparam, false, func, literal_column, or_, tuple_, union_all
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.engine.recipient_facts import recipient_facts
from smsdesk.engine.views import BatchView, MessageView
from smsdesk.store.models import Batch, Event, Message, ProviderAccount

# What the Queue can be sorted by: each is a keyset over (that column, send_at, id) with an
# index of the same shape (migration 0005), so a page costs the same at any depth.
SORTS = ("send_at", "recipient", "text", "provider", "state", "where", "segments")
TEXT_PREFIX = 40  # text sorts by its first 40 characters: what the index holds
# Where a message lives, in the order of its words (lifecycle.where_it_lives): sorting the
# Where column groups the places, then each place by state.
WHERE_ORDER = (
    State.SCHEDULED, State.CANCELLING, State.RESCHEDULING, State.WITHDRAWING,
    State.HANDING_OFF, State.CANCELLED, State.EXPIRED, State.FAILED, State.DRAFT,
    State.QUEUED, State.DELIVERED, State.SENT, State.UNKNOWN,
)  # fmt: skip
WHERE_RANK = {state.value: rank for rank, state in enumerate(WHERE_ORDER)}
# Literal SQL, identical to the indexes' expressions: the databases only use an expression
# index for the very same expression (bound parameters would not match).
_TEXT_SQL = f"substr(text, 1, {TEXT_PREFIX})"
_WHERE_SQL = (
    "CASE state " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in WHERE_RANK.items()) + " END"
)
# "Upcoming and needs attention": not yet sent, or something the user must look at.
UPCOMING = frozenset(
    s.value
    for s in (
        State.QUEUED, State.HANDING_OFF, State.SCHEDULED, State.CANCELLING,
        State.RESCHEDULING, State.WITHDRAWING, State.UNKNOWN,
    )
)  # fmt: skip
NOT_SENT = frozenset({State.FAILED.value, State.EXPIRED.value})


@dataclass(frozen=True)
class QueueFilter:
    states: frozenset[str] = field(default_factory=frozenset)
    providers: frozenset[str] = field(default_factory=frozenset)  # account names
    start: datetime | None = None  # send_at >= start
    end: datetime | None = None  # send_at < end
    search: str = ""  # in recipient or text
    # Set: only what is upcoming or needs attention (a flag, or failed since this instant).
    attention_since: datetime | None = None
    sort: str = "send_at"  # one of SORTS; ties by send time, then id
    descending: bool = False

    def __post_init__(self) -> None:
        unknown = self.states - {s.value for s in State}
        if unknown:
            raise InvalidInput(f"Unknown state(s): {', '.join(sorted(unknown))}", field="state")
        if self.sort not in SORTS:
            raise InvalidInput(f"Cannot sort by '{self.sort}'", field="sort")


# A position in the queue: the sort key of a row, ending with its (send_at, id).
Cursor = tuple[Any, ...]


def _lead(sort: str) -> Any:
    """The sort's leading column (None when sorted by send time alone)."""
    if sort == "recipient":
        return col(Message.recipient)
    if sort == "text":
        return literal_column(_TEXT_SQL)
    if sort == "provider":
        return col(Message.account_id)
    if sort == "state":
        return col(Message.state)
    if sort == "where":
        return literal_column(_WHERE_SQL)
    if sort == "segments":
        return col(Message.segments)
    return None


def key_columns(flt: QueueFilter) -> list[Any]:
    lead = _lead(flt.sort)
    tail = [col(Message.send_at), col(Message.id)]
    return tail if lead is None else [lead, *tail]


def cursor_of(flt: QueueFilter, m: MessageView) -> Cursor:
    """A message's sort key under ``flt`` (what the model keeps as anchors)."""
    tail = (m.send_at, m.id)
    lead: Any
    if flt.sort == "send_at":
        return tail
    if flt.sort == "recipient":
        lead = m.recipient
    elif flt.sort == "text":
        lead = m.text[:TEXT_PREFIX]
    elif flt.sort == "provider":
        lead = m.account_id
    elif flt.sort == "state":
        lead = m.state
    elif flt.sort == "where":
        lead = WHERE_RANK[m.state]
    else:
        lead = m.segments
    return (lead, *tail)


STATEMENTS = 64  # merged-page statements kept (a few per filter the user tries)


def _state_segments(flt: QueueFilter) -> list[list[Any]]:
    """The states ``flt`` admits, one condition list each (what failed or expired only since
    ``attention_since`` in the upcoming scope). Messages flagged for attention are in these
    states (queued, scheduled, unknown, the intents), so the scope needs no flag test."""
    states = flt.states
    if flt.attention_since is not None:
        states = (states or UPCOMING | NOT_SENT) & (UPCOMING | NOT_SENT)
    segments: list[list[Any]] = []
    for state in sorted(states):
        seg: list[Any] = [col(Message.state) == state]
        if flt.attention_since is not None and state in NOT_SENT:
            seg.append(col(Message.send_at) >= flt.attention_since)
        segments.append(seg)
    return segments


def _beyond(columns: list[Any], key: Cursor, *, descending: bool, inclusive: bool) -> Any:
    """The rows after ``key`` in the walking direction (a row-value comparison, which SQLite
    and PostgreSQL answer from the index of the same columns)."""
    row = tuple_(*columns)
    other = tuple_(*key)
    if descending:
        return row <= other if inclusive else row < other
    return row >= other if inclusive else row > other


def _split(columns: list[Any], key: Cursor, *, before: bool, inclusive: bool) -> list[Any]:
    """Rows before (or after) ``key`` as disjoint parts, each a plain range after equal
    prefixes: SQLite counts those from an index ~2.5x faster than a row-value range."""
    parts = []
    last = len(columns) - 1
    for i, column in enumerate(columns):
        equal = [c == v for c, v in zip(columns[:i], key[:i], strict=True)]
        value = key[i]
        if i == last and inclusive:
            edge = column <= value if before else column >= value
        else:
            edge = column < value if before else column > value
        parts.append(and_(*equal, edge))
    return parts


class Browser:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._statements: dict[tuple[Any, ...], Any] = {}  # merged pages' statements, by shape

    def _names(self) -> dict[int, str]:
        with self.ctx.db.read() as s:
            return {a.id: a.name for a in s.exec(select(ProviderAccount)) if a.id is not None}

    def _where(self, flt: QueueFilter, names: dict[int, str]) -> list[Any]:
        conditions = self._common(flt, names)
        if flt.states:
            conditions.append(col(Message.state).in_(sorted(flt.states)))
        if flt.attention_since is not None:
            conditions.append(or_(false(), *(and_(*seg) for seg in _state_segments(flt))))
        return conditions

    @staticmethod
    def _common(flt: QueueFilter, names: dict[int, str]) -> list[Any]:
        """The filter's conditions other than which states (and the upcoming scope)."""
        conditions: list[Any] = []
        if flt.providers:
            ids = [i for i, n in names.items() if n in flt.providers]
            conditions.append(col(Message.account_id).in_(ids))
        if flt.start is not None:
            conditions.append(col(Message.send_at) >= flt.start)
        if flt.end is not None:
            conditions.append(col(Message.send_at) < flt.end)
        if flt.search.strip():
            needle = f"%{flt.search.strip()}%"
            conditions.append(
                or_(col(Message.recipient).like(needle), col(Message.text).like(needle))
            )
        return conditions

    def _merged(self, flt: QueueFilter, names: dict[int, str]) -> list[list[Any]] | None:
        """Per-state conditions when pages are best read one state at a time and merged:
        several states in send-time (or state) order, each a range of the (state, send_at,
        id) index. One query over ``state IN (...)`` would walk every other state's rows."""
        if flt.sort not in ("send_at", "state"):
            return None
        segments = _state_segments(flt)
        if len(segments) < 2:
            return None
        common = self._common(flt, names)
        return [[*common, *seg] for seg in segments]

    def page(
        self,
        flt: QueueFilter,
        *,
        after: Cursor | None = None,
        limit: int = 200,
        descending: bool = False,
        skip: int = 0,
        inclusive: bool = False,
    ) -> list[MessageView]:
        """One page of messages in ``flt``'s order, starting after ``after`` (a sort key).

        Keyset paging: the cost of a page does not grow with how far into the queue it is.
        ``descending`` walks backwards from ``after`` (or from the end); ``inclusive`` starts
        at ``after`` itself; ``skip`` passes over that many rows first (an OFFSET, so it costs
        what it skips: the skipped rows are read from the index only).
        """
        names = self._names()
        where = self._where(flt, names)
        columns = key_columns(flt)
        backwards = descending != flt.descending  # the sort's own direction, walked either way
        order = [c.desc() if backwards else c.asc() for c in columns]
        merged = self._merged(flt, names)
        if merged is not None and not skip:
            shape = (flt, tuple(sorted(names.items())), backwards, inclusive, after is None)
            return self._merged_page(shape, merged, columns, names, after, limit)
        with self.ctx.db.read() as s:
            if skip:
                start = self._skip(s, where, columns, after, skip, backwards, inclusive)
                if start is None:
                    return []
                after, inclusive = start, True
            if after is not None:
                where.append(_beyond(columns, after, descending=backwards, inclusive=inclusive))
            rows = s.exec(select(Message).where(*where).order_by(*order).limit(limit)).all()
            facts = recipient_facts(s, (m.recipient for m in rows))
        return [
            MessageView.of(m, names.get(m.account_id, "?"), facts=facts[m.recipient]) for m in rows
        ]

    def _merged_page(
        self,
        shape: tuple[Any, ...],
        segments: list[list[Any]],
        columns: list[Any],
        names: dict[int, str],
        after: Cursor | None,
        limit: int,
    ) -> list[MessageView]:
        """A page read per state from the index alone (keys), merged, then the rows by id:
        one statement, each state's arm a range of the (state, send_at, id) index. The
        statement is built once per filter and direction (building it costs more than
        running it); the start key and the limit are its parameters."""
        backwards, inclusive = shape[2], shape[3]
        if shape not in self._statements:
            order = [c.desc() if backwards else c.asc() for c in columns]
            start = [bindparam(f"k{i}", type_=c.type) for i, c in enumerate(columns)]
            arms = []
            for seg in segments:
                where = list(seg)
                if after is not None:
                    beyond = _beyond(
                        columns, tuple(start), descending=backwards, inclusive=inclusive
                    )
                    where.append(beyond)
                arm = select(*columns).where(*where).order_by(*order)
                arm = arm.limit(bindparam("n", type_=Integer())).subquery()
                arms.append(select(*arm.c))
            keys = union_all(*arms).subquery()
            ordered = [keys.c[c.key].desc() if backwards else keys.c[c.key].asc() for c in columns]
            first = select(keys.c.id).order_by(*ordered).limit(bindparam("n", type_=Integer()))
            if len(self._statements) > STATEMENTS:
                self._statements.clear()
            self._statements[shape] = select(Message).where(col(Message.id).in_(first))
        params: dict[str, Any] = {"n": limit}
        if after is not None:
            params.update((f"k{i}", value) for i, value in enumerate(after))
        with self.ctx.db.read() as s:
            # Ordered here, not by the database: an ORDER BY would tempt it to walk the whole
            # send_at index testing each id against the few wanted.
            rows = sorted(
                s.exec(self._statements[shape], params=params).all(),
                key=lambda m: tuple(getattr(m, c.key) for c in columns),
                reverse=backwards,
            )
            facts = recipient_facts(s, (m.recipient for m in rows))
        return [
            MessageView.of(m, names.get(m.account_id, "?"), facts=facts[m.recipient]) for m in rows
        ]

    @staticmethod
    def _skip(
        s: Session,
        where: list[Any],
        columns: list[Any],
        after: Cursor | None,
        skip: int,
        descending: bool,
        inclusive: bool,
    ) -> Cursor | None:
        """The key ``skip`` rows beyond ``after``, read over the key's columns alone, which an
        index covers (whole rows would cost ~10x as much to pass over)."""
        lead = columns[0]
        bound: list[Any] = []
        if after is not None:
            # A plain range on the leading column, and the ties at ``after`` skipped by
            # count: SQLite walks a row-value range with OFFSET ~3x slower.
            bound.append(lead <= after[0] if descending else lead >= after[0])
            # The rows with the same leading value that the range includes but come before
            # the start (after itself too, unless inclusive).
            ties = _split(columns[1:], after[1:], before=not descending, inclusive=not inclusive)
            for part in ties:
                stmt = (
                    select(func.count()).select_from(Message).where(*where, lead == after[0], part)
                )
                skip += int(s.exec(stmt).one())
        order = [c.desc() if descending else c.asc() for c in columns]
        found = s.exec(
            select(*columns).where(*where, *bound).order_by(*order).offset(skip).limit(1)
        ).first()
        return None if found is None else tuple(found)

    def by_ids(self, flt: QueueFilter, ids: list[str]) -> dict[str, MessageView]:
        """The messages among ``ids`` that still match ``flt``, read afresh."""
        if not ids:
            return {}
        names = self._names()
        stmt = select(Message).where(col(Message.id).in_(ids), *self._where(flt, names))
        with self.ctx.db.read() as s:
            rows = s.exec(stmt).all()
            facts = recipient_facts(s, (m.recipient for m in rows))
        return {
            m.id: MessageView.of(m, names.get(m.account_id, "?"), facts=facts[m.recipient])
            for m in rows
        }

    def position(self, flt: QueueFilter, key: Cursor, *, total: int | None = None) -> int:
        """How many matching messages come before ``key``. The count walks the index, so for
        a key in the later half pass the ``total`` and it counts from the end instead."""
        names = self._names()
        columns = key_columns(flt)
        # Counted from the end: the rows at or after the key, subtracted from the total.
        before = (total is None) != flt.descending
        parts = _split(columns, key, before=before, inclusive=total is not None)
        counted = 0
        with self.ctx.db.read() as s:
            for where in self._merged(flt, names) or [self._where(flt, names)]:
                for part in parts:
                    stmt = select(func.count()).select_from(Message).where(*where, part)
                    counted += int(s.exec(stmt).one())
        return total - counted if total is not None else counted

    def batches(
        self, *, after: tuple[datetime, str] | None = None, limit: int = 100
    ) -> list[BatchView]:
        """Batches, newest first, after ``after`` (created_at, id): each with its messages
        counted by state, read over the batch_id index for the page's batches only."""
        names = self._names()
        stmt = select(Batch).order_by(col(Batch.created_at).desc(), col(Batch.id).desc())
        if after is not None:
            stmt = stmt.where(tuple_(col(Batch.created_at), col(Batch.id)) < tuple_(*after))
        with self.ctx.db.read() as s:
            found = s.exec(stmt.limit(limit)).all()
            ids = [b.id for b in found]
            stats = core_select(
                col(Message.batch_id),
                col(Message.state),
                func.count(),
                func.min(Message.send_at),
                func.max(Message.send_at),
            )
            stats = stats.where(col(Message.batch_id).in_(ids)).group_by(
                col(Message.batch_id), col(Message.state)
            )
            rows = s.execute(stats).all() if ids else []
        by_state: dict[str, dict[str, int]] = defaultdict(dict)
        span: dict[str, list[datetime]] = defaultdict(list)
        for batch_id, state, n, first, last in rows:
            by_state[batch_id][state] = n
            span[batch_id] += [_as_utc(first), _as_utc(last)]
        return [
            BatchView(
                id=b.id,
                created_at=b.created_at,
                text=b.text,
                provider=names.get(b.account_id, "?"),
                messages=sum(by_state[b.id].values()),
                by_state=dict(by_state[b.id]),
                first_send_at=min(span[b.id]) if span[b.id] else None,
                last_send_at=max(span[b.id]) if span[b.id] else None,
            )
            for b in found
        ]

    def batch_messages(self, batch_id: str, *, limit: int = 1000) -> list[MessageView]:
        """A batch's messages by send time (the first ``limit``): what a batch expands to."""
        names = self._names()
        stmt = (
            select(Message)
            .where(col(Message.batch_id) == batch_id)
            .order_by(col(Message.send_at), col(Message.id))
            .limit(limit)
        )
        with self.ctx.db.read() as s:
            rows = s.exec(stmt).all()
            facts = recipient_facts(s, (m.recipient for m in rows))
        return [
            MessageView.of(m, names.get(m.account_id, "?"), facts=facts[m.recipient]) for m in rows
        ]

    def watermark(self) -> int:
        """Changes at a glance, without reading messages: the newest event's id. Every new
        message and every change of state or send time records an event; an index look-up,
        cheap at any size. (Notes such as ``attention`` may change without one.)"""
        with self.ctx.db.read() as s:
            newest = s.exec(select(func.max(Event.id))).one()
        return int(newest or 0)

    def count(self, flt: QueueFilter) -> int:
        names = self._names()
        counted = 0
        with self.ctx.db.read() as s:
            # Per state when several: each an index range, never a walk over the others.
            for where in self._merged(flt, names) or [self._where(flt, names)]:
                counted += int(
                    s.exec(select(func.count()).select_from(Message).where(*where)).one()
                )
        return counted

    def day_counts(self, start: datetime, end: datetime, zone: str) -> dict[date, dict[str, int]]:
        """Messages per local day and state between two instants (for the calendar).

        The database counts per UTC hour and state, then each hour goes to its local day:
        exact because the zone's offsets over the range are whole hours (else per minute:
        every offset is whole minutes). Reading every message of six weeks to count it here
        stalled the window for a quarter of a second at 1M messages."""
        tz = resolve_zone(zone)
        step = timedelta(days=1)
        offsets = {tz.utcoffset(start + n * step) for n in range((end - start) // step + 2)}
        whole_hours = all(o is not None and o % timedelta(hours=1) == timedelta(0) for o in offsets)
        counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        with self.ctx.db.read() as s:
            bucket = _bucket_of(col(Message.send_at), s.get_bind().dialect.name, hours=whole_hours)
            stmt = (
                core_select(bucket, col(Message.state), func.count())
                .where(col(Message.send_at) >= start, col(Message.send_at) < end)
                .group_by(bucket, col(Message.state))
            )
            for at, state, n in s.execute(stmt):
                counts[_as_utc(at).astimezone(tz).date()][state] += n
        return {day: dict(by_state) for day, by_state in counts.items()}


def _bucket_of(column: Any, dialect: str, *, hours: bool) -> Any:
    """The UTC hour (or minute) a stored instant falls in; SQLite keeps instants as ISO text,
    "YYYY-MM-DD HH:MM:SS.ffffff"."""
    if dialect == "sqlite":
        return func.substr(column, 1, 13 if hours else 16)
    # Stored as timestamp without time zone, in UTC: truncated the same whatever the
    # session's time zone (a timestamptz would be truncated in that zone).
    return func.date_trunc("hour" if hours else "minute", column)


def _as_utc(bucket: str | datetime) -> datetime:
    if isinstance(bucket, str):
        text = bucket if len(bucket) > 13 else bucket + ":00"  # "YYYY-MM-DD HH" has no minutes
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return bucket if bucket.tzinfo else bucket.replace(tzinfo=UTC)
