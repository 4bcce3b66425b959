"""The engine over a Sandbox whose answers the tests can spoil (see faults.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import ProviderAccount
from tests.engine.faults import FaultySandbox


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
