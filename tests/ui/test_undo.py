"""Undo after Schedule (undoScheduleButton): takes the whole batch back while it can."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow


def schedule_two(qtbot: QtBot, window: MainWindow) -> QPushButton:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567, +15557654321")
    qtbot.keyClicks(compose.message_edit, "Checkup tomorrow at 10")
    qtbot.keyClick(compose.message_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    button = window.findChild(QPushButton, "undoScheduleButton")
    assert isinstance(button, QPushButton)
    return button


def test_undo_cancels_the_batch_held_on_this_computer(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    button = schedule_two(qtbot, window)
    assert button.isVisible() and button.text() == "Undo (2 messages)"
    # The Sandbox can cancel until a minute before 10:00 (less a minute's margin).
    qtbot.waitUntil(lambda: "until" in button.toolTip(), timeout=5000)
    assert button.toolTip() == "Cancel the whole batch; possible until Tue 1 Dec 2026 09:58 UTC"

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    compose = window.compose
    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Undone"), timeout=5000)
    assert compose.result_label.text() == "Undone: 2 messages cancelled."
    assert not button.isVisible()
    assert {m.state for m in service.list_messages()} == {"cancelled"}


def test_undo_cancels_at_the_provider_while_it_still_can(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    button = schedule_two(qtbot, window)
    Dispatcher(service.ctx).run_once()  # the engine hands them to the Sandbox
    assert {m.state for m in service.list_messages()} == {"scheduled"}

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    compose = window.compose
    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Undone"), timeout=5000)
    assert {m.state for m in service.list_messages()} == {"cancelled"}


def test_too_late_to_undo_cancels_nothing_and_the_button_goes(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    button = schedule_two(qtbot, window)
    Dispatcher(service.ctx).run_once()
    # 10:00 is the send time; the Sandbox takes no cancel in its last minute.
    clock.advance(timedelta(minutes=59))

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    compose = window.compose
    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Too late"), timeout=5000)
    assert compose.result_label.text() == "Too late to undo: the first message is due."
    assert {m.state for m in service.list_messages()} == {"scheduled"}
    assert not button.isVisible()


def test_the_button_hides_itself_once_undo_is_no_longer_possible(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    button = schedule_two(qtbot, window)
    bar = window.compose.undo_bar
    bar.timer.setInterval(20)  # re-check often rather than every 5 s
    with qtbot.waitSignal(bar.timer.timeout, timeout=5000):
        pass
    qtbot.waitUntil(lambda: window.tasks.pending == 0, timeout=5000)
    assert button.isVisible()  # checked, and still possible: it stays
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(minutes=59))
    qtbot.waitUntil(lambda: not button.isVisible(), timeout=5000)
    assert {m.state for m in service.list_messages()} == {"scheduled"}
