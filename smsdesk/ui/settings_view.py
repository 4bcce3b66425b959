"""Settings: provider accounts (the key goes to the keyring through the service), the default
account, the time zone and the default region."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
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
from smsdesk.engine.service import Service
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import (
    Confirm,
    ask_with_dialog,
    error_label,
    set_zone,
    show_error,
    with_error,
    zone_combo,
)

ACCOUNT_ROLE = Qt.ItemDataRole.UserRole + 1
SYSTEM_ZONE = "(this computer's zone)"


class SettingsView(QWidget):
    changed = Signal()  # accounts or settings changed: other views re-read

    def __init__(
        self,
        service: Service,
        tasks: TaskRunner,
        *,
        confirm: Confirm | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.confirm = confirm or ask_with_dialog(self)
        self.setObjectName("settingsView")
        self.setAccessibleName("Settings")

        self.accounts_list = QListWidget()
        self.accounts_list.setObjectName("accountsList")
        self.accounts_list.setAccessibleName("Provider accounts")
        self.default_button = self._button("makeDefaultButton", "Make default")
        self.test_button = self._button("testConnectionButton", "Test connection")
        self.remove_button = self._button("removeAccountButton", "Remove")
        self.test_label = QLabel()
        self.test_label.setObjectName("testResult")
        self.test_label.setAccessibleName("Connection test result")
        self.test_label.setWordWrap(True)

        self.name_edit = self._line("accountNameEdit", "Account name")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("accountKindCombo")
        self.kind_combo.setAccessibleName("Provider")
        self.key_edit = self._line("apiKeyEdit", "API key")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("stored in the system keyring, never in a file")
        self.url_edit = self._line("baseUrlEdit", "Base URL")
        self.url_edit.setPlaceholderText("the provider's default")
        self.sender_edit = self._line("accountSenderEdit", "Default sender")
        self.add_button = self._button("addAccountButton", "Add account")
        self.name_error = error_label("accountNameError", "Account name error")
        self.key_error = error_label("apiKeyError", "API key error")
        self.url_error = error_label("baseUrlError", "Base URL error")
        self.add_error = error_label("addAccountError", "Account error")

        self.zone_combo = zone_combo("settingsZoneCombo", "Time zone")
        self.zone_combo.insertItem(0, SYSTEM_ZONE)
        self.region_edit = self._line("regionEdit", "Default region")
        self.region_edit.setPlaceholderText("e.g. GB, for numbers written without +")
        self.region_edit.setMaxLength(2)
        self.save_button = self._button("saveSettingsButton", "Save settings")
        self.zone_error = error_label("settingsZoneError", "Time zone error")
        self.region_error = error_label("regionError", "Default region error")
        self.saved_label = QLabel()
        self.saved_label.setObjectName("settingsSaved")
        self.saved_label.setAccessibleName("Settings status")

        accounts = QGroupBox("Provider accounts")
        al = QVBoxLayout(accounts)
        al.addWidget(self.accounts_list, 1)
        row = QHBoxLayout()
        for button in (self.default_button, self.test_button, self.remove_button):
            row.addWidget(button)
        row.addStretch(1)
        al.addLayout(row)
        al.addWidget(self.test_label)
        add = QGroupBox("Add an account")
        form = QFormLayout(add)
        form.addRow("Name", with_error(self.name_edit, self.name_error))
        form.addRow("Provider", self.kind_combo)
        form.addRow("API key", with_error(self.key_edit, self.key_error))
        form.addRow("Base URL", with_error(self.url_edit, self.url_error))
        form.addRow("Sender", self.sender_edit)
        form.addRow(self.add_error)
        form.addRow("", self.add_button)
        prefs = QGroupBox("Preferences")
        pf = QFormLayout(prefs)
        pf.addRow("Time zone", with_error(self.zone_combo, self.zone_error))
        pf.addRow("Default region", with_error(self.region_edit, self.region_error))
        pf.addRow("", self.save_button)
        pf.addRow(self.saved_label)
        right = QVBoxLayout()
        right.addWidget(add)
        right.addWidget(prefs)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(accounts, 1)
        layout.addLayout(right, 1)

        self.add_button.clicked.connect(self.add_account)
        self.remove_button.clicked.connect(self.remove_selected)
        self.default_button.clicked.connect(self.make_default)
        self.test_button.clicked.connect(self.test_selected)
        self.save_button.clicked.connect(self.save_settings)
        self.accounts_list.currentRowChanged.connect(self._update_buttons)
        self._update_buttons()  # accounts are read when the window first shows this view

    @staticmethod
    def _button(name: str, text: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text)
        return button

    @staticmethod
    def _line(name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        return edit

    def refresh(self) -> None:
        if not self.kind_combo.count():
            # Listing the kinds loads every provider module: only once Settings is shown.
            for kind, title in self.service.account_kinds():
                self.kind_combo.addItem(title, kind)
        current = self.selected_account()
        self.accounts_list.clear()
        for acct in self.service.list_accounts():
            label = f"{acct.name} — {acct.kind}"
            if acct.is_default:
                label += " (default)"
            item = QListWidgetItem(label)
            item.setData(ACCOUNT_ROLE, acct.name)
            self.accounts_list.addItem(item)
            if acct.name == current or (current is None and acct.is_default):
                self.accounts_list.setCurrentItem(item)
        settings = self.service.settings()
        if settings.zone:
            set_zone(self.zone_combo, settings.zone)
        else:
            self.zone_combo.setCurrentIndex(0)
        self.region_edit.setText(settings.default_region or "")
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        has = self.selected_account() is not None
        for button in (self.default_button, self.test_button, self.remove_button):
            button.setEnabled(has)

    def selected_account(self) -> str | None:
        item = self.accounts_list.currentItem()
        value = item.data(ACCOUNT_ROLE) if item is not None else None
        return value if isinstance(value, str) else None

    def add_account(self) -> None:
        for label in (self.name_error, self.key_error, self.url_error, self.add_error):
            show_error(label, "")
        try:
            self.service.add_account(
                self.name_edit.text(),
                str(self.kind_combo.currentData()),
                api_key=self.key_edit.text() or None,
                base_url=self.url_edit.text().strip() or None,
                sender=self.sender_edit.text().strip() or None,
            )
        except SmsdeskError as exc:
            labels = {"name": self.name_error, "api_key": self.key_error}
            show_error(
                labels.get(exc.field, self.url_error if "URL" in str(exc) else self.add_error),
                str(exc),
            )
            return
        name = self.name_edit.text().strip()
        for edit in (self.name_edit, self.key_edit, self.url_edit, self.sender_edit):
            edit.clear()  # the key leaves the window as soon as it is stored
        self.refresh()
        for row in range(self.accounts_list.count()):
            if self.accounts_list.item(row).data(ACCOUNT_ROLE) == name:
                self.accounts_list.setCurrentRow(row)
        self.test_label.setText(f"Added {name}. Use “Test connection” to check the key.")
        self.changed.emit()

    def remove_selected(self) -> None:
        name = self.selected_account()
        if name is None or not self.confirm(
            "Remove account", f"Remove {name}? Its key is deleted from the keyring."
        ):
            return
        try:
            self.service.remove_account(name)
        except SmsdeskError as exc:
            self.test_label.setText(str(exc))
            return
        self.test_label.setText(f"Removed {name}.")
        self.refresh()
        self.changed.emit()

    def make_default(self) -> None:
        name = self.selected_account()
        if name is None:
            return
        try:
            self.service.set_default_account(name)
        except SmsdeskError as exc:
            self.test_label.setText(str(exc))
            return
        self.refresh()
        self.changed.emit()

    def test_selected(self) -> None:
        name = self.selected_account()
        if name is None:
            return
        self.test_button.setEnabled(False)
        self.test_label.setText(f"Testing {name}…")
        # A real request to the provider: off the Qt thread.
        self.tasks.submit(
            lambda: self.service.test_account(name),
            lambda answer: self._tested(f"{name}: {answer}"),
            lambda exc: self._tested(f"{name} failed the test: {exc}"),
        )

    def _tested(self, text: str) -> None:
        self.test_button.setEnabled(self.selected_account() is not None)
        self.test_label.setText(text)

    def save_settings(self) -> None:
        show_error(self.zone_error, "")
        show_error(self.region_error, "")
        zone = self.zone_combo.currentText()
        try:
            self.service.update_settings(
                zone="" if zone == SYSTEM_ZONE else zone,
                default_region=self.region_edit.text(),
            )
        except SmsdeskError as exc:
            label = self.region_error if exc.field == "default_region" else self.zone_error
            show_error(label, str(exc))
            return
        self.saved_label.setText("Saved.")
        self.changed.emit()
