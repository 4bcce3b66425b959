"""Queries the engine relies on: lease claims and compare-and-set state changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from smsdesk.core.lifecycle import State, check_transition
from smsdesk.store.models import Event, Message, OptOut


def _claimable(now: datetime) -> Any:
    lease_free = or_(col(Message.lease_expires_at).is_(None), col(Message.lease_expires_at) < now)
    due_queued = and_(
        col(Message.state) == State.QUEUED.value,
        col(Message.due_at) <= now,
        col(Message.attention).is_(None),
    )
    # A hand-off whose lease ran out was interrupted (crash, kill): it must be reconciled.
    interrupted = col(Message.state) == State.HANDING_OFF.value
    unknown_due = and_(
        col(Message.state) == State.UNKNOWN.value,
        col(Message.next_sync_at).is_not(None),
        col(Message.next_sync_at) <= now,
    )
    return and_(lease_free, or_(due_queued, interrupted, unknown_due))


def claim_due(
    session: Session, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Message]:
    """Atomically lease up to ``limit`` messages that need the engine now."""
    expires = now + lease
    candidates = (
        select(Message.id)
        .where(_claimable(now))
        .order_by(col(Message.due_at))
        .limit(limit)
        # PostgreSQL: skip rows another desk is claiming right now (SQLite ignores this; its
        # write transactions are serialised by BEGIN IMMEDIATE).
        .with_for_update(skip_locked=True)
    )
    # The claim condition is repeated on the outer UPDATE so that a row someone else
    # claimed between the sub-select and the update is not taken (PostgreSQL re-checks it).
    stmt = (
        update(Message)
        .where(col(Message.id).in_(candidates.scalar_subquery()), _claimable(now))
        .values(lease_owner=owner, lease_expires_at=expires)
        .returning(col(Message.id))
    )
    # RETURNING names the rows just claimed; reading them back by owner would scan the table.
    ids = list(session.execute(stmt).scalars())
    if not ids:
        return []
    claimed = select(Message).where(col(Message.id).in_(ids)).order_by(col(Message.due_at))
    return list(session.exec(claimed).all())


def release(session: Session, ids: Iterable[str], owner: str) -> None:
    session.execute(
        update(Message)
        .where(col(Message.id).in_(list(ids)), col(Message.lease_owner) == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )


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
    **changes: Any,
) -> bool:
    """Move a message from ``old`` to ``new`` only if it is still in ``old`` (and leased by
    ``owner``, when given); records an event. Returns False if the message had moved on."""
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
