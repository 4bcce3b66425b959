"""A batch from one Telnyx sender is spread to the sender's documented throughput ("Long Code
0.1 MPS", "Toll-Free 20 MPS"): each message's time in the plan is the spread one, stored and
handed off as shown, and the plan says what was done. A number pool, whose size smsdesk cannot
know, is warned of instead; other providers are left as asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smsdesk.core.clock import ManualClock
from smsdesk.engine.plan import ScheduledBatch, plan_details, plan_headline
from smsdesk.engine.service import Service
from tests.cli_runner import Cli

LONG_CODE, TOLL_FREE = "+12025550100", "+18005550100"
RECIPIENTS = [f"+1202555{n:04d}" for n in range(110, 122)]  # twelve, due together
LIMIT = "Telnyx sends at most 1 message every 10 seconds from a long code"


def _telnyx(service: Service, sender: str | None, **options: object) -> None:
    service.add_account(
        "Telnyx",
        "telnyx",
        api_key="KEY-tx-0123456789",
        base_url="http://127.0.0.1:9",  # never asked: planning opens no connection
        sender=sender,
        options=options or None,
        make_default=True,
    )


def test_a_burst_from_one_long_code_is_spread_one_every_ten_seconds(
    service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    _telnyx(service, LONG_CODE)
    at = clock.now() + timedelta(hours=1)  # Tue 1 Dec 2026 10:00 UTC
    plan = service.scheduling.plan(RECIPIENTS, "Your appointment", at, "UTC")
    times = [m.send_at for m in plan.messages]
    assert times == [at + timedelta(seconds=10 * n) for n in range(12)]
    assert plan.spread == (
        "12 messages from the long code +120…00 will go 1 every 10 s: first at Tue 1 Dec 2026 "
        f"10:00:00 UTC, last at 10:01:50 ({LIMIT})."
    )
    assert LONG_CODE not in plan.spread  # the desk's own number, redacted like any other
    assert plan.warnings == () and plan.needs_summary
    assert plan_headline(plan).startswith(plan.spread)
    # Each recipient with its own time, to the second.
    details = plan_details(plan)
    assert len(details) == 12
    # (The numbers are in Washington: their own time first, the desk's in brackets.)
    assert details[1].startswith(
        "+12025550111: Tue 1 Dec 2026 05:00:10 EST (Tue 1 Dec 2026 10:00:10 UTC here)."
    )
    assert details[-1].startswith(
        "+12025550121: Tue 1 Dec 2026 05:01:50 EST (Tue 1 Dec 2026 10:01:50 UTC here)."
    )
    # What is stored is what the plan showed.
    stored = service.schedule(RECIPIENTS, "Your appointment", at, "UTC")
    assert isinstance(stored, ScheduledBatch) and stored.plan is not None
    assert stored.plan.spread == plan.spread
    kept = {m.recipient: m.send_at for m in service.list_messages()}
    assert [kept[n] for n in RECIPIENTS] == times
    # One more for the same time goes after them.
    one = service.scheduling.plan(["+12025550200"], "Hi", at, "UTC")
    assert one.spread == (
        "The message from the long code +120…00 will go at Tue 1 Dec 2026 10:02:00 UTC "
        f"({LIMIT}). 12 already due from it then keep their times."
    )


def test_spreading_never_pushes_a_message_into_the_recipients_quiet_hours(
    service: Service, clock: ManualClock
) -> None:
    _telnyx(service, LONG_CODE)  # quiet hours as set by default: 21:00–08:00 their time
    at = datetime(2026, 12, 2, 1, 59, tzinfo=UTC)  # 20:59 in Washington, a minute before
    plan = service.scheduling.plan(RECIPIENTS, "Hi", at, "UTC")
    evening = [at + timedelta(seconds=10 * n) for n in range(6)]
    morning = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)  # 08:00 in Washington
    assert [m.send_at for m in plan.messages] == evening + [
        morning + timedelta(seconds=10 * n) for n in range(6)
    ]
    assert plan.spread.endswith(" 6 of them wait for the end of quiet hours.")
    assert "last at 13:00:50" in plan.spread and plan.requested_at == at


def test_moving_a_spread_batch_to_one_time_keeps_it_spread(
    service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    _telnyx(service, LONG_CODE)
    stored = service.schedule(RECIPIENTS, "Hi", clock.now() + timedelta(hours=1), "UTC")
    later = clock.now() + timedelta(hours=3)
    results = service.reschedule(stored.batch_id, later)
    assert all(r.ok for r in results)
    kept = {m.recipient: m.send_at for m in service.list_messages()}
    assert [kept[n] for n in RECIPIENTS] == [later + timedelta(seconds=10 * n) for n in range(12)]
    # Each one moved past the time asked says why; the first goes at the time asked.
    spread = [r for r in results if "spread to 1 every 10 s" in r.detail]
    assert len(spread) == 11


def test_toll_free_goes_twenty_a_second_and_messages_already_apart_stay_put(
    service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    _telnyx(service, LONG_CODE)
    at = clock.now() + timedelta(hours=1)
    many = [f"+1202555{n:04d}" for n in range(200, 245)]  # 45
    plan = service.scheduling.plan(many, "Hi", at, "UTC", sender=TOLL_FREE)
    seconds = [int((m.send_at - at).total_seconds()) for m in plan.messages]
    assert seconds == [0] * 20 + [1] * 20 + [2] * 5
    assert "will go 20 a second" in plan.spread and "toll-free number +180…00" in plan.spread
    # Twelve from a toll-free number fit in its first second: nothing moves, nothing is said.
    plain = service.scheduling.plan(RECIPIENTS, "Hi", at, "UTC", sender=TOLL_FREE)
    assert plain.spread == "" and {m.send_at for m in plain.messages} == {at}
    assert "12 messages for Tue 1 Dec 2026 05:00 EST" in plan_headline(plain)


def test_a_number_pool_is_warned_of_not_spread(service: Service, clock: ManualClock) -> None:
    service.update_settings(quiet_mode="off")
    _telnyx(service, None, messaging_profile_id="4001767e-ce0f-4cae-9d5f-0d5e636e7809")
    at = clock.now() + timedelta(hours=1)
    plan = service.scheduling.plan(RECIPIENTS, "Hi", at, "UTC")
    assert plan.spread == "" and {m.send_at for m in plan.messages} == {at}
    [warning] = plan.warnings
    assert "12 messages go through the messaging profile's number pool" in warning
    assert "cannot see how many numbers the pool has" in warning
    assert plan_details(plan)[0] == f"Warning: {warning}"


def test_sandbox_batches_are_left_as_asked(service: Service, clock: ManualClock) -> None:
    service.update_settings(quiet_mode="off")
    at = clock.now() + timedelta(hours=1)
    plan = service.scheduling.plan(RECIPIENTS, "Your appointment", at, "UTC")
    assert plan.warnings == () and plan.spread == ""
    assert {m.send_at for m in plan.messages} == {at}


def test_cli_schedule_prints_each_spread_time(cli: Cli, clock: ManualClock) -> None:
    assert cli("settings", "--quiet-mode", "off").code == 0
    add = ["provider", "add", "Telnyx", "--kind", "telnyx", "--sender", LONG_CODE]
    assert cli(*add, "--base-url", "http://127.0.0.1:9", stdin="KEY-tx\n").code == 0
    at = (clock.now() + timedelta(hours=1)).isoformat()
    run = cli("schedule", "--provider", "Telnyx", "--to", ",".join(RECIPIENTS), "--text", "Hi",
              "--at", at, "--tz", "UTC")  # fmt: skip
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert "12 messages from the long code +120…00 will go 1 every 10 s" in lines[0]
    assert "last at 10:01:50" in lines[0]
    for n, number in enumerate(RECIPIENTS):
        minute, second = divmod(n * 10, 60)
        here = f"10:{minute:02d}:{second:02d} UTC here"
        when = f"{number}: Tue 1 Dec 2026 05:{minute:02d}:{second:02d} EST (Tue 1 Dec 2026 {here})."
        assert any(line.strip().startswith(when) for line in lines), when
