"""Opt-outs: the numbers that must not be messaged, where each came from (typed by staff, a
provider's report, a reply), search, add one with a reason, and remove one after asking."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.service import Service
from smsdesk.ui.widgets import Confirm, ask_with_dialog, error_label, show_error, with_error

NUMBER_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Number", "Name", "Since", "Source", "Reason")
STAFF = "manual"  # what staff-typed opt-outs are stored as, with ": reason" when one is given


def source_words(source: str, accounts: set[str]) -> tuple[str, str]:
    """(where it came from, the reason) in the words the list shows."""
    kind, sep, rest = source.partition(":")
    if source == STAFF or (sep and kind == STAFF):
        return "Typed by staff", rest.strip()
    lowered = source.lower()
    if lowered.startswith(("reply", "replied")):
        return "Reply", source
    if lowered.startswith("import"):
        return "Imported", rest.strip()
    if sep and kind in accounts:
        return f"Provider report ({kind})", rest.strip()
    return "Other", source


class OptOutsView(QWidget):
    changed = Signal()  # the list changed: Compose and Contacts re-read

    def __init__(
        self,
        service: Service,
        *,
        confirm: Confirm | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.book = service.contact_book()
        self.confirm = confirm or ask_with_dialog(self)
        self.setObjectName("optOutsView")
        self.setAccessibleName("Opt-outs")

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("optOutSearch")
        self.search_edit.setAccessibleName("Search opt-outs")
        self.search_edit.setPlaceholderText("Search by number, name or reason")
        self.search_edit.setClearButtonEnabled(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("optOutsTable")
        self.table.setAccessibleName("Opted-out numbers")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.count_label = QLabel()
        self.count_label.setObjectName("optOutCount")
        self.remove_button = QPushButton("Remove from the list…")
        self.remove_button.setObjectName("removeOptOutButton")
        self.remove_button.setAccessibleName("Remove the selected number from the opt-out list")
        self.status_label = QLabel()
        self.status_label.setObjectName("optOutStatus")
        self.status_label.setWordWrap(True)

        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("optOutNumberEdit")
        self.number_edit.setAccessibleName("Number to opt out")
        self.number_edit.setPlaceholderText("+44 7911 123456, or a national number")
        self.reason_edit = QLineEdit()
        self.reason_edit.setObjectName("optOutReasonEdit")
        self.reason_edit.setAccessibleName("Reason")
        self.reason_edit.setPlaceholderText("e.g. asked at the desk not to be texted")
        self.add_button = QPushButton("Add to the list")
        self.add_button.setObjectName("addOptOutButton")
        self.add_button.setAccessibleName("Add the number to the opt-out list")
        self.number_error = error_label("optOutNumberError", "Number error")

        add = QGroupBox("Add a number that must not be messaged")
        form = QFormLayout(add)
        form.addRow("Number", with_error(self.number_edit, self.number_error))
        form.addRow("Reason", self.reason_edit)
        form.addRow("", self.add_button)
        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.count_label)
        actions = QHBoxLayout()
        actions.addWidget(self.remove_button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status_label)
        layout.addWidget(add)

        self.search_edit.textChanged.connect(lambda _t: self._filter())
        self.add_button.clicked.connect(self.add)
        self.number_edit.returnPressed.connect(self.add)
        self.reason_edit.returnPressed.connect(self.add)
        self.remove_button.clicked.connect(self.remove_selected)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def showEvent(self, event: QShowEvent) -> None:
        # The engine records opt-outs that providers report while another tab is shown.
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        entries = self.book.list_opt_outs()
        contacts = self.book.by_numbers(e.number for e in entries)
        accounts = {a.name for a in self.service.list_accounts()}
        zone = resolve_zone(self.service.settings().zone)
        selected = self.selected_number()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            where, reason = source_words(entry.source, accounts)
            contact = contacts.get(entry.number)
            cells = (
                entry.number,
                contact.name if contact is not None else "",
                format_local(entry.at, zone),
                where,
                reason,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(NUMBER_ROLE, entry.number)
                self.table.setItem(row, column, item)
        self.count_label.setText(
            f"{len(entries)} number{'s' if len(entries) != 1 else ''} opted out"
        )
        self._filter()
        if selected:
            self._select(selected)
        self._update_buttons()

    def _filter(self) -> None:
        needle = self.search_edit.text().strip().lower()
        digits = "".join(ch for ch in needle if ch.isdigit())
        for row in range(self.table.rowCount()):
            texts = [self._cell(row, c) for c in range(self.table.columnCount())]
            number = "".join(ch for ch in texts[0] if ch.isdigit())
            hit = not needle or any(needle in t.lower() for t in texts)
            hit = hit or bool(digits and digits in number)
            self.table.setRowHidden(row, not hit)

    def selected_number(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self._number(rows[0].row())

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def _number(self, row: int) -> str | None:
        item = self.table.item(row, 0)
        value = item.data(NUMBER_ROLE) if item is not None else None
        return value if isinstance(value, str) else None

    def _select(self, number: str) -> None:
        for row in range(self.table.rowCount()):
            if self._number(row) == number:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_number() is not None)

    def add(self) -> None:
        show_error(self.number_error, "")
        raw = self.number_edit.text().strip()
        if not raw:
            show_error(self.number_error, "Type the number that must not be messaged.")
            return
        reason = " ".join(self.reason_edit.text().split())
        try:
            before = {e.number for e in self.book.list_opt_outs()}
            entry = self.book.opt_out(raw, f"{STAFF}: {reason}" if reason else STAFF)
        except SmsdeskError as exc:
            show_error(self.number_error, str(exc))
            return
        if entry.number in before:
            where, why = source_words(entry.source, {a.name for a in self.service.list_accounts()})
            self.status_label.setText(
                f"{entry.number} was already on the list ({where.lower()}"
                + (f": {why}" if why else "")
                + ")."
            )
        else:
            self.status_label.setText(f"{entry.number} will not be messaged.")
        self.number_edit.clear()
        self.reason_edit.clear()
        self.refresh()
        self._select(entry.number)
        self.changed.emit()

    def remove_selected(self) -> None:
        number = self.selected_number()
        if number is None or not self.confirm(
            "Remove from the opt-out list",
            f"Message {number} again? Only do this if they asked to receive messages again.",
        ):
            return
        try:
            self.book.opt_in(number)
        except SmsdeskError as exc:
            self.status_label.setText(str(exc))
            self.refresh()
            return
        self.status_label.setText(f"{number} may be messaged again.")
        self.refresh()
        self.changed.emit()
