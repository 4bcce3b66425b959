"""Reading the queue the way the window needs it: keyset pages, filters, counts per day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    text,
    tuple_,
    union_all,
)
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import NOT_SENT, UPCOMING, State
from smsdesk.core.recurrence import rule_words
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.engine.recipient_facts import recipient_facts
from smsdesk.engine.views import BatchView, MessageView
from smsdesk.store.models import Batch, Event, Message, ProviderAccount, Series, SeriesOccurrence

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
# The upcoming states word for word as migration 0008's partial indexes hold them: a database
# uses a partial index only for a query that repeats its condition (with literal values).
UPCOMING_SQL = "(state || '') IN (" + ", ".join(f"'{s}'" for s in sorted(UPCOMING)) + ")"


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


# The Queue's rows as plain rows, not ORM objects: building and tracking the objects cost
# more than the page's SQL.
_ROWS = core_select(*Message.__table__.columns)  # type: ignore[attr-defined]
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


def _scope_segments(flt: QueueFilter) -> list[list[Any]]:
    """The default scope in parts: every upcoming message (the partial indexes' condition,
    word for word), and each kind of failure since ``attention_since``."""
    assert flt.attention_since is not None
    parts: list[list[Any]] = [[text(UPCOMING_SQL)]]
    for state in sorted(NOT_SENT):
        parts.append([col(Message.state) == state, col(Message.send_at) >= flt.attention_since])
    return parts


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


def _scope_only(flt: QueueFilter) -> bool:
    """The default scope with no state chosen: one range of migration 0008's indexes."""
    return flt.attention_since is not None and not flt.states


def series_label(rule: str, text: str) -> str:
    """How the Queue names a series (a series has no name of its own): its rule in words and
    the start of its text."""
    words = text.splitlines()[0] if text else ""
    return f"{rule_words(rule)}: {words[:40]}{'…' if len(words) > 40 else ''}"


class Browser:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._statements: dict[tuple[Any, ...], Any] = {}  # merged pages' statements, by shape

    def _names(self) -> dict[int, str]:
        with self.ctx.db.read() as s:
            return self._names_in(s)

    @staticmethod
    def _names_in(s: Session) -> dict[int, str]:
        # A handful of rows, read in the page's own session: one transaction per page.
        rows = s.execute(core_select(col(ProviderAccount.id), col(ProviderAccount.name)))
        return {account_id: name for account_id, name in rows}

    @staticmethod
    def _views(s: Session, rows: Sequence[Any], names: dict[int, str]) -> list[MessageView]:
        """The rows as the Queue shows them: provider's name, contact's name and zone, and the
        series a row is an occurrence of (one query each for the whole page)."""
        facts = recipient_facts(s, (m.recipient for m in rows))
        series = _series_of(s, {m.batch_id for m in rows})
        return [
            MessageView.of(
                # A row of _ROWS has a Message's attributes: MessageView.of reads only those.
                cast(Message, m),
                names.get(m.account_id, "?"),
                facts=facts[m.recipient],
                series=series.get(m.batch_id),
            )
            for m in rows
        ]

    def _where(self, flt: QueueFilter, names: dict[int, str]) -> list[Any]:
        conditions = self._common(flt, names)
        if flt.states:
            conditions.append(col(Message.state).in_(sorted(flt.states)))
        if _scope_only(flt):
            conditions.append(or_(*(and_(*seg) for seg in _scope_segments(flt))))
        elif flt.attention_since is not None:
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
        """Conditions per part when pages are best read part by part and merged, each part a
        range of one index. The default scope: its upcoming messages (migration 0008's partial
        index for the sort) and what failed or expired since ``attention_since`` (a week's
        worth of (state, send_at, id)), in any sort. Several chosen states in send-time (or
        state) order: one range of (state, send_at, id) each; one query over ``state IN
        (...)`` would walk every other state's rows."""
        if _scope_only(flt):
            segments = _scope_segments(flt)
        elif flt.sort in ("send_at", "state"):
            segments = _state_segments(flt)
        else:
            return None
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
        columns = key_columns(flt)
        backwards = descending != flt.descending  # the sort's own direction, walked either way
        order = [c.desc() if backwards else c.asc() for c in columns]
        with self.ctx.db.read() as s:
            names = self._names_in(s)
            merged = self._merged(flt, names)
            if merged is not None:
                if skip:
                    shape = (flt, tuple(sorted(names.items())), backwards, inclusive, after is None)
                    after = self._skip_merged(s, shape, merged, columns, after, skip)
                    if after is None:
                        return []
                    inclusive = True
                shape = (flt, tuple(sorted(names.items())), backwards, inclusive, after is None)
                return self._merged_page(s, shape, merged, columns, names, after, limit)
            where = self._where(flt, names)
            if skip:
                start = self._skip(s, where, columns, after, skip, backwards, inclusive)
                if start is None:
                    return []
                after, inclusive = start, True
            if after is not None:
                where.append(_beyond(columns, after, descending=backwards, inclusive=inclusive))
            rows = s.execute(_ROWS.where(*where).order_by(*order).limit(limit)).all()
            return self._views(s, rows, names)

    def _merged_page(
        self,
        s: Session,
        shape: tuple[Any, ...],
        segments: list[list[Any]],
        columns: list[Any],
        names: dict[int, str],
        after: Cursor | None,
        limit: int,
    ) -> list[MessageView]:
        """A page read part by part from the indexes alone (keys), merged and cut to the
        page by the database (its order, its collation), then the rows by id. The statement
        is built once per filter and direction (building it costs more than running it); the
        start key and the limit are its parameters."""
        backwards, inclusive = shape[2], shape[3]
        if shape not in self._statements:
            labels = [f"k{i}" for i in range(len(columns))]
            start = [bindparam(f"k{i}", type_=c.type) for i, c in enumerate(columns)]
            arms = []
            for i, seg in enumerate(segments):
                own = _arm_columns(columns, shape[0].sort, i)
                order = [c.desc() if backwards else c.asc() for c in own]
                where = list(seg)
                if after is not None:
                    beyond = _beyond(own, tuple(start), descending=backwards, inclusive=inclusive)
                    where.append(beyond)
                named = [c.label(n) for c, n in zip(own, labels, strict=True)]
                part = core_select(*named).where(*where).order_by(*order)
                part = part.limit(bindparam("n", type_=Integer()))
                arms.append(core_select(*part.subquery().c))
            keys = union_all(*arms).subquery()
            ordered = [keys.c[n].desc() if backwards else keys.c[n].asc() for n in labels]
            first = (
                core_select(keys.c[labels[-1]])
                .order_by(*ordered)
                .limit(bindparam("n", type_=Integer()))
            )
            if len(self._statements) > STATEMENTS:
                self._statements.clear()
            self._statements[shape] = first
        params: dict[str, Any] = {"n": limit}
        if after is not None:
            params.update((f"k{i}", value) for i, value in enumerate(after))
        ids = list(s.execute(self._statements[shape], params).scalars())
        # The rows by id, put in the keys' order here: an ORDER BY would tempt the database
        # to walk the whole send_at index testing each id against the few wanted.
        found = {m.id: m for m in s.execute(_ROWS.where(col(Message.id).in_(ids))).all()}
        return self._views(s, [found[i] for i in ids if i in found], names)

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

    def _skip_merged(
        self,
        s: Session,
        shape: tuple[Any, ...],
        segments: list[list[Any]],
        columns: list[Any],
        after: Cursor | None,
        skip: int,
    ) -> Cursor | None:
        """The key ``skip`` rows beyond ``after`` over parts each read from its own index: the
        parts' keys merged in order (a compound SELECT, each arm an index range) and skipped.
        Built once per filter and direction, like a merged page."""
        flt, descending, inclusive = shape[0], shape[2], shape[3]
        key = ("skip", *shape)
        if key not in self._statements:
            labels = [f"k{i}" for i in range(len(columns))]
            start = [bindparam(f"k{i}", type_=c.type) for i, c in enumerate(columns)]
            arms = []
            for i, seg in enumerate(segments):
                own = _arm_columns(columns, flt.sort, i)
                where = list(seg)
                if after is not None:
                    where.append(
                        _beyond(own, tuple(start), descending=descending, inclusive=inclusive)
                    )
                named = [c.label(n) for c, n in zip(own, labels, strict=True)]
                arms.append(core_select(*named).where(*where))
            order: list[Any] = [
                literal_column(n).desc() if descending else literal_column(n) for n in labels
            ]
            skipped = bindparam("skip", type_=Integer())
            if len(self._statements) > STATEMENTS:
                self._statements.clear()
            self._statements[key] = union_all(*arms).order_by(*order).offset(skipped).limit(1)
        params: dict[str, Any] = {"skip": skip}
        if after is not None:
            params.update((f"k{i}", value) for i, value in enumerate(after))
        found = s.execute(self._statements[key], params).first()
        return None if found is None else tuple(found)

    def landmarks(self, flt: QueueFilter, every: int) -> tuple[int, list[Cursor], int]:
        """The sort keys of rows 0, ``every``, 2 × ``every``… in ``flt``'s order, each found
        from the one before by skipping ``every`` index entries: one walk over the filter's
        index range, as long as a count. The model keeps them as exact anchors, so a scroll bar
        dragged anywhere skips at most half of ``every`` entries. Returns (watermark before,
        keys, watermark after): keys read while something changed are not to be used."""
        before = self.watermark()
        columns = key_columns(flt)
        keys: list[Cursor] = []
        with self.ctx.db.read() as s:
            names = self._names_in(s)
            merged = self._merged(flt, names)
            where = self._where(flt, names)
            backwards = flt.descending

            def beyond(key: Cursor | None, n: int) -> Cursor | None:
                if merged is not None:
                    shape = (flt, tuple(sorted(names.items())), backwards, True, key is None)
                    return self._skip_merged(s, shape, merged, columns, key, n)
                return self._skip(s, where, columns, key, n, backwards, True)

            key = beyond(None, 0)
            if key is not None:
                # First the statements scrolling and dragging use, built here off the GUI
                # thread (building one costs more than a page read): forwards, backwards, a
                # jump.
                self.page(flt, after=key, limit=1)
                self.page(flt, after=key, limit=1, descending=True)
                self.page(flt, after=key, skip=1, inclusive=True, limit=1)
            while key is not None:
                keys.append(key)
                key = beyond(key, every)
        return before, keys, self.watermark()

    def by_ids(self, flt: QueueFilter, ids: list[str]) -> dict[str, MessageView]:
        """The messages among ``ids`` that still match ``flt``, read afresh."""
        if not ids:
            return {}
        with self.ctx.db.read() as s:
            names = self._names_in(s)
            if _scope_only(flt):
                # The scope's test here, on the few rows: in SQL its OR tempts SQLite to read
                # the scope's indexes instead of looking the ids up.
                since = flt.attention_since
                assert since is not None
                stmt = _ROWS.where(col(Message.id).in_(ids), *self._common(flt, names))
                rows = [
                    m
                    for m in s.execute(stmt).all()
                    if m.state in UPCOMING or (m.state in NOT_SENT and m.send_at >= since)
                ]
            else:
                stmt = _ROWS.where(col(Message.id).in_(ids), *self._where(flt, names))
                rows = list(s.execute(stmt).all())
            return {m.id: m for m in self._views(s, rows, names)}

    def position(self, flt: QueueFilter, key: Cursor, *, total: int | None = None) -> int:
        """How many matching messages come before ``key``. The count walks the index, so for
        a key in the later half pass the ``total`` and it counts from the end instead."""
        columns = key_columns(flt)
        # Counted from the end: the rows at or after the key, subtracted from the total.
        before = (total is None) != flt.descending
        counted = 0
        with self.ctx.db.read() as s:
            names = self._names_in(s)
            for i, where in enumerate(self._merged(flt, names) or [self._where(flt, names)]):
                own = _arm_columns(columns, flt.sort, i)
                for part in _split(own, key, before=before, inclusive=total is not None):
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
        stmt = (
            select(Message)
            .where(col(Message.batch_id) == batch_id)
            .order_by(col(Message.send_at), col(Message.id))
            .limit(limit)
        )
        with self.ctx.db.read() as s:
            return self._views(s, s.exec(stmt).all(), self._names_in(s))

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


def _arm_columns(columns: list[Any], sort: str, part: int) -> list[Any]:
    """The key columns one part reads. The scope's failure parts (after the first) are a
    week's range of (state, send_at, id), sorted there: their sort column is wrapped so that
    the sort's own index (which holds every message) is not walked for them instead."""
    if part == 0 or sort in ("send_at", "state"):
        return columns
    lead = columns[0]
    detached = lead.concat("") if sort in ("recipient", "text") else lead + 0
    return [detached, *columns[1:]]


def _series_of(s: Session, batch_ids: set[str]) -> dict[str, str]:
    """Batch id -> the series it is an occurrence of (its label), for a page's batches: one
    indexed query (series_occurrence.batch_id), however many rows the page has."""
    if not batch_ids:
        return {}
    stmt = (
        core_select(col(SeriesOccurrence.batch_id), col(Series.rule), col(Series.text))
        .join(Series, col(Series.id) == col(SeriesOccurrence.series_id))
        .where(col(SeriesOccurrence.batch_id).in_(sorted(batch_ids)))
    )
    return {batch: series_label(rule, words) for batch, rule, words in s.execute(stmt)}


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
