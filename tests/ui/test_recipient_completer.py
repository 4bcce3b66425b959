"""Contact autocomplete in Compose's recipients field."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow

MARIA = "+34612345678"
# A popup asks the platform to raise it and grab the keyboard; the offscreen platform the
# tests run on cannot (a real desktop can), which says nothing about smsdesk.
OFFSCREEN_POPUP = ("This plugin does not support raise", "does not support grabbing the keyboard")


@pytest.mark.qt_log_ignore(*OFFSCREEN_POPUP)
def test_typing_a_name_offers_the_contacts_number(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    book = service.contact_book()
    book.save_contact(MARIA, name="Maria García")
    book.save_contact("+34612345679", name="Mario Ruiz")
    book.save_contact("+15551234567", name="Tom Baker")
    compose = window.compose
    popup = compose.completer.popup
    qtbot.keyClicks(compose.recipients_edit, "+15557654321, Maria")

    qtbot.waitUntil(popup.isVisible, timeout=5000)
    assert popup.objectName() == "recipientCompletions"
    model = popup.model()
    offered = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert offered == [f"Maria García — {MARIA}"]  # Mario and Tom do not match "Maria"

    index = model.index(0, 0)
    qtbot.mouseClick(
        popup.viewport(), Qt.MouseButton.LeftButton, pos=popup.visualRect(index).center()
    )

    assert compose.recipients_edit.toPlainText() == f"+15557654321, {MARIA}, "
    assert not popup.isVisible()
    assert compose.recipients_status.text() == "2 recipients"


def test_a_number_being_typed_is_not_looked_up(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    service.contact_book().save_contact("+15551234567", name="Tom Baker")
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+1555123")
    qtbot.waitUntil(lambda: not compose.completer.timer.isActive(), timeout=5000)
    qtbot.waitUntil(lambda: window.tasks.pending == 0, timeout=5000)
    assert not compose.completer.popup.isVisible()
    assert compose.recipients_edit.toPlainText() == "+1555123"
