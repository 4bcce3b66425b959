"""The Templates view's part for replies: which whole replies confirm or ask to reschedule an
appointment reminded with the template, and the answers sent back for each (optional). Each
field shows its own error beside it; nothing is stored while one is wrong."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from smsdesk.core.errors import InvalidInput
from smsdesk.engine.template_replies import (
    ANSWER_FIELDS,
    DEFAULT_RULES,
    ReplyRules,
    check_rules,
    words_text,
)
from smsdesk.ui.widgets import error_label, show_error, with_error

HINT = (
    "For replies to reminders made from this template (their text follows it). A word counts "
    "only as the whole reply, whatever its case and punctuation; anything else is shown in "
    "Replies as written. An answer goes back once per reply, never to a number that opted "
    "out; it may use " + ", ".join("{" + f + "}" for f in ANSWER_FIELDS) + "."
)


class ReplyRulesFields(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Replies to its messages", parent)
        self.setObjectName("templateReplies")
        self.confirm_edit = self._edit("confirmWordsEdit", "Words that confirm", "C, 1, YES")
        self.reschedule_edit = self._edit(
            "rescheduleWordsEdit", "Words that ask to reschedule", "R, 2"
        )
        self.confirmed_answer_edit = self._edit(
            "confirmedAnswerEdit",
            "Answer to a confirmation",
            "none; e.g. Thanks {first_name}, see you {appt_time:%A at %H:%M}.",
        )
        self.reschedule_answer_edit = self._edit(
            "rescheduleAnswerEdit",
            "Answer to a wish to reschedule",
            "none; e.g. Please call us on 020 7946 0000 to find a new time.",
        )
        self.errors = {
            "confirm_words": error_label("confirmWordsError", "Confirm words error"),
            "reschedule_words": error_label("rescheduleWordsError", "Reschedule words error"),
            "confirmed_answer": error_label("confirmedAnswerError", "Confirmation answer error"),
            "reschedule_answer": error_label("rescheduleAnswerError", "Reschedule answer error"),
        }
        hint = QLabel(HINT)
        hint.setObjectName("templateRepliesHint")
        hint.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Confirmed", with_error(self.confirm_edit, self.errors["confirm_words"]))
        form.addRow("Reschedule", with_error(self.reschedule_edit, self.errors["reschedule_words"]))
        form.addRow(
            "Answer if confirmed",
            with_error(self.confirmed_answer_edit, self.errors["confirmed_answer"]),
        )
        form.addRow(
            "Answer if rescheduling",
            with_error(self.reschedule_answer_edit, self.errors["reschedule_answer"]),
        )
        form.addRow(hint)
        self.set_rules(DEFAULT_RULES)

    @staticmethod
    def _edit(name: str, accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        return edit

    def set_rules(self, rules: ReplyRules) -> None:
        self.confirm_edit.setText(words_text(rules.confirm))
        self.reschedule_edit.setText(words_text(rules.reschedule))
        self.confirmed_answer_edit.setText(rules.confirmed_answer)
        self.reschedule_answer_edit.setText(rules.reschedule_answer)
        self.clear_errors()

    def clear_errors(self) -> None:
        for label in self.errors.values():
            show_error(label, "")

    def rules(self) -> ReplyRules | None:
        """The rules as typed, or None with the error shown beside its field."""
        self.clear_errors()
        try:
            return check_rules(
                self.confirm_edit.text(),
                self.reschedule_edit.text(),
                self.confirmed_answer_edit.text(),
                self.reschedule_answer_edit.text(),
            )
        except InvalidInput as exc:
            label = self.errors.get(exc.field or "", self.errors["confirm_words"])
            show_error(label, exc.message)
            return None
