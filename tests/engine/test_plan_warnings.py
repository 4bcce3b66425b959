"""A batch that would exceed Telnyx's documented per-sender throughput ("Long Code 0.1 MPS")
is warned of in the plan, so in Compose and in the command line's schedule output, before
anything is stored; other senders and providers get no such warning."""

from __future__ import annotations

from datetime import timedelta

from smsdesk.core.clock import ManualClock
from smsdesk.engine.plan import ScheduledBatch, plan_details
from smsdesk.engine.service import Service
from tests.cli_runner import Cli

LONG_CODE, TOLL_FREE = "+12025550100", "+18005550100"
# Ten recipients due at one time: from a long code the last leaves about 90 s late.
RECIPIENTS = [f"+1202555{n:04d}" for n in range(110, 120)]


def _telnyx(service: Service, sender: str) -> None:
    service.add_account(
        "Telnyx",
        "telnyx",
        api_key="KEY-tx-0123456789",
        base_url="http://127.0.0.1:9",  # never asked: planning opens no connection
        sender=sender,
        make_default=True,
    )


def test_a_burst_from_one_long_code_is_warned_of_in_the_plan(
    service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    _telnyx(service, LONG_CODE)
    at = clock.now() + timedelta(hours=1)
    plan = service.scheduling.plan(RECIPIENTS, "Your appointment", at, "UTC")
    [warning] = plan.warnings
    assert "10 messages from the long code" in warning
    assert "one every 10 seconds" in warning and "about 2 minutes late" in warning
    assert plan.needs_summary
    assert plan_details(plan)[0] == f"Warning: {warning}"
    # Two messages a minute apart are within the rate: no warning.
    assert service.scheduling.plan(RECIPIENTS[:2], "Hi", at, "UTC").warnings == ()
    # The sender given for this batch counts, not the account's.
    assert service.scheduling.plan(RECIPIENTS, "Hi", at, "UTC", sender=TOLL_FREE).warnings == ()
    # Scheduling stores the plan it warned of.
    stored = service.schedule(RECIPIENTS, "Your appointment", at, "UTC")
    assert isinstance(stored, ScheduledBatch) and stored.plan is not None
    assert stored.plan.warnings == plan.warnings


def test_sandbox_batches_carry_no_throughput_warning(service: Service, clock: ManualClock) -> None:
    at = clock.now() + timedelta(hours=1)
    plan = service.scheduling.plan(RECIPIENTS, "Your appointment", at, "UTC")
    assert plan.warnings == () and len(plan.messages) == 10


def test_cli_schedule_prints_the_throughput_warning(cli: Cli, clock: ManualClock) -> None:
    add = ["provider", "add", "Telnyx", "--kind", "telnyx", "--sender", LONG_CODE]
    assert cli(*add, "--base-url", "http://127.0.0.1:9", stdin="KEY-tx\n").code == 0
    at = (clock.now() + timedelta(hours=1)).isoformat()
    run = cli("schedule", "--provider", "Telnyx", "--to", ",".join(RECIPIENTS), "--text", "Hi",
              "--at", at)  # fmt: skip
    assert run.code == 0, run.err
    warning = next(line for line in run.out.splitlines() if "Warning:" in line)
    assert (
        "10 messages from the long code" in warning and "Telnyx sends from a long code" in warning
    )
