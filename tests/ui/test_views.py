"""Calendar, Drafts, Settings and the background helper."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.tasks import TaskRunner
from tests.ui.conftest import Answers


def test_calendar_edit_changes_the_send_time(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock, answers: Answers
) -> None:
    service.schedule(["+15551234567"], "Checkup", clock.now() + timedelta(hours=3), "UTC")
    window.refresh()
    cal = window.calendar
    assert cal.today_label.text() == "Today is 01 Dec 2026 · times in UTC"
    assert cal.counts_on(date(2026, 12, 1)) == {"queued": 1}
    assert cal.day_list.count() == 1
    cal.day_list.item(0).setSelected(True)
    answers.time = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    qtbot.mouseClick(cal.edit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cal.counts_on(date(2026, 12, 4)) == {"queued": 1})
    assert cal.counts_on(date(2026, 12, 1)) == {}
    assert service.list_messages()[0].send_at == answers.time


def test_dropping_on_a_day_keeps_the_wall_time(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    service.schedule(["+15551234567"], "Checkup", clock.now() + timedelta(hours=3), "UTC")
    window.refresh()
    cal = window.calendar
    ids = [cal.day_list.item(0).data(Qt.ItemDataRole.UserRole + 1)]
    cal.move_to_day(ids, QDate(2026, 12, 10))  # what a drop on 10 Dec calls
    qtbot.waitUntil(lambda: cal.counts_on(date(2026, 12, 10)) == {"queued": 1})
    assert service.list_messages()[0].send_at == datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


def test_drafts_save_themselves_and_resume(
    qtbot: QtBot, window: MainWindow, service: Service, answers: Answers
) -> None:
    compose = window.compose
    compose.autosave_timer.setInterval(10)
    qtbot.keyClicks(compose.message_edit, "Half written")
    qtbot.waitUntil(lambda: window.drafts.list.count() == 1)
    assert service.list_drafts()[0].text == "Half written"
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert compose.message_edit.toPlainText() == ""

    window.drafts.list.setCurrentRow(0)
    qtbot.mouseClick(window.drafts.resume_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is compose
    assert compose.message_edit.toPlainText() == "Half written"
    qtbot.keyClicks(compose.recipients_edit, "+15551234567")
    qtbot.keyClick(compose.message_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert len(service.list_messages()) == 1
    assert service.list_drafts() == []  # scheduling used the draft up
    assert window.drafts.list.count() == 0


def test_delete_a_draft(qtbot: QtBot, window: MainWindow, service: Service) -> None:
    service.save_draft(text="Old")
    window.drafts.refresh()
    window.drafts.list.setCurrentRow(0)
    qtbot.mouseClick(window.drafts.delete_button, Qt.MouseButton.LeftButton)
    assert service.list_drafts() == []
    assert window.drafts.list.count() == 0


def test_settings_accounts_and_connection_test(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.show_view("Settings")  # Settings reads its accounts when first shown
    view = window.settings_view
    qtbot.keyClicks(view.name_edit, "Clinic Telnyx")
    view.kind_combo.setCurrentText("Telnyx")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    assert "needs an API key" in view.key_error.text()
    assert [a.name for a in service.list_accounts()] == ["Sandbox"]

    view.accounts_list.setCurrentRow(0)
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.test_label.text().startswith("Sandbox: "))

    view.zone_combo.setCurrentText("Europe/London")
    qtbot.keyClicks(view.region_edit, "gb")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert service.settings().zone == "Europe/London"
    assert service.settings().default_region == "GB"
    assert window.calendar.zone == "Europe/London"


def test_tasks_deliver_results_and_failures_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    gui = threading.current_thread()
    worked_on: list[threading.Thread] = []
    delivered_on: list[threading.Thread] = []
    got: list[object] = []

    def answer() -> int:
        worked_on.append(threading.current_thread())
        return 41 + 1

    def boom() -> int:
        worked_on.append(threading.current_thread())
        raise InvalidInput("bad", field="text")

    def receive(value: object) -> None:
        delivered_on.append(threading.current_thread())
        got.append(value)

    # One at a time: the pool may finish two tasks in either order.
    runner.submit(answer, receive)
    qtbot.waitUntil(lambda: runner.pending == 0)
    with qtbot.waitSignal(runner.failed):
        runner.submit(boom, None, receive)
    qtbot.waitUntil(lambda: runner.pending == 0)
    assert got[0] == 42
    assert isinstance(got[1], InvalidInput)
    # The work ran off the GUI thread; both outcomes came back on it.
    assert len(worked_on) == 2 and gui not in worked_on
    assert delivered_on == [gui, gui]
    assert runner.wait()


@pytest.mark.parametrize("name", ["calendarView", "draftsView", "settingsView"])
def test_each_view_is_reachable(qtbot: QtBot, window: MainWindow, name: str) -> None:
    """A click on the view's tab shows it: the tab bar's own hit test, not a call that sets
    the current widget."""
    view = next(v for v in window.views.values() if v.objectName() == name)
    index = window.tabs.indexOf(view)
    assert index > 0 and window.tabs.currentIndex() != index  # not already on screen
    assert not view.isVisible()
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentWidget() is view
    assert view.isVisible()
