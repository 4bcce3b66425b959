"""Contacts: the contact book with search and a group filter; add, edit and delete contacts;
groups and their members; custom fields as columns; CSV import and export; opt-out / opt-in;
and "New message" to the selected people. Numbers are shown the way the desk's country writes
them and kept as E.164. The columns shown, their order (dragged by their titles) and widths
are remembered on this computer (contact_columns.py)."""

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
from smsdesk.core.phones import format_for_desk
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.contacts import ContactView, ImportSummary
from smsdesk.engine.service import Service
from smsdesk.ui.contact_columns import ColumnLayout, ColumnsDialog
from smsdesk.ui.contact_editor import ContactEditor
from smsdesk.ui.groups_dialog import GroupsDialog
from smsdesk.ui.import_dialog import ImportDialog, ask_open_with_dialog, describe_import
from smsdesk.ui.queue_view import AskPath
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import ERROR_STYLE, Confirm, ask_with_dialog

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Name", "Number", "Time zone", "Groups", "Opted out")
NUMBER_COLUMN = 1
LIMIT = 1000  # rows shown at once; search or pick a group to find the rest
# A column being dragged wider reports every pixel: its width is written once it rests.
SAVE_DELAY_MS = 400


def custom_fields(contacts: list[ContactView]) -> tuple[str, ...]:
    """The custom field names the listed contacts have, sorted."""
    return tuple(sorted({key for c in contacts for key in c.fields}))


class ContactsModel(QAbstractTableModel):
    """The contacts one query returned, read-only; ``set_contacts`` replaces them all. After
    the fixed columns, one column per custom field chosen to be shown."""

    def __init__(self, zone: str | None = None) -> None:
        super().__init__()
        self._rows: list[ContactView] = []
        self._zone = resolve_zone(zone)
        self._region: str | None = None
        self.extra: tuple[str, ...] = ()

    def set_contacts(
        self,
        contacts: list[ContactView],
        zone: str | None,
        region: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        same = (contacts, resolve_zone(zone), region, extra)
        if same == (self._rows, self._zone, self._region, self.extra):
            return  # the timed refresh found nothing new: keep the scroll position
        self.beginResetModel()
        self._rows = list(contacts)
        self._zone = resolve_zone(zone)
        self._region = region
        self.extra = extra
        self.endResetModel()

    def contact(self, row: int) -> ContactView:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(HEADERS) + len(self.extra)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            headers = (*HEADERS, *self.extra)
            return headers[section] if 0 <= section < len(headers) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        c = self._rows[index.row()]
        if index.column() == NUMBER_COLUMN and role == Qt.ItemDataRole.ToolTipRole:
            return c.number  # as stored and sent: E.164
        values = (
            c.name,
            format_for_desk(c.number, self._region),
            c.zone or "",
            ", ".join(c.groups),
            self._opted_out(c),
            *(c.fields.get(key, "") for key in self.extra),
        )
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
        confirm: Confirm | None = None,
        state_folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``state_folder`` holds window.ini, where the column layout is kept (default: the
        data folder)."""
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.book = service.contact_book()
        self.ask_open = ask_open or ask_open_with_dialog(self)
        self.ask_save = ask_save or self._ask_save_with_dialog
        self._injected_save = ask_save  # the import's own save prompt is used otherwise
        self.confirm = confirm or ask_with_dialog(self)
        # The open dialogs, for tests and focus.
        self.import_dialog: ImportDialog | None = None
        self.contact_editor: ContactEditor | None = None
        self.groups_dialog: GroupsDialog | None = None
        self.columns_dialog: ColumnsDialog | None = None
        self.field_names: tuple[str, ...] = ()  # the listed contacts' custom fields
        if state_folder is None:
            from smsdesk.engine.places import home_dir

            state_folder = home_dir()
        self.column_layout = ColumnLayout(state_folder)
        # Custom fields the user chose not to show (remembered, like the order and widths).
        self.hidden_fields: set[str] = set(self.column_layout.hidden)
        self._arranging = False  # the view is placing columns: not the user's doing
        self._placed: dict[str, int] = {}  # the widths the view gave, by column title
        self._select_number: str | None = None  # a contact just saved: select it
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
        # The user sizes and orders the columns (fitted to their contents until then).
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._remember_columns)
        header.sectionMoved.connect(lambda *_a: self._columns_arranged(at_once=True))
        header.sectionResized.connect(lambda *_a: self._columns_arranged(at_once=False))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

        self.add_button = self._button("Add…", "addContactButton", "Add a contact")
        self.edit_button = self._button("Edit…", "editContactButton", "Edit the selected contact")
        self.delete_button = self._button(
            "Delete…", "deleteContactButton", "Delete the selected contacts"
        )
        self.groups_button = self._button("Groups…", "manageGroupsButton", "Manage groups")
        self.columns_button = self._button("Columns…", "contactColumnsButton", "Choose columns")
        self.member_group_combo = QComboBox()
        self.member_group_combo.setObjectName("memberGroupCombo")
        self.member_group_combo.setAccessibleName("Group to add the selected contacts to")
        self.member_group_combo.setEditable(True)  # an existing group, or a new name
        self.member_group_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.member_group_combo.setMinimumContentsLength(12)
        member_edit = self.member_group_combo.lineEdit()
        if member_edit is not None:  # always: the combo is editable
            member_edit.setPlaceholderText("a group's name")
        self.add_to_group_button = self._button(
            "Add to group", "addToGroupButton", "Add the selected contacts to the group"
        )
        self.remove_from_group_button = self._button(
            "Remove from group", "removeFromGroupButton", "Remove the selected from this group"
        )
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
        top.addWidget(self.columns_button)
        book_row = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.delete_button):
            book_row.addWidget(button)
        book_row.addStretch(1)
        for button in (self.groups_button, self.import_button, self.export_button):
            book_row.addWidget(button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.member_group_combo, 1)
        buttons.addWidget(self.add_to_group_button)
        buttons.addWidget(self.remove_from_group_button)
        buttons.addStretch(1)
        for button in (self.opt_out_button, self.opt_in_button, self.message_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(book_row)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)

        # Re-query once typing pauses, not on every key.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.group_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.add_button.clicked.connect(self.add_contact)
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.groups_button.clicked.connect(self.manage_groups)
        self.columns_button.clicked.connect(self.choose_columns)
        self.add_to_group_button.clicked.connect(self.add_selected_to_group)
        self.remove_from_group_button.clicked.connect(self.remove_selected_from_group)
        self.member_group_combo.editTextChanged.connect(lambda _t: self._update_buttons())
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
        typed = self.member_group_combo.currentText()
        self.member_group_combo.blockSignals(True)
        self.member_group_combo.clear()
        self.member_group_combo.addItems([name for _text, name in items if name])
        self.member_group_combo.setEditText(typed)
        self.member_group_combo.blockSignals(False)
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
        if self._select_number is not None:
            chosen, self._select_number = {self._select_number}, None
        contacts = self.book.list_contacts(self.search_edit.text(), self.group(), limit=LIMIT)
        settings = self.service.settings()
        self.field_names = custom_fields(contacts)
        extra = tuple(f for f in self.field_names if f not in self.hidden_fields)
        self.model.set_contacts(contacts, settings.zone, settings.default_region, extra)
        self._arrange_columns()
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
        self.edit_button.setEnabled(len(chosen) == 1)
        self.delete_button.setEnabled(bool(chosen))
        typed = self.member_group_combo.currentText().strip()
        self.add_to_group_button.setEnabled(bool(chosen) and bool(typed))
        group = self.group()
        self.remove_from_group_button.setEnabled(bool(chosen) and group is not None)
        self.remove_from_group_button.setText(
            f"Remove from '{group}'" if group else "Remove from group"
        )
        self.message_button.setEnabled(any(c.opted_out_at is None for c in chosen))
        self.opt_out_button.setEnabled(any(c.opted_out_at is None for c in chosen))
        self.opt_in_button.setEnabled(any(c.opted_out_at is not None for c in chosen))

    def _status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")

    # -- editing --------------------------------------------------------------------------

    def add_contact(self) -> None:
        self._open_editor(None)

    def edit_selected(self) -> None:
        chosen = self.selected_contacts()
        if len(chosen) != 1:
            return
        try:
            fresh = self.book.contact(chosen[0].id)  # another desk may have changed it
        except SmsdeskError as exc:
            self._status(str(exc), error=True)
            self.refresh()
            return
        self._open_editor(fresh)

    def _open_editor(self, contact: ContactView | None) -> None:
        editor = ContactEditor(
            self.book,
            region=self.service.settings().default_region,
            contact=contact,
            field_names=self.field_names,
            parent=self,
        )
        editor.saved.connect(self._contact_saved)
        self.contact_editor = editor
        editor.open()  # window-modal, without blocking in exec()

    def _contact_saved(self, view: ContactView) -> None:
        self._status(f"Saved {view.name or format_for_desk(view.number, self._region())}.")
        self._select_number = view.number
        self.refresh()
        self.changed.emit()

    def _region(self) -> str | None:
        return self.service.settings().default_region

    def delete_selected(self) -> None:
        chosen = self.selected_contacts()
        if not chosen:
            return
        who = (
            chosen[0].name or format_for_desk(chosen[0].number, self._region())
            if len(chosen) == 1
            else f"these {len(chosen)} contacts"
        )
        question = (
            f"Delete {who} from the contact book? Messages already scheduled stay, and so "
            "does the opt-out list."
        )
        if not self.confirm("Delete contacts", question):
            return
        try:
            gone = self.book.delete_contacts([c.id for c in chosen])
        except SmsdeskError as exc:
            self._status(str(exc), error=True)
        else:
            self._status(f"Deleted {gone} contact{'' if gone == 1 else 's'}.")
        self.refresh()
        self.changed.emit()

    # -- groups and columns -----------------------------------------------------------------

    def manage_groups(self) -> None:
        dialog = GroupsDialog(self.book, self.confirm, parent=self)
        dialog.changed.connect(self._groups_changed)
        self.groups_dialog = dialog
        dialog.open()

    def _groups_changed(self) -> None:
        self.refresh()
        self.changed.emit()

    def add_selected_to_group(self) -> None:
        group = self.member_group_combo.currentText().strip()
        chosen = self.selected_contacts()
        if not group or not chosen:
            return
        self._each_at_once(
            lambda: self.book.add_to_group(group, [c.id for c in chosen]),
            f"{len(chosen)} {'contact' if len(chosen) == 1 else 'contacts'} added to '{group}'.",
        )

    def remove_selected_from_group(self) -> None:
        group, chosen = self.group(), self.selected_contacts()
        if group is None or not chosen:
            return
        self._each_at_once(
            lambda: self.book.remove_from_group(group, [c.id for c in chosen]),
            f"{len(chosen)} {'contact' if len(chosen) == 1 else 'contacts'} removed from "
            f"'{group}'.",
        )

    def _each_at_once(self, act: Callable[[], object], done: str) -> None:
        try:
            act()
        except SmsdeskError as exc:
            self._status(str(exc), error=True)
        else:
            self._status(done)
        self.refresh()
        self.changed.emit()

    def choose_columns(self) -> None:
        shown = tuple(f for f in self.field_names if f not in self.hidden_fields)
        dialog = ColumnsDialog(self.field_names, shown, parent=self)
        dialog.chosen.connect(self._columns_chosen)
        self.columns_dialog = dialog
        dialog.open()

    def _columns_chosen(self, shown: tuple[str, ...]) -> None:
        # Fields this listing does not offer keep their remembered choice.
        others = self.hidden_fields - set(self.field_names)
        self.hidden_fields = others | {f for f in self.field_names if f not in shown}
        self.column_layout.hidden = set(self.hidden_fields)
        self.column_layout.save()
        self.refresh()

    def _titles(self) -> tuple[str, ...]:
        return (*HEADERS, *self.model.extra)

    def _arrange_columns(self) -> None:
        """Give the columns their remembered order and widths (a new listing resets them)."""
        header = self.table.horizontalHeader()
        titles = self._titles()
        self._arranging = True
        try:
            for logical, title in enumerate(titles):
                width = self.column_layout.widths.get(title)
                if width is None:
                    self.table.resizeColumnToContents(logical)
                elif header.sectionSize(logical) != width:
                    header.resizeSection(logical, width)
                self._placed[title] = header.sectionSize(logical)
            for visual, title in enumerate(self.column_layout.arranged(titles)):
                current = header.visualIndex(titles.index(title))
                if current != visual:
                    header.moveSection(current, visual)
        finally:
            self._arranging = False

    def _columns_arranged(self, *, at_once: bool) -> None:
        if self._arranging:
            return
        self._save_timer.start()  # (re)started: a resize writes once it rests
        if at_once:
            self._remember_columns()

    def _remember_columns(self) -> None:
        self._save_timer.stop()
        header = self.table.horizontalHeader()
        titles = self._titles()
        shown = [titles[header.logicalIndex(v)] for v in range(len(titles))]
        # Only widths the user changed: a fitted column keeps fitting its contents, and the
        # last one stretches to the window's edge (neither is a choice to remember).
        last = shown[-1] if shown else ""
        widths = {
            title: header.sectionSize(i)
            for i, title in enumerate(titles)
            if title != last and header.sectionSize(i) != self._placed.get(title)
        }
        self.column_layout.remember(shown, widths)

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
        dialog = ImportDialog(
            self.book,
            self.tasks,
            data,
            file_name=Path(path).name,
            ask_save=self._injected_save,
            parent=self,
        )
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
