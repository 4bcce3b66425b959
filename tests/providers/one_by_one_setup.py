"""Set-up shared by the Telnyx and Twilio suites. Both providers take one message per request
and their suites drive smsdesk alike: the command line of one home (``Desk``), or the service
with one account on the loopback simulator (``with_account``), on one ManualClock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from tests.cli_runner import Run, run_cli
from tests.engine.provider_setup import add_default
from tests.simulators.base import Fault, Simulator

Sim = TypeVar("Sim", bound=Simulator)

# The faults at a create request, each with whether the provider processed the create before
# the answer went wrong.
AMBIGUOUS = [
    (Fault.SERVER_ERROR, False),
    (Fault.RESET, False),
    (Fault.TIMEOUT, True),
    (Fault.MALFORMED, True),
    (Fault.LOST, True),
]


class Desk(Generic[Sim]):
    """The command line of one smsdesk home, with an account (the suite's ``add``) on the
    provider's simulator."""

    to: ClassVar[str]  # whom ``schedule`` writes to unless told

    def __init__(self, clock: ManualClock, sim: Sim) -> None:
        self.clock, self.sim = clock, sim
        # The clock starts at 04:00 in New York: these tests are about the provider, not
        # about quiet hours, which would move every message to 08:00.
        assert self.cli("settings", "--quiet-mode", "off").code == 0

    def cli(self, *argv: str, stdin: str = "") -> Run:
        return run_cli(self.clock, *argv, stdin=stdin)

    def at(self, ahead: timedelta) -> str:
        return (self.clock.now() + ahead).isoformat()

    def schedule(self, ahead: timedelta, to: str = "", *extra: str) -> str:
        at = self.at(ahead)
        run = self.cli("schedule", "--to", to or self.to, "--text", "See you", "--at", at, *extra)
        assert run.code == 0, run.err
        return last_id(run.out)

    def dispatch(self) -> dict[str, int]:
        run = self.cli("dispatch", "--once", "--json")
        assert run.code == 0, run.err
        result: dict[str, int] = run.json()
        return result

    def show(self, msg_id: str) -> dict[str, Any]:
        run = self.cli("show", msg_id, "--json")
        assert run.code == 0, run.err
        shown: dict[str, Any] = run.json()[0]
        return shown


def last_id(schedule_output: str) -> str:
    # "  m-abc123  +1202…  Telnyx will schedule it…": the id is the first word of the line.
    return schedule_output.splitlines()[-1].split()[0]


def with_account(
    service: Service, sim: Simulator, name: str, sender: str, **options: str
) -> Service:
    """``service`` with one default account ``name`` on ``sim``, and quiet hours off."""
    add_default(service, sim, name, options, sender)
    # 09:00 UTC is 04:00 in New York; these tests are about faults, not quiet hours.
    service.update_settings(quiet_mode="off")
    return service


def schedule_in_an_hour(svc: Service, clock: ManualClock, to: str) -> str:
    result = svc.schedule([to], "Your appointment", clock.now() + timedelta(hours=1), "UTC")
    return result.messages[0].message.id
