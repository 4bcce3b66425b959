"""The account form: one form per provider kind, built from that kind's declared options
(each a labelled field with its help text, objectName ``option_<name>``), the kind's
capabilities in words, and the same form to edit an account or replace its key.

Saving writes the key to the system keyring, so it runs off the Qt thread; a refusal comes
back with the field it belongs to and is shown beside that field, and nothing is stored.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.engine.accounts import AccountDetails, AccountForm, OptionField
from smsdesk.engine.service import Service
from smsdesk.engine.views import AccountView
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import error_label, show_error, with_error

HELP_STYLE = "color: #566573;"
ADD_KEY_HINT = "stored encrypted (system keyring or passphrase key file), never in plain text"
EDIT_KEY_HINT = "leave empty to keep the stored key; type a new one to replace it"


def _line(name: str, accessible: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    return edit


def _help(name: str, text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(HELP_STYLE)
    return label


class OptionInput:
    """One option's field: a line edit, or a combo when the option has a fixed list."""

    def __init__(self, option: OptionField) -> None:
        self.option = option
        self.widget: QLineEdit | QComboBox
        if option.choices:
            combo = QComboBox()
            combo.addItems(list(option.choices))
            self.widget = combo
        else:
            edit = QLineEdit()
            edit.setPlaceholderText(option.placeholder)
            self.widget = edit
        self.widget.setObjectName(f"option_{option.name}")
        self.widget.setAccessibleName(option.label)
        self.widget.setAccessibleDescription(option.help)
        self.widget.setToolTip(option.help)
        self.error = error_label(f"option_{option.name}Error", f"{option.label} error")
        self.help = _help(f"option_{option.name}Help", option.help)

    def value(self) -> str:
        if isinstance(self.widget, QComboBox):
            return self.widget.currentText()
        return self.widget.text().strip()

    def set_value(self, value: str) -> None:
        if isinstance(self.widget, QComboBox):
            index = self.widget.findText(value)
            self.widget.setCurrentIndex(max(index, 0))
        else:
            self.widget.setText(value)


class AccountFormView(QGroupBox):
    """Add an account, or edit the one given to ``edit``."""

    saved = Signal(str)  # the account's name, once stored

    def __init__(self, service: Service, tasks: TaskRunner, parent: QWidget | None = None):
        super().__init__("Add an account", parent)
        self.service = service
        self.tasks = tasks
        self.setObjectName("accountForm")
        self.editing: str | None = None  # the account being edited, else adding
        self.form_info: AccountForm | None = None
        self.inputs: dict[str, OptionInput] = {}

        self.name_edit = _line("accountNameEdit", "Account name")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("accountKindCombo")
        self.kind_combo.setAccessibleName("Provider")
        self.key_edit = _line("apiKeyEdit", "API key")
        # Never shown, never copied out: the key goes from here to the keyring only.
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText(ADD_KEY_HINT)
        self.url_edit = _line("baseUrlEdit", "Base URL")
        self.sender_edit = _line("accountSenderEdit", "Default sender")
        self.sender_edit.setPlaceholderText("a number or an approved sender name")
        self.add_button = QPushButton("Add account")
        self.add_button.setObjectName("addAccountButton")
        self.add_button.setAccessibleName("Add or save the account")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelEditButton")
        self.cancel_button.setAccessibleName("Stop editing the account")
        self.cancel_button.hide()
        self.name_error = error_label("accountNameError", "Account name error")
        self.key_error = error_label("apiKeyError", "API key error")
        self.url_error = error_label("baseUrlError", "Base URL error")
        self.add_error = error_label("addAccountError", "Account error")
        self.url_help = _help("baseUrlHelp", "")
        self.capabilities_label = QLabel()
        self.capabilities_label.setObjectName("accountCapabilities")
        self.capabilities_label.setAccessibleName("What this provider can do")
        self.capabilities_label.setWordWrap(True)
        self.capabilities_label.setTextFormat(Qt.TextFormat.PlainText)

        self.form = QFormLayout()
        self.form.addRow("Name", with_error(self.name_edit, self.name_error))
        self.form.addRow("Provider", self.kind_combo)
        self.key_row = with_error(self.key_edit, self.key_error)
        self.form.addRow("API key", self.key_row)
        url_box = QWidget()
        ub = QVBoxLayout(url_box)
        ub.setContentsMargins(0, 0, 0, 0)
        ub.setSpacing(2)
        ub.addWidget(self.url_edit)
        ub.addWidget(self.url_help)
        ub.addWidget(self.url_error)
        self.url_row = url_box
        self.form.addRow("Base URL", url_box)
        self.form.addRow("Sender", self.sender_edit)
        self.options_box = QGroupBox("Provider options")
        self.options_box.setObjectName("accountOptions")
        self.options_form = QFormLayout(self.options_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.options_box)
        layout.addWidget(self.add_error)
        layout.addLayout(buttons)
        caps = QGroupBox("What this provider can do")
        cl = QVBoxLayout(caps)
        cl.addWidget(self.capabilities_label)
        layout.addWidget(caps)

        self.kind_combo.currentIndexChanged.connect(lambda _i: self._build_for_kind())
        self.add_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.start_adding)

    # -- building ---------------------------------------------------------------------------

    def load_kinds(self) -> None:
        if self.kind_combo.count():
            return
        self.kind_combo.blockSignals(True)
        for kind, title in self.service.account_kinds():
            self.kind_combo.addItem(title, kind)
        self.kind_combo.blockSignals(False)
        self._build_for_kind()

    def current_kind(self) -> str:
        return str(self.kind_combo.currentData())

    def _build_for_kind(self) -> None:
        info = self.service.accounts.account_form(self.current_kind())
        self.form_info = info
        # Hidden while rebuilt: showing it again shows the new fields at once (a field
        # added to a shown box would only appear at the next turn of the event loop).
        self.options_box.hide()
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self.inputs = {}
        for option in info.options:
            field = OptionInput(option)
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(field.widget)
            column.addWidget(field.help)
            column.addWidget(field.error)
            label = QLabel(option.label + (" (required)" if option.required else ""))
            label.setBuddy(field.widget)
            self.options_form.addRow(label, box)
            self.inputs[option.name] = field
        self.options_box.setVisible(bool(info.options))
        self.form.setRowVisible(self.key_row, info.needs_key)
        self.form.setRowVisible(self.url_row, info.needs_key)
        if info.needs_base_url:
            self.url_edit.setPlaceholderText("required, e.g. https://xxxxx.api.infobip.com")
            self.url_help.setText(f"Your own {info.title} address, shown in its portal.")
        else:
            # Not the default address itself: for some kinds it follows an option (a region).
            self.url_edit.setPlaceholderText("the provider's own address")
            self.url_help.setText("Leave empty to use the provider's own address.")
        self.capabilities_label.setText(
            "\n".join(f"{what}: {words}" for what, words in info.capabilities)
        )
        self._clear_errors()

    def _clear_errors(self) -> None:
        for label in (self.name_error, self.key_error, self.url_error, self.add_error):
            show_error(label, "")
        for field in self.inputs.values():
            show_error(field.error, "")

    # -- add / edit -------------------------------------------------------------------------

    def start_adding(self) -> None:
        self.editing = None
        self.setTitle("Add an account")
        self.add_button.setText("Add account")
        self.cancel_button.hide()
        self.name_edit.setEnabled(True)
        self.kind_combo.setEnabled(True)
        for edit in (self.name_edit, self.key_edit, self.url_edit, self.sender_edit):
            edit.clear()
        self.key_edit.setPlaceholderText(ADD_KEY_HINT)
        self._build_for_kind()

    def edit(self, details: AccountDetails) -> None:
        """Fill the form with an account to change its settings or replace its key."""
        self.load_kinds()
        self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(details.kind), 0))
        self._build_for_kind()
        self.editing = details.name
        self.setTitle(f"Edit {details.name}")
        self.add_button.setText("Save changes")
        self.cancel_button.show()
        self.name_edit.setText(details.name)
        self.name_edit.setEnabled(False)  # the key is filed under the name
        self.kind_combo.setEnabled(False)
        self.key_edit.clear()
        self.key_edit.setPlaceholderText(EDIT_KEY_HINT)
        self.url_edit.setText(details.base_url or "")
        self.sender_edit.setText(details.sender or "")
        for name, field in self.inputs.items():
            field.set_value(details.options.get(name, ""))

    def options(self) -> dict[str, object]:
        return {name: field.value() for name, field in self.inputs.items() if field.value()}

    def _precheck(self) -> bool:
        """What can be told without the keyring or the database, at once beside the field."""
        info = self.form_info
        assert info is not None
        ok = True
        if self.editing is None and not self.name_edit.text().strip():
            show_error(self.name_error, "Give the account a name.")
            ok = False
        if self.editing is None and info.needs_key and not self.key_edit.text().strip():
            show_error(self.key_error, f"A {info.title} account needs an API key.")
            ok = False
        for field in self.inputs.values():
            if field.option.required and not field.value():
                show_error(field.error, f"Type the {field.option.label}. {field.option.help}")
                ok = False
        return ok

    def submit(self) -> None:
        self._clear_errors()
        if not self._precheck():
            return
        # Read every field here, on the Qt thread; the work below only gets the values.
        name = self.editing or self.name_edit.text().strip()
        kind = self.current_kind()
        key = self.key_edit.text() or None
        base_url = self.url_edit.text().strip() or None
        sender = self.sender_edit.text().strip() or None
        options = self.options()
        editing = self.editing is not None
        accounts = self.service.accounts

        def work() -> AccountView:
            if editing:
                return accounts.update_account(
                    name, base_url=base_url, sender=sender, options=options, api_key=key
                )
            return accounts.add_account(
                name, kind, api_key=key, base_url=base_url, sender=sender, options=options
            )

        self.add_button.setEnabled(False)
        self.tasks.submit(work, self._saved, self._refused)

    def _saved(self, account: AccountView) -> None:
        self.add_button.setEnabled(True)
        self.key_edit.clear()  # the key leaves the window as soon as it is stored
        self.start_adding()
        self.saved.emit(account.name)

    def _refused(self, exc: Exception) -> None:
        self.add_button.setEnabled(True)
        field = exc.field if isinstance(exc, SmsdeskError) else ""
        labels = {"name": self.name_error, "api_key": self.key_error, "base_url": self.url_error}
        labels.update({f"option_{n}": f.error for n, f in self.inputs.items()})
        show_error(labels.get(field, self.add_error), str(exc))
