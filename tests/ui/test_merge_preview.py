"""Compose with the contact book: merge previews per recipient, the worst case after merging,
lint warnings, groups, recipient-local times and saved templates."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow

JANE, NONAME = "+447911123456", "+447911123457"


@pytest.fixture
def book(service: Service) -> ContactBook:
    book = ContactBook(service.ctx)
    book.save_contact(JANE, name="Jane Doe", zone="Europe/London", groups=["North"])
    book.save_contact(NONAME, zone="America/New_York", groups=["North"])
    return book


def _retype(qtbot: QtBot, window: MainWindow, text: str) -> list[str]:
    compose = window.compose
    compose.message_edit.clear()
    qtbot.keyClicks(compose.message_edit, text)
    compose.update_merge_preview()  # what the debounce timer does once typing pauses
    return compose.merge_preview.lines()


def test_each_recipient_sees_their_own_message(
    qtbot: QtBot, window: MainWindow, book: ContactBook
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, f"{JANE}, {NONAME}")
    qtbot.keyClicks(compose.message_edit, "Hi {first_name|there}")
    # Shown by the debounce timer, without the test calling it.
    qtbot.waitUntil(lambda: compose.merge_preview.isVisible())
    qtbot.waitUntil(lambda: f"{JANE} (Jane Doe): Hi Jane" in compose.merge_preview.lines())
    assert compose.merge_preview.lines() == [
        "Longest after merging: 1 segment (GSM-7)",
        f"{JANE} (Jane Doe): Hi Jane",
        f"{NONAME}: Hi there",
    ]

    lines = _retype(qtbot, window, "Hi {first_name}")
    assert lines[1] == f"{JANE} (Jane Doe): Hi Jane"
    assert lines[2].startswith(f"{NONAME}: No value for {{first_name}}")
    # Schedule refuses it, and says so beside the text.
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert compose.text_error.isVisible()
    assert f"For {NONAME}: No value for {{first_name}}" in compose.text_error.text()

    # Plain text: nothing to preview.
    assert _retype(qtbot, window, "Hello") == []
    assert not compose.merge_preview.isVisible()


def test_worst_case_counts_the_longest_merged_message(
    qtbot: QtBot, window: MainWindow, book: ContactBook
) -> None:
    book.save_contact(JANE, fields={"note": "x" * 160})
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, f"{JANE}, {NONAME}")
    lines = _retype(qtbot, window, "Hi {first_name|there}, {note|ok}")
    assert compose.counter_label.text().startswith("32 characters · 1 segment")
    assert lines[0] == "Longest after merging: 2 segments (GSM-7)"
    assert lines[2] == f"{NONAME}: Hi there, ok"


def test_lint_warning_for_reply_stop(qtbot: QtBot, window: MainWindow, book: ContactBook) -> None:
    lines = _retype(qtbot, window, "Reply STOP to cancel")
    assert lines[0].startswith("Warning: Asking people to reply STOP opts them out of ALL")
    assert window.compose.merge_preview.isVisible()


def test_group_and_recipient_local_time_are_scheduled(
    qtbot: QtBot, window: MainWindow, service: Service, book: ContactBook
) -> None:
    compose = window.compose
    compose.reload_book()
    compose.group_combo.setCurrentIndex(compose.group_combo.findData("North"))
    assert compose.group_combo.currentText() == "North (2)"
    lines = _retype(qtbot, window, "Hi {first_name|there}")
    assert lines[1:] == [f"{JANE} (Jane Doe): Hi Jane", f"{NONAME}: Hi there"]
    compose.recipient_local_check.setFocus()
    qtbot.keyClick(compose.recipient_local_check, Qt.Key.Key_Space)
    assert compose.recipient_local_check.isChecked()
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    assert compose.result_label.text().startswith("Scheduled 2 messages")
    sent = {m.recipient: (m.text, m.send_at, m.zone) for m in service.list_messages()}
    # 10:00 in each one's own zone.
    assert sent == {
        JANE: ("Hi Jane", datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "Europe/London"),
        NONAME: ("Hi there", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "America/New_York"),
    }
    # Ready for the next message: no group, the sender's own time.
    assert compose.group() is None
    assert not compose.recipient_local_check.isChecked()


def test_a_saved_template_is_inserted(qtbot: QtBot, window: MainWindow, book: ContactBook) -> None:
    book.save_template("Reminder", "Hi {first_name|there}, see you soon")
    compose = window.compose
    compose.reload_book()
    combo = compose.templates_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["Insert a template…", "Reminder"]
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert compose.message_edit.toPlainText() == "Hi {first_name|there}, see you soon"
    assert combo.currentIndex() == 0  # back to the prompt
