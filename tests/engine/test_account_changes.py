"""A change to a provider account made in one process (the window's Settings) reaches the
engine running in another context at its next pass, without a restart: a key replaced there
is the key the engine sends with. A refused key fails nothing: the messages wait for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from tests.simulators.telnyx import PROFILE_ID, TelnyxSimulator

KEY = "KEY019f3c2e-telnyx-secret-5a7b"
WRONG = "KEY019f3c2e-telnyx-secret-0000"


@pytest.fixture
def telnyx(clock: ManualClock) -> Iterator[TelnyxSimulator]:
    sim = TelnyxSimulator(clock, api_key=KEY)
    with sim:
        yield sim


def test_a_key_replaced_in_settings_is_used_by_the_running_engine(
    isolated_home: Path, clock: ManualClock, telnyx: TelnyxSimulator
) -> None:
    window = AppContext.open(isolated_home, clock=clock)
    engine = AppContext.open(isolated_home, clock=clock)  # the engine's own, as in the app
    try:
        desk = Service(window)
        desk.update_settings(quiet_mode="off")
        desk.add_account(
            "Telnyx",
            "telnyx",
            api_key=WRONG,  # a typo: Telnyx refuses it
            base_url=telnyx.base_url,
            sender="+12025550100",
            options={"messaging_profile_id": PROFILE_ID},
            make_default=True,
        )
        [m] = desk.schedule(
            ["+12025550123"], "Your appointment", clock.now() + timedelta(hours=1), "UTC"
        ).messages
        dispatcher = Dispatcher(engine)
        dispatcher.run_once()
        assert telnyx.creates_by_recipient() == {}  # refused: the engine has a client with WRONG
        # Nothing was taken, so nothing failed: the message waits with the reason.
        [waiting] = desk.show(m.message.id)
        assert waiting.state == "queued" and "refused the API key" in (waiting.last_error or "")
        dispatcher.run_once()
        assert telnyx.creates_by_recipient() == {}  # held back, not asked again and again

        desk.accounts.update_account(
            "Telnyx",
            base_url=telnyx.base_url,
            sender="+12025550100",
            options={"messaging_profile_id": PROFILE_ID},
            api_key=KEY,
        )
        dispatcher.run_once()  # at once: the change freed it, and the engine opened a new client
        assert desk.show(m.message.id)[0].state == "scheduled"
        assert telnyx.creates_by_recipient() == {"+12025550123": 1}
    finally:
        engine.close()
        window.close()
