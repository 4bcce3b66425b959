"""The first-run guide, driven with real clicks and keys, to a scheduled Sandbox message.

And Settings → "Check this computer", the doctor's report in the window.
"""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.ui.engine_control import EngineControl
from smsdesk.ui.first_run import SAMPLE_NUMBER, SAMPLE_TEXT, FirstRunDialog
from smsdesk.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def british_locale() -> Iterator[None]:
    """The computer's language settings say English (United Kingdom)."""
    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    yield
    QLocale.setDefault(before)


def _guide(qtbot: QtBot, window: MainWindow) -> FirstRunDialog:
    qtbot.waitUntil(lambda: _shown(window) is not None, timeout=5000)
    dialog = _shown(window)
    assert dialog is not None
    return dialog


def _shown(window: MainWindow) -> FirstRunDialog | None:
    found = window.findChild(FirstRunDialog, "firstRunDialog")
    return found if found is not None and found.isVisible() else None


def _child(parent: QWidget, kind: type, name: str) -> object:
    found = parent.findChild(kind, name)
    assert found is not None, name
    return found


def _click(qtbot: QtBot, button: object) -> None:
    assert isinstance(button, QPushButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _type_zone(qtbot: QtBot, dialog: FirstRunDialog, zone: str) -> None:
    combo = _child(dialog, QComboBox, "firstRunZone")
    assert isinstance(combo, QComboBox)
    line = combo.lineEdit()
    assert line is not None
    line.selectAll()
    qtbot.keyClicks(line, zone)


@pytest.mark.timeout(60)
def test_the_guide_ends_in_a_scheduled_sandbox_message(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    assert service.settings().first_run_done is False
    window.offer_first_run()  # what start-up does once the views are in place
    dialog = _guide(qtbot, window)

    region = _child(dialog, QComboBox, "firstRunRegion")
    assert isinstance(region, QComboBox)
    assert region.currentData() == "GB"  # from the computer's locale
    quiet = _child(dialog, QCheckBox, "firstRunQuietHours")
    assert isinstance(quiet, QCheckBox) and quiet.isChecked()
    explained = _child(dialog, QLabel, "firstRunQuietExplained")
    assert isinstance(explained, QLabel)
    assert "between 21:00 and 08:00 in the recipient's own time" in explained.text()
    _type_zone(qtbot, dialog, "Europe/London")

    _click(qtbot, _child(dialog, QPushButton, "firstRunSandbox"))
    qtbot.waitUntil(lambda: _shown(window) is None, timeout=5000)
    saved = service.settings()
    assert (saved.default_region, saved.zone, saved.quiet_mode) == ("GB", "Europe/London", "move")
    assert saved.first_run_done is True

    # It ends on Compose, with a sample message to a Sandbox number on the Sandbox.
    compose = window.compose
    assert window.tabs.currentWidget() is compose
    assert compose.recipients_edit.toPlainText() == SAMPLE_NUMBER
    assert compose.message_edit.toPlainText() == SAMPLE_TEXT
    assert compose.account_combo.currentText() == "Sandbox"
    assert window.focusWidget() is compose.schedule_button  # Space schedules it
    qtbot.keyClick(compose.schedule_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Scheduled"), timeout=5000)
    [message] = service.list_messages()
    assert (message.recipient, message.provider) == (SAMPLE_NUMBER, "Sandbox")
    assert message.text == SAMPLE_TEXT

    # Shown once: the next start does not show it again.
    window.offer_first_run()
    qtbot.waitUntil(lambda: window.tasks.pending == 0, timeout=5000)
    assert _shown(window) is None

    # Settings still reaches it.
    window.show_view("Settings")
    _click(qtbot, _child(window.settings_view, QPushButton, "firstRunAgainButton"))
    again = _guide(qtbot, window)
    again.reject()


@pytest.mark.timeout(60)
def test_a_country_that_does_not_exist_is_refused_beside_the_field(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.offer_first_run()
    dialog = _guide(qtbot, window)
    region = _child(dialog, QComboBox, "firstRunRegion")
    assert isinstance(region, QComboBox)
    line = region.lineEdit()
    assert line is not None
    line.selectAll()
    qtbot.keyClicks(line, "Atlantis")
    _click(qtbot, _child(dialog, QPushButton, "firstRunSandbox"))
    error = _child(dialog, QLabel, "firstRunRegionError")
    assert isinstance(error, QLabel)
    assert error.isVisible() and "Pick a country" in error.text()
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: window.tasks.pending == 0, timeout=5000)
    assert service.settings().first_run_done is False  # nothing stored
    assert service.settings().default_region is None


@pytest.mark.timeout(60)
def test_an_unknown_time_zone_is_refused_beside_its_field(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.offer_first_run()
    dialog = _guide(qtbot, window)
    _type_zone(qtbot, dialog, "Mars/Olympus_Mons")
    _click(qtbot, _child(dialog, QPushButton, "firstRunSandbox"))
    error = _child(dialog, QLabel, "firstRunZoneError")
    assert isinstance(error, QLabel)
    qtbot.waitUntil(error.isVisible, timeout=5000)
    assert "Unknown time zone 'Mars/Olympus_Mons'" in error.text()
    assert _shown(window) is dialog
    saved = service.settings()
    assert (saved.first_run_done, saved.zone, saved.default_region) == (False, None, None)


@pytest.mark.timeout(60)
def test_connecting_a_provider_uses_the_settings_form_then_ends_on_compose(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.offer_first_run()
    dialog = _guide(qtbot, window)
    quiet = _child(dialog, QCheckBox, "firstRunQuietHours")
    assert isinstance(quiet, QCheckBox)
    qtbot.mouseClick(quiet, Qt.MouseButton.LeftButton, pos=quiet.rect().center())
    assert not quiet.isChecked()
    _click(qtbot, _child(dialog, QPushButton, "firstRunProvider"))
    name = _child(dialog, QLineEdit, "accountNameEdit")
    assert isinstance(name, QLineEdit)
    qtbot.waitUntil(name.isVisible, timeout=5000)
    assert service.settings().quiet_mode == "off"
    qtbot.keyClicks(name, "Front desk practice")
    kind = _child(dialog, QComboBox, "accountKindCombo")
    assert isinstance(kind, QComboBox)
    kind.setFocus()
    qtbot.keyClicks(kind, "Sandbox")
    assert kind.currentText().startswith("Sandbox")
    _click(qtbot, _child(dialog, QPushButton, "addAccountButton"))
    qtbot.waitUntil(lambda: _shown(window) is None, timeout=5000)
    assert "Front desk practice" in [a.name for a in service.list_accounts()]
    assert window.compose.recipients_edit.toPlainText() == SAMPLE_NUMBER


@pytest.mark.timeout(60)
def test_check_this_computer_shows_the_doctors_report(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    window.show_view("Settings")
    _click(qtbot, _child(window.settings_view, QPushButton, "checkComputerButton"))
    qtbot.waitUntil(lambda: window.findChild(QWidget, "doctorDialog") is not None, timeout=5000)
    dialog = window.doctor
    report = _child(dialog, QLabel, "doctorReport")
    assert isinstance(report, QLabel)
    qtbot.waitUntil(lambda: report.text().startswith(("✓", "✗")), timeout=20000)
    text = report.text()
    # The window's own lines (offscreen: a display nobody sees) and the engine's.
    assert "✗ Display: Qt's 'offscreen' platform" in text
    assert "✓ Font for Latin:" in text
    assert "✓ Database is sound: no damage found" in text
    assert "✓ Provider 'Sandbox':" in text
    labels = [f.label for f in dialog.findings]
    assert labels.count("Display") == 1 and "Keyring" in labels and "Sending" in labels
    summary = _child(dialog, QLabel, "doctorSummary")
    assert isinstance(summary, QLabel)
    assert summary.text().endswith("Fix the lines marked ✗.")
    dialog.accept()


@pytest.fixture
def engine(isolated_home: Path, clock: ManualClock) -> Iterator[EngineControl]:
    engine_ctx = AppContext.open(isolated_home, clock=clock)  # its own, as in the app
    control = EngineControl(engine_ctx)
    yield control
    control.stop()
    engine_ctx.close()


@pytest.mark.timeout(60)
def test_check_this_computer_says_when_sending_is_paused_here(
    qtbot: QtBot, service: Service, engine: EngineControl, clock: ManualClock
) -> None:
    window = MainWindow(service, engine=engine, refresh_ms=60_000)
    qtbot.addWidget(window)
    window.show()
    engine.start()
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert not engine.running
    service.schedule(["+15551234567"], "Held", clock.now() + timedelta(hours=1), "UTC")

    def sending_line() -> str:
        window.show_view("Settings")
        _click(qtbot, _child(window.settings_view, QPushButton, "checkComputerButton"))
        report = _child(window.doctor, QLabel, "doctorReport")
        assert isinstance(report, QLabel)
        qtbot.waitUntil(lambda: "Sending:" in report.text(), timeout=20000)
        line = next(x for x in report.text().splitlines() if " Sending: " in x)
        window.doctor.accept()
        return line

    assert sending_line() == (
        "✗ Sending: 1 message held on this computer, and sending is paused in this window"
    )
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert engine.running
    assert sending_line().startswith("✓ Sending: the window (this one) sends ")
    window.close()
