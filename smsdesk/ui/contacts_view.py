"""Contacts: for now the people this desk has messaged, with a search and "New message"."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.browse import Browser, Recipient
from smsdesk.engine.service import Service

COLUMNS = ("Number", "Messages", "Last message")


class ContactsView(QWidget):
    message_requested = Signal(str)  # a number to write to

    def __init__(self, service: Service, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.browser = Browser(service.ctx)
        self.setObjectName("contactsView")
        self.setAccessibleName("Contacts")
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("contactsSearch")
        self.search_edit.setAccessibleName("Search contacts")
        self.search_edit.setPlaceholderText("Search by number")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("contactsTable")
        self.table.setAccessibleName("Contacts")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.message_button = QPushButton("New message")
        self.message_button.setObjectName("messageContactButton")
        self.message_button.setAccessibleName("New message to this contact")
        self.note = QLabel(
            "Everyone this desk has sent to. Keeping contacts and groups comes next."
        )
        self.note.setAccessibleName("About this list")
        buttons = QHBoxLayout()
        buttons.addWidget(self.message_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.note)

        # Re-query once typing pauses, not on every key.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.message_button.clicked.connect(self._message_selected)
        self.table.itemActivated.connect(lambda _item: self._message_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.refresh()

    def refresh(self) -> None:
        people = self.browser.recipients(self.search_edit.text())
        zone = resolve_zone(self.service.settings().zone)
        self.table.setRowCount(len(people))
        for row, person in enumerate(people):
            self._set_row(row, person, format_local(person.last_send_at, zone))
        self.table.resizeColumnsToContents()
        self._update_buttons()

    def _set_row(self, row: int, person: Recipient, when: str) -> None:
        for column, value in enumerate((person.number, str(person.messages), when)):
            self.table.setItem(row, column, QTableWidgetItem(value))

    def selected_number(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def _update_buttons(self) -> None:
        self.message_button.setEnabled(self.selected_number() is not None)

    def _message_selected(self) -> None:
        number = self.selected_number()
        if number:
            self.message_requested.emit(number)
