"""Contacts: the contact book with search and a group filter, CSV import and export,
opt-out / opt-in, and "New message" to the selected people."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.contacts import ContactView, ImportSummary
from smsdesk.engine.service import Service
from smsdesk.ui.import_dialog import ImportDialog, ask_open_with_dialog, describe_import
from smsdesk.ui.queue_view import AskPath
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import ERROR_STYLE

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Name", "Number", "Time zone", "Groups", "Opted out")
LIMIT = 1000  # rows shown at once; search or pick a group to find the rest


class ContactsModel(QAbstractTableModel):
    """The contacts one query returned, read-only; ``set_contacts`` replaces them all."""

    def __init__(self, zone: str | None = None) -> None:
        super().__init__()
        self._rows: list[ContactView] = []
        self._zone = resolve_zone(zone)

    def set_contacts(self, contacts: list[ContactView], zone: str | None) -> None:
        if contacts == self._rows and resolve_zone(zone) == self._zone:
            return  # the timed refresh found nothing new: keep the scroll position
        self.beginResetModel()
        self._rows = list(contacts)
        self._zone = resolve_zone(zone)
        self.endResetModel()

    def contact(self, row: int) -> ContactView:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        c = self._rows[index.row()]
        values = (c.name, c.number, c.zone or "", ", ".join(c.groups), self._opted_out(c))
        return values[index.column()] if 0 <= index.column() < len(values) else None

    def _opted_out(self, c: ContactView) -> str:
        if c.opted_out_at is None:
            return ""
        return f"{format_local(c.opted_out_at, self._zone)} ({c.opt_out_source or 'unknown'})"


class ContactsView(QWidget):
    message_requested = Signal(str)  # numbers to write to, comma separated
    changed = Signal()  # contacts or groups were written (import, opt-out)

    def __init__(
        self,
        service: Service,
        tasks: TaskRunner,
        *,
        ask_open: AskPath | None = None,
        ask_save: AskPath | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.book = service.contact_book()
        self.ask_open = ask_open or ask_open_with_dialog(self)
        self.ask_save = ask_save or self._ask_save_with_dialog
        self.import_dialog: ImportDialog | None = None  # the open one, for tests and focus
        self.setObjectName("contactsView")
        self.setAccessibleName("Contacts")

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("contactsSearch")
        self.search_edit.setAccessibleName("Search contacts")
        self.search_edit.setPlaceholderText("Search by name or number")
        self.group_combo = QComboBox()
        self.group_combo.setObjectName("contactsGroup")
        self.group_combo.setAccessibleName("Show group")
        self.model = ContactsModel()
        self.table = QTableView()
        self.table.setObjectName("contactsTable")
        self.table.setAccessibleName("Contacts")
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        for column in range(len(HEADERS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

        self.import_button = self._button("Import CSV…", "importCsvButton", "Import contacts")
        self.export_button = self._button("Export CSV…", "exportCsvButton", "Export contacts")
        self.opt_out_button = self._button("Opt out", "optOutButton", "Opt out the selected")
        self.opt_in_button = self._button("Opt in", "optInButton", "Opt in the selected")
        self.message_button = self._button(
            "New message", "messageContactButton", "New message to the selected contacts"
        )
        self.status_label = QLabel()
        self.status_label.setObjectName("contactsStatus")
        self.status_label.setAccessibleName("Contacts status")
        self.status_label.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 2)
        top.addWidget(self.group_combo, 1)
        buttons = QHBoxLayout()
        for button in (self.import_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.opt_out_button, self.opt_in_button, self.message_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)

        # Re-query once typing pauses, not on every key.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.group_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.import_button.clicked.connect(self.import_csv)
        self.export_button.clicked.connect(self.export_csv)
        self.opt_out_button.clicked.connect(self.opt_out_selected)
        self.opt_in_button.clicked.connect(self.opt_in_selected)
        self.message_button.clicked.connect(self._message_selected)
        self.table.activated.connect(lambda _index: self._message_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())
        self._update_buttons()  # the book is read when the window first shows this view

    @staticmethod
    def _button(text: str, name: str, accessible: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        return button

    # -- reading --------------------------------------------------------------------------

    def group(self) -> str | None:
        data = self.group_combo.currentData()
        return data if isinstance(data, str) else None

    def _reload_groups(self) -> None:
        items = [("All contacts", None)] + [
            (f"{name} ({count})", name) for name, count in self.book.groups()
        ]
        shown = [
            (self.group_combo.itemText(i), self.group_combo.itemData(i))
            for i in range(self.group_combo.count())
        ]
        if items == shown:
            return  # rebuilding would close the list if the user has it open
        current = self.group()
        self.group_combo.blockSignals(True)  # the list is refreshed right after
        self.group_combo.clear()
        for text, name in items:
            self.group_combo.addItem(text, name)
        index = self.group_combo.findData(current) if current else 0
        self.group_combo.setCurrentIndex(max(index, 0))
        self.group_combo.blockSignals(False)

    def refresh(self) -> None:
        """Re-read the book; the selection is kept by number."""
        self._reload_groups()
        chosen = {c.number for c in self.selected_contacts()}
        contacts = self.book.list_contacts(self.search_edit.text(), self.group(), limit=LIMIT)
        self.model.set_contacts(contacts, self.service.settings().zone)
        selection = self.table.selectionModel()
        for row, contact in enumerate(contacts):
            if contact.number in chosen:
                selection.select(
                    self.model.index(row, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )
        if len(contacts) >= LIMIT:
            self._status(f"Showing the first {LIMIT}; search or pick a group to narrow it.")
        self._update_buttons()

    def selected_contacts(self) -> list[ContactView]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.contact(r) for r in rows if r < self.model.rowCount()]

    def _update_buttons(self) -> None:
        chosen = self.selected_contacts()
        self.message_button.setEnabled(any(c.opted_out_at is None for c in chosen))
        self.opt_out_button.setEnabled(any(c.opted_out_at is None for c in chosen))
        self.opt_in_button.setEnabled(any(c.opted_out_at is not None for c in chosen))

    def _status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")

    # -- actions --------------------------------------------------------------------------

    def _message_selected(self) -> None:
        # Opted-out people are left out: scheduling would skip them anyway.
        numbers = [c.number for c in self.selected_contacts() if c.opted_out_at is None]
        if numbers:
            self.message_requested.emit(", ".join(numbers))

    def opt_out_selected(self) -> None:
        self._each(
            [c for c in self.selected_contacts() if c.opted_out_at is None],
            lambda c: self.book.opt_out(c.number, source="manual"),
            "opted out",
        )

    def opt_in_selected(self) -> None:
        self._each(
            [c for c in self.selected_contacts() if c.opted_out_at is not None],
            lambda c: self.book.opt_in(c.number),
            "opted back in",
        )

    def _each(
        self, contacts: list[ContactView], act: Callable[[ContactView], object], done: str
    ) -> None:
        try:
            for contact in contacts:
                act(contact)
        except SmsdeskError as exc:
            self._status(str(exc), error=True)
        else:
            people = "contact" if len(contacts) == 1 else "contacts"
            self._status(f"{len(contacts)} {people} {done}.")
        self.refresh()
        self.changed.emit()

    def import_csv(self) -> None:
        path = self.ask_open()
        if not path:
            return
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            self._status(f"Could not read {path}: {exc.strerror or exc}", error=True)
            return
        dialog = ImportDialog(self.book, self.tasks, data, file_name=Path(path).name, parent=self)
        dialog.imported.connect(self._imported)
        self.import_dialog = dialog
        dialog.open()  # window-modal, without blocking in exec()

    def _imported(self, summary: ImportSummary) -> None:
        self._status(describe_import(summary))
        self.refresh()
        self.changed.emit()

    def _ask_save_with_dialog(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export contacts", "smsdesk-contacts.csv", "CSV files (*.csv)"
        )
        return path or None

    def export_csv(self) -> None:
        path = self.ask_save()
        if not path:
            return
        book = self.book

        def work() -> int:
            text = book.export_contacts_csv()
            # The text already ends lines with \r\n (what spreadsheets expect): keep it as is.
            Path(path).write_text(text, encoding="utf-8", newline="")
            return text.count("\r\n") - 1

        self.export_button.setEnabled(False)
        self.tasks.submit(work, self._exported, self._export_failed)

    def _exported(self, count: int) -> None:
        self.export_button.setEnabled(True)
        self._status(f"Exported {count} contact{'s' if count != 1 else ''}.")

    def _export_failed(self, exc: Exception) -> None:
        self.export_button.setEnabled(True)
        self._status(f"Export failed: {exc}", error=True)
