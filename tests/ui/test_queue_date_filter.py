"""The Queue's date filter reads a day from its first instant to the next day's, in the desk's
zone, including a day whose midnight the clocks skip (it raised an error before)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot

from smsdesk.core.timeparse import NonexistentTime, localize
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column

SANTIAGO = ZoneInfo("America/Santiago")


def test_a_day_whose_midnight_is_skipped_is_filtered_whole(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    # The premise: Chile's clocks skip from 00:00 to 01:00 on Sunday 5 September 2027.
    try:
        localize(datetime(2027, 9, 5), SANTIAGO)
        raise AssertionError("midnight of 5 Sep 2027 exists in America/Santiago")
    except NonexistentTime:
        pass
    service.update_settings(zone="America/Santiago", quiet_mode="off")
    local = {  # text: wall time in Santiago
        "Saturday night": datetime(2027, 9, 4, 23, 59),
        "Sunday, first minute": datetime(2027, 9, 5, 1, 0),
        "Sunday night": datetime(2027, 9, 5, 23, 59),
        "Monday": datetime(2027, 9, 6, 0, 0),
    }
    for text, wall in local.items():
        service.schedule(["+56221234567"], text, localize(wall, SANTIAGO), "America/Santiago")
    window.show_view("Queue")
    window.refresh()
    queue = window.queue
    assert queue.model.rowCount() == 4

    queue.from_date.setDate(QDate(2027, 9, 5))
    queue.to_date.setDate(QDate(2027, 9, 5))

    shown = [queue.model.index(row, Column.TEXT).data() for row in range(queue.model.rowCount())]
    assert shown == ["Sunday, first minute", "Sunday night"]
    assert queue.model.filter.start == datetime(2027, 9, 5, 4, 0, tzinfo=UTC)  # 01:00 -03
    assert queue.model.filter.end == datetime(2027, 9, 6, 3, 0, tzinfo=UTC)  # 00:00 -03
