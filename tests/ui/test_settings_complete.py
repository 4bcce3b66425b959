"""Settings in the window: quiet hours, catch-up grace, default region and time zone, set with
the keyboard and mouse and read back through the command line."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox, QTimeEdit
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.settings_view import SettingsView
from smsdesk.ui.tasks import TaskRunner
from tests.cli_runner import Cli


def _type_time(qtbot: QtBot, edit: QTimeEdit, text: str) -> None:
    """Type a time as a user does: clear the hour at the start, type over it."""
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Home)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)
    assert edit.time().toString("HH:mm") == text


def _choose(qtbot: QtBot, combo: QComboBox, text: str) -> None:
    """Pick an entry the way a keyboard user does: focus the list and type its start."""
    combo.setFocus()
    qtbot.keyClicks(combo, text)
    assert combo.currentText().startswith(text), combo.currentText()


def _settings(window: MainWindow) -> SettingsView:
    window.show_view("Settings")
    view = window.settings_view
    assert view.isVisible()
    return view


def test_quiet_hours_set_in_settings_show_in_the_cli(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli
) -> None:
    view = _settings(window)
    start = view.findChild(QTimeEdit, "quietHoursStartEdit")
    end = view.findChild(QTimeEdit, "quietHoursEndEdit")
    mode = view.findChild(QComboBox, "quietModeCombo")
    grace = view.findChild(QSpinBox, "catchUpGraceSpin")
    assert start is not None and end is not None and mode is not None and grace is not None
    assert start.time().toString("HH:mm") == "21:00"  # what is stored is what is shown

    _type_time(qtbot, start, "22:30")
    _type_time(qtbot, end, "07:15")
    _choose(qtbot, mode, "Refuse")
    grace.setFocus()
    qtbot.keyClick(grace, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(grace, "45")
    view.region_edit.selectAll()
    qtbot.keyClicks(view.region_edit, "United Kingdom")
    reply_days = view.findChild(QSpinBox, "replyDaysSpin")
    assert reply_days is not None and reply_days.value() == 7
    reply_days.setFocus()
    qtbot.keyClick(reply_days, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(reply_days, "14")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)

    assert view.saved_label.text() == "Saved."
    run = cli("settings")
    assert run.code == 0, run.err
    assert "quiet hours: 22:30-07:15 recipient-local (refuse)" in run.out
    assert "catch-up grace: 45 minutes" in run.out
    assert "default region: GB" in run.out
    assert "replies answer messages up to 14 days old" in run.out
    assert service.settings().reply_match_days == 14


def test_quiet_hours_that_start_and_end_together_are_refused_beside_the_field(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli
) -> None:
    view = _settings(window)
    _type_time(qtbot, view.quiet_start_edit, "08:00")
    _type_time(qtbot, view.quiet_end_edit, "08:00")
    grace = view.grace_spin
    grace.setFocus()
    qtbot.keyClick(grace, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(grace, "5")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)

    assert view.quiet_error.isVisible()
    assert "cannot start and end at the same time" in view.quiet_error.text()
    assert view.saved_label.text() == ""
    # Nothing of the form was stored, not even the valid grace.
    settings = service.settings()
    assert (settings.quiet_start, settings.quiet_end) == ("21:00", "08:00")
    assert settings.catch_up_grace_minutes == 15
    assert "quiet hours: 21:00-08:00" in cli("settings").out


def test_settings_read_again_show_a_change_made_from_the_command_line(
    qtbot: QtBot, window: MainWindow, cli: Cli
) -> None:
    view = _settings(window)
    assert cli("settings", "--quiet-hours", "20:00-09:30", "--quiet-mode", "off").code == 0
    view.refresh()
    assert view.quiet_start_edit.time().toString("HH:mm") == "20:00"
    assert view.quiet_end_edit.time().toString("HH:mm") == "09:30"
    assert view.quiet_mode_combo.currentData() == "off"


def test_the_region_defaults_to_the_country_of_the_system_locale(
    qtbot: QtBot, service: Service, cli: Cli
) -> None:
    tasks = TaskRunner()
    view = SettingsView(service, tasks, confirm=lambda _t, _q: True, locale_name="fr_FR.UTF-8")
    qtbot.addWidget(view)
    view.show()
    view.refresh()
    assert view.region_combo.currentData() == "FR"
    assert view.region_combo.currentText().startswith("France (FR, +33)")
    assert view.region_note.isVisible()
    assert service.settings().default_region is None  # offered, not stored behind their back
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert "default region: FR" in cli("settings").out
    assert not view.region_note.isVisible()


def test_a_locale_without_a_country_offers_no_region(qtbot: QtBot, service: Service) -> None:
    view = SettingsView(service, TaskRunner(), confirm=lambda _t, _q: True, locale_name="C")
    qtbot.addWidget(view)
    view.refresh()
    assert view.region_combo.currentData() == ""
    assert not view.region_note.isVisible()


def test_a_region_is_found_by_its_code_and_an_unknown_one_is_refused(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    view = _settings(window)
    view.region_edit.selectAll()
    qtbot.keyClicks(view.region_edit, "Atlantis")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert "'Atlantis' is not a country in the list" in view.region_error.text()
    assert service.settings().default_region is None
    view.region_edit.selectAll()
    qtbot.keyClicks(view.region_edit, "nz")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert service.settings().default_region == "NZ"
    assert view.region_combo.currentText().startswith("New Zealand (NZ, +64)")


def test_time_zone_is_saved(qtbot: QtBot, window: MainWindow, cli: Cli) -> None:
    view = _settings(window)
    line = view.zone_combo.lineEdit()
    assert line is not None
    line.selectAll()
    qtbot.keyClicks(line, "America/Chicago")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert "time zone: America/Chicago" in cli("settings").out
