"""Groups in the window, by typing and clicking over the real database: created, renamed and
deleted in the Groups dialog; members added and removed from the Contacts view."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget
from pytestqt.qtbot import QtBot

from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.ui.contacts_view import ContactsView
from smsdesk.ui.groups_dialog import GroupsDialog
from smsdesk.ui.main_window import MainWindow
from tests.ui.conftest import Answers
from tests.ui.test_contact_editor import click_row, type_text

MARIA, JOHN, TRY = "+12025550119", "+12135550199", "+15550100123"
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def book(service: Service) -> ContactBook:
    service.update_settings(default_region="US")
    book = service.contact_book()
    book.save_contact(MARIA, name="Maria García")
    book.save_contact(JOHN, name="John Smith")
    book.save_contact(TRY, name="Try Me")  # a Sandbox number, in groups like any other
    return book


@pytest.fixture
def contacts(window: MainWindow, book: ContactBook) -> ContactsView:
    window.show_view("Contacts")
    window.contacts.refresh()
    return window.contacts


def _open_groups(qtbot: QtBot, contacts: ContactsView) -> GroupsDialog:
    qtbot.mouseClick(contacts.groups_button, LEFT)
    dialog = contacts.groups_dialog
    assert dialog is not None and dialog.objectName() == "groupsDialog"
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def _texts(groups: QListWidget) -> list[str]:
    return [groups.item(i).text() for i in range(groups.count())]


def _click_item(qtbot: QtBot, groups: QListWidget, text: str) -> None:
    item = groups.findItems(text, Qt.MatchFlag.MatchExactly)[0]
    qtbot.mouseClick(groups.viewport(), LEFT, pos=groups.visualItemRect(item).center())


def _filter_options(contacts: ContactsView) -> list[str]:
    combo = contacts.group_combo
    return [combo.itemText(i) for i in range(combo.count())]


def test_create_rename_and_delete_groups(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook, answers: Answers
) -> None:
    dialog = _open_groups(qtbot, contacts)
    assert _texts(dialog.groups_list) == []
    assert not dialog.create_button.isEnabled()
    type_text(qtbot, dialog.name_edit, "Tuesday patients")
    qtbot.mouseClick(dialog.create_button, LEFT)
    assert book.groups() == [("Tuesday patients", 0)]
    assert _texts(dialog.groups_list) == ["Tuesday patients (0 members)"]
    assert "Tuesday patients (0)" in _filter_options(contacts)  # the view follows

    # The same name again is said beside the field, and nothing changes.
    qtbot.mouseClick(dialog.create_button, LEFT)
    assert dialog.error.isVisible()
    assert dialog.error.text() == "There is already a group named 'Tuesday patients'."

    book.add_to_group("Tuesday patients", [c.id for c in book.list_contacts()])
    dialog.reload()
    _click_item(qtbot, dialog.groups_list, "Tuesday patients (3 members)")
    assert dialog.name_edit.text() == "Tuesday patients"
    assert not dialog.rename_button.isEnabled()  # the same name
    dialog.name_edit.selectAll()
    type_text(qtbot, dialog.name_edit, "Wednesday patients")
    qtbot.mouseClick(dialog.rename_button, LEFT)
    assert book.groups() == [("Wednesday patients", 3)]
    assert not dialog.error.isVisible()
    assert contacts.model.index(0, 3).data() == "Wednesday patients"

    answers.confirm = False
    qtbot.mouseClick(dialog.delete_button, LEFT)
    assert answers.asked == 1
    assert book.groups() == [("Wednesday patients", 3)]
    answers.confirm = True
    qtbot.mouseClick(dialog.delete_button, LEFT)
    assert answers.asked == 2
    assert book.groups() == []
    assert _texts(dialog.groups_list) == []
    assert len(book.list_contacts()) == 3  # the members stay in the book
    assert _filter_options(contacts) == ["All contacts"]
    qtbot.mouseClick(dialog.close_button, LEFT)
    assert not dialog.isVisible()


def test_add_and_remove_members_from_the_contacts_view(
    qtbot: QtBot, contacts: ContactsView, book: ContactBook
) -> None:
    names = [contacts.model.contact(r).name for r in range(3)]
    assert names == ["John Smith", "Maria García", "Try Me"]
    assert not contacts.add_to_group_button.isEnabled()
    click_row(qtbot, contacts.table, 1)
    click_row(qtbot, contacts.table, 2, add=True)
    assert not contacts.add_to_group_button.isEnabled()  # no group named yet
    type_text(qtbot, contacts.member_group_combo, "Trial")
    qtbot.mouseClick(contacts.add_to_group_button, LEFT)
    assert book.group_numbers("Trial") == [MARIA, TRY]
    assert contacts.status_label.text() == "2 contacts added to 'Trial'."

    # Shown as the group, one member removed.
    assert not contacts.remove_from_group_button.isEnabled()
    contacts.group_combo.setFocus()
    qtbot.keyClick(contacts.group_combo, Qt.Key.Key_Down)
    assert contacts.group() == "Trial"
    assert [contacts.model.contact(r).name for r in range(2)] == ["Maria García", "Try Me"]
    click_row(qtbot, contacts.table, 1)
    assert contacts.remove_from_group_button.text() == "Remove from 'Trial'"
    qtbot.mouseClick(contacts.remove_from_group_button, LEFT)
    assert book.group_numbers("Trial") == [MARIA]
    assert contacts.status_label.text() == "1 contact removed from 'Trial'."
    assert [contacts.model.contact(r).name for r in range(contacts.model.rowCount())] == [
        "Maria García"
    ]
    assert len(book.list_contacts()) == 3
