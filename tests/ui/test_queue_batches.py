"""Queue grouped by batch: one row per compose action, expanding to its messages."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column


def test_a_batch_is_one_row_that_expands_to_its_messages(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    numbers = [f"+1555123{i:04d}" for i in range(12)]
    batch = service.schedule(
        numbers, "Clinic closed Friday", clock.now() + timedelta(days=1), "UTC"
    )
    service.cancel(batch.messages[0].message.id)
    clock.advance(timedelta(minutes=1))
    service.schedule(
        ["+15559870000"], "Your results are in", clock.now() + timedelta(hours=3), "UTC"
    )
    window.show_view("Queue")
    window.refresh()
    queue = window.queue
    qtbot.mouseClick(queue.group_button, Qt.MouseButton.LeftButton)
    tree = queue.batch_tree
    assert tree.isVisible() and not queue.table.isVisible()
    model = tree.model()
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    # Newest first: the single message, then the batch of 12 with its states counted.
    assert model.index(0, Column.RECIPIENT).data() == "1 message"
    assert model.index(1, Column.RECIPIENT).data() == "12 messages"
    assert model.index(1, Column.TEXT).data() == "Clinic closed Friday"
    assert model.index(1, Column.STATE).data() == "11 queued, 1 cancelled"
    batch_row = model.index(1, 0)
    assert model.rowCount(batch_row) == 0  # read when first expanded

    # Expanding by a click on the batch row's arrow shows its messages.
    rect = tree.visualRect(batch_row)
    arrow = QPoint(rect.left() - tree.indentation() // 2, rect.center().y())
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=arrow)
    qtbot.waitUntil(lambda: tree.isExpanded(batch_row))
    assert model.rowCount(batch_row) == 12
    shown = {model.index(r, Column.RECIPIENT, batch_row).data() for r in range(12)}
    assert shown == set(numbers)

    # A message of the batch, clicked, shows its details and history.
    child = model.index(0, Column.RECIPIENT, batch_row)
    tree.scrollTo(child)
    qtbot.mouseClick(
        tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualRect(child).center()
    )
    assert "Clinic closed Friday" in queue.detail.toPlainText()
    assert "History" in queue.detail.toPlainText()

    # One click back to the flat list.
    qtbot.mouseClick(queue.group_button, Qt.MouseButton.LeftButton)
    assert queue.table.isVisible() and not tree.isVisible()
