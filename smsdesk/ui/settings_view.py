"""Settings: provider accounts (added and edited in the account form; keys go to the keyring
through the service, off the Qt thread), "Test connection" as a checklist, and the desk's
preferences: time zone, default region, quiet hours and the catch-up grace."""

from __future__ import annotations

from datetime import time

from PySide6.QtCore import QLocale, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.engine.accounts import AccountDetails, CheckItem
from smsdesk.engine.key_place import where_keys_are
from smsdesk.engine.service import Service
from smsdesk.engine.settings import region_of_locale, regions
from smsdesk.ui.account_form import AccountFormView
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
NO_REGION_HINT = "none: every number needs its +country code"
QUIET_MODES = (
    ("move", "Move the message to the end of quiet hours"),
    ("refuse", "Refuse to schedule it"),
    ("off", "Off: no quiet hours"),
)
MARKS = {True: "✔", False: "✘", None: "–"}


def _button(name: str, text: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(text)
    return button


def _time_edit(name: str, accessible: str) -> QTimeEdit:
    edit = QTimeEdit()
    edit.setObjectName(name)
    edit.setAccessibleName(accessible)
    edit.setDisplayFormat("HH:mm")
    return edit


def country_name(code: str) -> str:
    territory = QLocale.codeToTerritory(code)
    unknown = territory == QLocale.Country.AnyCountry
    return code if unknown else QLocale.territoryToString(territory) or code


def region_combo() -> QComboBox:
    """Countries by name, with their code and calling code; the data is the code. Typing
    the start of a name completes it in place; typing the code ("GB") is understood too."""
    combo = QComboBox()
    combo.setObjectName("regionCombo")
    combo.setAccessibleName("Default region")
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    entries = sorted((country_name(code), code, calling) for code, calling in regions())
    combo.addItem("", "")  # no default region
    for name, code, calling in entries:
        combo.addItem(f"{name} ({code}, +{calling})", code)
    line = combo.lineEdit()
    assert line is not None
    line.setPlaceholderText(NO_REGION_HINT)
    completer = combo.completer()
    assert completer is not None
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QCompleter.CompletionMode.InlineCompletion)
    return combo


def region_typed(combo: QComboBox) -> str | None:
    """The code of what the region field holds: an entry, a country's name or its code;
    "" for none, None when it names no country."""
    text = combo.currentText().strip()
    if not text:
        return ""
    index = combo.findText(text, Qt.MatchFlag.MatchFixedString)
    if index >= 0:
        return str(combo.itemData(index))
    for row in range(1, combo.count()):
        code = str(combo.itemData(row))
        if text.upper() == code or combo.itemText(row).lower().startswith(text.lower() + " ("):
            return code
    return None


class SettingsView(QWidget):
    changed = Signal()  # accounts or settings changed: other views re-read

    def __init__(
        self,
        service: Service,
        tasks: TaskRunner,
        *,
        confirm: Confirm | None = None,
        locale_name: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.confirm = confirm or ask_with_dialog(self)
        # The region offered when none is saved: the system locale's country, if it names one.
        self.locale_region = region_of_locale(locale_name or QLocale.system().name())
        self.setObjectName("settingsView")
        self.setAccessibleName("Settings")

        # -- accounts
        self.accounts_list = QListWidget()
        self.accounts_list.setObjectName("accountsList")
        self.accounts_list.setAccessibleName("Provider accounts")
        self.default_button = _button("makeDefaultButton", "Make default")
        self.edit_button = _button("editAccountButton", "Edit or replace key")
        self.test_button = _button("testConnectionButton", "Test connection")
        self.remove_button = _button("removeAccountButton", "Remove")
        self.test_label = QLabel()
        self.test_label.setObjectName("testResult")
        self.test_label.setAccessibleName("Connection test result")
        self.test_label.setWordWrap(True)
        self.keys_label = QLabel()  # which store holds the API keys: read off the Qt thread
        self.keys_label.setObjectName("keysHeldIn")
        self.keys_label.setAccessibleName("Where API keys are kept")
        self.keys_label.setWordWrap(True)
        self.checklist = QListWidget()
        self.checklist.setObjectName("testChecklist")
        self.checklist.setAccessibleName("Connection test checklist")
        self.checklist.setWordWrap(True)
        self.checklist.hide()
        self.account_form = AccountFormView(service, tasks)
        # The form's fields, under the names the rest of the window and tests know.
        self.name_edit = self.account_form.name_edit
        self.kind_combo = self.account_form.kind_combo
        self.key_edit = self.account_form.key_edit
        self.url_edit = self.account_form.url_edit
        self.sender_edit = self.account_form.sender_edit
        self.add_button = self.account_form.add_button
        self.name_error = self.account_form.name_error
        self.key_error = self.account_form.key_error

        # -- preferences
        self.zone_combo = zone_combo("settingsZoneCombo", "Time zone")
        self.zone_combo.insertItem(0, SYSTEM_ZONE)
        self.region_combo = region_combo()
        region_line = self.region_combo.lineEdit()
        assert region_line is not None
        self.region_edit = region_line
        self.region_note = QLabel()
        self.region_note.setObjectName("regionNote")
        self.region_note.setWordWrap(True)
        self.quiet_start_edit = _time_edit("quietHoursStartEdit", "Quiet hours start")
        self.quiet_end_edit = _time_edit("quietHoursEndEdit", "Quiet hours end")
        self.quiet_mode_combo = QComboBox()
        self.quiet_mode_combo.setObjectName("quietModeCombo")
        self.quiet_mode_combo.setAccessibleName("During quiet hours")
        for mode, words in QUIET_MODES:
            self.quiet_mode_combo.addItem(words, mode)
        self.grace_spin = QSpinBox()
        self.grace_spin.setObjectName("catchUpGraceSpin")
        self.grace_spin.setAccessibleName("Catch-up grace in minutes")
        self.grace_spin.setRange(0, 24 * 60)
        self.grace_spin.setSuffix(" minutes")
        self.save_button = _button("saveSettingsButton", "Save settings")
        self.zone_error = error_label("settingsZoneError", "Time zone error")
        self.region_error = error_label("regionError", "Default region error")
        self.quiet_error = error_label("quietHoursError", "Quiet hours error")
        self.grace_error = error_label("catchUpGraceError", "Catch-up grace error")
        self.saved_label = QLabel()
        self.saved_label.setObjectName("settingsSaved")
        self.saved_label.setAccessibleName("Settings status")

        accounts = QGroupBox("Provider accounts")
        al = QVBoxLayout(accounts)
        al.addWidget(self.accounts_list, 1)
        row = QHBoxLayout()
        for button in (self.default_button, self.edit_button, self.test_button):
            row.addWidget(button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        al.addLayout(row)
        al.addWidget(self.test_label)
        al.addWidget(self.checklist)
        al.addWidget(self.keys_label)
        al.addWidget(self.account_form)

        prefs = QGroupBox("Preferences")
        pf = QFormLayout(prefs)
        pf.addRow("Time zone", with_error(self.zone_combo, self.zone_error))
        region_box = with_error(self.region_combo, self.region_error)
        region_layout = region_box.layout()
        assert region_layout is not None
        region_layout.addWidget(self.region_note)
        pf.addRow("Default region", region_box)
        quiet = QWidget()
        ql = QHBoxLayout(quiet)
        ql.setContentsMargins(0, 0, 0, 0)
        ql.addWidget(QLabel("from"))
        ql.addWidget(self.quiet_start_edit)
        ql.addWidget(QLabel("to"))
        ql.addWidget(self.quiet_end_edit)
        ql.addWidget(QLabel("the recipient's time"))
        ql.addStretch(1)
        pf.addRow("Quiet hours", with_error(quiet, self.quiet_error))
        pf.addRow("During quiet hours", self.quiet_mode_combo)
        grace_help = QLabel(
            "A message held on this computer that came due while smsdesk was closed still "
            "goes out if it is at most this late; later ones are listed for you to decide."
        )
        grace_help.setWordWrap(True)
        grace_box = with_error(self.grace_spin, self.grace_error)
        grace_layout = grace_box.layout()
        assert grace_layout is not None
        grace_layout.addWidget(grace_help)
        pf.addRow("Catch-up grace", grace_box)
        pf.addRow("", self.save_button)
        pf.addRow(self.saved_label)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(accounts)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(prefs)
        # The main window connects these two (the doctor report, the first-run guide).
        self.check_button = _button("checkComputerButton", "Check this computer")
        self.guide_button = _button("firstRunAgainButton", "Show the first-run guide again")
        right_layout.addWidget(self.check_button)
        right_layout.addWidget(self.guide_button)
        right_layout.addStretch(1)
        layout = QHBoxLayout(self)
        for part in (left, right):
            scroll = QScrollArea()
            scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a frame, not a control: Tab skips it
            scroll.setWidgetResizable(True)
            scroll.setWidget(part)
            layout.addWidget(scroll, 1)

        self.account_form.saved.connect(self._account_saved)
        self.remove_button.clicked.connect(self.remove_selected)
        self.default_button.clicked.connect(self.make_default)
        self.edit_button.clicked.connect(self.edit_selected)
        self.test_button.clicked.connect(self.test_selected)
        self.save_button.clicked.connect(self.save_settings)
        self.accounts_list.currentRowChanged.connect(self._update_buttons)
        self._update_buttons()  # accounts are read when the window first shows this view

    def refresh(self) -> None:
        # Listing the kinds loads every provider module: only once Settings is shown.
        self.account_form.load_kinds()
        self.tasks.submit(
            lambda: where_keys_are(self.service.ctx),
            lambda place: self.keys_label.setText(f"API keys are kept in {place}."),
            lambda exc: self.keys_label.setText(str(exc)),
        )
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
        self._show_settings()
        self._update_buttons()

    def _show_settings(self) -> None:
        settings = self.service.settings()
        if settings.zone:
            set_zone(self.zone_combo, settings.zone)
        else:
            self.zone_combo.setCurrentIndex(0)
        region = settings.default_region or self.locale_region or ""
        self.region_combo.setCurrentIndex(max(self.region_combo.findData(region), 0))
        self.region_note.setText(
            "Taken from this computer's language settings; Save settings to keep it."
            if region and not settings.default_region
            else ""
        )
        self.region_note.setVisible(bool(self.region_note.text()))
        self.quiet_start_edit.setTime(_qtime(settings.quiet_start))
        self.quiet_end_edit.setTime(_qtime(settings.quiet_end))
        self.quiet_mode_combo.setCurrentIndex(
            max(self.quiet_mode_combo.findData(settings.quiet_mode), 0)
        )
        self.grace_spin.setValue(settings.catch_up_grace_minutes)

    def _update_buttons(self, *_: object) -> None:
        has = self.selected_account() is not None
        for button in (self.default_button, self.edit_button, self.test_button):
            button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def selected_account(self) -> str | None:
        item = self.accounts_list.currentItem()
        value = item.data(ACCOUNT_ROLE) if item is not None else None
        return value if isinstance(value, str) else None

    def _select(self, name: str) -> None:
        for row in range(self.accounts_list.count()):
            if self.accounts_list.item(row).data(ACCOUNT_ROLE) == name:
                self.accounts_list.setCurrentRow(row)

    def _account_saved(self, name: str) -> None:
        self.refresh()
        self._select(name)
        self.checklist.hide()
        self.test_label.setText(f"Saved {name}. Use “Test connection” to check the key.")
        self.changed.emit()

    def edit_selected(self) -> None:
        name = self.selected_account()
        if name is None:
            return
        try:
            details: AccountDetails = self.service.accounts.account_details(name)
        except SmsdeskError as exc:
            self.test_label.setText(str(exc))
            return
        self.account_form.edit(details)
        self.account_form.url_edit.setFocus()

    def remove_selected(self) -> None:
        name = self.selected_account()
        if name is None or not self.confirm(
            "Remove account", f"Remove {name}? Its key is deleted from the keyring."
        ):
            return
        self.remove_button.setEnabled(False)
        # Deleting the key touches the keyring: off the Qt thread.
        self.tasks.submit(
            lambda: self.service.remove_account(name),
            lambda _none: self._removed(name),
            lambda exc: self._remove_failed(str(exc)),
        )

    def _removed(self, name: str) -> None:
        self.test_label.setText(f"Removed {name}.")
        self.checklist.hide()
        if self.account_form.editing == name:
            self.account_form.start_adding()
        self.refresh()
        self.changed.emit()

    def _remove_failed(self, text: str) -> None:
        self.test_label.setText(text)
        self._update_buttons()

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
        self.checklist.clear()
        self.checklist.hide()
        self.test_label.setText(f"Testing {name}…")
        # The keyring and a real request to the provider: off the Qt thread.
        self.tasks.submit(
            lambda: self.service.accounts.check_account(name),
            lambda items: self._tested(name, items),
            lambda exc: self._test_failed(f"{name} could not be tested: {exc}"),
        )

    def _tested(self, name: str, items: list[CheckItem]) -> None:
        self.test_button.setEnabled(self.selected_account() is not None)
        self.checklist.clear()
        for item in items:
            text = f"{MARKS[item.ok]} {item.label}"
            if item.ok is None:
                text += " (not tried)"
            if item.detail:
                text += f": {item.detail}"
            entry = QListWidgetItem(text)
            entry.setData(ACCOUNT_ROLE, item.ok)
            self.checklist.addItem(entry)
        self.checklist.show()
        passed = all(item.ok for item in items)
        self.test_label.setText(
            f"{name}: every check passed." if passed else f"{name}: a check failed; see below."
        )

    def _test_failed(self, text: str) -> None:
        self.test_button.setEnabled(self.selected_account() is not None)
        self.test_label.setText(text)

    def save_settings(self) -> None:
        for label in (self.zone_error, self.region_error, self.quiet_error, self.grace_error):
            show_error(label, "")
        zone = self.zone_combo.currentText()
        region = region_typed(self.region_combo)
        if region is None:
            show_error(
                self.region_error,
                f"'{self.region_combo.currentText()}' is not a country in the list; type part "
                "of its name or its two-letter code, e.g. GB.",
            )
            return
        start = self.quiet_start_edit.time().toString("HH:mm")
        end = self.quiet_end_edit.time().toString("HH:mm")
        try:
            self.service.update_settings(
                zone="" if zone == SYSTEM_ZONE else zone,
                default_region=region,
                quiet_hours=f"{start}-{end}",
                quiet_mode=str(self.quiet_mode_combo.currentData()),
                catch_up_grace_minutes=self.grace_spin.value(),
            )
        except SmsdeskError as exc:
            labels = {
                "default_region": self.region_error,
                "quiet_hours": self.quiet_error,
                "quiet": self.quiet_error,
                "quiet_mode": self.quiet_error,
                "catch_up_grace_minutes": self.grace_error,
            }
            show_error(labels.get(exc.field, self.zone_error), str(exc))
            return
        self._show_settings()
        self.saved_label.setText("Saved.")
        self.changed.emit()


def _qtime(value: str) -> QTime:
    parsed = time.fromisoformat(value)
    return QTime(parsed.hour, parsed.minute)
