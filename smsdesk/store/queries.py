"""Queries the engine relies on: lease claims and compare-and-set state changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, and_, bindparam, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from smsdesk.core.lifecycle import State, check_transition
from smsdesk.store.models import Event, Message, OptOut

# The engine's hot paths use Core statements on the tables: the ORM's bulk-update
# bookkeeping and object construction cost more than the SQL itself (see benchmarks).
MESSAGES: Table = Message.metadata.tables["message"]
EVENTS: Table = Event.metadata.tables["event"]
_IN_CHUNK = 500  # ids per IN (...): well under any SQLite build's limit of bound parameters


def _claimable(now: Any) -> Any:
    m = MESSAGES.c
    lease_free = or_(m.lease_expires_at.is_(None), m.lease_expires_at < now)
    due_queued = and_(m.state == State.QUEUED.value, m.due_at <= now, m.attention.is_(None))
    # A hand-off whose lease ran out was interrupted (crash, kill): it must be reconciled.
    interrupted = m.state == State.HANDING_OFF.value
    unknown_due = and_(
        m.state == State.UNKNOWN.value, m.next_sync_at.is_not(None), m.next_sync_at <= now
    )
    return and_(lease_free, or_(due_queued, interrupted, unknown_due))


@dataclass(frozen=True, slots=True)
class Claimed:
    """What the engine needs of a message it has leased (plain values: building ORM objects
    for a claim cost more than the claim's SQL)."""

    lease_owner: str
    id: str
    account_id: int
    recipient: str
    sender: str | None
    text: str
    send_at: datetime
    state: str
    due_at: datetime | None
    idempotency_key: str | None
    attempts: int
    last_error: str | None
    provider_group: str | None
    # The fencing token of this claim: every outcome write checks it with the owner.
    lease_generation: int


_CLAIMED_COLUMNS = [MESSAGES.c[name] for name in Claimed.__slots__ if name != "lease_owner"]


@cache
def _claim_statement(limit: int, dialect: str) -> Any:
    """Built once per limit and dialect: constructing the statement cost as much as running
    it."""
    now = bindparam("now", type_=MESSAGES.c.due_at.type)
    candidates = (
        core_select(MESSAGES.c.id)
        .where(_claimable(now))
        .order_by(MESSAGES.c.due_at)
        .limit(limit)
        # PostgreSQL: skip rows another desk is claiming right now (SQLite ignores this; its
        # write transactions are serialised by BEGIN IMMEDIATE).
        .with_for_update(skip_locked=True)
    )
    if dialect == "postgresql":
        # Picked once, as a materialised CTE: PostgreSQL may otherwise run an IN (sub-select)
        # again for every row it updates, and with SKIP LOCKED each run can pick other rows,
        # so a claim of 5 took all 200 due messages (tests/store/test_claims.py).
        picked = candidates.cte("picked").prefix_with("MATERIALIZED")
        chosen: Any = MESSAGES.c.id.in_(core_select(picked.c.id))
    else:
        chosen = MESSAGES.c.id.in_(candidates.scalar_subquery())
    # The claim condition is repeated on the outer UPDATE so that a row someone else
    # claimed between the sub-select and the update is not taken (PostgreSQL re-checks it).
    # RETURNING hands back the claimed rows themselves: no second query to read them.
    return (
        update(MESSAGES)
        .where(chosen, _claimable(now))
        .values(
            lease_owner=bindparam("owner", type_=MESSAGES.c.lease_owner.type),
            lease_expires_at=bindparam("expires", type_=MESSAGES.c.lease_expires_at.type),
            # Raised in the same statement: a holder whose lease ran out and was taken over
            # can no longer write (its generation no longer matches).
            lease_generation=MESSAGES.c.lease_generation + 1,
        )
        .returning(*_CLAIMED_COLUMNS)
    )


def claim_due(
    session: Session, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Atomically lease up to ``limit`` messages that need the engine now, earliest due first."""
    conn = session.connection()
    rows = conn.execute(
        _claim_statement(limit, conn.dialect.name),
        {"now": now, "owner": owner, "expires": now + lease},
    )
    claimed = [Claimed(owner, *row) for row in rows]
    # RETURNING comes in no particular order; hand the earliest due first (NULLs first, as
    # SQLite's ORDER BY puts them).
    claimed.sort(key=lambda c: (c.due_at is not None, c.due_at or now))
    return claimed


Fence = Mapping[str, int]
"""Message id -> the lease generation its claim received."""


def _by_generation(fence: Fence) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for message_id, generation in fence.items():
        groups[generation].append(message_id)
    return groups


def release(session: Session, fence: Fence, owner: str) -> None:
    """Give the leases back (those still held under this claim's generation)."""
    m = MESSAGES.c
    for generation, ids in _by_generation(fence).items():
        for part in _chunks(ids, _IN_CHUNK):
            session.connection().execute(
                update(MESSAGES)
                .where(m.id.in_(part), m.lease_owner == owner, m.lease_generation == generation)
                .values(lease_owner=None, lease_expires_at=None)
            )


def renew(session: Session, fence: Fence, owner: str, expires: datetime) -> set[str]:
    """Extend the leases still held under this claim's generation; returns their ids (the
    others were taken over and must not be touched any more). A lease that ran out but that
    nobody claimed meanwhile is still ours: a claim would have raised its generation."""
    m = MESSAGES.c
    held: set[str] = set()
    for generation, ids in _by_generation(fence).items():
        for part in _chunks(ids, _IN_CHUNK):
            rows = session.connection().execute(
                update(MESSAGES)
                .where(m.id.in_(part), m.lease_owner == owner, m.lease_generation == generation)
                .values(lease_expires_at=expires)
                .returning(m.id)
            )
            held.update(row[0] for row in rows)
    return held


def transition(
    session: Session,
    message_id: str,
    old: State | Sequence[State],
    new: State,
    now: datetime,
    *,
    kind: str,
    detail: str = "",
    owner: str | None = None,
    generation: int | None = None,
    **changes: Any,
) -> bool:
    """Move a message from ``old`` to ``new`` only if it is still in ``old`` (and leased by
    ``owner`` under ``generation``, when given); records an event. Returns False if the
    message had moved on or its lease was taken over."""
    olds = {old} if isinstance(old, State) else set(old)
    current = session.exec(select(Message.state).where(Message.id == message_id)).first()
    if current is None or State(current) not in olds:
        return False
    state_from = State(current)
    if state_from is not new:
        check_transition(state_from, new)
    conditions = [col(Message.id) == message_id, col(Message.state) == state_from.value]
    if owner is not None:
        conditions.append(col(Message.lease_owner) == owner)
    if generation is not None:
        conditions.append(col(Message.lease_generation) == generation)
    result = session.execute(
        update(Message).where(*conditions).values(state=new.value, updated_at=now, **changes)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return False
    add_event(
        session, message_id, now, kind, detail, state_from=state_from.value, state_to=new.value
    )
    return True


@dataclass(frozen=True, slots=True)
class Move:
    """One message's part of a set-based change: where it goes, the event that records it, and
    columns of its own (the idempotency key, the provider's reference...)."""

    message_id: str
    new: State
    kind: str
    detail: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@cache
def _lock_statement(with_owner: bool) -> Any:
    m = MESSAGES.c
    query = core_select(m.id, m.state, m.lease_generation).where(
        m.id.in_(bindparam("ids", expanding=True)),
        m.state.in_(bindparam("olds", expanding=True)),
    )
    if with_owner:
        query = query.where(m.lease_owner == bindparam("owner"))
    return query.with_for_update()


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement compiled for one dialect, run with executemany on the driver: SQLAlchemy's
    per-row parameter handling cost three times the SQL of a 1,000-message hand-off."""

    sql: str
    names: tuple[str, ...]  # bind names, in the driver's order when it is positional
    positional: bool
    processors: tuple[Callable[[Any], Any] | None, ...]

    def run(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
        """Execute once per row; the rows' values are converted in place. Returns the rows
        changed (summed over the rows by both drivers used here)."""
        for name, process in zip(self.names, self.processors, strict=True):
            if process is None:
                continue
            # Most values repeat (the same instant for a whole chunk): convert each one once.
            memo: dict[Any, Any] = {None: None}
            for row in rows:
                value = row[name]
                if value not in memo:
                    memo[value] = process(value)
                row[name] = memo[value]
        pick = itemgetter(*self.names)
        if self.positional:
            params: list[Any] = [pick(row) for row in rows]
            if len(self.names) == 1:
                params = [(p,) for p in params]
        else:
            params = [{n: row[n] for n in self.names} for row in rows]
        return conn.exec_driver_sql(self.sql, params).rowcount


def _compile(stmt: Any, dialect: Dialect, types: Mapping[str, Any]) -> _DriverStatement:
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    processors = tuple(
        # dialect_impl: the dialect's own form of the type (SQLite stores instants as text).
        types[name].dialect_impl(dialect).bind_processor(dialect) if name in types else None
        for name in names
    )
    return _DriverStatement(compiled.string, names, compiled.positional, processors)


@cache
def _update_statement(
    keys: tuple[str, ...], with_owner: bool, fenced: bool, dialect: Dialect
) -> _DriverStatement:
    """UPDATE ... SET <keys> WHERE id = ? AND state = ? [AND lease_owner = ?]
    [AND lease_generation = ?], for executemany. Built once per shape and dialect: building
    statements cost more than running them."""
    m = MESSAGES.c
    stmt = (
        update(MESSAGES)
        .where(m.id == bindparam("p_id"), m.state == bindparam("p_from"))
        .values({k: bindparam(f"p_{k}") for k in keys})
    )
    if with_owner:
        stmt = stmt.where(m.lease_owner == bindparam("p_owner"))
    if fenced:
        stmt = stmt.where(m.lease_generation == bindparam("p_generation"))
    return _compile(stmt, dialect, {f"p_{k}": m[k].type for k in keys})


@cache
def _insert_events(dialect: Dialect) -> _DriverStatement:
    columns = ("message_id", "at", "kind", "detail", "state_from", "state_to")
    stmt = insert(EVENTS).values({c: bindparam(c) for c in columns})
    return _compile(stmt, dialect, {c: EVENTS.c[c].type for c in columns})


@cache
def _insert_messages(dialect: Dialect) -> _DriverStatement:
    names = tuple(c.name for c in MESSAGES.columns)
    stmt = insert(MESSAGES).values({n: bindparam(n) for n in names})
    return _compile(stmt, dialect, {n: MESSAGES.c[n].type for n in names})


def insert_messages(
    session: Session, rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> None:
    """New messages (every column given, as ``Message`` would fill it) and their events: one
    executemany each, each repeated value (a batch shares its times) converted for the driver
    once. Through the ORM, building and flushing the objects cost more than the SQL."""
    if not rows and not events:
        return
    conn = session.connection()
    if rows:
        _insert_messages(conn.dialect).run(conn, [dict(r) for r in rows])
    if events:
        _insert_events(conn.dialect).run(conn, [dict(e) for e in events])


def transition_many(
    session: Session,
    moves: Sequence[Move],
    old: State | Sequence[State],
    now: datetime,
    *,
    owner: str | None = None,
    fence: Fence | None = None,
    **common: Any,
) -> set[str]:
    """``transition`` for many messages at once, with the same compare-and-set rules: a message
    moves only if it is still in ``old`` (and leased by ``owner`` under the generation
    ``fence`` gives it, when given; a message missing from ``fence`` does not move); one
    event per message moved. ``common`` columns are set on every message moved. Returns the
    ids moved.

    One executemany UPDATE (per set of columns) and one executemany INSERT of the events. To
    know which rows moved, the rows are first read and locked (SELECT ... FOR UPDATE on
    PostgreSQL); on SQLite, whose BEGIN IMMEDIATE already keeps every other writer out, the
    UPDATE is tried first inside a savepoint, and only if some row did not match is it undone
    and the careful way taken."""
    if not moves:
        return set()
    firsts = list({mv.message_id: mv for mv in reversed(moves)}.values())[::-1]
    if fence is not None:
        if owner is None:
            raise ValueError("a fenced change names the lease owner too")
        firsts = [mv for mv in firsts if mv.message_id in fence]
        if not firsts:
            return set()
    conn = session.connection()
    if isinstance(old, State) and conn.dialect.name == "sqlite":
        savepoint = conn.begin_nested()
        sure = {mv.message_id: old.value for mv in firsts}
        if _apply(conn, firsts, sure, now, owner, fence, common) == len(firsts):
            savepoint.commit()
            return set(sure)
        savepoint.rollback()  # someone moved a message meanwhile: find out which
    olds = [old.value] if isinstance(old, State) else [o.value for o in old]
    lock = _lock_statement(owner is not None)
    current: dict[str, str] = {}
    for part in _chunks([mv.message_id for mv in firsts], _IN_CHUNK):
        found = conn.execute(lock, {"ids": part, "olds": olds, "owner": owner})
        current.update(
            (row[0], row[1]) for row in found if fence is None or fence[row[0]] == row[2]
        )
    # Those not found moved on (cancelled, claimed by another desk...): left as they are.
    still = [mv for mv in firsts if mv.message_id in current]
    _apply(conn, still, current, now, owner, fence, common)
    return {mv.message_id for mv in still}


def _apply(
    conn: Connection,
    moves: Sequence[Move],
    states: Mapping[str, str],
    now: datetime,
    owner: str | None,
    fence: Fence | None,
    common: Mapping[str, Any],
) -> int:
    """Move each message from ``states[id]`` (compare-and-set) and record the events of those
    expected to move; returns how many rows the UPDATEs changed."""
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    events: list[dict[str, Any]] = []
    base = {f"p_{k}": v for k, v in common.items()}
    base.update(p_updated_at=now, p_owner=owner)
    shapes: dict[tuple[str, ...], tuple[str, ...]] = {}  # a move's own columns -> all set
    checked: dict[tuple[str, State], str] = {}  # (from, to) allowed -> the target's value
    for mv in moves:
        state = states[mv.message_id]
        target = checked.get((state, mv.new))
        if target is None:
            if state != mv.new.value:
                check_transition(State(state), mv.new)
            target = checked[(state, mv.new)] = mv.new.value
        own = tuple(mv.values)
        shape = shapes.get(own)
        if shape is None:
            shape = shapes[own] = tuple(sorted({*common, *own, "state", "updated_at"}))
        params = base.copy()
        for k, v in mv.values.items():
            params[f"p_{k}"] = v
        params.update(p_id=mv.message_id, p_from=state, p_state=target)
        if fence is not None:
            params["p_generation"] = fence[mv.message_id]
        updates[shape].append(params)
        events.append(
            {
                "message_id": mv.message_id,
                "at": now,
                "kind": mv.kind,
                "detail": mv.detail,
                "state_from": state,
                "state_to": target,
            }
        )
    dialect = conn.dialect
    changed = 0
    for keys, rows in updates.items():
        statement = _update_statement(keys, owner is not None, fence is not None, dialect)
        changed += statement.run(conn, rows)
    if events:
        _insert_events(dialect).run(conn, events)
    return changed


def add_event(
    session: Session,
    message_id: str,
    now: datetime,
    kind: str,
    detail: str = "",
    *,
    state_from: str | None = None,
    state_to: str | None = None,
) -> None:
    session.add(
        Event(
            message_id=message_id,
            at=now,
            kind=kind,
            detail=detail,
            state_from=state_from,
            state_to=state_to,
        )
    )


def events_of(session: Session, message_id: str) -> list[Event]:
    stmt = select(Event).where(Event.message_id == message_id).order_by(col(Event.id))
    return list(session.exec(stmt).all())


def opted_out(session: Session, numbers: Iterable[str]) -> dict[str, OptOut]:
    wanted = list(numbers)
    found = session.exec(select(OptOut).where(col(OptOut.number).in_(wanted))).all()
    return {o.number: o for o in found}


def record_opt_out(session: Session, number: str, now: datetime, source: str) -> OptOut:
    """Remember that ``number`` must not be messaged (the first reason is kept)."""
    existing = session.get(OptOut, number)
    if existing is not None:
        return existing
    entry = OptOut(number=number, at=now, source=source)
    session.add(entry)
    return entry
