"""The window over the real database and the Sandbox, with every dialog answered by the test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow


@dataclass
class Answers:
    """What the "user" answers when a view asks: confirmations, new times, file names."""

    confirm: bool = True
    time: datetime | None = None
    path: str | None = None
    asked: int = 0

    def on_confirm(self, _title: str, _question: str) -> bool:
        self.asked += 1
        return self.confirm


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def window(qtbot: QtBot, service: Service, answers: Answers) -> MainWindow:
    win = MainWindow(
        service,
        confirm=answers.on_confirm,
        ask_time=lambda _messages: answers.time,
        ask_path=lambda: answers.path,
        refresh_ms=60_000,  # tests refresh explicitly or through actions
    )
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win
