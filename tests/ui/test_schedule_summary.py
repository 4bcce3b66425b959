"""The summary step (scheduleSummaryDialog): for batches, quiet-hours moves and long texts;
never for a single ordinary message. Answered with the dialog's own buttons."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.schedule_summary import ScheduleSummaryDialog

TWELVE = ", ".join(f"+1555123{i:04d}" for i in range(12))


def open_summary(window: MainWindow) -> ScheduleSummaryDialog | None:
    shown = [
        d
        for d in window.findChildren(ScheduleSummaryDialog, "scheduleSummaryDialog")
        if d.isVisible()  # an answered one may wait for its deleteLater
    ]
    assert len(shown) <= 1
    return shown[0] if shown else None


def test_twelve_recipients_ask_first_and_back_stores_nothing(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, TWELVE)
    qtbot.keyClicks(compose.message_edit, "Flu shots are in: call us to book")
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)

    dialog = open_summary(window)
    assert dialog is not None
    values = {title: label.text() for title, label in dialog.values.items()}
    assert values == {
        "Recipients": "12",
        "Messages": "12",
        "Segments": "12 in total",
        "First send": "Tue 1 Dec 2026 10:00 UTC",
        "Last send": "Tue 1 Dec 2026 10:00 UTC",
    }  # no price: no provider quotes one and no rate is set, so segments only
    assert service.list_messages() == []

    qtbot.mouseClick(dialog.back_button, Qt.MouseButton.LeftButton)
    assert open_summary(window) is None
    assert service.list_messages() == []
    assert compose.result_label.text() == "Not scheduled; nothing was stored."
    assert compose.recipients_edit.toPlainText() == TWELVE  # nothing typed is lost

    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    dialog = open_summary(window)
    assert dialog is not None
    qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)
    assert len(service.list_messages()) == 12
    assert compose.result_label.text().startswith("Scheduled 12 messages for Tue 1 Dec 2026")


def test_a_single_ordinary_message_is_one_keystroke(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567")
    qtbot.keyClicks(compose.message_edit, "See you at 10")
    qtbot.keyClick(compose.message_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert open_summary(window) is None
    assert len(service.list_messages()) == 1


def test_a_text_over_one_segment_asks_with_its_segments(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567")
    qtbot.keyClicks(compose.message_edit, "Reminder: " + "bring your insurance card. " * 7)
    qtbot.keyClick(compose.message_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    dialog = open_summary(window)
    assert dialog is not None
    assert dialog.values["Segments"].text() == "2 in total"
    assert dialog.schedule_button.text() == "Schedule 1 message"
    qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)
    (stored,) = service.list_messages()
    assert stored.segments == 2


def test_what_changed_while_the_summary_was_open_is_shown_again(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, TWELVE)
    qtbot.keyClicks(compose.message_edit, "Flu shots are in")
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    first = open_summary(window)
    assert first is not None and first.values["Messages"].text() == "12"

    service.contact_book().opt_out("+15551230003")  # e.g. a STOP reply came in meanwhile
    qtbot.mouseClick(first.schedule_button, Qt.MouseButton.LeftButton)

    assert service.list_messages() == []  # not what was agreed: nothing stored
    second = open_summary(window)
    assert second is not None and second is not first
    assert second.values["Messages"].text() == "11"
    assert second.values["Not sent"].text() == "1 opted out"
    note = second.findChild(type(second.values["Messages"]), "summaryNote")
    assert note is not None and note.text().startswith("What will happen changed")
    qtbot.mouseClick(second.schedule_button, Qt.MouseButton.LeftButton)
    assert len(service.list_messages()) == 11
