"""An encrypted database whose key is not in this computer's keyring, in the window: the
key dialog, not the damage dialog (nothing restored or salvaged over the file); a wrong
recovery code is refused beside the field, the right one puts the key back."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from smsdesk.engine.backups import Backups
from smsdesk.store import raw_connection
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.startup import Startup
from tests.conftest import START
from tests.store.damage import digest, sound_home
from tests.ui.startup_setup import dialog_named, window_with_startup

WAIT_MS = 30_000


@pytest.fixture
def started(qtbot: QtBot, isolated_home: Path) -> Iterator[tuple[MainWindow, Startup]]:
    yield from window_with_startup(qtbot, isolated_home)


def test_a_missing_key_asks_for_the_recovery_code_and_leaves_the_file_alone(
    qtbot: QtBot, isolated_home: Path, started: tuple[MainWindow, Startup]
) -> None:
    window, startup = started
    path = sound_home(isolated_home, START)
    assert raw_connection.is_encrypted(path)
    code = Backups(isolated_home).recovery_code()
    keyring.delete_password("smsdesk", raw_connection.KEY_ACCOUNT)
    raw_connection.forget_cached_key()
    before = digest(path)

    startup.start()
    dialog = dialog_named(qtbot, window, "keyMissingDialog", WAIT_MS)
    assert window.findChild(QDialog, "recoveryDialog") is None  # not offered as damage
    edit = dialog.findChild(QLineEdit, "recoveryCodeEdit")
    button = dialog.findChild(QPushButton, "putKeyBackButton")
    error = dialog.findChild(QLabel, "recoveryCodeError")
    assert edit is not None and button is not None and error is not None

    qtbot.keyClicks(edit, "ab" * 32)  # a code of the right shape, for another file
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "does not open the database" in error.text(), timeout=WAIT_MS)
    assert keyring.get_password("smsdesk", raw_connection.KEY_ACCOUNT) is None

    edit.clear()
    qtbot.keyClicks(edit, code)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: startup.restart_requested, timeout=WAIT_MS)
    assert keyring.get_password("smsdesk", raw_connection.KEY_ACCOUNT) == code.replace("-", "")
    assert digest(path) == before
    assert sorted(p.name for p in isolated_home.iterdir() if "damaged" in p.name) == []
