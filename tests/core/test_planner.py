from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smsdesk.core.planner import EDGE_MARGIN, Action, Capabilities, describe_plan, plan_handoff

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

SANDBOX = Capabilities(True, timedelta(0), timedelta(days=365), True, MIN, 1000)
INFOBIP = Capabilities(True, timedelta(0), timedelta(days=180), True, timedelta(0), 1000)
TELNYX = Capabilities(True, timedelta(minutes=5), timedelta(days=5), False, MIN, 1)
KALEYRA = Capabilities(True, timedelta(minutes=15), timedelta(days=90), False, None, 1)
PLAIN = Capabilities(False)


def test_inside_the_window_hands_off_now() -> None:
    plan = plan_handoff(NOW + timedelta(hours=2), TELNYX, NOW)
    assert plan.action is Action.HAND_OFF_NOW
    assert plan.act_at == NOW


def test_beyond_the_horizon_holds_until_it_enters_the_window() -> None:
    send_at = NOW + timedelta(days=7)
    plan = plan_handoff(send_at, TELNYX, NOW)
    assert plan.action is Action.HOLD_UNTIL
    assert plan.act_at == send_at - timedelta(days=5) + EDGE_MARGIN
    # At that moment the planner hands it off.
    assert plan_handoff(send_at, TELNYX, plan.act_at).action is Action.HAND_OFF_NOW


def test_closer_than_the_minimum_lead_is_sent_locally_at_its_time() -> None:
    send_at = NOW + timedelta(minutes=3)
    plan = plan_handoff(send_at, TELNYX, NOW)
    assert plan.action is Action.SEND_LOCALLY
    assert plan.act_at == send_at
    assert "5 minutes" in plan.reason


def test_exactly_at_the_lead_edge_keeps_a_margin() -> None:
    at_edge = NOW + TELNYX.min_lead
    assert plan_handoff(at_edge, TELNYX, NOW).action is Action.SEND_LOCALLY
    assert plan_handoff(at_edge + EDGE_MARGIN, TELNYX, NOW).action is Action.HAND_OFF_NOW


def test_provider_without_scheduling_always_sends_locally() -> None:
    send_at = NOW + timedelta(days=2)
    plan = plan_handoff(send_at, PLAIN, NOW)
    assert (plan.action, plan.act_at) == (Action.SEND_LOCALLY, send_at)


def test_provider_that_cannot_cancel_is_held_until_the_last_safe_moment() -> None:
    send_at = NOW + timedelta(days=2)
    plan = plan_handoff(send_at, KALEYRA, NOW)
    assert plan.action is Action.HOLD_UNTIL
    assert plan.act_at == send_at - timedelta(minutes=15) - 2 * EDGE_MARGIN
    assert plan.act_at - NOW < timedelta(days=2)
    # Once that moment comes, it is handed off (still more than the minimum lead ahead).
    later = plan_handoff(send_at, KALEYRA, plan.act_at)
    assert later.action is Action.HAND_OFF_NOW


def test_zero_lead_providers_still_send_locally_in_the_last_minute() -> None:
    assert plan_handoff(NOW + timedelta(seconds=20), SANDBOX, NOW).action is Action.SEND_LOCALLY
    assert plan_handoff(NOW + timedelta(minutes=2), SANDBOX, NOW).action is Action.HAND_OFF_NOW


@pytest.mark.parametrize("caps", [SANDBOX, INFOBIP, TELNYX, KALEYRA, PLAIN])
def test_a_past_due_message_is_sent_locally_now(caps: Capabilities) -> None:
    plan = plan_handoff(NOW - timedelta(minutes=2), caps, NOW)
    assert plan.action is Action.SEND_LOCALLY
    assert plan.act_at <= NOW


def test_infobip_holds_beyond_180_days() -> None:
    assert plan_handoff(NOW + timedelta(days=200), INFOBIP, NOW).action is Action.HOLD_UNTIL
    assert plan_handoff(NOW + timedelta(days=170), INFOBIP, NOW).action is Action.HAND_OFF_NOW


def test_sentences() -> None:
    hand = plan_handoff(NOW + timedelta(hours=1), TELNYX, NOW)
    assert describe_plan(hand, "Telnyx", "10:00", "09:00") == (
        "Telnyx will schedule it; it goes out even if this computer is off."
    )
    hold = plan_handoff(NOW + timedelta(days=7), TELNYX, NOW)
    assert describe_plan(hold, "Telnyx", "Dec 8", "Dec 3") == (
        "Held on this computer until Dec 3 (it must be on then), then handed to Telnyx."
    )
    local = plan_handoff(NOW + timedelta(minutes=2), TELNYX, NOW)
    assert "this computer must be on" in describe_plan(local, "Telnyx", "09:02", "09:02")
