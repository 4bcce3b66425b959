"""Queries for changes at a provider (cancel, reschedule, withdrawal) recorded as intents.

An intent is committed before the request: the messages move from ``scheduled`` to an intent
state under a lease whose generation is raised, and every later write (settling, putting
back, flagging) is fenced by that owner and generation, so that only the holder of the
current lease can record what the request did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from smsdesk.core.lifecycle import INTENTS, State, check_transition
from smsdesk.store.queries import MESSAGES, add_event

_INTENT_VALUES = [s.value for s in INTENTS]


@dataclass(frozen=True, slots=True)
class Held:
    """A message under an intent, as its lease holder sees it."""

    id: str
    account_id: int
    state: State
    provider_ref: str | None
    provider_group: str | None
    send_at: datetime
    intent_send_at: datetime | None
    zone: str
    generation: int


_HELD_COLUMNS = (
    MESSAGES.c.id,
    MESSAGES.c.account_id,
    MESSAGES.c.state,
    MESSAGES.c.provider_ref,
    MESSAGES.c.provider_group,
    MESSAGES.c.send_at,
    MESSAGES.c.intent_send_at,
    MESSAGES.c.zone,
    MESSAGES.c.lease_generation,
)


def _held(row: Any) -> Held:
    return Held(row[0], row[1], State(row[2]), row[3], row[4], row[5], row[6], row[7], int(row[8]))


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    state: State


def group_members(session: Session, account_id: int, group: str) -> list[Member]:
    """The messages of a provider group (an Infobip bulk) still held there or being changed."""
    m = MESSAGES.c
    rows = session.connection().execute(
        select(m.id, m.state).where(
            m.account_id == account_id,
            m.provider_group == group,
            m.state.in_([State.SCHEDULED.value, *_INTENT_VALUES]),
        )
    )
    return [Member(row[0], State(row[1])) for row in rows]


@dataclass(frozen=True, slots=True)
class Intent:
    """One message's part of an intent: the state it takes and the event that says why."""

    message_id: str
    new: State
    detail: str
    intent_send_at: datetime | None = None


def begin(
    session: Session, intents: Sequence[Intent], owner: str, now: datetime, lease: timedelta
) -> list[Held] | None:
    """Move every message from ``scheduled`` into its intent state under a new lease (the
    generation raised), with an event each. None, changing nothing the caller keeps, when
    one of them is no longer ``scheduled``: the caller rolls the transaction back."""
    m = MESSAGES.c
    held: list[Held] = []
    for intent in intents:
        check_transition(State.SCHEDULED, intent.new)
        row = (
            session.connection()
            .execute(
                update(MESSAGES)
                .where(m.id == intent.message_id, m.state == State.SCHEDULED.value)
                .values(
                    state=intent.new.value,
                    intent_send_at=intent.intent_send_at,
                    lease_owner=owner,
                    lease_expires_at=now + lease,
                    lease_generation=m.lease_generation + 1,
                    updated_at=now,
                )
                .returning(*_HELD_COLUMNS)
            )
            .first()
        )
        if row is None:
            return None
        add_event(
            session,
            intent.message_id,
            now,
            intent.new.value,
            intent.detail,
            state_from=State.SCHEDULED.value,
            state_to=intent.new.value,
        )
        held.append(_held(row))
    return held


def _fence(held: Held, owner: str) -> Any:
    m = MESSAGES.c
    return and_(
        m.id == held.id,
        m.state == held.state.value,
        m.lease_owner == owner,
        m.lease_generation == held.generation,
    )


def settle(
    session: Session,
    held: Held,
    owner: str,
    new: State,
    now: datetime,
    *,
    kind: str,
    detail: str,
    **changes: Any,
) -> bool:
    """Record what the request did: ``held`` moves to ``new`` and its lease ends, only if it
    is still in its intent state under this owner's lease of this generation."""
    check_transition(held.state, new)
    result = session.connection().execute(
        update(MESSAGES)
        .where(_fence(held, owner))
        .values(
            state=new.value,
            updated_at=now,
            intent_send_at=None,
            lease_owner=None,
            lease_expires_at=None,
            **changes,
        )
    )
    if result.rowcount != 1:
        return False
    add_event(session, held.id, now, kind, detail, state_from=held.state.value, state_to=new.value)
    return True


def let_go(
    session: Session,
    held: Held,
    owner: str,
    retry_at: datetime | None,
    now: datetime,
    *,
    attention: str | None = None,
) -> bool:
    """Leave the intent for reconciliation: the lease ends (or, with ``retry_at``, is kept
    out of reach until then, a back-off); ``attention`` asks the user to decide instead."""
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": retry_at}
    if attention is not None:
        values["attention"] = attention
    result = session.connection().execute(
        update(MESSAGES).where(_fence(held, owner)).values(**values)
    )
    if result.rowcount == 1 and attention is not None:
        add_event(session, held.id, now, "attention", attention)
    return result.rowcount == 1


def _unfinished(now: datetime) -> Any:
    m = MESSAGES.c
    return and_(
        m.state.in_(_INTENT_VALUES),
        m.attention.is_(None),
        or_(m.lease_expires_at.is_(None), m.lease_expires_at < now),
    )


def any_unfinished(session: Session, now: datetime) -> bool:
    """Whether ``claim_unfinished`` would find anything: a read, so that a pass with nothing
    to finish does not take the write lock for it."""
    m = MESSAGES.c
    found = session.connection().execute(select(m.id).where(_unfinished(now)).limit(1))
    return found.first() is not None


def claim_unfinished(
    session: Session, owner: str, now: datetime, lease: timedelta, limit: int = 1000
) -> list[Held]:
    """Lease intents whose holder is gone (lease expired or let go) and that no user has
    been asked about, raising their generation; whole groups come in one claim as far as
    ``limit`` allows."""
    m = MESSAGES.c
    claimable = _unfinished(now)
    candidates = (
        select(m.id)
        .where(claimable)
        .order_by(m.account_id, m.provider_group, m.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.connection().execute(
        update(MESSAGES)
        .where(m.id.in_(candidates.scalar_subquery()), claimable)
        .values(
            lease_owner=owner,
            lease_expires_at=now + lease,
            lease_generation=m.lease_generation + 1,
        )
        .returning(*_HELD_COLUMNS)
    )
    return [_held(row) for row in rows]


def withdrawing_in_group(session: Session, account_id: int, group: str) -> int:
    """How many messages of a group are being withdrawn with it (then a reschedule of one of
    them cannot be made in place: the group as a whole is withdrawn)."""
    m = MESSAGES.c
    rows = session.connection().execute(
        select(m.id).where(
            m.account_id == account_id,
            m.provider_group == group,
            m.state == State.WITHDRAWING.value,
        )
    )
    return len(rows.all())
