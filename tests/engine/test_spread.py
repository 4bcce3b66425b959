"""Spreading send times to a sender's rate: around the sender's other messages, which keep
their times, and across batches scheduled one after the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smsdesk.core.clock import ManualClock
from smsdesk.core.planner import SendRate
from smsdesk.engine.service import Service
from smsdesk.engine.spread import spread_times

T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LONG_CODE = SendRate(1, timedelta(seconds=10), "the long code", "1 every 10 s")
TOLL_FREE = SendRate(20, timedelta(seconds=1), "the toll-free number", "20 a second")


def s(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_new_messages_fill_the_gaps_between_the_senders_others() -> None:
    assert spread_times([T, T], LONG_CODE, taken=[s(0), s(30)]) == [s(10), s(20)]
    assert spread_times([s(5), s(5)], LONG_CODE, taken=[s(0), s(10), s(20)]) == [s(30), s(40)]
    # Exactly one slot apart is within the rate.
    assert spread_times([s(10)], LONG_CODE, taken=[s(0), s(20)]) == [s(10)]


def test_twenty_a_second_counts_those_already_in_the_second() -> None:
    spread = spread_times([T] * 45, TOLL_FREE, taken=[T] * 10)
    assert [int((t - T).total_seconds()) for t in spread] == [0] * 10 + [1] * 20 + [2] * 15


def test_a_second_batch_from_the_same_long_code_goes_after_the_first(
    service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    service.add_account("Telnyx", "telnyx", api_key="KEY-tx-0123456789",
                        base_url="http://127.0.0.1:9", sender="+12025550100",
                        make_default=True)  # fmt: skip
    at = clock.now() + timedelta(hours=1)
    first = [f"+1202555{n:04d}" for n in range(110, 122)]
    service.schedule(first, "Hi", at, "UTC")
    plan = service.scheduling.plan(["+12025550200", "+12025550201"], "Hi", at, "UTC")
    assert [m.send_at for m in plan.messages] == [
        at + timedelta(seconds=120 + 10 * n) for n in range(2)
    ]
    assert "12 already due from it then keep their times." in plan.spread
    # The same time from another sender is that sender's own.
    other = service.scheduling.plan(["+12025550200"], "Hi", at, "UTC", sender="+12025550101")
    assert [m.send_at for m in other.messages] == [at] and other.spread == ""
