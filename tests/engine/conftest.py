"""The engine over a Sandbox whose answers the tests can spoil (see faults.py), and the
loopback provider simulators (a test module may serve its own under the same name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import ProviderAccount
from tests.engine.faults import FaultySandbox
from tests.engine.provider_setup import IB_KEY, TX_KEY, serving
from tests.engine.reply_setup import add_twilio, twilio_serving
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.telnyx import TelnyxSimulator
from tests.simulators.twilio import TwilioSimulator


@pytest.fixture
def sandbox(isolated_home: Path, clock: ManualClock) -> FaultySandbox:
    isolated_home.mkdir(parents=True, exist_ok=True)
    return FaultySandbox(SandboxProvider(isolated_home / "sandbox.db", clock))


@pytest.fixture
def fctx(isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox) -> Iterator[AppContext]:
    """A context whose every account is served by ``sandbox``."""

    def factory(account: ProviderAccount) -> FaultySandbox:
        return sandbox

    context = AppContext.open(isolated_home, clock=clock, provider_factory=factory)
    yield context
    context.close()


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioSimulator]:
    yield from twilio_serving(clock)


@pytest.fixture
def tw(service: Service, twilio: TwilioSimulator) -> Service:
    """``service`` with ``twilio`` as its default account."""
    return add_twilio(service, twilio)


@pytest.fixture
def infobip(clock: ManualClock) -> Iterator[InfobipSimulator]:
    yield from serving(InfobipSimulator(clock, api_key=IB_KEY, stall=5.0))


@pytest.fixture
def telnyx(clock: ManualClock) -> Iterator[TelnyxSimulator]:
    yield from serving(TelnyxSimulator(clock, api_key=TX_KEY, stall=5.0))
