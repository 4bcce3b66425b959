"""The placeholder window over a real database, driven offscreen."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QLabel, QTableWidget, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow


def _cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None, (row, column)
    return item.text()


def test_views_have_their_stable_names(qtbot: QtBot, service: Service) -> None:
    window = MainWindow(service)
    qtbot.addWidget(window)
    for name in ("composeView", "calendarView", "queueView", "queueTable"):
        assert window.findChild(QWidget, name) is not None, name
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Compose",
        "Calendar",
        "Queue",
    ]


def test_queue_shows_where_each_message_lives(
    qtbot: QtBot, service: Service, clock: ManualClock
) -> None:
    service.schedule(
        ["+15551234567"],
        "Checkup at 10\nBring your card",
        clock.now() + timedelta(hours=1),
        "Europe/London",
    )
    service.schedule(["+15557654321"], "Later", clock.now() + timedelta(hours=2), "UTC")
    Dispatcher(service.ctx).run_once()
    service.schedule(["+15550001111"], "Held", clock.now() + timedelta(days=3), "UTC")
    window = MainWindow(service)
    qtbot.addWidget(window)
    table = window.findChild(QTableWidget, "queueTable")
    assert table is not None
    rows = [
        [_cell(table, r, c) for c in range(table.columnCount())] for r in range(table.rowCount())
    ]
    assert rows[0] == [
        "Tue 1 Dec 2026 10:00 UTC",
        "+15551234567",
        "Checkup at 10",
        "Sandbox",
        "scheduled",
        "at provider",
    ]
    assert rows[2][4:] == ["queued", "on this computer"]
    status = window.findChild(QLabel, "engineStatus")
    assert status is not None
    assert "Held on this computer: 1" in status.text()
    assert "at provider: 2" in status.text()
