"""Pause sending: the engine thread hands nothing off while paused, and catches up on resume."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.ui.engine_control import EngineControl
from smsdesk.ui.main_window import MainWindow


@pytest.fixture
def engine(isolated_home: Path, clock: ManualClock) -> Iterator[EngineControl]:
    engine_ctx = AppContext.open(isolated_home, clock=clock)  # its own, as in the app
    control = EngineControl(engine_ctx)
    yield control
    control.stop()
    engine_ctx.close()


def _full_turn(qtbot: QtBot, engine: EngineControl) -> None:
    """Wait until the engine has gone round its loop once more from start to end."""
    for _ in range(2):  # the first round may have begun before the caller's change
        seen = engine.turns
        engine.wake()
        qtbot.waitUntil(lambda seen=seen: engine.turns > seen)  # type: ignore[misc]


def test_paused_engine_hands_nothing_off_until_resumed(
    qtbot: QtBot, service: Service, engine: EngineControl, clock: ManualClock
) -> None:
    window = MainWindow(service, engine=engine, refresh_ms=60_000)
    qtbot.addWidget(window)
    window.show()
    engine.start()
    assert window.pause_button.text() == "Pause sending"

    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert window.pause_button.text() == "Resume sending"
    assert not engine.running
    result = service.schedule(["+15551234567"], "Paused?", clock.now() + timedelta(hours=1), "UTC")
    _full_turn(qtbot, engine)
    assert [m.state for m in service.show(result.batch_id)] == ["queued"]

    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert window.pause_button.text() == "Pause sending"
    qtbot.waitUntil(lambda: [m.state for m in service.show(result.batch_id)] == ["scheduled"])
