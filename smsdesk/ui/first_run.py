"""The first-run guide: country and time zone, quiet hours, then the Sandbox or your provider.

Shown once at start until it is completed (remembered in the settings, so every desk and the
command line agree), and again from Settings. Its answers are saved off the Qt thread; the
window then opens Compose with a sample message to a Sandbox number, so the first schedule
succeeds whatever else is set up.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.service import Service
from smsdesk.engine.settings import region_of_locale
from smsdesk.ui.account_form import AccountFormView
from smsdesk.ui.settings_view import region_combo, region_typed
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import error_label, set_zone, show_error, with_error, zone_combo

SANDBOX = "sandbox"
PROVIDER = "provider"
# A number in the Sandbox's fictional +1 555 range, and a message to try it with.
SAMPLE_NUMBER = "+15551234567"
SAMPLE_TEXT = "Hello from smsdesk! This is my first message, sent on the Sandbox."


def quiet_sentence(start: str, end: str) -> str:
    return (
        f"No message arrives between {start} and {end} in the recipient's own time: one "
        f"scheduled for then goes out at {end} instead."
    )


class FirstRunDialog(QDialog):
    """Two pages: the preferences, then (for "connect your provider") the provider form."""

    completed = Signal(str)  # SANDBOX or PROVIDER, once the answers are saved

    def __init__(
        self,
        service: Service,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to smsdesk")
        self.setAccessibleName("First-run guide")
        self.choice: str | None = None
        settings = service.settings()

        intro = QLabel(
            "Three questions, then you can schedule your first message. "
            "You can change every answer later in Settings."
        )
        intro.setWordWrap(True)
        self.region_combo = region_combo()
        self.region_combo.setObjectName("firstRunRegion")
        self.region_combo.setAccessibleName("Your country or region")
        self.region_error = error_label("firstRunRegionError", "Country error")
        # QLocale(): the system's, unless the application chose another.
        region = settings.default_region or region_of_locale(QLocale().name())
        if region:
            index = self.region_combo.findData(region)
            self.region_combo.setCurrentIndex(max(index, 0))
        self.zone_combo = zone_combo("firstRunZone", "Your time zone")
        self.zone_error = error_label("firstRunZoneError", "Time zone error")
        set_zone(self.zone_combo, resolve_zone(settings.zone).key)
        self.quiet_check = QCheckBox(
            f"Keep quiet hours ({settings.quiet_start}–{settings.quiet_end})"
        )
        self.quiet_check.setObjectName("firstRunQuietHours")
        self.quiet_check.setChecked(True)
        explain = QLabel(quiet_sentence(settings.quiet_start, settings.quiet_end))
        explain.setObjectName("firstRunQuietExplained")
        explain.setWordWrap(True)

        self.sandbox_button = QPushButton("Try it with the Sandbox")
        self.sandbox_button.setObjectName("firstRunSandbox")
        self.sandbox_button.setAccessibleName("Try smsdesk with the Sandbox, no account needed")
        self.sandbox_button.setDefault(True)
        self.provider_button = QPushButton("Connect your provider…")
        self.provider_button.setObjectName("firstRunProvider")
        self.provider_button.setAccessibleName("Connect your SMS provider account")
        self.save_error = error_label("firstRunError", "Could not save")

        first = QWidget()
        form = QFormLayout()
        form.addRow("Your country", with_error(self.region_combo, self.region_error))
        form.addRow("Your time zone", with_error(self.zone_combo, self.zone_error))
        form.addRow("Quiet hours", self.quiet_check)
        form.addRow("", explain)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sandbox_button)
        buttons.addWidget(self.provider_button)
        buttons.addStretch(1)
        fl = QVBoxLayout(first)
        fl.addWidget(intro)
        fl.addLayout(form)
        fl.addWidget(self.save_error)
        # The provider page is taller: the questions stay together at the top and the
        # buttons at the bottom, not spread over the height it gives the dialog.
        fl.addStretch(1)
        fl.addLayout(buttons)

        # The provider form of Settings, as it is there.
        second = QWidget()
        self.account_form = AccountFormView(service, tasks)
        self.skip_button = QPushButton("Skip: use the Sandbox for now")
        self.skip_button.setObjectName("firstRunSkipProvider")
        sl = QVBoxLayout(second)
        sl.addWidget(self.account_form)
        sl.addWidget(self.skip_button)

        self.pages = QStackedWidget()
        self.pages.addWidget(first)
        self.pages.addWidget(second)
        QVBoxLayout(self).addWidget(self.pages)

        self.sandbox_button.clicked.connect(lambda: self._save(SANDBOX))
        self.provider_button.clicked.connect(lambda: self._save(PROVIDER))
        self.account_form.saved.connect(lambda _name: self._finish(PROVIDER))
        self.skip_button.clicked.connect(lambda: self._finish(SANDBOX))

    def _save(self, choice: str) -> None:
        for label in (self.region_error, self.zone_error, self.save_error):
            show_error(label, "")
        region = region_typed(self.region_combo)
        if region is None:
            show_error(self.region_error, "Pick a country from the list, or type its code.")
            return
        zone = self.zone_combo.currentText().strip()
        quiet = "move" if self.quiet_check.isChecked() else "off"
        self.sandbox_button.setEnabled(False)
        self.provider_button.setEnabled(False)

        def save() -> None:
            prefs = self.service.preferences
            prefs.update_settings(zone=zone, default_region=region, quiet_mode=quiet)
            prefs.finish_first_run()

        self.tasks.submit(save, lambda _none: self._saved(choice), self._failed)

    def _saved(self, choice: str) -> None:
        if choice == SANDBOX:
            self._finish(SANDBOX)
            return
        self.account_form.load_kinds()
        self.pages.setCurrentIndex(1)
        self.account_form.name_edit.setFocus()

    def _failed(self, exc: Exception) -> None:
        self.sandbox_button.setEnabled(True)
        self.provider_button.setEnabled(True)
        if not isinstance(exc, SmsdeskError):
            show_error(self.save_error, f"Not saved: {exc}")
            return
        beside = {"zone": self.zone_error, "default_region": self.region_error}
        show_error(beside.get(exc.field, self.save_error), str(exc))

    def _finish(self, choice: str) -> None:
        self.choice = choice
        self.accept()  # first: closing gives focus back, and the window then moves it
        self.completed.emit(choice)
