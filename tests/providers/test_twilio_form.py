"""Twilio in Settings: the form is built from Twilio's declared options, an account is added
with real keys and clicks against the loopback simulator, and "Test connection" checks it."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.store.secrets import SecretStore
from smsdesk.ui.main_window import MainWindow
from tests.providers.test_twilio_client import TOKEN, sim
from tests.simulators.twilio import ACCOUNT_SID, SERVICE_SID, TwilioSimulator
from tests.ui.conftest import answers, window  # noqa: F401 - the window's fixtures
from tests.ui.test_account_form import _checklist, _choose_kind, _no_key_in_files, _settings

__all__ = ["sim"]  # the simulator fixture, shared with test_twilio_client.py


def _field(win: MainWindow, name: str) -> QLineEdit:
    field = win.settings_view.findChild(QLineEdit, f"option_{name}")
    assert field is not None, name
    return field


def test_add_a_twilio_account_in_settings_and_test_it(
    qtbot: QtBot,
    window: MainWindow,  # noqa: F811
    service: Service,
    sim: TwilioSimulator,
    isolated_home: Path,
) -> None:
    view = _settings(window)
    qtbot.keyClicks(view.name_edit, "Clinic Twilio")
    _choose_kind(qtbot, view, "Twilio")
    for name in ("account_sid", "messaging_service_sid", "api_key_sid", "reply_numbers"):
        assert _field(window, name).isVisible()
        help_label = view.findChild(QLabel, f"option_{name}Help")
        assert help_label is not None and help_label.isVisible()
    caps = view.account_form.capabilities_label.text()
    assert "Minimum lead: 15 minutes" in caps and "Horizon: 35 days ahead" in caps
    assert "Moving a message: cancelled and handed off again" in caps

    qtbot.keyClicks(view.key_edit, TOKEN)
    assert TOKEN not in view.key_edit.displayText()
    qtbot.keyClicks(view.url_edit, sim.base_url)
    qtbot.keyClicks(view.sender_edit, "+12025550100")
    qtbot.keyClicks(_field(window, "account_sid"), ACCOUNT_SID)
    qtbot.keyClicks(_field(window, "messaging_service_sid"), SERVICE_SID)
    qtbot.keyClicks(_field(window, "timeout"), "1.0")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.test_label.text().startswith("Saved Clinic Twilio"))
    assert service.accounts.account_details("Clinic Twilio").options == {
        "account_sid": ACCOUNT_SID,
        "messaging_service_sid": SERVICE_SID,
        "timeout": "1.0",
    }
    assert SecretStore().get("Clinic Twilio") == TOKEN
    _no_key_in_files(isolated_home, TOKEN)

    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.checklist.count() > 0)
    lines = _checklist(view)
    assert any("Twilio account AC…1659 accepted the credentials" in line for line in lines)
    assert view.test_label.text() == "Clinic Twilio: every check passed."
    assert sim.auth_users and set(sim.auth_users) == {ACCOUNT_SID}
    assert sim.creates_by_recipient() == {}


def test_a_twilio_account_without_its_service_is_refused_beside_the_field(
    qtbot: QtBot,
    window: MainWindow,  # noqa: F811
    service: Service,
    sim: TwilioSimulator,
) -> None:
    view = _settings(window)
    qtbot.keyClicks(view.name_edit, "No service")
    _choose_kind(qtbot, view, "Twilio")
    qtbot.keyClicks(view.key_edit, TOKEN)
    qtbot.keyClicks(view.url_edit, sim.base_url)
    qtbot.keyClicks(_field(window, "account_sid"), ACCOUNT_SID)
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    error = view.findChild(QLabel, "option_messaging_service_sidError")
    assert error is not None
    qtbot.waitUntil(error.isVisible)
    assert "Messaging Service SID" in error.text()
    assert [a.name for a in service.list_accounts()] == ["Sandbox"]
    assert SecretStore().get("No service") is None
    assert sim.log == []
