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
    # Intents: a change at the provider is committed before its request and settled after
    # it, so a crash in between leaves a record that reconciliation can finish.
    CANCELLING = "cancelling"  # a cancel request to the provider
    RESCHEDULING = "rescheduling"  # a move to ``intent_send_at`` at the provider
    WITHDRAWING = "withdrawing"  # withdrawn with its group (an Infobip bulk), to go again


S = State

TRANSITIONS: dict[State, frozenset[State]] = {
    S.DRAFT: frozenset({S.QUEUED, S.CANCELLED}),
    S.QUEUED: frozenset({S.HANDING_OFF, S.CANCELLED, S.FAILED}),
    # A transient error puts the message back on this computer for a retry.
    S.HANDING_OFF: frozenset({S.SCHEDULED, S.SENT, S.DELIVERED, S.FAILED, S.UNKNOWN, S.QUEUED}),
    # QUEUED: pulled back to this computer (rescheduled beyond the provider's window, or
    # re-created because the provider cannot reschedule in place).
    S.SCHEDULED: frozenset(
        {
            S.SENT,
            S.DELIVERED,
            S.FAILED,
            S.EXPIRED,
            S.CANCELLED,
            S.QUEUED,
            S.UNKNOWN,
            S.CANCELLING,
            S.RESCHEDULING,
            S.WITHDRAWING,
        }
    ),
    # Each intent settles as its request turned out. SCHEDULED: refused (unchanged at the
    # provider) or, for a reschedule, moved there; the rest: the provider had already sent it.
    S.CANCELLING: frozenset({S.CANCELLED, S.SCHEDULED, S.SENT, S.DELIVERED, S.FAILED, S.EXPIRED}),
    # QUEUED: withdrawn and held on this computer for the new time. CANCELLED (here and
    # below): the user gives up on a change whose outcome the provider could not tell.
    S.RESCHEDULING: frozenset(
        {S.SCHEDULED, S.QUEUED, S.SENT, S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED}
    ),
    # QUEUED: withdrawn with its group, to be handed off again unchanged.
    S.WITHDRAWING: frozenset(
        {S.QUEUED, S.SCHEDULED, S.SENT, S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED}
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
# States in which the provider holds the message and may report a newer status. Intents are
# not among them: while a request changes a message only its own settlement or
# reconciliation may move it (a status sync would read a withdrawn bulk as cancelled).
AT_PROVIDER: frozenset[State] = frozenset({S.SCHEDULED, S.SENT})
# A change at the provider is in flight or was interrupted; reconciliation finishes it.
INTENTS: frozenset[State] = frozenset({S.CANCELLING, S.RESCHEDULING, S.WITHDRAWING})


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


# The Queue's default scope, "upcoming and needs attention": not yet sent (UPCOMING), or not
# sent and the user must look at it (NOT_SENT; the Queue adds those of the last week).
UPCOMING = frozenset(
    s.value
    for s in (
        State.QUEUED, State.HANDING_OFF, State.SCHEDULED, State.CANCELLING,
        State.RESCHEDULING, State.WITHDRAWING, State.UNKNOWN,
    )
)  # fmt: skip
NOT_SENT = frozenset({State.FAILED.value, State.EXPIRED.value})


def where_it_lives(state: State) -> str:
    """The words the Queue uses for where a message is right now."""
    if state in (S.DRAFT, S.QUEUED):
        return "on this computer"
    if state is S.HANDING_OFF:
        return "being handed off"
    if state is S.SCHEDULED:
        return "at provider"
    if state is S.CANCELLING:
        return "at provider: being cancelled"
    if state is S.RESCHEDULING:
        return "at provider: being moved"
    if state is S.WITHDRAWING:
        # Withdrawn with its group (an Infobip bulk); its history says it goes again.
        return "at provider: being withdrawn"
    if state is S.UNKNOWN:
        return "unknown: checking with provider"
    if state is S.CANCELLED:
        return "cancelled"
    return "sent by provider" if state in (S.SENT, S.DELIVERED) else "not sent"
