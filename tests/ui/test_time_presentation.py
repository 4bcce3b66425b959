"""One time presentation: the Queue's table and its detail pane show a message's time in the
desk's zone, with the recipient's own time beside it where it differs."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column

NEW_YORK = "+12125550123"  # New York: 15:00 UTC is 10:00 EST there
ZURICH = "+41791234567"
LONDON = "+447911123456"


def _click_row(qtbot: QtBot, window: MainWindow, row: int) -> None:
    table = window.queue.table
    rect = table.visualRect(window.queue.model.index(row, Column.RECIPIENT))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_table_and_detail_agree_on_the_desk_zone_with_the_recipient_time_beside(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    # Entered in New York's zone: the detail used to show 10:00 EST, the table 15:00 UTC.
    at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    service.schedule([NEW_YORK], "Your appointment", at, "America/New_York")
    window.show_view("Queue")
    window.refresh()
    queue = window.queue
    shown = "Tue 1 Dec 2026 15:00 UTC (10:00 EST there)"
    assert queue.model.index(0, Column.SEND_TIME).data() == shown
    _click_row(qtbot, window, 0)
    detail = queue.detail.toPlainText()
    assert shown in detail
    assert "Entered as" in detail and "Tue 1 Dec 2026 10:00 EST" in detail
    # The history's times are in the desk's zone too (created at 09:00 UTC = 04:00 EST).
    history = detail.split("History", 1)[1]
    assert "Tue 1 Dec 2026 09:00 UTC: created" in history


def test_the_recipient_time_is_beside_only_where_it_differs(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    service.schedule([ZURICH, LONDON], "Hello", at, "UTC")
    window.show_view("Queue")
    window.refresh()
    model = window.queue.model
    shown = {
        model.index(r, Column.RECIPIENT).data(): model.index(r, Column.SEND_TIME).data()
        for r in range(model.rowCount())
    }
    # The desk is in UTC: Zurich is an hour ahead; London reads the same (no second time).
    assert shown == {
        ZURICH: "Wed 2 Dec 2026 08:30 UTC (09:30 CET there)",
        LONDON: "Wed 2 Dec 2026 08:30 UTC",
    }
