"""Contacts view and CSV import, over the real database: the book, its filters, opt-outs,
and an import previewed, re-mapped, cancelled and committed."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from smsdesk.core.contacts_csv import ImportPreview
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.ui.contacts_view import ContactsView
from smsdesk.ui.import_dialog import ImportDialog
from smsdesk.ui.main_window import MainWindow
from tests.ui.conftest import Answers

EXCEL_CSV = Path(__file__).parents[1] / "core" / "data" / "contacts_excel.csv"
JANE, JOHN, ANN = "+447911123456", "+447911123457", "+447911123458"


@pytest.fixture
def book(service: Service) -> ContactBook:
    service.update_settings(default_region="GB")
    return ContactBook(service.ctx)


def _cells(table: QTableView) -> list[list[str]]:
    model = table.model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _rows(view: ContactsView) -> list[list[str]]:
    model = view.model
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _select(view: ContactsView, *rows: int) -> None:
    selection = view.table.selectionModel()
    selection.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in rows:
        selection.select(view.model.index(row, 0), flags)


def _open_import(qtbot: QtBot, window: MainWindow, answers: Answers) -> ImportDialog:
    answers.path = str(EXCEL_CSV)
    window.show_view("Contacts")
    qtbot.mouseClick(window.contacts.import_button, Qt.MouseButton.LeftButton)
    dialog = window.contacts.import_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy and dialog.summary_label.text() != "")
    return dialog


# -- import ---------------------------------------------------------------------------------


def test_import_preview_shows_what_would_happen_and_cancel_writes_nothing(
    qtbot: QtBot, window: MainWindow, answers: Answers, book: ContactBook
) -> None:
    dialog = _open_import(qtbot, window, answers)
    assert dialog.isVisible()
    assert dialog.summary_label.text() == (
        "9 accepted (5 repaired), 3 rejected, 1 duplicate merged"
    )
    rejected = _cells(dialog.rejected_table)
    assert [r[0] for r in rejected] == ["7", "8", "12"]
    assert rejected[0][1] == "Lost Digits"  # the person, not only the line
    assert "scientific notation" in rejected[0][2]
    repaired = _cells(dialog.repaired_table)
    assert len(repaired) == 5
    assert repaired[0] == ["3", JOHN, "added the missing +"]
    assert dialog.mapping_combos["number"].currentText() == "Mobile"
    assert dialog.mapping_combos["first_name"].currentText() == "(none)"

    # The number taken from another column: every row fails, and Import is not offered.
    dialog.mapping_combos["number"].setCurrentText("Clinic")
    qtbot.waitUntil(lambda: not dialog.busy and dialog.summary_label.text().startswith("0 "))
    assert (
        dialog.summary_label.text() == "0 accepted (0 repaired), 13 rejected, 0 duplicates merged"
    )
    assert not dialog.import_button.isEnabled()
    # No number column at all: the dialog asks for one.
    dialog.mapping_combos["number"].setCurrentText("(none)")
    qtbot.waitUntil(lambda: dialog.hint_label.isVisible())
    assert dialog.hint_label.text().startswith("Which column holds the phone numbers?")

    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert book.list_contacts() == []


def test_import_writes_into_the_group_and_the_view_lists_them(
    qtbot: QtBot, window: MainWindow, answers: Answers, book: ContactBook
) -> None:
    dialog = _open_import(qtbot, window, answers)
    assert book.list_contacts() == []  # a preview writes nothing
    dialog.group_combo.setCurrentText("Clinic patients")
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert len(book.list_contacts()) == 9
    assert book.groups() == [("Clinic patients", 9)]
    contacts = window.contacts
    assert contacts.status_label.text() == (
        "Imported into group 'Clinic patients': 9 added, 0 updated, 3 rejected, 1 duplicate merged."
    )
    assert contacts.model.rowCount() == 9
    assert contacts.group_combo.findText("Clinic patients (9)") >= 0
    # Numbers as the desk's country (GB) writes them; imported columns after the fixed ones.
    jane = next(r for r in _rows(contacts) if r[0] == "Jane Doe")
    assert jane == [
        "Jane Doe",
        "07911 123456",
        "Europe/London",
        "Clinic patients",
        "",
        "North",  # from her duplicate row, merged in
        "2026-10-01",
    ]
    assert contacts.model.extra == ("clinic", "last_visit")
    # Compose offers the new group straight away.
    assert window.compose.group_combo.findData("Clinic patients") >= 0


class GatedBook(ContactBook):
    """preview_import waits for the test to open the gate, and records what its progress
    callback answered."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.gate = threading.Event()
        self.answers: list[bool] = []

    def preview_import(
        self,
        data: bytes,
        *,
        mapping: dict[str, str] | None = None,
        progress: Callable[[int, int], bool] | None = None,
    ) -> ImportPreview:
        assert progress is not None

        def watched(done: int, total: int) -> bool:
            answer = progress(done, total)
            self.answers.append(answer)
            return answer

        self.gate.wait(10)
        return super().preview_import(data, mapping=mapping, progress=watched)


def test_cancelling_a_running_preview_stops_it_and_writes_nothing(
    qtbot: QtBot, window: MainWindow, book: ContactBook
) -> None:
    gated = GatedBook(book.ctx)
    dialog = ImportDialog(gated, window.tasks, EXCEL_CSV.read_bytes(), parent=window)
    dialog.show()
    assert dialog.busy
    assert dialog.progress_bar.isVisible()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    gated.gate.set()  # the worker goes on, and its progress callback says stop
    qtbot.waitUntil(lambda: window.tasks.pending == 0)
    assert gated.answers == [False]
    assert dialog.summary_label.text() == ""
    assert book.list_contacts() == []
    assert window.last_error is None  # a cancel is not a failure


# -- the view -------------------------------------------------------------------------------


def _three(book: ContactBook) -> None:
    book.save_contact(JANE, name="Jane Doe", groups=["North"])
    book.save_contact(JOHN, name="John Smith", groups=["South"])
    book.save_contact(ANN, name="Ann Lee", groups=["North"])


def test_the_model_passes_qt_model_checks(
    qtmodeltester: ModelTester, window: MainWindow, book: ContactBook
) -> None:
    _three(book)
    window.contacts.refresh()
    assert window.contacts.model.rowCount() == 3
    qtmodeltester.check(window.contacts.model)


def test_search_and_group_filter(qtbot: QtBot, window: MainWindow, book: ContactBook) -> None:
    _three(book)
    contacts = window.contacts
    contacts.refresh()
    assert [r[0] for r in _rows(contacts)] == ["Ann Lee", "Jane Doe", "John Smith"]
    assert [contacts.group_combo.itemText(i) for i in range(contacts.group_combo.count())] == [
        "All contacts",
        "North (2)",
        "South (1)",
    ]
    qtbot.keyClicks(contacts.search_edit, "Smith")
    qtbot.waitUntil(lambda: contacts.model.rowCount() == 1)
    assert _rows(contacts)[0][:2] == ["John Smith", "07911 123457"]
    contacts.search_edit.clear()
    qtbot.waitUntil(lambda: contacts.model.rowCount() == 3)
    contacts.group_combo.setCurrentIndex(contacts.group_combo.findData("North"))
    assert [r[0] for r in _rows(contacts)] == ["Ann Lee", "Jane Doe"]


def test_opt_out_and_back_in(qtbot: QtBot, window: MainWindow, book: ContactBook) -> None:
    _three(book)
    contacts = window.contacts
    contacts.refresh()
    assert not contacts.opt_out_button.isEnabled()
    _select(contacts, 1)  # Jane
    assert contacts.opt_out_button.isEnabled()
    assert not contacts.opt_in_button.isEnabled()
    qtbot.mouseClick(contacts.opt_out_button, Qt.MouseButton.LeftButton)
    assert _rows(contacts)[1] == [
        "Jane Doe",
        "07911 123456",
        "",
        "North",
        "Tue 1 Dec 2026 09:00 UTC (manual)",
    ]
    assert contacts.status_label.text() == "1 contact opted out."
    assert list(book.opted_out([JANE])) == [JANE]
    assert contacts.opt_in_button.isEnabled()  # the selection is kept across the refresh
    qtbot.mouseClick(contacts.opt_in_button, Qt.MouseButton.LeftButton)
    assert _rows(contacts)[1][4] == ""
    assert book.opted_out([JANE]) == {}


def test_new_message_to_two_selected(qtbot: QtBot, window: MainWindow, book: ContactBook) -> None:
    _three(book)
    contacts = window.contacts
    contacts.refresh()
    window.show_view("Contacts")
    _select(contacts, 1, 2)
    qtbot.mouseClick(contacts.message_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.compose
    assert window.compose.recipients_edit.toPlainText() == f"{JANE}, {JOHN}"
    assert window.compose.recipients_status.text() == "2 recipients"


def test_export_writes_the_book(
    qtbot: QtBot, window: MainWindow, answers: Answers, book: ContactBook, tmp_path: Path
) -> None:
    _three(book)
    window.contacts.refresh()
    answers.path = str(tmp_path / "out.csv")
    qtbot.mouseClick(window.contacts.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.contacts.status_label.text() == "Exported 3 contacts.")
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "name,number,zone,groups,opted_out_at"
    assert lines[1] == f"Ann Lee,{ANN},,North,"


def test_preview_tables_hold_every_row_of_a_long_list(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    """Tens of thousands of repaired rows (a 100,000-row file) through a model, not items."""
    from smsdesk.ui.import_dialog import WRAP_ROWS, _fill, _table
    from smsdesk.ui.rows_table import RowsModel

    table = _table("repairedTable", "Repaired rows", ["Line", "Number", "Repairs"])
    qtbot.addWidget(table)
    rows: list[tuple[str, ...]] = [
        (str(n), f"+447400{n:06d}", "added the missing +") for n in range(WRAP_ROWS * 4)
    ]
    _fill(table, rows)
    model = table.model()
    assert isinstance(model, RowsModel)
    qtmodeltester.check(model)
    last = model.index(len(rows) - 1, 1)
    assert (model.rowCount(), last.data()) == (len(rows), f"+447400{len(rows) - 1:06d}")
    assert last.data(Qt.ItemDataRole.ToolTipRole) == last.data()  # the whole text on hover
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Repairs"
    _fill(table, [])
    assert model.rowCount() == 0
