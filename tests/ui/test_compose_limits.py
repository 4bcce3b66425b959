"""Compose says which characters "Replace with GSM characters" cannot replace, and warns as
soon as the text is longer than the account's provider accepts."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from smsdesk.core.segments import GSM7_MULTI
from smsdesk.engine.scheduling import MAX_SEGMENTS
from smsdesk.ui.main_window import MainWindow


def _paste(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """As a receptionist pastes from a word processor."""
    edit = window.compose.message_edit
    QApplication.clipboard().setText(text)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)


def test_the_characters_that_cannot_be_replaced_are_named(qtbot: QtBot, window: MainWindow) -> None:
    compose = window.compose
    _paste(qtbot, window, "It’s at 10 🙂 – bring your card ✓")
    assert compose.replace_button.isVisible()
    left = compose.unreplaceable_label
    assert left.isVisible()
    assert left.text().endswith(": 🙂 ✓")  # the quote and the dash can be replaced
    qtbot.mouseClick(compose.replace_button, Qt.MouseButton.LeftButton)
    assert compose.message_edit.toPlainText() == "It's at 10 🙂 - bring your card ✓"
    assert not compose.replace_button.isVisible()
    assert left.isVisible() and left.text().endswith(": 🙂 ✓")  # still said after replacing


def test_nothing_is_named_when_everything_can_be_replaced(qtbot: QtBot, window: MainWindow) -> None:
    _paste(qtbot, window, "It’s at 10 – see you")
    assert window.compose.replace_button.isVisible()
    assert not window.compose.unreplaceable_label.isVisible()


def test_too_long_is_said_as_soon_as_it_is_typed(qtbot: QtBot, window: MainWindow) -> None:
    compose = window.compose
    longest = GSM7_MULTI * MAX_SEGMENTS  # GSM-7 characters the longest accepted message holds
    _paste(qtbot, window, "a" * longest)
    assert not compose.length_warning.isVisible()
    qtbot.keyClicks(compose.message_edit, "b")
    assert compose.length_warning.isVisible()
    account = compose.account_combo.currentText()
    assert f"{MAX_SEGMENTS + 1} segments" in compose.length_warning.text()
    assert f"{account}'s provider accepts at most {MAX_SEGMENTS}" in compose.length_warning.text()
    qtbot.keyClick(compose.message_edit, Qt.Key.Key_Backspace)
    assert not compose.length_warning.isVisible()
