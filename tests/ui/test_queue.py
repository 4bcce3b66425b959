"""Queue: the lazy model, filters, history, and actions that go through the service."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import Browser
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column, QueueModel
from tests.ui.conftest import Answers


def _schedule(service: Service, clock: ManualClock, count: int, hours: int = 1) -> None:
    for i in range(count):
        service.schedule(
            [f"+1555123{i:04d}"],
            f"Reminder {i}\nsecond line",
            clock.now() + timedelta(hours=hours + i),
            "UTC",
        )


def test_model_reads_pages_by_keyset(qtmodeltester, service: Service, clock: ManualClock) -> None:
    _schedule(service, clock, 5)
    model = QueueModel(Browser(service.ctx), "UTC", page_size=2)
    assert model.rowCount() == 5  # every row is there; pages are read when shown
    assert model.index(4, Column.TEXT).data() == "Reminder 4"
    assert model.index(0, Column.TEXT).data() == "Reminder 0"
    assert model.index(0, Column.SEGMENTS).data() == "1"
    qtmodeltester.check(model)


def test_filters_and_search(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    _schedule(service, clock, 3)
    service.cancel(service.list_messages()[0].id)
    window.refresh()
    queue = window.queue
    assert queue.model.rowCount() == 2  # the Queue opens on what is upcoming
    qtbot.mouseClick(queue.all_button, Qt.MouseButton.LeftButton)
    assert queue.model.rowCount() == 3
    queue.state_combo.setCurrentText("cancelled")
    assert queue.model.rowCount() == 1
    assert queue.count_label.text() == "1 message"
    queue.state_combo.setCurrentIndex(0)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(queue.search_edit, "Reminder 2")
    qtbot.waitUntil(lambda: queue.model.rowCount() == 1)
    assert queue.model.index(0, Column.RECIPIENT).data() == "+15551230002"


def test_cancel_from_queue_changes_the_state(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock, answers: Answers
) -> None:
    _schedule(service, clock, 1)
    Dispatcher(service.ctx).run_once()  # now held by the Sandbox: cancel talks to it
    window.refresh()
    queue = window.queue
    assert queue.model.index(0, Column.STATE).data() == "scheduled"
    window.show_view("Queue")
    qtbot.mouseClick(queue.all_button, Qt.MouseButton.LeftButton)  # cancelled stays in view
    queue.table.setFocus()
    queue.table.selectRow(0)
    assert "created" in queue.detail.toPlainText()  # the history is shown

    qtbot.keyClick(queue.table, Qt.Key.Key_Delete)

    assert answers.asked == 1
    qtbot.waitUntil(lambda: queue.model.index(0, Column.STATE).data() == "cancelled")
    assert queue.model.index(0, Column.WHERE).data() == "cancelled"
    assert "Cancelled 1 message" in queue.status_label.text()
    assert "cancelled at Sandbox" in queue.detail.toPlainText()


def test_declining_the_confirmation_changes_nothing(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock, answers: Answers
) -> None:
    _schedule(service, clock, 1)
    window.refresh()
    # Views that read in the background (Reminders) finish first: what is pending after the
    # click is then only what the click started.
    qtbot.waitUntil(lambda: window.tasks.pending == 0)
    answers.confirm = False
    window.queue.table.selectRow(0)
    qtbot.mouseClick(window.queue.cancel_button, Qt.MouseButton.LeftButton)
    assert answers.asked == 1
    assert window.tasks.pending == 0
    assert service.list_messages()[0].state == "queued"


def test_reschedule_retry_duplicate_and_export(
    qtbot: QtBot,
    window: MainWindow,
    service: Service,
    clock: ManualClock,
    answers: Answers,
    tmp_path: Path,
) -> None:
    _schedule(service, clock, 2)
    window.refresh()
    queue = window.queue
    queue.table.selectAll()
    answers.time = clock.now() + timedelta(days=2)
    qtbot.mouseClick(queue.reschedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tasks.pending == 0)
    assert {m.send_at for m in service.list_messages()} == {answers.time}
    assert queue.model.index(0, Column.SEND_TIME).data() == "Thu 3 Dec 2026 09:00 UTC"

    answers.path = str(tmp_path / "out.csv")
    qtbot.mouseClick(queue.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tasks.pending == 0)  # written in the background
    with open(answers.path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["state"] for r in rows] == ["queued", "queued"]
    assert "Exported 2 messages" in queue.status_label.text()

    queue.table.selectRow(0)
    qtbot.mouseClick(queue.duplicate_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.compose
    assert window.compose.message_edit.toPlainText().startswith("Reminder")


def test_retry_a_failed_message(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    service.schedule(["+15550001234"], "Fails", clock.now() + timedelta(minutes=5), "UTC")
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(minutes=10))
    Dispatcher(service.ctx).run_once()
    window.refresh()
    queue = window.queue
    queue.table.selectRow(0)
    assert queue.retry_button.isEnabled()
    qtbot.mouseClick(queue.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: queue.model.index(0, Column.STATE).data() == "queued")


def test_ctrl_end_works_as_soon_as_the_queue_is_shown(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    """No click first: the shown Queue has a current row (not a selection), so the keys move."""
    _schedule(service, clock, 40)
    window.show_view("Queue")
    window.refresh()
    table = window.queue.table
    assert table.currentIndex().row() == 0
    assert table.selectionModel().selectedRows() == []  # current, not selected
    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: table.currentIndex().row() == 39)
    assert window.queue.model.index(39, Column.TEXT).data().startswith("Reminder 39")


def test_the_export_escapes_formulas_and_is_written_off_the_gui_thread(
    qtbot: QtBot,
    window: MainWindow,
    service: Service,
    clock: ManualClock,
    answers: Answers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    import smsdesk.ui.queue_view as queue_view

    for text in ('=HYPERLINK("http://x")', "@SUM(1)"):
        service.schedule(["+15551230001"], text, clock.now() + timedelta(hours=1), "UTC")
    window.refresh()
    written_on: list[threading.Thread] = []
    real = queue_view._export_text

    def spy(*args: Any) -> str:
        written_on.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(queue_view, "_export_text", spy)
    answers.path = str(tmp_path / "out.csv")
    qtbot.mouseClick(window.queue.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tasks.pending == 0)
    assert written_on and written_on[0] is not threading.main_thread()
    with open(answers.path, encoding="utf-8") as fh:
        texts = sorted(r["text"] for r in csv.DictReader(fh))
    # A spreadsheet shows these as text instead of running them.
    assert texts == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]
