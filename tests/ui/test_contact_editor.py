"""Adding, editing and deleting contacts in the window, by typing and clicking, over the real
database: numbers typed and shown the desk's way (US here) and stored as E.164, custom fields
and groups in the editor, custom fields as columns the user chooses."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLineEdit,
    QListWidget,
    QTableView,
    QTableWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.ui.contact_editor import ContactEditor
from smsdesk.ui.contacts_view import ContactsView
from smsdesk.ui.main_window import MainWindow
from tests.ui.conftest import Answers

MARIA, JOHN = "+12025550119", "+12135550199"
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def book(service: Service) -> ContactBook:
    service.update_settings(default_region="US")
    return service.contact_book()


@pytest.fixture
def contacts(qtbot: QtBot, window: MainWindow, book: ContactBook) -> ContactsView:
    qtbot.mouseClick(window.tabs.tabBar(), LEFT, pos=_tab(window, "Contacts"))
    assert window.tabs.currentWidget() is window.contacts
    return window.contacts


def _tab(window: MainWindow, title: str) -> QPoint:
    bar = window.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i).replace("&", "") == title)
    return bar.tabRect(index).center()


def _rows(table: QTableView) -> list[list[str]]:
    model = table.model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def click_row(qtbot: QtBot, table: QTableView, row: int, *, add: bool = False) -> None:
    modifier = Qt.KeyboardModifier.ControlModifier if add else Qt.KeyboardModifier.NoModifier
    pos = table.visualRect(table.model().index(row, 0)).center()
    qtbot.mouseClick(table.viewport(), LEFT, modifier, pos)


def _open_editor(qtbot: QtBot, contacts: ContactsView, button_name: str) -> ContactEditor:
    qtbot.mouseClick(contacts.findChild(type(contacts.add_button), button_name), LEFT)
    editor = contacts.contact_editor
    assert editor is not None and editor.objectName() == "contactEditor"
    qtbot.waitUntil(editor.isVisible)
    return editor


def type_text(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """Key presses for ``text``; QTest types ASCII only, so other letters ("í") are sent as
    the key events a keyboard layout with them produces."""
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch)
            QApplication.sendEvent(widget, event)


def _retype(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    type_text(qtbot, edit, text)


def _commit_cell(qtbot: QtBot, table: QTableWidget) -> None:
    """Return in the cell's editor, and wait until Qt has deleted the editor (as its event
    loop does between a user's key press and next click)."""
    qtbot.keyClick(_cell_editor(table), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not table.viewport().findChildren(QLineEdit))


def _cell_editor(table: QTableWidget) -> QLineEdit:
    """The line edit the table opened on its current cell."""
    editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1, editors
    return editors[0]


def _type_in_cell(qtbot: QtBot, table: QTableWidget, row: int, column: int, text: str) -> None:
    """Click the cell, F2 to edit it, type over its text, Return to commit."""
    rect = table.visualRect(table.model().index(row, column))
    qtbot.mouseClick(table.viewport(), LEFT, pos=rect.center())
    assert (table.currentRow(), table.currentColumn()) == (row, column)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    cell = _cell_editor(table)
    qtbot.keyClick(cell, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(cell, text)
    _commit_cell(qtbot, table)


def _toggle(qtbot: QtBot, groups: QListWidget, name: str) -> None:
    """Click the item's check box (at the left of its row)."""
    item = groups.findItems(name, Qt.MatchFlag.MatchExactly)[0]
    rect = groups.visualItemRect(item)
    before = item.checkState()
    qtbot.mouseClick(groups.viewport(), LEFT, pos=QPoint(rect.left() + 10, rect.center().y()))
    assert item.checkState() != before


def _click_box(qtbot: QtBot, box: QCheckBox) -> None:
    qtbot.mouseClick(box, LEFT, pos=QPoint(8, box.height() // 2))  # on its indicator


def test_add_a_contact_by_typing_and_clicking(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook
) -> None:
    book.create_group("Tuesday")
    contacts.refresh()
    editor = _open_editor(qtbot, contacts, "addContactButton")
    assert editor.number_edit.placeholderText() == "e.g. (201) 555-0123"  # one it accepts
    type_text(qtbot, editor.name_edit, "Maria García")

    # A bad number is said beside the field and nothing is stored.
    qtbot.keyClicks(editor.number_edit, "555-01")
    qtbot.mouseClick(editor.save_button, LEFT)
    assert editor.isVisible()
    assert editor.number_error.isVisible()
    assert editor.number_error.text() == "'555-01' is too short for a phone number in US"
    assert book.list_contacts() == []

    _retype(qtbot, editor.number_edit, "(202) 555-0119")
    # Add field opens the new row's name for typing; Tab goes on to its value.
    qtbot.mouseClick(editor.add_field_button, LEFT)
    qtbot.keyClicks(_cell_editor(editor.fields_table), "dentist")
    qtbot.keyClick(_cell_editor(editor.fields_table), Qt.Key.Key_Tab)
    qtbot.keyClicks(_cell_editor(editor.fields_table), "Dr Ode")
    _commit_cell(qtbot, editor.fields_table)
    _toggle(qtbot, editor.groups_list, "Tuesday")
    qtbot.keyClicks(editor.new_group_edit, "New patients")
    with qtbot.waitSignal(editor.finished):
        qtbot.mouseClick(editor.save_button, LEFT)

    [maria] = book.list_contacts()
    assert (maria.name, maria.number, maria.zone) == ("Maria García", MARIA, None)
    assert maria.fields == {"dentist": "Dr Ode"}
    assert maria.groups == ("New patients", "Tuesday")
    assert contacts.status_label.text() == "Saved Maria García."
    # Shown the desk's way, stored and sent as E.164; the new field is a column.
    assert _rows(contacts.table) == [
        ["Maria García", "(202) 555-0119", "", "New patients, Tuesday", "", "Dr Ode"]
    ]
    assert contacts.model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole) == MARIA
    assert [c.number for c in contacts.selected_contacts()] == [MARIA]  # the new one


def test_add_refuses_a_number_already_in_the_book(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook
) -> None:
    book.save_contact(MARIA, name="Maria García")
    contacts.refresh()
    editor = _open_editor(qtbot, contacts, "addContactButton")
    qtbot.keyClicks(editor.number_edit, "202 555 0119")
    qtbot.mouseClick(editor.save_button, LEFT)
    assert editor.number_error.text() == f"{MARIA} is already Maria García's number."
    assert len(book.list_contacts()) == 1


def test_a_sandbox_number_is_accepted(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook
) -> None:
    editor = _open_editor(qtbot, contacts, "addContactButton")
    qtbot.keyClicks(editor.name_edit, "Try Me")
    qtbot.keyClicks(editor.number_edit, "+1 555 010 0123")  # the README's Sandbox numbers
    with qtbot.waitSignal(editor.finished):
        qtbot.mouseClick(editor.save_button, LEFT)
    assert [(c.name, c.number) for c in book.list_contacts()] == [("Try Me", "+15550100123")]
    assert _rows(contacts.table)[0][1] == "(555) 010-0123"


def test_edit_a_contact(qtbot: QtBot, contacts: ContactsView, book: ContactBook) -> None:
    book.save_contact(MARIA, name="Maria", fields={"dentist": "Dr Ode", "room": "4"})
    book.save_contact(JOHN, name="John Smith", groups=["Tuesday"])
    contacts.refresh()
    assert not contacts.edit_button.isEnabled()
    click_row(qtbot, contacts.table, 0)
    click_row(qtbot, contacts.table, 1, add=True)
    assert not contacts.edit_button.isEnabled()  # one at a time
    click_row(qtbot, contacts.table, 1)  # Maria, after John
    editor = _open_editor(qtbot, contacts, "editContactButton")
    assert editor.number_edit.text() == "(202) 555-0119"
    keys = [editor.fields_table.model().index(r, 0).data() for r in range(2)]
    assert keys == ["dentist", "room"]

    _retype(qtbot, editor.name_edit, "Maria García")
    _retype(qtbot, editor.number_edit, "202-555-0120")
    _type_in_cell(qtbot, editor.fields_table, 0, 1, "Dr Who")
    editor.fields_table.setFocus()
    qtbot.mouseClick(
        editor.fields_table.viewport(),
        LEFT,
        pos=editor.fields_table.visualRect(editor.fields_table.model().index(1, 0)).center(),
    )
    qtbot.mouseClick(editor.remove_field_button, LEFT)
    _toggle(qtbot, editor.groups_list, "Tuesday")
    with qtbot.waitSignal(editor.finished):
        qtbot.mouseClick(editor.save_button, LEFT)

    maria = next(c for c in book.list_contacts() if c.name == "Maria García")
    assert (maria.number, maria.fields, maria.groups) == (
        "+12025550120",
        {"dentist": "Dr Who"},
        ("Tuesday",),
    )
    assert book.by_numbers([MARIA]) == {}  # the old number is gone, not a second contact
    assert [r[:2] for r in _rows(contacts.table)] == [
        ["John Smith", "(213) 555-0199"],
        ["Maria García", "(202) 555-0120"],
    ]


def test_delete_asks_first(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook, answers: Answers
) -> None:
    book.save_contact(MARIA, name="Maria García", groups=["Tuesday"])
    book.save_contact(JOHN, name="John Smith")
    book.opt_out(JOHN)
    contacts.refresh()
    assert not contacts.delete_button.isEnabled()
    click_row(qtbot, contacts.table, 0)
    click_row(qtbot, contacts.table, 1, add=True)

    answers.confirm = False
    qtbot.mouseClick(contacts.delete_button, LEFT)
    assert answers.asked == 1
    assert len(book.list_contacts()) == 2

    answers.confirm = True
    qtbot.mouseClick(contacts.delete_button, LEFT)
    assert answers.asked == 2
    assert book.list_contacts() == []
    assert contacts.model.rowCount() == 0
    assert contacts.status_label.text() == "Deleted 2 contacts."
    assert book.groups() == [("Tuesday", 0)]
    assert list(book.opted_out([JOHN])) == [JOHN]  # the opt-out outlives the contact


def test_custom_fields_are_columns_the_user_chooses(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook
) -> None:
    book.save_contact(MARIA, name="Maria", fields={"dentist": "Dr Ode", "room": "4"})
    contacts.refresh()
    assert list(contacts.model.extra) == ["dentist", "room"]
    qtbot.mouseClick(contacts.columns_button, LEFT)
    dialog = contacts.columns_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    _click_box(qtbot, dialog.boxes["dentist"])
    assert list(contacts.model.extra) == ["room"]
    assert [
        contacts.model.headerData(c, Qt.Orientation.Horizontal)
        for c in range(contacts.model.columnCount())
    ] == ["Name", "Number", "Time zone", "Groups", "Opted out", "room"]
    assert _rows(contacts.table)[0][5] == "4"
    contacts.refresh()  # the choice outlasts a refresh
    assert list(contacts.model.extra) == ["room"]
    _click_box(qtbot, dialog.boxes["dentist"])
    assert list(contacts.model.extra) == ["dentist", "room"]
