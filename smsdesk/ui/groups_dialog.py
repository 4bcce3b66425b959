"""Groups of contacts: create, rename and delete them. Members are added and removed in the
Contacts view (the selected contacts) and in each contact's editor."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.engine.contacts import ContactBook
from smsdesk.ui.widgets import Confirm, error_label, show_error

_NAME = Qt.ItemDataRole.UserRole


class GroupsDialog(QDialog):
    changed = Signal()  # a group was created, renamed or deleted

    def __init__(self, book: ContactBook, confirm: Confirm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.confirm = confirm
        self.setObjectName("groupsDialog")
        self.setAccessibleName("Groups")
        self.setWindowTitle("Groups")

        self.groups_list = QListWidget()
        self.groups_list.setObjectName("groupsList")
        self.groups_list.setAccessibleName("Groups")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("groupNameEdit")
        self.name_edit.setAccessibleName("Group name")
        self.name_edit.setPlaceholderText("a group's name, e.g. Tuesday patients")
        self.error = error_label("groupsError", "Group problem")
        self.create_button = self._button("Create", "createGroupButton", "Create a group")
        self.rename_button = self._button("Rename", "renameGroupButton", "Rename the group")
        self.delete_button = self._button("Delete…", "deleteGroupButton", "Delete the group")
        self.close_button = self._button("Close", "closeGroupsButton", "Close")

        name_label = QLabel("&Name")
        name_label.setBuddy(self.name_edit)
        name_row = QHBoxLayout()
        name_row.addWidget(name_label)
        name_row.addWidget(self.name_edit, 1)
        buttons = QHBoxLayout()
        for button in (self.create_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Deleting a group keeps its contacts. Add or remove members in Contacts.")
        )
        layout.addWidget(self.groups_list, 1)
        layout.addLayout(name_row)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.resize(420, 360)

        self.create_button.clicked.connect(self.create_group)
        self.rename_button.clicked.connect(self.rename_group)
        self.delete_button.clicked.connect(self.delete_group)
        self.close_button.clicked.connect(self.accept)
        self.groups_list.currentItemChanged.connect(lambda *_a: self._chosen())
        self.name_edit.textChanged.connect(lambda _t: self._update_buttons())
        self.reload()

    @staticmethod
    def _button(text: str, name: str, accessible: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        button.setAutoDefault(False)  # Return in the name field must not delete a group
        return button

    def reload(self, select: str | None = None) -> None:
        self.groups_list.clear()
        for name, count in self.book.groups():
            item = QListWidgetItem(f"{name} ({count} member{'' if count == 1 else 's'})")
            item.setData(_NAME, name)
            self.groups_list.addItem(item)
            if name == select:
                self.groups_list.setCurrentItem(item)
        self._update_buttons()

    def current(self) -> str | None:
        item = self.groups_list.currentItem()
        name = item.data(_NAME) if item is not None else None
        return name if isinstance(name, str) else None

    def _chosen(self) -> None:
        current = self.current()
        if current is not None:
            self.name_edit.setText(current)
        self._update_buttons()

    def _update_buttons(self) -> None:
        typed, current = self.name_edit.text().strip(), self.current()
        self.create_button.setEnabled(bool(typed))
        self.rename_button.setEnabled(current is not None and bool(typed) and typed != current)
        self.delete_button.setEnabled(current is not None)

    def _do(self, action: str, select: str | None) -> bool:
        show_error(self.error, "")
        try:
            if action == "create":
                self.book.create_group(self.name_edit.text())
            elif action == "rename":
                self.book.rename_group(self.current() or "", self.name_edit.text())
            else:
                self.book.delete_group(self.current() or "")
        except SmsdeskError as exc:
            show_error(self.error, str(exc))
            return False
        self.reload(select)
        self.changed.emit()
        return True

    def create_group(self) -> None:
        self._do("create", self.name_edit.text().strip())

    def rename_group(self) -> None:
        self._do("rename", self.name_edit.text().strip())

    def delete_group(self) -> None:
        name = self.current()
        if name is None:
            return
        question = f"Delete the group '{name}'? Its contacts stay in the contact book."
        if self.confirm("Delete group", question) and self._do("delete", None):
            self.name_edit.clear()
