"""Importing contacts from a CSV file: which column holds what first, then a preview
(rejected and repaired rows), then the import itself, in the background with progress and
Cancel.

The mapping never dead-ends: every column of the file is offered for every field, and a file
whose number column has a name smsdesk does not know asks for it before any preview. Rejected
rows, with the person's name, can be saved as a CSV to fix and import again. Nothing is
written to the contact book until Import is pressed. The dialog is opened with ``open()``
(not ``exec()``), so the window and tests keep running while it is shown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QObject,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.contacts_csv import FIELDS, ColumnGuess, ImportPreview, NoNumberColumn
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.contacts import ContactBook, ImportSummary
from smsdesk.ui.rows_table import RowsModel, fill, rows_table
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import ERROR_STYLE

NONE = "(none)"
WRAP_ROWS = 500  # up to this many rows, each is as tall as its wrapped text
# The number first: it is the one mapping an import cannot do without.
FIELD_LABELS = {
    "number": "Phone number",
    "name": "Name",
    "zone": "Time zone",
    "first_name": "First name",
    "last_name": "Last name",
}
assert set(FIELD_LABELS) == set(FIELDS)  # a new importable field needs a combo here
COMBO_NAMES = {
    "number": "mapNumberCombo",
    "name": "mapNameCombo",
    "zone": "mapZoneCombo",
    "first_name": "mapFirstNameCombo",
    "last_name": "mapLastNameCombo",
}
CHOOSE_NUMBER = (
    "Which column holds the phone numbers? Choose it above; nothing is imported until you "
    "press Import."
)
# One background run's answer: the columns (first run only) and the preview or why not.
_Result = tuple[ColumnGuess | None, ImportPreview | InvalidInput]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe_preview(preview: ImportPreview) -> str:
    return (
        f"{preview.accepted} accepted ({preview.repaired} repaired), "
        f"{len(preview.rejected)} rejected, {plural(preview.merged, 'duplicate')} merged"
    )


def describe_import(summary: ImportSummary) -> str:
    into = f" into group '{summary.group}'" if summary.group else ""
    return (
        f"Imported{into}: {summary.added} added, {summary.updated} updated, "
        f"{summary.rejected} rejected, {plural(summary.merged, 'duplicate')} merged."
    )


class _Progress(QObject):
    """Carries progress from the worker thread to the dialog; Qt queues the signal because
    this object lives on the GUI thread, so the worker never touches a widget."""

    moved = Signal(int, int)


def _table(name: str, accessible: str, headers: list[str]) -> QTableView:
    return rows_table(name, accessible, headers)


def _fill(table: QTableView, rows: list[tuple[str, ...]]) -> None:
    fill(table, rows, WRAP_ROWS)


class ImportDialog(QDialog):
    imported = Signal(object)  # ImportSummary, after Import has written

    def __init__(
        self,
        book: ContactBook,
        tasks: TaskRunner,
        data: bytes,
        *,
        file_name: str = "",
        ask_save: Callable[[], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.book = book
        self.tasks = tasks
        self.data = data
        self.ask_save = ask_save or self._ask_save_with_dialog
        self.columns: list[str] | None = None  # the file's, once read
        self.preview: ImportPreview | None = None
        self.summary: ImportSummary | None = None
        # Each run gets its own flag: the worker reads it, Cancel or a newer run sets it.
        self._cancel = threading.Event()
        self._run = 0  # results of an older run (mapping changed meanwhile) are dropped
        self._phase = ""  # "preview" or "import" while the worker runs
        self._closed = False
        self._progress = _Progress(self)
        self._progress.moved.connect(self._moved)

        self.setObjectName("importDialog")
        self.setAccessibleName("Import contacts")
        self.setWindowTitle(f"Import contacts — {file_name}" if file_name else "Import contacts")
        self.resize(760, 560)

        self.status_label = QLabel()
        self.status_label.setObjectName("importStatus")
        self.status_label.setAccessibleName("Import status")
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("importProgress")
        self.progress_bar.setAccessibleName("Import progress")

        self.mapping_combos: dict[str, QComboBox] = {}
        mapping = QGridLayout()
        for i, target in enumerate(FIELD_LABELS):
            combo = QComboBox()
            combo.setObjectName(COMBO_NAMES[target])
            combo.setAccessibleName(f"Column for {FIELD_LABELS[target]}")
            combo.setEnabled(False)
            combo.currentIndexChanged.connect(self._mapping_changed)
            self.mapping_combos[target] = combo
            label = QLabel(FIELD_LABELS[target])
            label.setBuddy(combo)
            # Two pairs per row keeps five mappings compact.
            mapping.addWidget(label, i // 2, (i % 2) * 2)
            mapping.addWidget(combo, i // 2, (i % 2) * 2 + 1)
        mapping.setColumnStretch(1, 1)
        mapping.setColumnStretch(3, 1)

        self.summary_label = QLabel()
        self.summary_label.setObjectName("importSummary")
        self.summary_label.setAccessibleName("Import summary")
        self.summary_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("importError")
        self.error_label.setAccessibleName("Import error")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.hint_label = QLabel()
        self.hint_label.setObjectName("importMappingHint")
        self.hint_label.setAccessibleName("Choose the number column")
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("font-weight: bold;")
        self.hint_label.hide()
        # The file's first rows under its own headers: what each column holds, to choose by.
        self.sample_table = QTableView()
        self.sample_table.setObjectName("importSampleTable")
        self.sample_table.setAccessibleName("The file's first rows")
        self.sample_table.setModel(RowsModel([]))
        self.sample_table.verticalHeader().setVisible(False)
        self.sample_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sample_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.sample_table.setMaximumHeight(110)
        self.sample_table.hide()
        self.rejected_table = _table(
            "rejectedTable", "Rejected rows", ["Line", "Name", "Why not imported"]
        )
        self.save_rejected_button = QPushButton("Save rejected rows…")
        self.save_rejected_button.setObjectName("saveRejectedButton")
        self.save_rejected_button.setAccessibleName("Save the rejected rows as a CSV file")
        self.save_rejected_button.setAutoDefault(False)
        self.save_rejected_button.setEnabled(False)
        self.save_rejected_button.clicked.connect(self.save_rejected)
        self.repaired_table = _table(
            "repairedTable", "Repaired rows", ["Line", "Number", "What was repaired"]
        )

        self.group_combo = QComboBox()
        self.group_combo.setObjectName("importGroup")
        self.group_combo.setAccessibleName("Add to group")
        self.group_combo.setEditable(True)  # an existing group, or type a new name
        self.group_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.group_combo.addItem("")
        self.group_combo.addItems([name for name, _count in book.groups()])
        group_edit = self.group_combo.lineEdit()
        if group_edit is not None:  # always, as the combo is editable
            group_edit.setPlaceholderText("no group")

        self.import_button = QPushButton("Import")
        self.import_button.setObjectName("importButton")
        self.import_button.setAccessibleName("Import")
        self.import_button.setEnabled(False)
        self.import_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("importCancelButton")
        self.cancel_button.setAccessibleName("Cancel import")
        self.import_button.clicked.connect(self.start_import)
        self.cancel_button.clicked.connect(self.cancel)

        tables = QHBoxLayout()
        for title, table in (
            ("Rejected (not imported)", self.rejected_table),
            ("Repaired", self.repaired_table),
        ):
            box = QVBoxLayout()
            caption = QLabel(title)
            caption.setBuddy(table)
            box.addWidget(caption)
            box.addWidget(table)
            if table is self.rejected_table:
                box.addWidget(self.save_rejected_button)
            tables.addLayout(box, 1)
        group_row = QFormLayout()
        group_row.addRow("Add to &group", self.group_combo)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.import_button)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Which column holds what:"))
        layout.addLayout(mapping)
        layout.addWidget(self.sample_table)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.error_label)
        layout.addLayout(tables, 1)
        layout.addLayout(group_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.progress_bar)
        layout.addLayout(buttons)

        self.run_preview()

    # -- background work ------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self._phase)

    def _start(self, phase: str, status: str) -> tuple[int, Callable[[int, int], bool]]:
        """A new run: the older one is told to stop, and a progress callback for the worker."""
        self._cancel.set()
        self._cancel = flag = threading.Event()
        self._run += 1
        self._phase = phase
        self.status_label.setText(status)
        self.progress_bar.setRange(0, 0)  # busy until the first report gives a total
        self.progress_bar.show()
        self.import_button.setEnabled(False)
        signal = self._progress.moved

        def progress(done: int, total: int) -> bool:
            # Worker thread: read the flag and emit a signal, nothing else.
            signal.emit(done, total)
            return not flag.is_set()

        return self._run, progress

    def _finish(self) -> None:
        self._phase = ""
        self.progress_bar.hide()
        self.status_label.clear()

    @Slot(int, int)
    def _moved(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)

    def mapping(self) -> dict[str, str] | None:
        """field -> column from the combos ("" = none); None until the file's columns are
        read, so its own headers decide."""
        if self.columns is None:
            return None
        return {
            target: "" if combo.currentText() == NONE else combo.currentText()
            for target, combo in self.mapping_combos.items()
        }

    def run_preview(self) -> None:
        """In the background: the file's columns (the first time), then the preview when a
        number column is known."""
        run, progress = self._start("preview", "Reading the file…")
        flag = self._cancel
        mapping = self.mapping()
        book, data = self.book, self.data

        def work() -> _Result | None:
            guess: ColumnGuess | None = None
            try:
                if mapping is None:
                    guess = book.import_columns(data)
                    if "number" not in guess.mapping:
                        return guess, NoNumberColumn(guess.columns)
                return guess, book.preview_import(data, mapping=mapping, progress=progress)
            except InvalidInput as exc:
                # A cancel or a file/mapping problem belongs in this dialog, not the status bar.
                return None if flag.is_set() else (guess, exc)

        self.tasks.submit(work, lambda result: self._previewed(run, result))

    def _previewed(self, run: int, result: _Result | None) -> None:
        if run != self._run or self._closed:
            return  # a newer preview is on its way, or the dialog was cancelled
        self._finish()
        if result is None:  # pragma: no cover - a cancelled run is never the current one
            return
        guess, outcome = result
        if guess is not None:
            self._show_mapping(guess)
        self.hint_label.hide()
        if isinstance(outcome, InvalidInput):
            self.preview = None
            if isinstance(outcome, NoNumberColumn) and self.columns is not None:
                # Not an error: the one choice the file leaves to the user.
                self.error_label.hide()
                self.hint_label.setText(CHOOSE_NUMBER)
                self.hint_label.show()
                self.mapping_combos["number"].setFocus()
            else:
                self.error_label.setText(str(outcome))
                self.error_label.show()
            self.summary_label.clear()
            _fill(self.rejected_table, [])
            _fill(self.repaired_table, [])
            self.save_rejected_button.setEnabled(False)
            return
        self.preview = outcome
        self.error_label.hide()
        self.summary_label.setText(describe_preview(outcome))
        _fill(
            self.rejected_table,
            [(str(r.line), r.name, r.reason) for r in outcome.rejected],
        )
        _fill(
            self.repaired_table,
            [(str(r.line), r.number, "; ".join(r.repairs)) for r in outcome.rows if r.repairs],
        )
        self.save_rejected_button.setEnabled(bool(outcome.rejected))
        self.import_button.setEnabled(outcome.accepted > 0)

    def _show_mapping(self, guess: ColumnGuess) -> None:
        """Every column offered for every field, the guesses chosen: before any preview."""
        self.columns = guess.columns
        sample = RowsModel(guess.columns)
        width = len(guess.columns)
        sample.set_rows([tuple((row + [""] * width)[:width]) for row in guess.sample])
        self.sample_table.setModel(sample)
        self._sample_model = sample  # the view does not own it
        self.sample_table.setVisible(bool(guess.sample))
        for target, combo in self.mapping_combos.items():
            combo.blockSignals(True)  # showing the guess is not a change
            combo.clear()
            combo.addItems([NONE, *(c for c in guess.columns if c)])
            combo.setCurrentText(guess.mapping.get(target, NONE))
            combo.setEnabled(True)
            combo.blockSignals(False)

    def _mapping_changed(self) -> None:
        self.run_preview()

    def save_rejected(self) -> None:
        """Write the rejected rows, as they were in the file plus why, for fixing."""
        preview = self.preview
        if preview is None or not preview.rejected:
            return
        path = self.ask_save()
        if not path:
            return
        book, count = self.book, len(preview.rejected)

        def work() -> str:
            # The text already ends lines with \r\n (what spreadsheets expect): keep it as is.
            Path(path).write_text(book.rejected_csv(preview), encoding="utf-8", newline="")
            return path

        def saved(_path: str) -> None:
            self.save_rejected_button.setEnabled(True)
            self.status_label.setText(f"Saved {plural(count, 'rejected row')} to {path}.")

        def failed(exc: Exception) -> None:
            self.save_rejected_button.setEnabled(True)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.error_label.setText(f"Could not save {path}: {reason}")
            self.error_label.show()

        self.save_rejected_button.setEnabled(False)
        self.tasks.submit(work, saved, failed)

    def _ask_save_with_dialog(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save rejected rows", "rejected-contacts.csv", "CSV files (*.csv)"
        )
        return path or None

    def start_import(self) -> None:
        preview = self.preview
        if preview is None or self.busy:
            return
        group = self.group_combo.currentText().strip() or None
        _run, progress = self._start("import", f"Importing {plural(preview.accepted, 'contact')}…")
        for combo in self.mapping_combos.values():
            combo.setEnabled(False)
        self.group_combo.setEnabled(False)
        book = self.book
        self.tasks.submit(
            lambda: book.commit_import(preview, group=group, progress=progress),
            self._imported,
            self._import_failed,
        )

    def _imported(self, summary: ImportSummary) -> None:
        self._finish()
        self.summary = summary
        # Cancel during the import stops after a whole chunk; what was written is reported.
        self.imported.emit(summary)
        if not self._closed:
            self.accept()

    def _import_failed(self, exc: Exception) -> None:
        self._finish()
        self.error_label.setText(f"Import failed: {exc}")
        self.error_label.show()
        self.group_combo.setEnabled(True)
        self.import_button.setEnabled(True)

    def cancel(self) -> None:
        """Close; a running preview is told to stop (it wrote nothing). A running import
        stops after the chunk in hand and the dialog closes when it reports."""
        if self._phase == "import":
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Stopping after the contacts in hand…")
            return
        self.reject()

    def done(self, result: int) -> None:
        # Every way of closing (Cancel, Escape, the title bar) stops the worker too.
        self._closed = True
        self._cancel.set()
        super().done(result)


def ask_open_with_dialog(parent: QWidget) -> Callable[[], str | None]:
    def ask() -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            parent, "Import contacts", "", "CSV files (*.csv *.txt);;All files (*)"
        )
        return path or None

    return ask
