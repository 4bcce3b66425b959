from __future__ import annotations

import pytest

from smsdesk.core.lifecycle import (
    AT_PROVIDER,
    FINAL,
    INTENTS,
    TRANSITIONS,
    State,
    TransitionError,
    can_transition,
    check_transition,
    sources_of,
    where_it_lives,
)

S = State

ALLOWED = {
    (S.DRAFT, S.QUEUED),
    (S.DRAFT, S.CANCELLED),
    (S.QUEUED, S.HANDING_OFF),
    (S.QUEUED, S.CANCELLED),
    (S.QUEUED, S.FAILED),
    (S.HANDING_OFF, S.SCHEDULED),
    (S.HANDING_OFF, S.SENT),
    (S.HANDING_OFF, S.DELIVERED),
    (S.HANDING_OFF, S.FAILED),
    (S.HANDING_OFF, S.UNKNOWN),
    (S.HANDING_OFF, S.QUEUED),
    (S.SCHEDULED, S.SENT),
    (S.SCHEDULED, S.DELIVERED),
    (S.SCHEDULED, S.FAILED),
    (S.SCHEDULED, S.EXPIRED),
    (S.SCHEDULED, S.CANCELLED),
    (S.SCHEDULED, S.QUEUED),
    (S.SCHEDULED, S.UNKNOWN),
    (S.SENT, S.DELIVERED),
    (S.SENT, S.FAILED),
    (S.SENT, S.EXPIRED),
    (S.UNKNOWN, S.SCHEDULED),
    (S.UNKNOWN, S.SENT),
    (S.UNKNOWN, S.DELIVERED),
    (S.UNKNOWN, S.FAILED),
    (S.UNKNOWN, S.EXPIRED),
    (S.UNKNOWN, S.CANCELLED),
    (S.UNKNOWN, S.QUEUED),
    (S.FAILED, S.QUEUED),
    # Intents: entered only from scheduled, before the request to the provider.
    (S.SCHEDULED, S.CANCELLING),
    (S.SCHEDULED, S.RESCHEDULING),
    (S.SCHEDULED, S.WITHDRAWING),
    (S.CANCELLING, S.CANCELLED),
    (S.CANCELLING, S.SCHEDULED),
    (S.RESCHEDULING, S.SCHEDULED),
    (S.RESCHEDULING, S.QUEUED),
    (S.WITHDRAWING, S.QUEUED),
    (S.WITHDRAWING, S.SCHEDULED),
    # The user gives up on a change whose outcome the provider could not tell.
    (S.RESCHEDULING, S.CANCELLED),
    (S.WITHDRAWING, S.CANCELLED),
    *(
        (intent, gone)
        for intent in (S.CANCELLING, S.RESCHEDULING, S.WITHDRAWING)
        for gone in (S.SENT, S.DELIVERED, S.FAILED, S.EXPIRED)
    ),
}


@pytest.mark.parametrize("old", list(State))
@pytest.mark.parametrize("new", list(State))
def test_the_whole_transition_table(old: State, new: State) -> None:
    expected = (old, new) in ALLOWED
    assert can_transition(old, new) is expected
    if expected:
        check_transition(old, new)
    else:
        with pytest.raises(TransitionError, match=f"from {old.value} to {new.value}"):
            check_transition(old, new)


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(State)


def test_final_states_cannot_move_except_retrying_a_failure() -> None:
    for state in FINAL - {S.FAILED}:
        assert TRANSITIONS[state] == frozenset()
    assert TRANSITIONS[S.FAILED] == frozenset({S.QUEUED})


def test_a_message_in_flight_cannot_be_cancelled_locally() -> None:
    # Cancelling during handing_off would race the provider: the engine must settle it first.
    assert not can_transition(S.HANDING_OFF, S.CANCELLED)
    assert not can_transition(S.SENT, S.CANCELLED)


def test_unknown_is_only_reached_from_requests() -> None:
    assert sources_of(S.UNKNOWN) == {S.HANDING_OFF, S.SCHEDULED}


def test_where_it_lives_speaks_the_queue_words() -> None:
    assert where_it_lives(S.QUEUED) == "on this computer"
    assert where_it_lives(S.SCHEDULED) == "at provider"
    assert where_it_lives(S.HANDING_OFF) == "being handed off"


def test_intents_start_only_at_the_provider_and_are_left_to_their_settlement() -> None:
    for intent in INTENTS:
        assert sources_of(intent) == {S.SCHEDULED}
        # A status sync must not read a withdrawn group as cancelled: it leaves intents alone.
        assert intent not in AT_PROVIDER and intent not in FINAL
    # Settled by the engine, a withdrawn sibling goes back to the queue and a moved message
    # stays at (or comes back from) the provider: never cancelled (tests/engine/
    # test_actions.py). Only the user may mark one cancelled, after the provider could not
    # tell what it holds.
    assert {S.QUEUED, S.CANCELLED} <= TRANSITIONS[S.WITHDRAWING]
    assert {S.SCHEDULED, S.QUEUED, S.CANCELLED} <= TRANSITIONS[S.RESCHEDULING]


def test_where_it_lives_says_what_the_provider_is_being_asked() -> None:
    assert where_it_lives(S.CANCELLING) == "at provider: being cancelled"
    assert where_it_lives(S.RESCHEDULING) == "at provider: being moved"
    assert where_it_lives(S.WITHDRAWING) == "at provider: being withdrawn"
