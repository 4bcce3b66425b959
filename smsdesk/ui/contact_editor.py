"""One contact, added or edited in a dialog: name, number, time zone, custom fields, groups.

The number is typed the way the desk writes it ("(202) 555-0119") and stored as E.164.
Bad input is said beside its field and nothing is stored. Opened with ``open()``, so the
window keeps running while it is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.phones import example_number, format_for_desk
from smsdesk.engine.contacts import ContactBook, ContactView
from smsdesk.ui.widgets import error_label, set_zone, show_error, with_error, zone_combo

FROM_NUMBER = ""  # the zone combo's first entry: the zone the number implies


class ContactEditor(QDialog):
    saved = Signal(object)  # the ContactView written

    def __init__(
        self,
        book: ContactBook,
        *,
        region: str | None,
        contact: ContactView | None = None,
        field_names: tuple[str, ...] = (),
        parent: QWidget | None = None,
    ) -> None:
        """``field_names``: custom fields other contacts have, offered as empty rows."""
        super().__init__(parent)
        self.book = book
        self.contact = contact
        self.setObjectName("contactEditor")
        self.setAccessibleName("Edit contact" if contact else "New contact")
        self.setWindowTitle("Edit contact" if contact else "New contact")

        self.name_edit = QLineEdit(contact.name if contact else "")
        self.name_edit.setObjectName("contactNameEdit")
        self.name_edit.setAccessibleName("Name")
        self.number_edit = QLineEdit(format_for_desk(contact.number, region) if contact else "")
        self.number_edit.setObjectName("contactNumberEdit")
        self.number_edit.setAccessibleName("Phone number")
        self.number_edit.setPlaceholderText(
            f"e.g. {format_for_desk(example_number(region), region)}"
        )
        self.number_error = error_label("contactNumberError", "Phone number problem")
        self.zone_combo = zone_combo("contactZoneCombo", "Time zone")
        self.zone_combo.insertItem(0, FROM_NUMBER)
        zone_edit = self.zone_combo.lineEdit()
        if zone_edit is not None:  # always: the combo is editable
            zone_edit.setPlaceholderText("from the number")
        set_zone(self.zone_combo, contact.zone if contact and contact.zone else FROM_NUMBER)
        self.zone_error = error_label("contactZoneError", "Time zone problem")

        self.fields_table = QTableWidget(0, 2)
        self.fields_table.setObjectName("contactFieldsTable")
        self.fields_table.setAccessibleName("Custom fields")
        self.fields_table.setHorizontalHeaderLabels(["Field", "Value"])
        self.fields_table.verticalHeader().setVisible(False)
        self.fields_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        own = dict(contact.fields) if contact else {}
        for key in [*own, *(k for k in field_names if k not in own)]:
            self._add_field_row(key, own.get(key, ""))
        self.add_field_button = QPushButton("Add field")
        self.add_field_button.setObjectName("addFieldButton")
        self.add_field_button.setAccessibleName("Add a custom field")
        self.add_field_button.clicked.connect(self._new_field)
        self.remove_field_button = QPushButton("Remove field")
        self.remove_field_button.setObjectName("removeFieldButton")
        self.remove_field_button.setAccessibleName("Remove the selected custom field")
        self.remove_field_button.clicked.connect(self._remove_field)

        self.groups_list = QListWidget()
        self.groups_list.setObjectName("contactGroupsList")
        self.groups_list.setAccessibleName("Groups")
        self.groups_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        member_of = set(contact.groups) if contact else set()
        for name, _count in book.groups():
            item = QListWidgetItem(name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            checked = name in member_of
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.groups_list.addItem(item)
        self.new_group_edit = QLineEdit()
        self.new_group_edit.setObjectName("contactNewGroupEdit")
        self.new_group_edit.setAccessibleName("Also put in a new group")
        self.new_group_edit.setPlaceholderText("a new group's name")
        self.error = error_label("contactEditorError", "Contact problem")

        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("contactSaveButton")
        self.save_button.setAccessibleName("Save contact")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("contactCancelButton")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.clicked.connect(self.reject)

        form = QFormLayout()
        for text, field, shown in (
            ("&Name", self.name_edit, self.name_edit),
            ("&Phone number", self.number_edit, with_error(self.number_edit, self.number_error)),
            ("&Time zone", self.zone_combo, with_error(self.zone_combo, self.zone_error)),
        ):
            label = QLabel(text)
            label.setBuddy(field)  # Alt+letter reaches the field, not its error box
            form.addRow(label, shown)
        field_buttons = QHBoxLayout()
        field_buttons.addWidget(self.add_field_button)
        field_buttons.addWidget(self.remove_field_button)
        field_buttons.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Custom fields (for merge fields such as {dentist}):"))
        layout.addWidget(self.fields_table, 1)
        layout.addLayout(field_buttons)
        layout.addWidget(QLabel("Groups:"))
        layout.addWidget(self.groups_list, 1)
        layout.addWidget(self.new_group_edit)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.resize(460, 540)
        self.name_edit.setFocus()

    # -- fields ---------------------------------------------------------------------------

    def _add_field_row(self, key: str, value: str) -> int:
        row = self.fields_table.rowCount()
        self.fields_table.insertRow(row)
        self.fields_table.setItem(row, 0, QTableWidgetItem(key))
        self.fields_table.setItem(row, 1, QTableWidgetItem(value))
        return row

    def _new_field(self) -> None:
        row = self._add_field_row("", "")
        self.fields_table.setCurrentCell(row, 0)
        self.fields_table.edit(self.fields_table.currentIndex())

    def _remove_field(self) -> None:
        row = self.fields_table.currentRow()
        if row >= 0:
            self.fields_table.removeRow(row)

    def fields(self) -> dict[str, str]:
        """The custom fields with a value; an emptied value removes the field."""
        out: dict[str, str] = {}
        for row in range(self.fields_table.rowCount()):
            key_item, value_item = self.fields_table.item(row, 0), self.fields_table.item(row, 1)
            key = key_item.text().strip() if key_item else ""
            value = value_item.text().strip() if value_item else ""
            if key and value:
                out[key] = value
        return out

    def groups(self) -> list[str]:
        chosen = [
            item.text()
            for item in (self.groups_list.item(i) for i in range(self.groups_list.count()))
            if item.checkState() == Qt.CheckState.Checked
        ]
        new = self.new_group_edit.text().strip()
        return [*chosen, new] if new and new not in chosen else chosen

    # -- saving ---------------------------------------------------------------------------

    def save(self) -> None:
        for label in (self.number_error, self.zone_error, self.error):
            show_error(label, "")
        if self.fields_table.state() == QAbstractItemView.State.EditingState:
            # A value still being typed counts: commit it before reading the table.
            self.fields_table.setCurrentIndex(QModelIndex())
        number = self.number_edit.text()
        if not number.strip():
            show_error(self.number_error, "Type the phone number.")
            self.number_edit.setFocus()
            return
        name, zone = self.name_edit.text(), self.zone_combo.currentText().strip() or None
        fields, groups = self.fields(), self.groups()
        try:
            if self.contact is None:
                view = self.book.add_contact(
                    number=number, name=name, zone=zone, fields=fields, groups=groups
                )
            else:
                view = self.book.update_contact(
                    self.contact.id,
                    number=number,
                    name=name,
                    zone=zone,
                    fields=fields,
                    groups=groups,
                )
        except InvalidInput as exc:
            beside = {"recipients": self.number_error, "number": self.number_error}
            beside["zone"] = self.zone_error
            show_error(beside.get(exc.field, self.error), str(exc))
            return
        except SmsdeskError as exc:
            show_error(self.error, str(exc))
            return
        self.saved.emit(view)
        self.accept()
