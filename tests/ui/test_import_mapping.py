"""Contacts import in the window never dead-ends: the columns are offered before any preview,
the number column is chosen by clicking in mapNumberCombo, and the rejected rows, with the
person's name, are saved as a CSV to fix and import again. Real files, real database."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QTableView
from pytestqt.qtbot import QtBot

from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.ui.import_dialog import ImportDialog
from smsdesk.ui.main_window import MainWindow
from tests.ui.conftest import Answers

LEFT = Qt.MouseButton.LeftButton
# A combo's list is a popup; the offscreen platform says it cannot raise it or grab keys.
pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing"
)
MOBILE_PHONE = (
    "Name,Landline,Mobile Phone\n"
    "Maria García,(202) 555-0100,(202) 555-0119\n"
    "John Smith,,(213) 555-0199\n"
    "No Mobile,(202) 555-0101,\n"
    "Try Me,,(555) 010-0123\n"
)


@pytest.fixture
def book(service: Service) -> ContactBook:
    service.update_settings(default_region="US")
    return service.contact_book()


def _open(qtbot: QtBot, window: MainWindow, answers: Answers, path: Path) -> ImportDialog:
    answers.path = str(path)
    window.show_view("Contacts")
    qtbot.mouseClick(window.contacts.import_button, LEFT)
    dialog = window.contacts.import_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy)
    return dialog


def _number_combo(dialog: ImportDialog) -> QComboBox:
    combo = dialog.findChild(QComboBox, "mapNumberCombo")
    assert combo is not None
    return combo


def _items(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def choose(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Open the combo's list with a click and click the item. Qt ignores a release that
    comes within a double-click interval of the opening (it would be the opening click's
    own), so the clicked item may be left current and Return takes it, as for a user."""
    qtbot.mouseClick(combo, LEFT)
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    rect = view.visualRect(view.model().index(combo.findText(text), 0))
    qtbot.mouseClick(view.viewport(), LEFT, pos=rect.center())
    if view.isVisible():
        assert view.currentIndex().data() == text
        qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.isVisible())
    assert combo.currentText() == text


def _cells(table: QTableView) -> list[list[str]]:
    model = table.model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_a_mobile_phone_column_is_offered_and_chosen(
    qtbot: QtBot, window: MainWindow, answers: Answers, book: ContactBook, tmp_path: Path
) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(MOBILE_PHONE, encoding="utf-8")
    dialog = _open(qtbot, window, answers, path)
    combo = _number_combo(dialog)
    assert combo.isEnabled()
    assert _items(combo) == ["(none)", "Name", "Landline", "Mobile Phone"]
    assert combo.currentText() == "Mobile Phone"
    assert dialog.summary_label.text() == "3 accepted (0 repaired), 1 rejected, 0 duplicates merged"
    assert _cells(dialog.rejected_table) == [["4", "No Mobile", "No phone number"]]

    choose(qtbot, combo, "Landline")
    qtbot.waitUntil(lambda: not dialog.busy)
    assert dialog.summary_label.text() == "2 accepted (0 repaired), 2 rejected, 0 duplicates merged"
    assert [row[1] for row in _cells(dialog.rejected_table)] == ["John Smith", "Try Me"]

    choose(qtbot, combo, "Mobile Phone")
    qtbot.waitUntil(lambda: not dialog.busy and dialog.import_button.isEnabled())
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(dialog.import_button, LEFT)
    assert sorted((c.name, c.number) for c in book.list_contacts()) == [
        ("John Smith", "+12135550199"),
        ("Maria García", "+12025550119"),
        ("Try Me", "+15550100123"),  # the Sandbox's fictional range is kept
    ]
    maria = next(c for c in book.list_contacts() if c.name == "Maria García")
    assert maria.fields == {"landline": "(202) 555-0100"}  # the other column, kept


def test_an_unknown_number_column_is_chosen_before_any_preview(
    qtbot: QtBot, window: MainWindow, answers: Answers, book: ContactBook, tmp_path: Path
) -> None:
    path = tmp_path / "natel.csv"
    path.write_text("Patient;Natel;Dentist\nAna Ruiz;202 555 0119;Dr Ode\n", encoding="utf-8")
    dialog = _open(qtbot, window, answers, path)
    combo = _number_combo(dialog)
    # Before: "no phone number column" with every mapping disabled; nothing to do but cancel.
    assert combo.isEnabled()
    assert _items(combo) == ["(none)", "Patient", "Natel", "Dentist"]
    assert combo.currentText() == "(none)"
    assert dialog.mapping_combos["name"].currentText() == "Patient"
    assert dialog.hint_label.isVisible()
    assert dialog.hint_label.text().startswith("Which column holds the phone numbers?")
    assert not dialog.error_label.isVisible()
    assert not dialog.import_button.isEnabled()
    assert dialog.preview is None
    sample = dialog.sample_table.model()  # what each column holds, to choose by
    assert dialog.sample_table.isVisible()
    assert [sample.index(0, c).data() for c in range(3)] == ["Ana Ruiz", "202 555 0119", "Dr Ode"]

    choose(qtbot, combo, "Natel")
    qtbot.waitUntil(lambda: not dialog.busy and dialog.import_button.isEnabled())
    assert not dialog.hint_label.isVisible()
    assert dialog.summary_label.text() == "1 accepted (0 repaired), 0 rejected, 0 duplicates merged"
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(dialog.import_button, LEFT)
    [ana] = book.list_contacts()
    assert (ana.name, ana.number, ana.fields) == ("Ana Ruiz", "+12025550119", {"dentist": "Dr Ode"})


def test_rejected_rows_are_saved_to_fix_and_import_again(
    qtbot: QtBot, window: MainWindow, answers: Answers, book: ContactBook, tmp_path: Path
) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(MOBILE_PHONE.replace("(213) 555-0199", "213-55"), encoding="utf-8")
    dialog = _open(qtbot, window, answers, path)
    assert [r[1] for r in _cells(dialog.rejected_table)] == ["John Smith", "No Mobile"]
    assert dialog.save_rejected_button.isEnabled()

    saved = tmp_path / "fix-me.csv"
    answers.path = str(saved)
    qtbot.mouseClick(dialog.save_rejected_button, LEFT)
    qtbot.waitUntil(lambda: dialog.status_label.text() == f"Saved 2 rejected rows to {saved}.")
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows == [
        ["Name", "Landline", "Mobile Phone", "Why it was not imported"],
        ["John Smith", "", "213-55", "'213-55' is too short for a phone number in US"],
        ["No Mobile", "(202) 555-0101", "", "No phone number"],
    ]
    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(dialog.import_button, LEFT)
    assert len(book.list_contacts()) == 2

    # Fixed in a spreadsheet and imported again: the reason column is not a custom field.
    out = io.StringIO()
    csv.writer(out).writerows([rows[0], ["John Smith", "", "(213) 555-0199", rows[1][3]]])
    saved.write_text(out.getvalue(), encoding="utf-8")
    again = _open(qtbot, window, answers, saved)
    assert again.summary_label.text() == "1 accepted (0 repaired), 0 rejected, 0 duplicates merged"
    with qtbot.waitSignal(again.finished):
        qtbot.mouseClick(again.import_button, LEFT)
    john = next(c for c in book.list_contacts() if c.name == "John Smith")
    assert (john.number, john.fields) == ("+12135550199", {"landline": ""})
