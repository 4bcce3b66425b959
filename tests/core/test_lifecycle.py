from __future__ import annotations

import pytest

from smsdesk.core.lifecycle import (
    FINAL,
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
