"""The Series tab: start a recurring message from a preset, see its next dates (skipped ones
too), bad input beside its field, and end a series from the list."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from smsdesk.engine.series import SeriesBook, SeriesRequest
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from tests.ui.conftest import Answers

ANN = "+447911123456"
W = TypeVar("W", bound=QWidget)


def _child(window: MainWindow, kind: type[W], name: str) -> W:
    found = window.findChild(kind, name)
    assert isinstance(found, kind), name
    return found


def _type_start(qtbot: QtBot, edit: QDateTimeEdit, text: str) -> None:
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def _type_zone(qtbot: QtBot, combo: QComboBox, zone: str) -> None:
    edit = combo.lineEdit()
    assert edit is not None
    edit.selectAll()
    qtbot.keyClicks(edit, zone)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _rows(view: QAbstractItemView) -> list[list[str]]:
    model = view.model()
    return [
        [str(model.index(r, c).data()) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_start_a_weekly_series_from_a_preset(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.show_view("Series")
    assert window.findChild(QWidget, "seriesView") is window.tabs.currentWidget()
    qtbot.keyClicks(_child(window, QLineEdit, "seriesRecipientsEdit"), ANN)
    qtbot.keyClicks(_child(window, QPlainTextEdit, "seriesTextEdit"), "Rota is up")
    start = _child(window, QDateTimeEdit, "seriesStartEdit")
    _type_start(qtbot, start, "2026-12-07 08:30")
    zone = _child(window, QComboBox, "seriesZoneCombo")
    _type_zone(qtbot, zone, "Europe/London")
    presets = _child(window, QComboBox, "seriesPresetCombo")
    labels = [presets.itemText(i) for i in range(presets.count())]
    # The presets speak of the chosen start: Monday 7 December, the first Monday.
    assert "Weekly on Monday" in labels
    assert "Monthly on the first Monday" in labels
    assert "Monthly on day 7" in labels
    assert presets.currentText() == "Weekly on Monday"
    preview = _child(window, QLabel, "seriesPreview")
    qtbot.waitUntil(lambda: "Mon 14 Dec 2026 08:30 GMT" in preview.text())
    add = _child(window, QPushButton, "addSeriesButton")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    table = _child(window, QAbstractItemView, "seriesTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    [row] = _rows(table)
    assert row[0] == "Weekly on Monday at 08:30 Europe/London from 2026-12-07"
    assert row[2] == "Mon 7 Dec 2026 08:30 GMT"
    occurrences = _child(window, QAbstractItemView, "occurrencesTable")
    qtbot.waitUntil(lambda: occurrences.model().rowCount() > 0)
    first = _rows(occurrences)[0]
    assert first[:2] == ["Mon 7 Dec 2026 08:30 GMT", "in the queue (held on this computer)"]
    sent = sorted(m.send_at for m in service.list_messages())
    assert sent[0] == datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    assert len(sent) == 5


def test_bad_input_is_shown_beside_its_field_and_nothing_is_stored(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.show_view("Series")
    add = _child(window, QPushButton, "addSeriesButton")
    qtbot.keyClicks(_child(window, QLineEdit, "seriesRecipientsEdit"), ANN)
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    text_error = _child(window, QLabel, "seriesTextError")
    qtbot.waitUntil(text_error.isVisible)
    assert "empty" in text_error.text()
    qtbot.keyClicks(_child(window, QPlainTextEdit, "seriesTextEdit"), "Hello")
    presets = _child(window, QComboBox, "seriesPresetCombo")
    presets.setFocus()
    qtbot.keyClick(presets, Qt.Key.Key_End)  # the last entry: a custom rule
    rule = _child(window, QLineEdit, "seriesRuleEdit")
    assert rule.isVisible()
    qtbot.keyClicks(rule, "FREQ=FORTNIGHTLY")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    rule_error = _child(window, QLabel, "seriesRuleError")
    qtbot.waitUntil(rule_error.isVisible)
    assert "not a repeat rule" in rule_error.text()
    assert not text_error.isVisible()
    assert SeriesBook(service).list_series() == []
    assert service.list_messages() == []


def test_end_a_series_from_the_list(
    qtbot: QtBot, window: MainWindow, service: Service, answers: Answers
) -> None:
    book = SeriesBook(service)
    book.add(
        SeriesRequest(
            text="Rent is due",
            rule="monthly",
            start=datetime(2026, 12, 31, 9, 0),
            zone="Europe/London",
            numbers=(ANN,),
            holidays="GB",
        )
    )
    window.show_view("Series")
    occurrences = _child(window, QAbstractItemView, "occurrencesTable")
    qtbot.waitUntil(lambda: occurrences.model().rowCount() > 0)
    shown = _rows(occurrences)
    # 31 Dec is stored; February has no 31st: listed as skipped, not left out.
    assert shown[0][:2] == ["Thu 31 Dec 2026 09:00 GMT", "in the queue (held on this computer)"]
    assert shown[1] == ["Sun 31 Jan 2027 09:00 GMT", "planned", ""]
    assert shown[2][1:] == ["skipped", "2027-02 has no day 31"]
    assert shown[3] == ["Wed 31 Mar 2027 09:00 BST", "planned", ""]
    cancel = _child(window, QPushButton, "cancelSeriesButton")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    status = _child(window, QLabel, "seriesStatus")
    qtbot.waitUntil(lambda: status.text().startswith("Ended"))
    assert answers.asked == 1
    table = _child(window, QAbstractItemView, "seriesTable")
    qtbot.waitUntil(lambda: _rows(table)[0][3] == "cancelled")
    assert {m.state for m in service.list_messages()} == {"cancelled"}
    assert not cancel.isEnabled()


def test_pause_and_resume_from_the_list(qtbot: QtBot, window: MainWindow, service: Service) -> None:
    SeriesBook(service).add(
        SeriesRequest(
            text="Rota",
            rule="weekdays",
            start=datetime(2026, 12, 2, 9, 0),
            zone="UTC",
            numbers=(ANN,),
        )
    )
    window.show_view("Series")
    table = _child(window, QAbstractItemView, "seriesTable")
    qtbot.waitUntil(lambda: table.model().rowCount() == 1)
    assert _rows(table)[0][0] == "Every weekday at 09:00 UTC from 2026-12-02"
    pause = _child(window, QPushButton, "pauseSeriesButton")
    assert pause.text() == "Pause"
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _rows(table)[0][3] == "paused")
    assert pause.text() == "Resume"
    assert {m.state for m in service.list_messages()} == {"cancelled"}
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _rows(table)[0][3] == "active")
    queued = [m for m in service.list_messages() if m.state == "queued"]
    assert len(queued) == 24  # 2 Dec - 4 Jan, weekdays: stored again, once each
