"""The message lifecycle: states, allowed transitions, and where a message lives."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"  # held on this computer
    HANDING_OFF = "handing_off"  # request to the provider in flight
    SCHEDULED = "scheduled"  # held by the provider's scheduler
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # outcome of a request could not be established


S = State

TRANSITIONS: dict[State, frozenset[State]] = {
    S.DRAFT: frozenset({S.QUEUED, S.CANCELLED}),
    S.QUEUED: frozenset({S.HANDING_OFF, S.CANCELLED, S.FAILED}),
    # A transient error puts the message back on this computer for a retry.
    S.HANDING_OFF: frozenset({S.SCHEDULED, S.SENT, S.DELIVERED, S.FAILED, S.UNKNOWN, S.QUEUED}),
    # QUEUED: pulled back to this computer (rescheduled beyond the provider's window, or
    # re-created because the provider cannot reschedule in place).
    S.SCHEDULED: frozenset(
        {S.SENT, S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED, S.QUEUED, S.UNKNOWN}
    ),
    S.SENT: frozenset({S.DELIVERED, S.FAILED, S.EXPIRED}),
    # Reconciliation decides; QUEUED only once the provider confirms it never got the message.
    S.UNKNOWN: frozenset(
        {S.SCHEDULED, S.SENT, S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED, S.QUEUED}
    ),
    S.DELIVERED: frozenset(),
    # A user may retry a failed message; it is queued again with a fresh idempotency key.
    S.FAILED: frozenset({S.QUEUED}),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}

FINAL: frozenset[State] = frozenset({S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED})
# States in which the provider holds the message and may report a newer status.
AT_PROVIDER: frozenset[State] = frozenset({S.SCHEDULED, S.SENT})


class TransitionError(ValueError):
    pass


def can_transition(old: State, new: State) -> bool:
    return new in TRANSITIONS[old]


def check_transition(old: State, new: State) -> None:
    if not can_transition(old, new):
        raise TransitionError(f"a message cannot go from {old.value} to {new.value}")


def sources_of(new: State) -> frozenset[State]:
    """Every state from which ``new`` can be reached."""
    return frozenset(old for old, targets in TRANSITIONS.items() if new in targets)


def where_it_lives(state: State) -> str:
    """The words the Queue uses for where a message is right now."""
    if state in (S.DRAFT, S.QUEUED):
        return "on this computer"
    if state is S.HANDING_OFF:
        return "being handed off"
    if state is S.SCHEDULED:
        return "at provider"
    if state is S.UNKNOWN:
        return "unknown: checking with provider"
    if state is S.CANCELLED:
        return "cancelled"
    return "sent by provider" if state in (S.SENT, S.DELIVERED) else "not sent"
