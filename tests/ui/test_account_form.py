"""Provider accounts in Settings: a form per provider kind from its declared options, the
capabilities in words, add (Kaleyra with its SID, against the loopback simulator), edit,
replace the key, and "Test connection" as a checklist."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from smsdesk.providers import kaleyra
from smsdesk.providers.registry import MODULES, kind_info
from smsdesk.store.secrets import SecretStore
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.settings_view import SettingsView
from tests.cli_runner import Cli
from tests.simulators.kaleyra import DEFAULT_SID, KaleyraSimulator

KEY = "kal-key-5be09c71aa"


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[KaleyraSimulator]:
    simulator = KaleyraSimulator(clock, KEY, stall=5.0)
    simulator.start()
    yield simulator
    simulator.stop()


def _settings(window: MainWindow) -> SettingsView:
    window.show_view("Settings")
    return window.settings_view


def _choose_kind(qtbot: QtBot, view: SettingsView, title: str) -> None:
    """With the arrow keys, as a keyboard user picks from a short list."""
    combo = view.kind_combo
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == title:
            break
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == title


def _option(view: SettingsView, name: str) -> QLineEdit:
    field = view.findChild(QLineEdit, f"option_{name}")
    assert field is not None, name
    return field


def _checklist(view: SettingsView) -> list[str]:
    return [view.checklist.item(i).text() for i in range(view.checklist.count())]


def _no_key_in_files(home: Path, key: str) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_every_declared_option_has_a_label_and_help() -> None:
    assert [o.name for o in kind_info("kaleyra").options][:2] == ["sid", "region"]
    assert kind_info("telnyx").options[0].name == "messaging_profile_id"
    # The lists offered are the ones the provider accepts.
    kal = {o.name: o for o in kind_info("kaleyra").options}
    assert set(kal["region"].choices) == set(kaleyra.PODS)
    assert set(kal["type"].choices) == set(kaleyra.MESSAGE_TYPES)
    for kind in MODULES:
        for option in kind_info(kind).options:
            assert option.label and option.help.endswith("."), (kind, option.name)
            assert option.help != f"The {option.name} option.", (kind, option.name)


def test_each_kind_gets_its_own_fields_and_capabilities_in_words(
    qtbot: QtBot, window: MainWindow
) -> None:
    view = _settings(window)
    _choose_kind(qtbot, view, "Kaleyra")
    sid = _option(view, "sid")
    assert sid.isVisible() and "account SID" in sid.accessibleDescription()
    help_label = view.findChild(QLabel, "option_sidHelp")
    assert help_label is not None and help_label.isVisible()
    region = view.findChild(QComboBox, "option_region")
    assert region is not None and region.currentText() == "IN"
    caps = view.account_form.capabilities_label.text()
    assert "Minimum lead: 15 minutes" in caps
    assert "Horizon: 89 days ahead" in caps
    assert "Kaleyra cannot cancel" in caps
    assert "Preview: segments are counted on this computer" in caps
    assert "Replies: not available without a webhook" in caps

    _choose_kind(qtbot, view, "Telnyx")
    assert view.findChild(QLineEdit, "option_sid") is None  # Kaleyra's fields are gone
    assert _option(view, "messaging_profile_id").isVisible()
    caps = view.account_form.capabilities_label.text()
    assert "Cancel cut-off: until 1 minute before its time" in caps

    _choose_kind(qtbot, view, "Sandbox")
    assert not view.key_edit.isVisible() and not view.account_form.options_box.isVisible()


def test_add_a_kaleyra_account_with_its_sid_and_test_it(
    qtbot: QtBot,
    window: MainWindow,
    service: Service,
    sim: KaleyraSimulator,
    cli: Cli,
    isolated_home: Path,
) -> None:
    view = _settings(window)
    qtbot.keyClicks(view.name_edit, "Clinic Kaleyra")
    _choose_kind(qtbot, view, "Kaleyra")
    qtbot.keyClicks(view.key_edit, KEY)
    assert view.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert KEY not in view.key_edit.displayText()
    qtbot.keyClicks(view.url_edit, sim.base_url)
    qtbot.keyClicks(view.sender_edit, "KLRHXA")
    qtbot.keyClicks(_option(view, "sid"), DEFAULT_SID)
    qtbot.keyClicks(_option(view, "timeout"), "1.0")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.test_label.text().startswith("Saved Clinic Kaleyra"))

    assert view.key_edit.text() == ""  # the key left the window once stored
    [kal] = [a for a in cli("provider", "list", "--json").json() if a["kind"] == "kaleyra"]
    assert kal["name"] == "Clinic Kaleyra" and kal["sender"] == "KLRHXA"
    assert service.accounts.account_details("Clinic Kaleyra").options == {
        "sid": DEFAULT_SID,
        "region": "IN",
        "type": "TXN",
        "timeout": "1.0",
    }
    assert SecretStore().get("Clinic Kaleyra") == KEY
    _no_key_in_files(isolated_home, KEY)

    assert view.selected_account() == "Clinic Kaleyra"
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.checklist.count() > 0)
    lines = _checklist(view)
    assert lines[0] == "✔ The API key is in the system keyring"
    assert lines[1] == "✔ The account settings are complete"
    assert lines[2] == "✔ Kaleyra answers"
    assert lines[3].startswith(f"✔ The API key is accepted: Kaleyra account {DEFAULT_SID}")
    assert view.test_label.text() == "Clinic Kaleyra: every check passed."
    assert any(method == "GET" for method, _path, _r in sim.log)


def test_a_kaleyra_account_without_its_sid_is_refused_beside_the_field(
    qtbot: QtBot, window: MainWindow, service: Service, sim: KaleyraSimulator
) -> None:
    view = _settings(window)
    qtbot.keyClicks(view.name_edit, "No SID")
    _choose_kind(qtbot, view, "Kaleyra")
    qtbot.keyClicks(view.key_edit, KEY)
    qtbot.keyClicks(view.url_edit, sim.base_url)
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    error = view.findChild(QLabel, "option_sidError")
    assert error is not None and error.isVisible()
    assert "Account SID" in error.text() and "--option" not in error.text()

    # A SID with characters Kaleyra never uses: refused by the provider's check, off the
    # Qt thread, and shown beside the same field in the form's words.
    qtbot.keyClicks(_option(view, "sid"), "HX-12")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.add_button.isEnabled() and error.isVisible())
    assert "--option" not in error.text() and "account SID: HX" in error.text()
    assert [a.name for a in service.list_accounts()] == ["Sandbox"]
    assert SecretStore().get("No SID") is None
    assert sim.log == []


def test_edit_an_account_and_replace_its_key(
    qtbot: QtBot, window: MainWindow, service: Service, sim: KaleyraSimulator, cli: Cli
) -> None:
    wrong = "not-the-key-0042"
    service.add_account(
        "Kal",
        "kaleyra",
        api_key=wrong,
        base_url=sim.base_url,
        options={"sid": DEFAULT_SID, "timeout": "1.0"},
    )
    view = _settings(window)
    view.refresh()
    view.accounts_list.setCurrentRow(
        next(
            i
            for i in range(view.accounts_list.count())
            if "Kal" in view.accounts_list.item(i).text()
        )
    )
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.checklist.count() > 0)
    lines = _checklist(view)
    assert lines[2] == "✔ Kaleyra answers"
    assert lines[3].startswith("✘ The API key is accepted: Kaleyra refused the API key")
    assert wrong not in " ".join(lines)

    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    form = view.account_form
    assert form.editing == "Kal" and not view.name_edit.isEnabled()
    assert _option(view, "sid").text() == DEFAULT_SID  # the stored options, ready to change
    assert view.key_edit.text() == ""  # the stored key is never put back in a field
    qtbot.keyClicks(view.key_edit, KEY)
    qtbot.keyClicks(view.sender_edit, "KLRHXA")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.test_label.text().startswith("Saved Kal"))
    assert SecretStore().get("Kal") == KEY
    [kal] = [a for a in cli("provider", "list", "--json").json() if a["name"] == "Kal"]
    assert kal["sender"] == "KLRHXA"

    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.test_label.text() == "Kal: every check passed.")


def test_a_bad_option_in_an_edit_stores_nothing(
    qtbot: QtBot, window: MainWindow, service: Service, sim: KaleyraSimulator
) -> None:
    service.add_account(
        "Kal", "kaleyra", api_key=KEY, base_url=sim.base_url, options={"sid": DEFAULT_SID}
    )
    view = _settings(window)
    view.refresh()
    view.accounts_list.setCurrentRow(
        next(
            i
            for i in range(view.accounts_list.count())
            if "Kal" in view.accounts_list.item(i).text()
        )
    )
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(view.key_edit, "a-new-key-that-must-not-be-kept")
    qtbot.keyClicks(_option(view, "host"), "evil.example.com")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    error = view.findChild(QLabel, "option_hostError")
    assert error is not None
    qtbot.waitUntil(lambda: view.add_button.isEnabled() and error.isVisible())
    assert "evil.example.com" in error.text()
    assert SecretStore().get("Kal") == KEY  # the old key stays
    assert service.accounts.account_details("Kal").options == {"sid": DEFAULT_SID}


def test_the_checklist_says_where_it_stopped_when_the_provider_is_unreachable(
    qtbot: QtBot, window: MainWindow, service: Service, sim: KaleyraSimulator
) -> None:
    service.add_account(
        "Kal", "kaleyra", api_key=KEY, base_url=sim.base_url, options={"sid": DEFAULT_SID}
    )
    sim.stop()  # nothing listens at its address any more
    view = _settings(window)
    view.refresh()
    view.accounts_list.setCurrentRow(
        next(
            i
            for i in range(view.accounts_list.count())
            if "Kal" in view.accounts_list.item(i).text()
        )
    )
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.checklist.count() > 0, timeout=20_000)
    assert _checklist(view) == [
        "✔ The API key is in the system keyring",
        "✔ The account settings are complete",
        "✘ Kaleyra answers: Kaleyra could not be reached.",
        "– The API key is accepted (not tried)",
    ]
    assert view.test_label.text() == "Kal: a check failed; see below."


def test_infobip_asks_for_its_own_address_and_checks_its_options_beside_them(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    view = _settings(window)
    _choose_kind(qtbot, view, "Infobip")
    assert "required" in view.url_edit.placeholderText()
    qtbot.keyClicks(view.name_edit, "Shop Infobip")
    qtbot.keyClicks(view.key_edit, "ib-key-1234")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    url_error = view.account_form.url_error
    qtbot.waitUntil(lambda: view.add_button.isEnabled() and url_error.isVisible())
    assert "needs its own base URL" in url_error.text()

    qtbot.keyClicks(view.url_edit, "https://shop.api.infobip.com")
    qtbot.keyClicks(_option(view, "delivery_window"), "9-5")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    window_error = view.findChild(QLabel, "option_delivery_windowError")
    assert window_error is not None
    qtbot.waitUntil(lambda: view.add_button.isEnabled() and window_error.isVisible())
    assert "HH:MM-HH:MM in UTC" in window_error.text()
    assert [a.name for a in service.list_accounts()] == ["Sandbox"]
    assert SecretStore().get("Shop Infobip") is None
