"""Queue: the selection survives the window's periodic refresh, and the actions offered are
the ones that apply to the selected messages' states."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column
from tests.ui.conftest import Answers

MESSAGES = 600


def _timer_tick(qtbot: QtBot, window: MainWindow) -> None:
    """Let the window's own refresh timer fire once (the path taken every few seconds)."""
    timer = window._timer
    timer.setInterval(1)
    with qtbot.waitSignal(timer.timeout, timeout=5_000):
        timer.start()
    timer.stop()


def _click(qtbot: QtBot, window: MainWindow, row: int, modifier: Qt.KeyboardModifier) -> None:
    table = window.queue.table
    index = window.queue.model.index(row, Column.RECIPIENT)
    table.scrollTo(index)
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, modifier, table.visualRect(index).center()
    )


def _selected_ids(window: MainWindow) -> set[str]:
    return {m.id for m in window.queue.selected_messages()}


def _many(service: Service, clock: ManualClock) -> None:
    numbers = [f"+1555{i:07d}" for i in range(MESSAGES)]
    service.schedule(numbers, "Flu shots are in", clock.now() + timedelta(days=1), "UTC")


def test_500_selected_stay_500_across_the_refresh_timer(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    _many(service, clock)
    window.show_view("Queue")
    window.refresh()
    _click(qtbot, window, 0, Qt.KeyboardModifier.NoModifier)
    _click(qtbot, window, 499, Qt.KeyboardModifier.ShiftModifier)
    queue = window.queue
    assert queue.selected_count() == 500
    chosen = _selected_ids(window)
    _timer_tick(qtbot, window)  # nothing changed: the pages off screen are let go
    assert queue.selected_count() == 500
    # A new message among the selected ones (same time, an id that sorts between them).
    service.schedule(["+15559999999"], "New", clock.now() + timedelta(days=1), "UTC")
    _timer_tick(qtbot, window)  # counted afresh: the same 500 are selected again
    assert queue.model.rowCount() == MESSAGES + 1
    assert queue.selected_count() == 500
    assert _selected_ids(window) == chosen
    assert "500 messages selected" in queue.detail.toPlainText()


def test_ctrl_a_stays_the_same_messages_when_more_arrive(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    _many(service, clock)
    window.show_view("Queue")
    window.refresh()
    table = window.queue.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert window.queue.selected_count() == MESSAGES
    chosen = _selected_ids(window)
    service.schedule(["+15559999999"], "Later", clock.now() + timedelta(days=2), "UTC")
    _timer_tick(qtbot, window)
    assert window.queue.model.rowCount() == MESSAGES + 1
    assert window.queue.selected_count() == MESSAGES
    assert _selected_ids(window) == chosen


def test_actions_are_enabled_only_for_the_states_they_apply_to(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock, answers: Answers
) -> None:
    service.schedule(["+15551230001"], "Held", clock.now() + timedelta(days=1), "UTC")
    gone = service.schedule(["+15551230002"], "Gone", clock.now() + timedelta(days=2), "UTC")
    service.cancel(gone.batch_id)
    service.schedule(["+15550001234"], "Fails", clock.now() + timedelta(minutes=5), "UTC")
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(minutes=10))
    Dispatcher(service.ctx).run_once()
    window.show_view("Queue")
    window.refresh()
    queue = window.queue
    qtbot.mouseClick(queue.all_button, Qt.MouseButton.LeftButton)
    rows = {queue.model.message(r).state: r for r in range(3)}  # type: ignore[union-attr]
    buttons = (queue.cancel_button, queue.reschedule_button, queue.retry_button)

    def enabled() -> tuple[bool, ...]:
        return tuple(b.isEnabled() for b in (*buttons, queue.duplicate_button))

    _click(qtbot, window, rows["cancelled"], Qt.KeyboardModifier.NoModifier)
    assert enabled() == (False, False, False, True)
    _click(qtbot, window, rows["failed"], Qt.KeyboardModifier.NoModifier)
    assert enabled() == (False, False, True, True)
    _click(qtbot, window, rows["scheduled"], Qt.KeyboardModifier.NoModifier)
    assert enabled() == (True, True, False, True)
    # With the cancelled one too: cancel applies to one of the two, and says so.
    _click(qtbot, window, rows["cancelled"], Qt.KeyboardModifier.ControlModifier)
    assert enabled() == (True, True, False, True)
    questions: list[str] = []

    def decline(_title: str, question: str) -> bool:
        questions.append(question)
        return False

    queue.confirm = decline
    qtbot.mouseClick(queue.cancel_button, Qt.MouseButton.LeftButton)
    assert questions and questions[0].startswith("Cancel 1 message? (1 of those selected")
