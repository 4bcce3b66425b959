"""Before Schedule, Compose shows what will happen (the engine's plan), and after it says the
same. Driven through the real widgets."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDateTimeEdit, QPushButton
from pytestqt.qtbot import QtBot

from smsdesk.engine.plan import SchedulePlan
from smsdesk.engine.service import Service
from smsdesk.ui.compose import ComposeView
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.schedule_summary import ScheduleSummaryDialog

NEW_YORK = "+12125550123"


def pick_time(qtbot: QtBot, compose: ComposeView, hour: str, minute: str) -> None:
    """Click into the time's hour and minute and type them, as a person does."""
    edit = compose.send_at_edit
    edit.setFocus()
    edit.setSelectedSection(QDateTimeEdit.Section.HourSection)
    qtbot.keyClicks(edit, hour)
    edit.setSelectedSection(QDateTimeEdit.Section.MinuteSection)
    qtbot.keyClicks(edit, minute)


def pick_zone(qtbot: QtBot, compose: ComposeView, zone: str) -> None:
    line = compose.zone_combo.lineEdit()
    assert line is not None
    line.selectAll()
    qtbot.keyClicks(line, zone)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def wait_for_plan(qtbot: QtBot, compose: ComposeView, text: str) -> None:
    qtbot.waitUntil(lambda: text in compose.handling_label.text(), timeout=5000)


def summary(window: MainWindow) -> ScheduleSummaryDialog:
    (dialog,) = [
        d
        for d in window.findChildren(ScheduleSummaryDialog, "scheduleSummaryDialog")
        if d.isVisible()
    ]
    return dialog


def test_new_york_at_2330_shows_0800_before_and_after_schedule(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, NEW_YORK)
    qtbot.keyClicks(compose.message_edit, "Dr. Patel is running 30 minutes late today")
    pick_zone(qtbot, compose, "America/New_York")
    pick_time(qtbot, compose, "23", "30")
    assert compose.send_at_edit.dateTime().toString("HH:mm") == "23:30"

    expected = (
        "1 message for Wed 2 Dec 2026 08:00 EST (Wed 2 Dec 2026 13:00 UTC here) — moved from "
        "23:30 to 08:00 next day (quiet hours 21:00–08:00 in America/New_York). Sandbox will "
        "schedule it; it goes out even if this computer is off."
    )
    wait_for_plan(qtbot, compose, "08:00 EST")
    assert compose.handling_label.text() == expected
    assert service.list_messages() == []  # shown before anything is stored

    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    dialog = summary(window)  # a message moved by quiet hours is worth a look
    assert dialog.isVisible()
    assert dialog.values["Quiet hours"].text() == "1 message moved; see below"
    qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)

    assert compose.result_label.text() == f"Scheduled {expected}"
    (stored,) = service.list_messages()
    assert stored.send_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


def test_a_past_time_is_an_error_beside_the_time_never_a_plan(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567")
    qtbot.keyClicks(compose.message_edit, "Hi")
    pick_time(qtbot, compose, "01", "00")  # today 01:00 UTC; it is 09:00

    assert compose.send_at_error.isVisible()
    assert compose.send_at_error.text() == (
        "The send time Tue 1 Dec 2026 01:00 UTC is in the past; it is now Tue 1 Dec 2026 09:00 UTC."
    )
    qtbot.waitUntil(lambda: not compose.plan_timer.isActive(), timeout=5000)
    assert "held" not in compose.handling_label.text().lower()
    assert "01:00" not in compose.handling_label.text()
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert service.list_messages() == []


def test_refused_recipients_are_shown_with_why_before_schedule(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    service.contact_book().opt_out("+15557654321")
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567, +15557654321")
    qtbot.keyClicks(compose.message_edit, "Hi")
    qtbot.waitUntil(lambda: compose.plan_view.details.count() == 1, timeout=5000)
    line = compose.plan_view.lines()[0]
    assert line.startswith("Not sent to +15557654321: opted out on Tue 1 Dec 2026 09:00 UTC")
    assert compose.plan_view.details.isVisible()
    assert compose.handling_label.text().startswith("1 message for Tue 1 Dec 2026 10:00 UTC.")


def test_a_large_batch_is_planned_off_the_qt_thread(
    qtbot: QtBot, window: MainWindow, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[bool] = []
    real = service.scheduling.plan

    def recording(*args: Any, **kwargs: Any) -> SchedulePlan:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(service.scheduling, "plan", recording)
    compose = window.compose
    numbers = ", ".join(f"+1555123{i:04d}" for i in range(60))
    compose.recipients_edit.insertPlainText(numbers)  # pasted
    qtbot.keyClicks(compose.message_edit, "Hi")
    wait_for_plan(qtbot, compose, "60 messages for Tue 1 Dec 2026 10:00 UTC")
    assert threads and not any(threads)  # every plan ran on a pool thread

    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(d.isVisible() for d in window.findChildren(ScheduleSummaryDialog)),
        timeout=5000,
    )
    dialog = summary(window)
    assert not compose.schedule_button.isEnabled()  # one schedule at a time
    button = dialog.findChild(QPushButton, "summaryScheduleButton")
    assert isinstance(button, QPushButton) and button.text() == "Schedule 60 messages"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Scheduled 60"), timeout=10000)
    assert len(service.list_messages()) == 60
    assert compose.schedule_button.isEnabled()


def test_compose_examples_are_numbers_smsdesk_accepts(window: MainWindow, service: Service) -> None:
    compose = window.compose
    placeholder = compose.recipients_edit.placeholderText()
    examples = [p.strip() for p in placeholder.split("…")[0].split(",")]
    assert examples and all(e.startswith("+") for e in examples)
    assert service.normalize_recipients(examples, None) == examples  # the Sandbox
    # A real provider's account shows real numbers, which its validation accepts too.
    service.add_account("Clinic Telnyx", "telnyx", api_key="k-1", sender="+12025550100")
    compose.reload_accounts()
    compose.account_combo.setCurrentText("Clinic Telnyx")
    placeholder = compose.recipients_edit.placeholderText()
    examples = [p.strip() for p in placeholder.split("…")[0].split(",")]
    assert "+447700900123" not in placeholder
    assert service.normalize_recipients(examples, "Clinic Telnyx") == examples
