"""Settings: provider accounts (added and edited in the account form; keys go to the keyring
through the service, off the Qt thread), "Test connection" as a checklist, and the desk's
preferences: time zone, default region, quiet hours and the catch-up grace."""

from __future__ import annotations

from datetime import time

from PySide6.QtCore import QLocale, Qt, QTime, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGridLayout,
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
from smsdesk.engine.backups import Backups, Encryption
from smsdesk.engine.key_place import where_keys_are
from smsdesk.engine.places import home_dir
from smsdesk.engine.service import Service
from smsdesk.engine.settings import region_of_locale, regions
from smsdesk.ui.account_form import AccountFormView
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.update_notice import update_check_box
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
# Narrower than this (in the window's own units, so at 150 % a 1400-pixel screen is 933),
# the two columns stand one above the other: nothing is squeezed or cut off.
NARROW = 1000


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
        self.reply_days_spin = QSpinBox()
        self.reply_days_spin.setObjectName("replyDaysSpin")
        self.reply_days_spin.setAccessibleName("Replies answer messages up to this many days old")
        self.reply_days_spin.setRange(1, 90)
        self.reply_days_spin.setSuffix(" days")
        self.reply_days_error = error_label("replyDaysError", "Reply window error")
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
        row = QGridLayout()  # two by two: the row stays narrow at large text sizes
        for i, button in enumerate(
            (self.default_button, self.edit_button, self.test_button, self.remove_button)
        ):
            row.addWidget(button, i // 2, i % 2)
        row.setColumnStretch(2, 1)
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
        pf.addRow(
            "Catch-up grace",
            _explained(
                self.grace_spin,
                self.grace_error,
                "A message held on this computer that came due while smsdesk was closed still "
                "goes out if it is at most this late; later ones are listed for you to decide.",
            ),
        )
        pf.addRow(
            "Replies answer",
            _explained(
                self.reply_days_spin,
                self.reply_days_error,
                "A reply is linked to the last message sent to that number within this time "
                "(and through it to the appointment); an older one is shown as not matched.",
            ),
        )
        pf.addRow("", self.save_button)
        pf.addRow(self.saved_label)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(accounts)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(prefs)
        right_layout.addWidget(self._storage_box())
        right_layout.addWidget(update_check_box(home_dir()))  # held on this computer
        # The main window connects these two (the doctor report, the first-run guide).
        self.check_button = _button("checkComputerButton", "Check this computer")
        self.guide_button = _button("firstRunAgainButton", "Show the first-run guide again")
        right_layout.addWidget(self.check_button)
        right_layout.addWidget(self.guide_button)
        right_layout.addStretch(1)
        # One scroll area around both columns, side by side when there is room and one
        # above the other when not (see resizeEvent): every part is reachable at any size.
        content = QWidget()
        content.setObjectName("settingsContent")
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight, content)
        self.columns.addWidget(left, 1)
        self.columns.addWidget(right, 1)
        scroll = QScrollArea()
        scroll.setObjectName("settingsScroll")
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a frame, not a control: Tab skips it
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        self.scroll_area = scroll
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        self.account_form.saved.connect(self._account_saved)
        self.remove_button.clicked.connect(self.remove_selected)
        self.default_button.clicked.connect(self.make_default)
        self.edit_button.clicked.connect(self.edit_selected)
        self.test_button.clicked.connect(self.test_selected)
        self.save_button.clicked.connect(self.save_settings)
        self.accounts_list.currentRowChanged.connect(self._update_buttons)
        self._update_buttons()  # accounts are read when the window first shows this view

    def resizeEvent(self, event: QResizeEvent) -> None:
        narrow = event.size().width() < NARROW
        direction = QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        if self.columns.direction() != direction:
            self.columns.setDirection(direction)
        super().resizeEvent(event)

    # -- storage: encryption at rest of the database file

    def _storage_box(self) -> QGroupBox:
        box = QGroupBox("Storage on this computer")
        self.storage_label = QLabel()
        self.storage_label.setObjectName("storageStatus")
        self.storage_label.setAccessibleName("Database encryption")
        self.storage_label.setWordWrap(True)
        self.encrypt_button = _button("encryptDatabaseButton", "Encrypt the database")
        self.recovery_button = _button("showRecoveryCodeButton", "Show recovery code")
        self.recovery_label = QLabel()
        self.recovery_label.setObjectName("recoveryCode")
        self.recovery_label.setAccessibleName("Recovery code")
        self.recovery_label.setWordWrap(True)
        self.recovery_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recovery_label.hide()
        self.storage_error = error_label("storageError", "Storage error")
        self.storage_error.setWordWrap(True)
        layout = QVBoxLayout(box)
        layout.addWidget(self.storage_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.encrypt_button)
        buttons.addWidget(self.recovery_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.recovery_label)
        layout.addWidget(self.storage_error)
        self.encrypt_button.clicked.connect(self.encrypt_database)
        self.recovery_button.clicked.connect(self.show_recovery_code)
        self.encrypt_button.hide()
        self.recovery_button.hide()
        return box

    def _backups(self) -> Backups:
        return Backups(self.service.ctx.home)

    def _show_storage(self, state: Encryption | None) -> None:
        if state is None:
            self.storage_label.setText("The database is on a PostgreSQL server.")
            return
        self.storage_label.setText(f"The database is {state.detail}.")
        self.encrypt_button.setVisible(state.available and not state.encrypted)
        self.recovery_button.setVisible(state.encrypted)

    def _read_storage(self) -> None:
        backups = self._backups()
        self.tasks.submit(
            lambda: backups.encryption() if backups.file_based else None,
            self._show_storage,
            lambda exc: self.storage_error.setText(str(exc)),
        )

    def encrypt_database(self) -> None:
        backups = self._backups()
        self.storage_error.clear()

        def ask(warning: str) -> None:
            if not self.confirm("Encrypt the database", warning + "\n\nEncrypt it now?"):
                return
            self.encrypt_button.setEnabled(False)
            self.tasks.submit(backups.encrypt, done, failed)

        def done(state: Encryption) -> None:
            self.encrypt_button.setEnabled(True)
            self._show_storage(state)
            self.show_recovery_code()

        def failed(exc: Exception) -> None:
            self.encrypt_button.setEnabled(True)
            self.storage_error.setText(str(exc))

        # Where the key will live is read off the Qt thread (it may open the keyring).
        self.tasks.submit(backups.key_warning, ask, failed)

    def show_recovery_code(self) -> None:
        def show(code: str) -> None:
            self.recovery_label.setText(
                "Recovery code — write it down and keep it locked away; without it, losing "
                f"this computer's keyring entry loses the database:\n{code}"
            )
            self.recovery_label.show()

        self.tasks.submit(
            self._backups().recovery_code,
            show,
            lambda exc: self.storage_error.setText(str(exc)),
        )

    def refresh(self) -> None:
        # Listing the kinds loads every provider module: only once Settings is shown.
        self.account_form.load_kinds()
        self._read_storage()
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
        self.reply_days_spin.setValue(settings.reply_match_days)

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
        for label in (
            self.zone_error,
            self.region_error,
            self.quiet_error,
            self.grace_error,
            self.reply_days_error,
        ):
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
                reply_match_days=self.reply_days_spin.value(),
            )
        except SmsdeskError as exc:
            labels = {
                "default_region": self.region_error,
                "quiet_hours": self.quiet_error,
                "quiet": self.quiet_error,
                "quiet_mode": self.quiet_error,
                "catch_up_grace_minutes": self.grace_error,
                "reply_match_days": self.reply_days_error,
            }
            show_error(labels.get(exc.field, self.zone_error), str(exc))
            return
        self._show_settings()
        self.saved_label.setText("Saved.")
        self.changed.emit()


def _explained(field: QWidget, error: QLabel, words: str) -> QWidget:
    """A field with its error line and, under them, what the setting does."""
    box = with_error(field, error)
    layout = box.layout()
    assert layout is not None
    help_label = QLabel(words)
    help_label.setWordWrap(True)
    layout.addWidget(help_label)
    return box


def _qtime(value: str) -> QTime:
    parsed = time.fromisoformat(value)
    return QTime(parsed.hour, parsed.minute)
