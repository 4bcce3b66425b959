"""Compose as it is before storage is open: the recipients and the message can be typed at
once; Schedule says it is opening. Once storage is open the real Compose takes over what was
typed, where the cursor was (``hand_over``).

Shown in the first paint, so it imports Qt only (no engine, no view).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from smsdesk.ui.compose import ComposeView

OPENING_HINT = "Opening… type away: Schedule is ready in a moment."


class ComposeDraft(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("composeDraft")
        self.setAccessibleName("Compose (opening)")
        self.recipients_edit = QPlainTextEdit()
        self.recipients_edit.setObjectName("draftRecipientsEdit")
        self.recipients_edit.setAccessibleName("Recipients")
        self.recipients_edit.setFixedHeight(64)
        self.recipients_edit.setTabChangesFocus(True)
        self.message_edit = QPlainTextEdit()
        self.message_edit.setObjectName("draftMessageEdit")
        self.message_edit.setAccessibleName("Message text")
        self.message_edit.setPlaceholderText("Your message")
        self.message_edit.setTabChangesFocus(True)
        # Not a dead click: it says why it waits, and is enabled in the real Compose.
        self.schedule_button = QPushButton("Schedule (opening…)")
        self.schedule_button.setObjectName("draftScheduleButton")
        self.schedule_button.setAccessibleName("Schedule, once smsdesk has opened")
        self.schedule_button.setEnabled(False)
        self.schedule_button.setToolTip(OPENING_HINT)
        self.hint = QLabel(OPENING_HINT)
        self.hint.setObjectName("composeOpening")
        self.hint.setAccessibleName("Compose is opening")
        self.hint.setWordWrap(True)

        form = QFormLayout()
        form.addRow("To", self.recipients_edit)
        form.addRow("Message", self.message_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.schedule_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form, 1)
        layout.addLayout(buttons)


@dataclass(frozen=True)
class Typed:
    """What was typed in the draft, where each cursor was, and which field had the keyboard
    (taken before the draft leaves its tab: a hidden field loses the focus)."""

    recipients: str
    recipients_at: int
    message: str
    message_at: int
    focus: str | None  # "recipients", "message" or None


def typed(draft: ComposeDraft) -> Typed:
    # The window's focus widget, whether or not the window is active just now.
    focused, focus = draft.window().focusWidget(), None
    if focused is draft.recipients_edit:
        focus = "recipients"
    elif focused is draft.message_edit:
        focus = "message"
    return Typed(
        draft.recipients_edit.toPlainText(),
        draft.recipients_edit.textCursor().position(),
        draft.message_edit.toPlainText(),
        draft.message_edit.textCursor().position(),
        focus,
    )


def hand_over(was: Typed, compose: ComposeView) -> None:
    """The real Compose takes what was typed, and the keyboard where it was."""
    for text, at, real, name in (
        (was.recipients, was.recipients_at, compose.recipients_edit, "recipients"),
        (was.message, was.message_at, compose.message_edit, "message"),
    ):
        if text:
            real.setPlainText(text)
            cursor = real.textCursor()
            cursor.setPosition(min(at, len(real.toPlainText())))
            real.setTextCursor(cursor)
        if was.focus == name:
            real.setFocus()
