"""Compose shows the spread times of a burst from one Telnyx long code before Schedule (plan
and summary), and what reaches Telnyx afterwards is exactly those times. Real widgets, the
loopback Telnyx simulator, one injected clock."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.schedule_summary import ScheduleSummaryDialog
from tests.simulators.telnyx import TelnyxSimulator

KEY = "KEY-tx-ui-5c1d"
BURST = [f"+1202555{n:04d}" for n in range(400, 412)]  # twelve, in Washington
SPREAD = (
    "12 messages from the long code +120…00 will go 1 every 10 s: first at Tue 1 Dec 2026 "
    "10:00:00 UTC, last at 10:01:50 (Telnyx sends at most 1 message every 10 seconds from a "
    "long code)."
)


@pytest.fixture
def telnyx(clock: ManualClock, service: Service) -> Iterator[TelnyxSimulator]:
    simulator = TelnyxSimulator(clock, api_key=KEY)
    simulator.start()
    service.update_settings(quiet_mode="off")  # 05:00 in Washington: not about quiet hours
    service.add_account("Telnyx", "telnyx", api_key=KEY, base_url=simulator.base_url,
                        sender="+12025550100", make_default=True)  # fmt: skip
    yield simulator
    simulator.stop()


def test_the_plan_and_summary_show_each_spread_time_and_telnyx_gets_them(
    qtbot: QtBot, window: MainWindow, service: Service, telnyx: TelnyxSimulator
) -> None:
    compose = window.compose
    compose.reload_accounts()  # the account was added after the window was built
    qtbot.keyClicks(compose.account_combo, "T")  # picked from the list by its first letter
    assert compose.account_combo.currentText() == "Telnyx"
    qtbot.keyClicks(compose.recipients_edit, ", ".join(BURST))
    qtbot.keyClicks(compose.message_edit, "Your check-up is tomorrow")
    qtbot.waitUntil(lambda: compose.handling_label.text().startswith(SPREAD), timeout=10000)
    lines = compose.plan_view.lines()
    assert len(lines) == 12 and compose.plan_view.details.isVisible()
    assert lines[1].startswith(
        "+12025550401: Tue 1 Dec 2026 05:00:10 EST (Tue 1 Dec 2026 10:00:10 UTC here)."
    )
    assert lines[-1].startswith(
        "+12025550411: Tue 1 Dec 2026 05:01:50 EST (Tue 1 Dec 2026 10:01:50 UTC here)."
    )
    assert service.list_messages() == []  # shown before anything is stored

    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(d.isVisible() for d in window.findChildren(ScheduleSummaryDialog)),
        timeout=5000,
    )
    [dialog] = [d for d in window.findChildren(ScheduleSummaryDialog) if d.isVisible()]
    assert dialog.values["Last send"].text() == (
        "Tue 1 Dec 2026 05:01:50 EST (Tue 1 Dec 2026 10:01:50 UTC here)"
    )
    qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Scheduled"), timeout=10000)

    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    spread = [at + timedelta(seconds=10 * n) for n in range(12)]
    stored = {m.recipient: m.send_at for m in service.list_messages()}
    assert [stored[n] for n in BURST] == spread
    Dispatcher(service.ctx).run_once()
    sent = {b["to"]: b["send_at"] for b in telnyx.create_bodies}
    assert [sent[n] for n in BURST] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in spread]
