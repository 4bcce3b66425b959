"""Compose driven by keyboard and mouse: what the user sees, and what gets stored."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column


def _type(qtbot: QtBot, window: MainWindow, recipients: str, text: str) -> None:
    qtbot.keyClicks(window.compose.recipients_edit, recipients)
    qtbot.keyClicks(window.compose.message_edit, text)


def test_scheduling_shows_the_row_in_queue_and_the_count_in_calendar(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    assert compose.send_at_edit.dateTime().toString("yyyy-MM-dd HH:mm") == "2026-12-01 10:00"
    assert compose.zone_combo.currentText() == "UTC"
    _type(qtbot, window, "+15551234567, +15557654321", "Checkup tomorrow at 10")
    assert compose.recipients_status.text() == "2 recipients"
    assert "Sandbox will schedule it" in compose.handling_label.text()

    qtbot.keyClick(compose.message_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    assert compose.result_label.text().startswith("Scheduled 2 messages for Tue 1 Dec 2026 10:00")
    assert compose.recipients_edit.toPlainText() == ""  # ready for the next one
    model = window.queue.model
    assert model.rowCount() == 2
    rows = sorted([model.index(r, c).data() for c in Column] for r in range(2))
    assert rows[0] == [
        "Tue 1 Dec 2026 10:00 UTC",
        "+15551234567",
        "Checkup tomorrow at 10",
        "Sandbox",
        "queued",
        "on this computer",
        "1",
    ]
    assert window.calendar.counts_on(date(2026, 12, 1)) == {"queued": 2}
    fmt = window.calendar.calendar.dateTextFormat(QDate(2026, 12, 1))
    assert fmt.toolTip() == "2 messages: 2 queued"
    assert len(service.list_messages()) == 2


def test_invalid_recipients_are_marked_and_nothing_is_stored(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    _type(qtbot, window, "+15551234567; call me", "Hello")
    assert compose.recipients_status.text().startswith("1 valid, 1 not valid")
    assert len(compose.recipients_edit.extraSelections()) == 1  # the bad one is underlined

    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)

    assert compose.recipients_error.isVisible()
    assert "'call me' is not a phone number" in compose.recipients_error.text()
    assert not compose.text_error.isVisible()
    assert service.list_messages() == []


def test_empty_text_and_past_time_show_beside_their_fields(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567")
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert compose.text_error.text() == "The message is empty."

    qtbot.keyClicks(compose.message_edit, "Hi")
    assert not compose.text_error.isVisible()
    compose.send_at_edit.setDateTime(QDateTime(QDate(2026, 11, 30), QTime(9, 0), QTimeZone.utc()))
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert "is in the past" in compose.send_at_error.text()
    assert compose.send_at_error.isVisible()
    assert service.list_messages() == []


def test_a_time_skipped_by_daylight_saving_is_refused(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    _type(qtbot, window, "+15551234567", "Hi")
    compose.zone_combo.setCurrentText("Europe/London")
    compose.send_at_edit.setDateTime(QDateTime(QDate(2027, 3, 28), QTime(1, 30), QTimeZone.utc()))
    assert "does not exist in Europe/London" in compose.send_at_error.text()
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert service.list_messages() == []


def test_counter_highlights_ucs2_and_offers_gsm_replacements(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    # Pasted from a word processor (QTest cannot type characters outside Latin-1).
    compose.message_edit.insertPlainText("It’s at 10 – see you")
    assert compose.counter_label.text().startswith("20 characters · 1 segment · UCS-2")
    assert "’" in compose.culprits_label.text()
    assert compose.replace_button.isVisible()

    qtbot.mouseClick(compose.replace_button, Qt.MouseButton.LeftButton)

    assert compose.message_edit.toPlainText() == "It's at 10 - see you"
    assert "GSM-7" in compose.counter_label.text()
    assert compose.culprits_label.text() == ""
    assert not compose.replace_button.isVisible()


def test_preview_runs_in_the_background(qtbot: QtBot, window: MainWindow) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.message_edit, "Hello there")
    qtbot.mouseClick(compose.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compose.preview_label.text().startswith("Preview (Sandbox)"))
    assert "11 characters, 1 segment, GSM-7" in compose.preview_label.text()
    assert compose.preview_button.isEnabled()


def test_sender_error_shows_beside_the_sender(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    _type(qtbot, window, "+15551234567", "Hi")
    qtbot.keyClicks(compose.sender_edit, "A very long clinic name")
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert "neither a phone number" in compose.sender_error.text()
    assert compose.sender_error.isVisible()
    assert service.list_messages() == []
    # Nothing typed is lost: the user corrects the sender and schedules again.
    assert compose.message_edit.toPlainText() == "Hi"
    assert "+15551234567" in compose.recipients_edit.toPlainText()
