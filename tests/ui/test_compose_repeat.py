"""Compose's Repeat control: presets that speak of the chosen time, the plan line naming the
next dates, a custom rule in a dialog (bad rule said beside it), and Schedule starting a
series; "Does not repeat" leaves Compose as it was."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.engine.series import SeriesBook
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow

W = TypeVar("W", bound=QWidget)


def _child(parent: QWidget, kind: type[W], name: str) -> W:
    found = parent.findChild(kind, name)
    assert isinstance(found, kind), name
    return found


def _pick(qtbot: QtBot, combo: QComboBox, steps: int) -> None:
    combo.setFocus()
    for _ in range(steps):
        qtbot.keyClick(combo, Qt.Key.Key_Down)


def _type(qtbot: QtBot, window: MainWindow, recipients: str, text: str) -> None:
    qtbot.keyClicks(window.compose.recipients_edit, recipients)
    qtbot.keyClicks(window.compose.message_edit, text)


def test_a_weekly_repeat_starts_a_series_and_says_its_next_dates(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    repeat = _child(window, QComboBox, "repeatCombo")
    plan = window.compose.handling_label
    # Compose opens on Tuesday 1 December 2026, 10:00 UTC: the presets speak of it.
    assert [repeat.itemText(i) for i in range(repeat.count())] == [
        "Does not repeat",
        "Daily",
        "Every weekday",
        "Weekly on Tuesday",
        "Every 2 weeks on Tuesday",
        "Monthly on day 1",
        "Monthly on the first Tuesday",
        "Yearly on 1 December",
        "Custom…",
    ]
    assert repeat.currentText() == "Does not repeat"
    assert not plan.text().startswith("Weekly")
    _pick(qtbot, repeat, 3)
    assert repeat.currentText() == "Weekly on Tuesday"
    outline = (
        "Weekly on Tuesday at 10:00, until stopped: next Tue 1 Dec 2026 10:00 UTC, "
        "Tue 8 Dec 2026 10:00 UTC, Tue 15 Dec 2026 10:00 UTC."
    )
    qtbot.waitUntil(lambda: plan.text().startswith(outline))

    _type(qtbot, window, "+15551234567", "Team meeting at 10")
    qtbot.mouseClick(window.compose.schedule_button, Qt.MouseButton.LeftButton)
    result = window.compose.result_label
    qtbot.waitUntil(lambda: result.text().startswith("Scheduled a recurring message"))
    assert result.text() == f"Scheduled a recurring message to +15551234567: {outline}"
    [series] = SeriesBook(service).list_series()
    assert (series.rule, series.text) == ("FREQ=WEEKLY;BYDAY=TU", "Team meeting at 10")
    # Its first 35 days are in the queue: 1, 8, 15, 22 and 29 December.
    assert len(service.list_messages()) == 5
    assert repeat.currentText() == "Does not repeat"  # ready for the next message
    assert window.compose.recipients_edit.toPlainText() == ""


def test_does_not_repeat_schedules_one_message_as_before(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    repeat = _child(window, QComboBox, "repeatCombo")
    assert repeat.currentText() == "Does not repeat"
    _type(qtbot, window, "+15551234567", "Just once")
    qtbot.keyClick(
        window.compose.message_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )
    assert window.compose.result_label.text().startswith("Scheduled 1 message")
    assert not window.compose.plan_view.lines()
    assert SeriesBook(service).list_series() == []
    assert len(service.list_messages()) == 1


def test_a_custom_rule_is_checked_in_its_dialog_then_used(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    repeat = _child(window, QComboBox, "repeatCombo")
    repeat.setFocus()
    qtbot.keyClick(repeat, Qt.Key.Key_End)  # "Custom…"
    dialog = _child(window, QDialog, "customRepeatDialog")
    qtbot.waitUntil(dialog.isVisible)
    rule = _child(dialog, QLineEdit, "customRepeatRuleEdit")
    assert rule.isVisible()
    ok = _child(dialog, QPushButton, "customRepeatOk")
    qtbot.keyClicks(rule, "FREQ=FORTNIGHTLY")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    error = _child(dialog, QLabel, "customRepeatRuleError")
    qtbot.waitUntil(error.isVisible)
    assert "not a repeat rule" in error.text()
    assert dialog.isVisible()  # still open, to put right

    rule.selectAll()
    qtbot.keyClicks(rule, "FREQ=MONTHLY;BYMONTHDAY=31")
    _pick(qtbot, _child(dialog, QComboBox, "customRepeatEndCombo"), 1)  # after N times
    count = _child(dialog, QSpinBox, "customRepeatCountSpin")
    count.setFocus()
    count.selectAll()
    qtbot.keyClicks(count, "3")
    _pick(qtbot, _child(dialog, QComboBox, "customRepeatMonthEndCombo"), 1)  # month's end
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.compose.repeat.dialog is None)  # closed
    assert repeat.currentText() == "Custom…"
    plan = window.compose.handling_label
    qtbot.waitUntil(
        lambda: plan.text().startswith(
            "Monthly on day 31 at 10:00, 3 times: first Thu 31 Dec 2026 10:00 UTC, "
            "last Sun 28 Feb 2027 10:00 UTC."
        )
    )

    _type(qtbot, window, "+15551234567", "Rent is due")
    qtbot.mouseClick(window.compose.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: SeriesBook(service).list_series() != [])
    [series] = SeriesBook(service).list_series()
    assert series.description.startswith("Monthly on day 31 at 10:00 UTC from 2026-12-01, 3 times")
    qtbot.waitUntil(lambda: window.compose.result_label.text().startswith("Scheduled a"))


def test_a_custom_dialog_cancelled_leaves_the_choice_as_it_was(
    qtbot: QtBot, window: MainWindow
) -> None:
    repeat = _child(window, QComboBox, "repeatCombo")
    _pick(qtbot, repeat, 1)
    assert repeat.currentText() == "Daily"
    qtbot.keyClick(repeat, Qt.Key.Key_End)
    dialog = _child(window, QDialog, "customRepeatDialog")
    qtbot.waitUntil(dialog.isVisible)
    qtbot.mouseClick(_child(dialog, QPushButton, "customRepeatCancel"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.compose.repeat.dialog is None)
    assert repeat.currentText() == "Daily"
