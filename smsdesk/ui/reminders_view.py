"""Reminders: the upcoming appointments with their reminders and where each one is, and the
import of an appointments file (.ics or CSV) through its preview dialog.

The list is read in the background; after an import the rows that were refused, too late
or not possible stay listed under it, so the desk can fix them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.engine.reminder_plan import AppointmentView, ReminderSummary
from smsdesk.engine.reminders import Reminders
from smsdesk.engine.service import Service
from smsdesk.ui.reminder_import import ReminderImportDialog, describe_summary, fill
from smsdesk.ui.rows_table import rows_table
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import ERROR_STYLE

AskPath = Callable[[], str | None]


def reminders_text(appointment: AppointmentView) -> str:
    """e.g. "7d Thu 3 Dec 2026 10:00 GMT (held on this computer) · 2h …"."""
    return " · ".join(f"{r.offset} {r.when} ({r.state})" for r in appointment.reminders) or (
        "no reminders"
    )


class RemindersView(QWidget):
    changed = Signal()  # reminders were created, moved or cancelled

    def __init__(
        self, service: Service, tasks: TaskRunner, *, ask_open: AskPath | None = None
    ) -> None:
        super().__init__()
        self.setObjectName("remindersView")
        self.setAccessibleName("Reminders")
        self.reminders = Reminders(service)
        self.tasks = tasks
        self.ask_open = ask_open or self._ask_open_with_dialog
        self.import_dialog: ReminderImportDialog | None = None
        self.loading = False
        self.appointments: list[AppointmentView] = []

        self.import_button = QPushButton("&Import appointments…")
        self.import_button.setObjectName("importRemindersButton")
        self.import_button.setAccessibleName("Import appointments from a calendar or CSV file")
        self.import_button.clicked.connect(self.import_file)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("refreshRemindersButton")
        self.refresh_button.setAccessibleName("Refresh the appointments")
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(QLabel("Upcoming appointments and their reminders"))
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.import_button)

        self.table = rows_table(
            "appointmentsTable",
            "Upcoming appointments",
            ["Appointment", "Patient", "Phone", "Location", "Reminders"],
        )
        self.status_label = QLabel()
        self.status_label.setObjectName("remindersStatus")
        self.status_label.setAccessibleName("Reminders status")
        self.status_label.setWordWrap(True)
        self.problems_caption = QLabel("From the last import, not reminded:")
        self.problems_table = rows_table(
            "lastImportProblems",
            "Rows of the last import that got no reminder",
            ["Line", "Patient", "Why"],
        )
        self.problems_caption.setBuddy(self.problems_table)
        self.problems_caption.hide()
        self.problems_table.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.status_label)
        layout.addWidget(self.problems_caption)
        layout.addWidget(self.problems_table, 1)

    # -- the list -------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.loading:
            return
        self.loading = True
        self.tasks.submit(self.reminders.upcoming, self._loaded, self._load_failed)

    def _loaded(self, appointments: list[AppointmentView]) -> None:
        self.loading = False
        self.appointments = appointments
        fill(
            self.table,
            [
                (
                    a.when
                    + (" (cancelled)" if a.cancelled else "")
                    + (f" ({a.answer})" if a.answer else ""),
                    a.name,
                    a.phone,
                    a.location,
                    reminders_text(a),
                )
                for a in appointments
            ],
        )

    def _load_failed(self, exc: Exception) -> None:
        self.loading = False
        self._status(f"Could not read the appointments: {exc}", error=True)

    def _status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")
        self.status_label.setText(text)

    # -- import ---------------------------------------------------------------------------

    def _ask_open_with_dialog(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import appointments",
            "",
            "Calendars and CSV files (*.ics *.csv *.txt);;All files (*)",
        )
        return path or None

    def import_file(self) -> None:
        path = self.ask_open()
        if not path:
            return
        self.import_button.setEnabled(False)
        self.tasks.submit(
            Path(path).read_bytes, lambda data: self._read(path, data), self._read_failed
        )

    def _read(self, path: str, data: bytes) -> None:
        self.import_button.setEnabled(True)
        dialog = ReminderImportDialog(
            self.reminders, self.tasks, data, file_name=Path(path).name, parent=self
        )
        dialog.imported.connect(self._imported)
        self.import_dialog = dialog
        dialog.open()  # window-modal, without blocking in exec()

    def _read_failed(self, exc: Exception) -> None:
        self.import_button.setEnabled(True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        self._status(f"Could not read the file: {reason}", error=True)

    def _imported(self, summary: ReminderSummary) -> None:
        self._status(describe_summary(summary))
        problems = [(str(r.line or ""), r.raw, r.reason) for r in summary.rejected]
        problems += [("", t.split(":")[0], "too late") for t in summary.too_late]
        problems += [("", t, "not possible") for t in summary.not_possible]
        problems += [("", f, "could not be changed") for f in summary.failed]
        fill(self.problems_table, problems)
        self.problems_caption.setVisible(bool(problems))
        self.problems_table.setVisible(bool(problems))
        self.refresh()
        self.changed.emit()
