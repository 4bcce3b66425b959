"""Why a message failed, in the Queue's detail pane and the status bar; the pane keeps the
reader's place and the selection across the periodic refresh."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import MESSAGE_ID_ROLE, Column
from tests.ui.conftest import Answers

FAILING = "+15550001234"  # the Sandbox fails numbers starting with +1555000
REASON = "numbers starting +1555000 are set up to fail"
REFRESH_MS = 173  # an interval no other timer of the window uses


def _fail_at_hand_off(service: Service, clock: ManualClock, text: str = "Will fail") -> str:
    """A message that came due before it was handed off: the Sandbox takes it and answers
    at once that it failed (the receipt arrives already failed)."""
    result = service.schedule([FAILING], text, clock.now() + timedelta(minutes=1), "UTC")
    clock.advance(timedelta(minutes=2))
    report = Dispatcher(service.ctx).run_once()
    assert (report.failed, report.handed_off) == (1, 0)
    return result.messages[0].message.id


def _click_row(qtbot: QtBot, window: MainWindow, row: int) -> None:
    table = window.queue.table
    rect = table.visualRect(window.queue.model.index(row, Column.RECIPIENT))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _detail(window: MainWindow) -> QTextBrowser:
    found = window.findChild(QTextBrowser, "messageDetail")
    assert found is not None, "the Queue's detail pane is named messageDetail"
    return found


def _selected_ids(window: MainWindow) -> list[str]:
    rows = window.queue.table.selectionModel().selectedRows()
    return [str(index.data(MESSAGE_ID_ROLE)) for index in rows]


def test_a_sandbox_failure_says_why_in_the_detail(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    _fail_at_hand_off(service, clock)
    window.show_view("Queue")
    window.refresh()
    _click_row(qtbot, window, 0)
    text = _detail(window).toPlainText()
    assert "Why it failed" in text and REASON in text, text
    # The history names the failure and its reason, not an acceptance.
    [failed_line] = [line for line in text.splitlines() if "→ failed" in line]
    assert REASON in failed_line and "accepted" not in failed_line, failed_line


def test_a_failure_is_announced_with_its_reason(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    qtbot.waitUntil(lambda: window.summary is not None)  # the count before the failure
    _fail_at_hand_off(service, clock)
    window.refresh()
    qtbot.waitUntil(lambda: "failed" in window.statusBar().currentMessage())
    announced = window.statusBar().currentMessage()
    assert FAILING in announced and REASON in announced, announced
    assert REASON in window.status.text()


@pytest.fixture
def timed_window(qtbot: QtBot, service: Service, answers: Answers) -> MainWindow:
    """The window with its real periodic refresh, fast enough for a test to wait for."""
    win = MainWindow(
        service,
        confirm=answers.on_confirm,
        ask_time=lambda _messages: answers.time,
        ask_path=lambda: answers.path,
        refresh_ms=REFRESH_MS,
    )
    qtbot.addWidget(win)
    win.resize(900, 560)
    win.show()
    qtbot.waitExposed(win)
    return win


def _next_refresh(qtbot: QtBot, window: MainWindow) -> None:
    [timer] = [t for t in window.findChildren(QTimer) if t.interval() == REFRESH_MS]
    # The window's own slot is connected first, so it has run when this returns.
    with qtbot.waitSignal(timer.timeout, timeout=5000):
        pass


def test_the_detail_keeps_its_place_and_the_selection_across_refreshes(
    qtbot: QtBot, timed_window: MainWindow, service: Service, clock: ManualClock
) -> None:
    window = timed_window
    long_text = "\n".join(f"Line {i}" for i in range(60))
    service.schedule(["+15551230001"], "Earlier", clock.now() + timedelta(hours=1), "UTC")
    result = service.schedule([FAILING], long_text, clock.now() + timedelta(hours=2), "UTC")
    mine = result.messages[0].message.id
    Dispatcher(service.ctx).run_once()  # both handed off: scheduled at the Sandbox
    window.show_view("Queue")
    window.refresh()
    _click_row(qtbot, window, 1)
    assert _selected_ids(window) == [mine]
    detail = _detail(window)
    bar = detail.verticalScrollBar()
    assert bar.maximum() > 0, "the page must be long enough to scroll"
    detail.setFocus()
    qtbot.keyClick(detail, Qt.Key.Key_PageDown)
    qtbot.keyClick(detail, Qt.Key.Key_PageDown)
    place = bar.value()
    assert place > 0

    # Nothing changed: the periodic refresh leaves the reader where they were.
    _next_refresh(qtbot, window)
    _next_refresh(qtbot, window)
    assert bar.value() == place
    assert _selected_ids(window) == [mine]

    # Things changed: a new message above it (its row moves) and its own failure at the
    # provider (its history grows). Still the same message, selected, at the same place.
    service.schedule(["+15551230002"], "First", clock.now() + timedelta(minutes=30), "UTC")
    clock.advance(timedelta(hours=2, minutes=1))
    Dispatcher(service.ctx).run_once()
    _next_refresh(qtbot, window)
    assert _selected_ids(window) == [mine]
    assert REASON in detail.toPlainText()  # the new history is shown
    assert bar.value() == place


def test_choosing_another_message_starts_at_its_top(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    long_text = "\n".join(f"Line {i}" for i in range(60))
    for hours in (1, 2):
        service.schedule(["+15551230001"], long_text, clock.now() + timedelta(hours=hours), "UTC")
    window.resize(900, 560)
    window.show_view("Queue")
    window.refresh()
    _click_row(qtbot, window, 0)
    bar = _detail(window).verticalScrollBar()
    bar.setValue(bar.maximum())
    _click_row(qtbot, window, 1)
    assert bar.maximum() > 0 and bar.value() == 0


def test_the_history_is_read_again_only_when_an_event_may_have_grown_it(
    qtbot: QtBot, timed_window: MainWindow, service: Service, clock: ManualClock
) -> None:
    window = timed_window
    first = service.schedule(["+15551230001"], "First", clock.now() + timedelta(hours=1), "UTC")
    service.schedule(["+15551230002"], "Second", clock.now() + timedelta(hours=2), "UTC")
    reads: list[str] = []
    show = service.show

    def counted(ident: str) -> list[MessageView]:
        reads.append(ident)
        return show(ident)

    service.show = counted  # counts; the real read answers
    window.show_view("Queue")
    window.refresh()
    _click_row(qtbot, window, 0)
    mine = first.messages[0].message.id
    assert reads == [mine]
    _next_refresh(qtbot, window)
    _next_refresh(qtbot, window)
    assert reads == [mine], "nothing was recorded: the shown page stands"

    Dispatcher(service.ctx).run_once()  # handed off: an event in its history
    _next_refresh(qtbot, window)
    assert reads == [mine, mine]
    assert "scheduled" in _detail(window).toPlainText()

    # Two selected, then the first alone again: its page, not "2 messages selected".
    table = window.queue.table
    rect = table.visualRect(window.queue.model.index(1, Column.RECIPIENT))
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ShiftModifier,
        rect.center(),
    )
    assert "2 messages selected" in _detail(window).toPlainText()
    _click_row(qtbot, window, 0)
    assert "First" in _detail(window).toPlainText()
    assert "selected" not in _detail(window).toPlainText()
