"""The schedule plan: worked out before anything is stored, and exactly what is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.plan import (
    AT_PROVIDER,
    HELD_HERE,
    REFUSED_INVALID,
    REFUSED_OPTED_OUT,
    PlanChanged,
    ScheduledBatch,
    plan_details,
    plan_headline,
    summary_lines,
)
from smsdesk.engine.service import Service
from smsdesk.store.models import Message, ProviderAccount

NEW_YORK = "+12125550123"  # a real New York number (quiet hours apply in its zone)
# 23:30 in New York on 1 December (EST, UTC-5).
NY_2330 = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)


def _stored(service: Service) -> list[Message]:
    with service.ctx.db.read() as s:
        return list(s.exec(select(Message)).all())


def test_quiet_hours_move_is_in_the_plan_and_in_what_is_stored(service: Service) -> None:
    plan = service.scheduling.plan([NEW_YORK], "Dr. Patel is running late", NY_2330, "UTC")
    assert _stored(service) == []  # planning stores nothing
    (msg,) = plan.messages
    assert msg.send_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert msg.when_recipient == "Wed 2 Dec 2026 08:00 EST"
    assert msg.when == "Wed 2 Dec 2026 13:00 UTC"  # the desk's zone
    assert msg.moved == (
        "moved from 23:30 to 08:00 next day (quiet hours 21:00–08:00 in America/New_York)"
    )
    assert msg.where == AT_PROVIDER
    assert plan.needs_summary
    assert plan_headline(plan) == (
        "1 message for Wed 2 Dec 2026 08:00 EST (Wed 2 Dec 2026 13:00 UTC here) — moved from "
        "23:30 to 08:00 next day (quiet hours 21:00–08:00 in America/New_York). Sandbox will "
        "schedule it; it goes out even if this computer is off."
    )

    result = service.schedule([NEW_YORK], "Dr. Patel is running late", NY_2330, "UTC")
    assert isinstance(result, ScheduledBatch) and result.plan is not None
    assert result.plan.fingerprint() == plan.fingerprint()
    (stored,) = _stored(service)
    assert (stored.send_at, stored.handling) == (msg.send_at, msg.action)


def test_refused_recipients_are_listed_with_why(service: Service, clock: ManualClock) -> None:
    service.contact_book().opt_out("+15557654321")
    at = clock.now() + timedelta(hours=2)
    plan = service.scheduling.plan(["+15551234567", "+15557654321", "call me"], "Hi", at, "UTC")
    assert [m.number for m in plan.messages] == ["+15551234567"]
    kinds = {r.recipient: r.kind for r in plan.refused}
    assert kinds == {"call me": REFUSED_INVALID, "+15557654321": REFUSED_OPTED_OUT}
    details = plan_details(plan)
    assert any(line.startswith("Not sent to call me: 'call me' is not a phone") for line in details)
    assert any(line.startswith("Not sent to +15557654321: opted out on") for line in details)
    # Schedule stores nothing while an entry is invalid, and says which.
    with pytest.raises(InvalidInput, match="'call me' is not a phone number"):
        service.schedule(["+15551234567", "call me"], "Hi", at, "UTC")
    assert _stored(service) == []


def test_everyone_opted_out_is_a_plan_without_messages(
    service: Service, clock: ManualClock
) -> None:
    service.contact_book().opt_out("+15557654321")
    at = clock.now() + timedelta(hours=2)
    plan = service.scheduling.plan(["+15557654321"], "Hi", at, "UTC")
    assert plan.messages == () and plan.refused[0].kind == REFUSED_OPTED_OUT
    error = plan.refusal_error()
    assert error is not None and error.message.startswith("Nobody left to send to: +15557654321")


def test_a_past_time_is_refused_in_the_zone_it_was_typed_in(
    service: Service, clock: ManualClock
) -> None:
    past = clock.now() - timedelta(hours=2)  # 07:00 UTC = 02:00 in New York
    with pytest.raises(InvalidInput) as err:
        service.scheduling.plan(["+15551234567"], "Hi", past, "America/New_York")
    assert err.value.field == "send_at"
    assert err.value.message == (
        "The send time Tue 1 Dec 2026 02:00 EST is in the past; it is now Tue 1 Dec 2026 04:00 EST."
    )
    # Nor is it described as something that "will be held and sent".
    with pytest.raises(InvalidInput):
        service.describe_handling(past, "UTC")


def test_a_time_just_passed_goes_right_away_not_at_that_time(
    service: Service, clock: ManualClock
) -> None:
    plan = service.scheduling.plan(["+15551234567"], "Hi", clock.now(), "UTC")
    (msg,) = plan.messages
    assert msg.where == HELD_HERE
    assert msg.handling.startswith("Sent through Sandbox from this computer right away")
    assert "needs 0 minutes" not in msg.handling


def test_a_changed_plan_stores_nothing(service: Service, clock: ManualClock) -> None:
    at = clock.now() + timedelta(hours=2)
    numbers = ["+15551234567", "+15557654321"]
    agreed = service.scheduling.plan(numbers, "Hi", at, "UTC")
    service.contact_book().opt_out("+15557654321")
    with pytest.raises(PlanChanged) as err:
        service.schedule(numbers, "Hi", at, "UTC", expected=agreed)
    assert [m.number for m in err.value.plan.messages] == ["+15551234567"]
    assert _stored(service) == []
    result = service.schedule(numbers, "Hi", at, "UTC", expected=err.value.plan)
    assert len(result.messages) == 1


def test_summary_counts_and_the_price_from_your_rate(service: Service, clock: ManualClock) -> None:
    at = clock.now() + timedelta(hours=2)
    numbers = [f"+1555123{i:04d}" for i in range(12)]
    text = "x" * 200  # two segments each
    plan = service.scheduling.plan(numbers, text, at, "UTC")
    rows = dict(summary_lines(plan))
    assert rows["Recipients"] == "12" and rows["Messages"] == "12"
    assert rows["Segments"] == "24 in total"
    assert "Price" not in rows  # no provider quotes one and no rate is known: segments only
    assert rows["First send"] == rows["Last send"] == "Tue 1 Dec 2026 11:00 UTC"

    with service.ctx.db.write() as s:
        acct = s.exec(select(ProviderAccount)).one()
        acct.settings_json = json.dumps({"price_per_segment": "0.05 USD"})
        s.add(acct)
    service.ctx.forget_provider(acct.id or 0)
    priced = dict(summary_lines(service.scheduling.plan(numbers, text, at, "UTC")))
    assert priced["Price"] == "about 1.20 USD (24 segments × 0.05 USD, your rate)"


def test_undo_window_follows_where_the_batch_is(service: Service, clock: ManualClock) -> None:
    at = clock.now() + timedelta(hours=2)
    result = service.schedule(["+15551234567", "+15557654321"], "Hi", at, "UTC")
    window = service.scheduling.undo_window(result.batch_id)
    assert window.possible and window.messages == 2
    # Handed to the Sandbox, which cancels until a minute before the send time.
    Dispatcher(service.ctx).run_once()
    assert {m.state for m in _stored(service)} == {"scheduled"}
    window = service.scheduling.undo_window(result.batch_id)
    assert window.possible
    assert window.until == at - timedelta(minutes=2)
    clock.set(at - timedelta(seconds=90))
    late = service.scheduling.undo(result.batch_id, service.cancel)
    assert not late.ok and late.text == "Too late to undo: the first message is due."
    assert {m.state for m in _stored(service)} == {"scheduled"}  # nothing was cancelled


def test_undo_cancels_the_whole_batch_at_the_provider(service: Service, clock: ManualClock) -> None:
    at = clock.now() + timedelta(hours=2)
    result = service.schedule(["+15551234567", "+15557654321"], "Hi", at, "UTC")
    Dispatcher(service.ctx).run_once()
    outcome = service.scheduling.undo(result.batch_id, service.cancel)
    assert outcome.ok and outcome.text == "Undone: 2 messages cancelled."
    assert {m.state for m in _stored(service)} == {"cancelled"}
    again = service.scheduling.undo_window(result.batch_id)
    assert not again.possible and again.why == "Already undone: every message is cancelled."


def test_recipients_whose_time_differs_are_listed_one_by_one(service: Service) -> None:
    plan = service.scheduling.plan([NEW_YORK, "+15551234567"], "Hi", NY_2330, "UTC")
    headline = plan_headline(plan)
    assert headline.startswith("2 messages — 1 of them for Wed 2 Dec 2026 08:00 EST")
    # The Sandbox's fictional number has no place, so no quiet hours: it goes at 04:30 UTC.
    assert plan_details(plan) == [
        "+15551234567: Wed 2 Dec 2026 04:30 UTC. Sandbox will schedule it; it goes out even if "
        "this computer is off."
    ]
