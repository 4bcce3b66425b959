"""Settings → Storage: encrypting an existing plain database from the window (the warning
about the key first, the recovery code after), the window going on with the new file; and
Settings laid out so that at 150 % on a 1400×900 screen nothing is squeezed or cut off."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QBoxLayout, QPushButton
from pytestqt.qtbot import QtBot

from smsdesk.engine.backups import Backups
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection
from smsdesk.store.paths import database_path
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.settings_view import SettingsView
from tests.cli_runner import Cli


def _settings(window: MainWindow) -> SettingsView:
    window.show_view("Settings")
    view = window.settings_view
    assert view.isVisible()
    return view


def test_encrypting_from_settings_warns_shows_the_code_and_the_window_goes_on(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli
) -> None:
    home = service.ctx.home
    Backups(home).decrypt()  # an existing plain file, as made before encryption existed
    path = database_path(home)
    assert raw_connection.file_state(path) == "plain"
    view = _settings(window)
    qtbot.waitUntil(lambda: view.encrypt_button.isVisible())
    assert view.storage_label.text() == "The database is not encrypted."
    asked: list[str] = []

    def confirm(_title: str, question: str) -> bool:
        asked.append(question)
        return True

    view.confirm = confirm
    qtbot.mouseClick(view.encrypt_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.recovery_label.isVisible(), timeout=20_000)
    assert raw_connection.file_state(path) == "encrypted"
    assert len(asked) == 1
    assert "cannot be opened" in asked[0] and "recovery code" in asked[0]
    code = cli("storage", "key").out.splitlines()[-1]
    assert code in view.recovery_label.text()
    assert view.storage_label.text().startswith("The database is encrypted (SQLCipher)")
    assert not view.encrypt_button.isVisible()
    # This process's storage opened the new file: it reads and writes as before.
    service.update_settings(default_region="GB")
    assert service.settings().default_region == "GB"
    assert "default region: GB" in cli("settings").out


def test_at_150_percent_the_columns_stack_and_every_button_is_reachable(
    qtbot: QtBot, window: MainWindow
) -> None:
    view = _settings(window)
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: view.columns.direction() == QBoxLayout.Direction.LeftToRight)
    window.resize(933, 600)  # 1400×900 at 150 %, in the window's own units
    qtbot.waitUntil(lambda: view.columns.direction() == QBoxLayout.Direction.TopToBottom)
    content = view.scroll_area.widget()
    assert content is not None
    viewport = view.scroll_area.viewport()
    assert content.width() <= viewport.width()  # nothing runs off to the right
    for button in view.findChildren(QPushButton):
        if not button.isVisibleTo(view) or not button.objectName():
            continue
        view.scroll_area.ensureWidgetVisible(button)
        corner = button.mapTo(viewport, QPoint(0, 0))
        assert viewport.rect().contains(corner), button.objectName()
        right = button.mapTo(viewport, QPoint(button.width() - 1, button.height() - 1))
        assert viewport.rect().contains(right), button.objectName()
