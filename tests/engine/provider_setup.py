"""Loopback provider simulators served for one test, and the accounts the engine tests add
over them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from smsdesk.engine.service import Service
from tests.simulators.base import Simulator
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.telnyx import TelnyxSimulator

S = TypeVar("S", bound=Simulator)

IB_KEY = "ib-engine-key-8d2f71"
TX_KEY = "KEY01b9d4-telnyx-engine-7a2c"
TX_SENDER = "+12025550100"


def serving(sim: S) -> Iterator[S]:
    """``sim`` listening on loopback while the caller (a fixture) yields it."""
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def add_default(
    service: Service,
    sim: Simulator,
    name: str,
    options: Mapping[str, object] | None = None,
    sender: str | None = None,
) -> Service:
    """A default account ``name`` (its kind in lower case) over ``sim``, with the key it
    expects; requests give up after a second, so a stalled answer is quickly a lost one."""
    service.add_account(
        name,
        name.lower(),
        api_key=sim.api_key,
        base_url=sim.base_url,
        sender=sender,
        options={**(options or {}), "timeout": "1.0"},
        make_default=True,
    )
    return service


def add_infobip(service: Service, sim: InfobipSimulator) -> Service:
    return add_default(service, sim, "Infobip")


def add_telnyx(service: Service, sim: TelnyxSimulator) -> Service:
    return add_default(service, sim, "Telnyx", sender=TX_SENDER)
