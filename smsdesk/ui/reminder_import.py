"""Importing appointments (.ics or CSV) as reminders: choose the columns (CSV), the date
order, when to remind and the text; see what will be created, moved, cancelled, and which
rows are refused and why; then Import.

Nothing is written until Import is pressed. Planning and importing run in the background
(they read the database and may talk to the provider for moves and cancels); every change
of an option plans again, and an older plan's answer is dropped. The dialog is opened with
``open()``, not ``exec()``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal as QtSignal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.appointments import CsvColumns, parse_offsets
from smsdesk.core.errors import InvalidInput
from smsdesk.core.local_dates import DateOrder
from smsdesk.engine.reminder_plan import (
    ImportRequest,
    PlanStopped,
    ReminderPlan,
    ReminderSummary,
    kind_of,
)
from smsdesk.engine.reminders import Reminders
from smsdesk.ui.rows_table import fill as fill_rows
from smsdesk.ui.rows_table import rows_table
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import error_label, show_error, with_error

NONE = "(none)"
WRITE_TEXT = "Write the text below"
DEFAULT_TEXT = (
    "Hi {first_name|there}, this is a reminder of your appointment on "
    "{appt_time:%a %d %b at %H:%M} at {location|the clinic}. Reply STOP to opt out."
)
# The clinic defaults: a week, two days and two hours before.
PRESET_OFFSETS = (("7d", "7 days"), ("2d", "2 days"), ("2h", "2 hours"))
PLAN_DELAY_MS = 300  # typing in the text plans again once the typing pauses

FIELD_LABELS = {
    "number": "Phone",
    "name": "Patient",
    "start": "Date and time",
    "date": "Date",
    "time": "Time",
    "uid": "Appointment id",
    "location": "Location",
}
DATE_ORDERS: tuple[tuple[DateOrder, str], ...] = (
    ("dmy", "Day first (31/12/2026)"),
    ("mdy", "Month first (12/31/2026)"),
)


# Up to this many rows, each is as tall as its wrapped text (a plan can list hundreds).
WRAP_ROWS = 300


def fill(table: QTableView, rows: Sequence[tuple[str, ...]]) -> None:
    fill_rows(table, rows, WRAP_ROWS)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe_plan(plan: ReminderPlan) -> str:
    problems = len(plan.refused) + len(plan.too_late) + len(plan.not_possible)
    return (
        f"{plural(plan.appointments, 'appointment')}: "
        f"{plural(len(plan.create), 'reminder')} will be created, {len(plan.move)} moved, "
        f"{len(plan.cancel)} cancelled, {plan.unchanged} unchanged; "
        f"{plural(problems, 'problem')} listed below (refused rows, too late, not possible)."
    )


def describe_summary(summary: ReminderSummary) -> str:
    listed = len(summary.rejected) + len(summary.too_late) + len(summary.not_possible)
    text = (
        f"Reminders: {summary.created} created, {summary.moved} moved, "
        f"{summary.cancelled} cancelled, {summary.unchanged} unchanged"
    )
    if listed:
        text += f"; {plural(listed, 'row')} refused, too late or not possible (listed below)"
    if summary.failed:
        text += f"; {len(summary.failed)} could not be changed"
    return text + "."


@dataclass(frozen=True)
class _Setup:
    templates: list[tuple[str, str]]  # (name, text)
    date_order: DateOrder | None


class ReminderImportDialog(QDialog):
    imported = QtSignal(object)  # ReminderSummary, after Import has written

    def __init__(
        self,
        reminders: Reminders,
        tasks: TaskRunner,
        data: bytes,
        *,
        file_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.reminders = reminders
        self.tasks = tasks
        self.data = data
        self.kind = kind_of(file_name)
        self.plan: ReminderPlan | None = None
        self.summary: ReminderSummary | None = None
        self.planning = False
        self.importing = False
        self._ready = False  # templates and the region's date order are loaded
        self._run = 0
        self._closed = False
        self._templates: dict[str, str] = {}
        self._stop = threading.Event()

        self.setObjectName("reminderImportDialog")
        self.setAccessibleName("Import appointments")
        self.setWindowTitle(f"Import appointments — {file_name}")
        self.resize(860, 640)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PLAN_DELAY_MS)
        self._timer.timeout.connect(self.run_plan)

        # -- columns (CSV only)
        self.mapping_combos: dict[str, QComboBox] = {}
        self.mapping_box = QWidget()
        grid = QGridLayout(self.mapping_box)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (target, label_text) in enumerate(FIELD_LABELS.items()):
            combo = QComboBox()
            combo.setObjectName(f"reminderMap_{target}")
            combo.setAccessibleName(f"Column for {label_text}")
            combo.setEnabled(False)
            combo.currentIndexChanged.connect(self._option_changed)
            self.mapping_combos[target] = combo
            label = QLabel(label_text)
            label.setBuddy(combo)
            grid.addWidget(label, i // 3, (i % 3) * 2)
            grid.addWidget(combo, i // 3, (i % 3) * 2 + 1)
        self.date_order_combo = QComboBox()
        self.date_order_combo.setObjectName("dateOrderCombo")
        self.date_order_combo.setAccessibleName("How dates like 12/03/2026 are written")
        for order, text in DATE_ORDERS:
            self.date_order_combo.addItem(text, order)
        self.date_order_combo.currentIndexChanged.connect(self._option_changed)
        order_label = QLabel("&Dates are written")
        order_label.setBuddy(self.date_order_combo)
        row = len(FIELD_LABELS) // 3 + 1
        grid.addWidget(order_label, row, 0)
        grid.addWidget(self.date_order_combo, row, 1, 1, 3)
        self.mapping_error = error_label("reminderMappingError", "Column problem")
        grid.addWidget(self.mapping_error, row + 1, 0, 1, 6)
        self.mapping_box.setVisible(self.kind == "csv")

        # -- when to remind
        self.offset_boxes: dict[str, QCheckBox] = {}
        offsets_row = QHBoxLayout()
        for code, text in PRESET_OFFSETS:
            box = QCheckBox(f"{text} before")
            box.setObjectName(f"offset_{code}")
            box.setAccessibleName(f"Remind {text} before")
            box.setChecked(True)
            box.toggled.connect(self._option_changed)
            self.offset_boxes[code] = box
            offsets_row.addWidget(box)
        self.extra_offsets = QLineEdit()
        self.extra_offsets.setObjectName("offsetsExtra")
        self.extra_offsets.setAccessibleName("Other reminder times")
        self.extra_offsets.setPlaceholderText("others, e.g. 1d, 30m")
        self.extra_offsets.textChanged.connect(self._text_changed)
        offsets_row.addWidget(self.extra_offsets, 1)
        offsets_widget = QWidget()
        offsets_widget.setLayout(offsets_row)
        offsets_row.setContentsMargins(0, 0, 0, 0)
        self.offsets_error = error_label("offsetsError", "Reminder times problem")

        # -- the text
        self.template_combo = QComboBox()
        self.template_combo.setObjectName("reminderTemplateCombo")
        self.template_combo.setAccessibleName("Template")
        self.template_combo.addItem(WRITE_TEXT)
        self.template_combo.currentIndexChanged.connect(self._template_chosen)
        self.text_edit = QPlainTextEdit(DEFAULT_TEXT)
        self.text_edit.setObjectName("reminderTextEdit")
        self.text_edit.setAccessibleName("Reminder text")
        self.text_edit.setFixedHeight(70)
        self.text_edit.textChanged.connect(self._text_changed)
        self.text_error = error_label("reminderTextError", "Reminder text problem")
        self.source_edit = QLineEdit(file_name.rsplit(".", 1)[0] if "." in file_name else file_name)
        self.source_edit.setObjectName("reminderSourceEdit")
        self.source_edit.setAccessibleName("Calendar name")
        self.source_edit.setToolTip(
            "Import the same calendar under the same name: changed appointments move their "
            "reminders and removed ones cancel them."
        )
        self.source_edit.textChanged.connect(self._text_changed)

        form = QFormLayout()
        form.addRow("Remind", with_error(offsets_widget, self.offsets_error))
        form.addRow("&Template", self.template_combo)
        form.addRow("Te&xt", with_error(self.text_edit, self.text_error))
        form.addRow("&Calendar name", self.source_edit)

        # -- the preview
        self.summary_label = QLabel("Reading the file…")
        self.summary_label.setObjectName("reminderPreviewSummary")
        self.summary_label.setAccessibleName("What the import will do")
        self.summary_label.setWordWrap(True)
        self.error_label = error_label("reminderImportError", "Import problem")
        self.create_table = rows_table(
            "createTable",
            "Reminders to create",
            ["Patient", "Appointment", "Reminder", "Goes at", "Note"],
        )
        self.changes_table = rows_table(
            "changesTable",
            "Reminders to move or cancel",
            ["Change", "Patient", "Appointment", "Reminder", "Now", "Then"],
        )
        self.problems_table = rows_table(
            "problemsTable",
            "Refused rows and reminders not possible",
            ["Line", "Patient", "What", "Why"],
        )
        self.preview_tabs = QTabWidget()
        self.preview_tabs.setObjectName("reminderPreviewTabs")
        self.preview_tabs.addTab(self.create_table, "Created")
        self.preview_tabs.addTab(self.changes_table, "Moved or cancelled")
        self.preview_tabs.addTab(self.problems_table, "Refused or not possible")

        self.import_button = QPushButton("Import")
        self.import_button.setObjectName("reminderImportButton")
        self.import_button.setAccessibleName("Import reminders")
        self.import_button.setEnabled(False)
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("reminderImportCancel")
        self.cancel_button.setAccessibleName("Cancel import")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.import_button)

        layout = QVBoxLayout(self)
        if self.kind == "csv":
            layout.addWidget(QLabel("Which column holds what:"))
        layout.addWidget(self.mapping_box)
        layout.addLayout(form)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.preview_tabs, 1)
        layout.addLayout(buttons)

        self._load_setup()

    # -- set-up ---------------------------------------------------------------------------

    def _load_setup(self) -> None:
        reminders = self.reminders

        def work() -> _Setup:
            book = reminders.service.contact_book()
            return _Setup([(t.name, t.text) for t in book.templates()], reminders.date_order())

        self.planning = True
        self.tasks.submit(work, self._set_up, self._failed)

    def _set_up(self, setup: _Setup) -> None:
        if self._closed:
            return
        self._templates = dict(setup.templates)
        self.template_combo.blockSignals(True)
        self.template_combo.addItems(list(self._templates))
        self.template_combo.blockSignals(False)
        self.date_order_combo.blockSignals(True)
        order = setup.date_order or "dmy"
        self.date_order_combo.setCurrentIndex(self.date_order_combo.findData(order))
        self.date_order_combo.blockSignals(False)
        self._ready = True
        self.run_plan()

    # -- options --------------------------------------------------------------------------

    def _option_changed(self) -> None:
        if self._ready:
            self.run_plan()

    def _text_changed(self) -> None:
        if self._ready:
            self._timer.start()

    def _template_chosen(self, index: int) -> None:
        name = self.template_combo.itemText(index)
        if name in self._templates:
            self.text_edit.setPlainText(self._templates[name])  # plans again via textChanged

    def offsets(self) -> tuple[timedelta, ...]:
        codes = [code for code, box in self.offset_boxes.items() if box.isChecked()]
        extra = self.extra_offsets.text().strip()
        return tuple(parse_offsets(",".join([*codes, extra] if extra else codes)))

    def mapping(self) -> dict[str, str] | None:
        """field -> column from the combos; None until the first plan showed the file's."""
        if self.kind != "csv" or not any(c.count() for c in self.mapping_combos.values()):
            return None
        return {
            target: "" if combo.currentText() == NONE else combo.currentText()
            for target, combo in self.mapping_combos.items()
        }

    def request(self) -> ImportRequest:
        """The import as the options now say; InvalidInput (with its field) when they cannot."""
        order = self.date_order_combo.currentData()
        return ImportRequest(
            self.data,
            self.kind,
            self.offsets(),
            self.text_edit.toPlainText(),
            self.source_edit.text(),
            mapping=self.mapping(),
            date_order=order if order in ("dmy", "mdy") else None,
        )

    # -- planning -------------------------------------------------------------------------

    def run_plan(self) -> None:
        self._timer.stop()
        self._run += 1
        run = self._run
        self.import_button.setEnabled(False)
        for label in (self.offsets_error, self.text_error, self.mapping_error, self.error_label):
            show_error(label, "")
        try:
            request = self.request()
        except InvalidInput as exc:
            self.planning = False
            self._show_error(exc)
            return
        self.planning = True
        self.summary_label.setText("Working out what the import will do…")
        reminders = self.reminders
        self._stop.set()  # an older plan still running stops at its next appointment
        self._stop = stop = threading.Event()

        def work() -> ReminderPlan | InvalidInput | None:
            try:
                return reminders.plan(request, keep_going=lambda: not stop.is_set())
            except InvalidInput as exc:  # shown beside its field, not in the status bar
                return exc
            except PlanStopped:
                return None

        self.tasks.submit(work, lambda result: self._planned(run, result), self._failed)

    def _planned(self, run: int, result: ReminderPlan | InvalidInput | None) -> None:
        if run != self._run or self._closed or result is None:
            return  # an option changed meanwhile: a newer plan is on its way
        self.planning = False
        if isinstance(result, InvalidInput):
            if result.field == "mapping" and self.kind == "csv":
                self._show_columns(self.reminders.columns(self.data, self.mapping()))
            self._show_error(result)
            return
        self.plan = result
        if result.columns is not None:
            self._show_columns(result.columns)
        self.summary_label.setText(describe_plan(result))
        fill(
            self.create_table,
            [(r.who, r.appointment, r.offset, r.when, r.note) for r in result.create],
        )
        fill(
            self.changes_table,
            [("Move", r.who, r.appointment, r.offset, r.previous, r.when) for r in result.move]
            + [
                ("Cancel", r.who, r.appointment, r.offset, r.previous, "cancelled")
                for r in result.cancel
            ],
        )
        problems = [(str(r.line or ""), r.who, "refused", r.reason) for r in result.refused]
        problems += [
            (str(r.line or ""), r.who, f"{r.offset} reminder too late", f"for {r.appointment}")
            for r in result.too_late
        ]
        problems += [
            (str(r.line or ""), r.who, f"{r.offset} reminder not possible", r.note)
            for r in result.not_possible
        ]
        fill(self.problems_table, problems)
        self.preview_tabs.setTabText(0, f"Created ({len(result.create)})")
        self.preview_tabs.setTabText(
            1, f"Moved or cancelled ({len(result.move) + len(result.cancel)})"
        )
        self.preview_tabs.setTabText(2, f"Refused or not possible ({len(problems)})")
        self.import_button.setEnabled(result.does_something)

    def _show_columns(self, columns: CsvColumns) -> None:
        for target, combo in self.mapping_combos.items():
            combo.blockSignals(True)  # showing what the plan used is not a change
            if combo.count() == 0:
                combo.addItems([NONE, *[c for c in columns.columns if c]])
            combo.setCurrentText(columns.mapping.get(target, NONE))
            combo.setEnabled(True)
            combo.blockSignals(False)

    def _show_error(self, exc: InvalidInput) -> None:
        self.plan = None
        self.summary_label.setText("Nothing can be imported as it is:")
        for table in (self.create_table, self.changes_table, self.problems_table):
            fill(table, [])
        where = {
            "reminders": self.offsets_error,
            "offsets": self.offsets_error,
            "text": self.text_error,
            "mapping": self.mapping_error,
            "start": self.mapping_error,
        }.get(exc.field or "", self.error_label)
        if where is self.mapping_error and self.kind != "csv":
            where = self.error_label
        show_error(where, exc.message)

    def _failed(self, exc: Exception) -> None:
        self.planning = self.importing = False
        if not self._closed:
            show_error(self.error_label, f"Could not read the appointments: {exc}")

    # -- importing ------------------------------------------------------------------------

    def start_import(self) -> None:
        if self.plan is None or self.planning or self.importing:
            return
        try:
            request = self.request()
        except InvalidInput as exc:
            self._show_error(exc)
            return
        self.importing = True
        self.import_button.setEnabled(False)
        self.summary_label.setText("Importing…")
        reminders = self.reminders

        def work() -> ReminderSummary | InvalidInput:
            try:
                return reminders.apply(request)
            except InvalidInput as exc:
                return exc

        self.tasks.submit(work, self._imported, self._import_failed)

    def _imported(self, result: ReminderSummary | InvalidInput) -> None:
        self.importing = False
        if isinstance(result, InvalidInput):
            self._show_error(result)
            return
        self.summary = result
        self.imported.emit(result)
        if not self._closed:
            self.accept()

    def _import_failed(self, exc: Exception) -> None:
        self.importing = False
        show_error(self.error_label, f"Import failed, nothing was stored: {exc}")
        self.import_button.setEnabled(self.plan is not None)

    def done(self, result: int) -> None:
        self._closed = True
        self._stop.set()
        self._timer.stop()
        super().done(result)
