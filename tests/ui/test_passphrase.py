"""The window asks for the key file's passphrase in a small dialog (once per session), and
Settings names the store that holds the keys."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import keyring.core
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from smsdesk.engine.key_place import set_passphrase_prompt
from smsdesk.engine.service import Service
from smsdesk.ui import passphrase_dialog
from smsdesk.ui.passphrase_dialog import MISMATCH, PassphraseDialog
from smsdesk.ui.settings_view import SettingsView
from smsdesk.ui.tasks import TaskRunner

KEY = "KEY0185E2A41737B9C40231D65F0E8A9B2C_Zq7W2x9Lp0aB3cD4eF5gH6"


@pytest.fixture
def no_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No backend chosen and no system keyring here: keys go to the encrypted key file."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.core.init_backend()
    yield
    set_passphrase_prompt(None)


def _ok(dialog: PassphraseDialog) -> None:
    button = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert button is not None
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.mark.timeout(30)
def test_a_new_passphrase_is_typed_twice_and_must_match(qtbot: QtBot) -> None:
    dialog = PassphraseDialog(creating=True)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClicks(dialog.passphrase_edit, "front desk 2026")
    QTest.keyClicks(dialog.confirm_edit, "front desk 2025")
    _ok(dialog)
    assert dialog.isVisible() and dialog.error_label.text() == MISMATCH
    dialog.confirm_edit.selectAll()
    QTest.keyClicks(dialog.confirm_edit, "front desk 2026")
    _ok(dialog)
    assert dialog.result() == PassphraseDialog.DialogCode.Accepted
    assert dialog.passphrase() == "front desk 2026"


@pytest.mark.timeout(60)
def test_a_key_saved_off_the_qt_thread_asks_once_through_the_dialog(
    qtbot: QtBot, no_choice: None, service: Service
) -> None:
    shown: list[bool] = []

    def answer() -> None:  # the receptionist, typing into the dialog when it appears
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, PassphraseDialog) and dialog.isVisible():
            shown.append(dialog.confirm_edit.isVisible())
            QTest.keyClicks(dialog.passphrase_edit, "front desk 2026")
            if dialog.confirm_edit.isVisible():
                QTest.keyClicks(dialog.confirm_edit, "front desk 2026")
            _ok(dialog)

    typist = QTimer()
    typist.timeout.connect(answer)
    typist.start(20)
    passphrase_dialog.install()
    done: list[str | None] = []
    secrets = service.ctx.secrets

    def worker() -> None:
        for name in ("Clinic A", "Clinic B"):
            secrets.set(name, KEY + name[-1])
        done.append(secrets.get("Clinic B"))

    thread = threading.Thread(target=worker)
    thread.start()
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)
    thread.join()
    typist.stop()
    assert done == [KEY + "B"]
    assert shown == [True]  # asked once, as a new key file (passphrase typed twice)


@pytest.mark.timeout(30)
def test_settings_names_where_the_keys_are(qtbot: QtBot, service: Service) -> None:
    tasks = TaskRunner()
    view = SettingsView(service, tasks, confirm=lambda _t, _q: True, locale_name="C")
    qtbot.addWidget(view)
    view.show()
    view.refresh()
    label = view.findChild(type(view.test_label), "keysHeldIn")
    assert label is not None
    qtbot.waitUntil(lambda: "kept in" in label.text(), timeout=10_000)
    assert label.text() == (
        "API keys are kept in keyrings.alt.file.PlaintextKeyring, chosen with "
        "PYTHON_KEYRING_BACKEND."
    )
    tasks.wait()
