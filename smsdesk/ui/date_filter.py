"""A date edit for an optional bound ("any" when unset) that Tab can leave.

QDateEdit keeps Tab for its sections, and while it shows its special value ("any") it has
no section to move to, so Tab never leaves it: a keyboard user is stuck in the Queue's date
filters. Here Tab moves on to the next control whenever "any" is shown."""

from __future__ import annotations

from PySide6.QtWidgets import QDateEdit, QWidget


class DateFilterEdit(QDateEdit):
    def focusNextPrevChild(self, next: bool) -> bool:
        if self.specialValueText() and self.date() == self.minimumDate():
            return QWidget.focusNextPrevChild(self, next)
        return super().focusNextPrevChild(next)
