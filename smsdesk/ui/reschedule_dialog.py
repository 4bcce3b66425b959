"""Asking for a new send time (Queue and Calendar). Views take the asker as a parameter so
tests answer it without a modal dialog."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import localize, resolve_zone
from smsdesk.engine.views import MessageView
from smsdesk.ui.widgets import error_label, qt_to_wall, set_zone, show_error, wall_to_qt, zone_combo

# messages -> the new instant (aware), or None when the user gave up.
AskTime = Callable[[Sequence[MessageView]], datetime | None]


class RescheduleDialog(QDialog):
    def __init__(self, messages: Sequence[MessageView], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reschedule")
        self.setAccessibleName("Reschedule")
        first = messages[0]
        zone = resolve_zone(first.zone)
        self.edit = QDateTimeEdit()
        self.edit.setAccessibleName("New send date and time")
        self.edit.setCalendarPopup(True)
        self.edit.setTimeZone(wall_to_qt(datetime(2000, 1, 1)).timeZone())
        self.edit.setDisplayFormat("ddd d MMM yyyy  HH:mm")
        self.edit.setDateTime(wall_to_qt(first.send_at.astimezone(zone).replace(tzinfo=None)))
        self.zone = zone_combo("rescheduleZone", "Time zone")
        set_zone(self.zone, zone.key)
        self.error = error_label("rescheduleError", "Send time error")
        self.chosen: datetime | None = None
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        count = len(messages)
        form.addRow(QLabel(f"Move {count} message{'s' if count != 1 else ''} to:"))
        form.addRow("Date and time", self.edit)
        form.addRow("Time zone", self.zone)
        form.addRow(self.error)
        form.addRow(buttons)

    def _accept(self) -> None:
        try:
            self.chosen = localize(
                qt_to_wall(self.edit.dateTime()), resolve_zone(self.zone.currentText())
            )
        except InvalidInput as exc:
            show_error(self.error, str(exc))
            return
        self.accept()


def ask_with_dialog(parent: QWidget) -> AskTime:
    def ask(messages: Sequence[MessageView]) -> datetime | None:
        if not messages:
            return None
        dialog = RescheduleDialog(messages, parent)
        return dialog.chosen if dialog.exec() == QDialog.DialogCode.Accepted else None

    return ask
