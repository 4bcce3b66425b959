"""Closing the window while messages are held on this computer (they only go out while
smsdesk runs) asks whether to keep sending from the tray, and can set up start at login."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QCheckBox, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from smsdesk.ui import autostart
from smsdesk.ui.app_icon import icons_dir
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.tray import KeepSendingDialog

# The offscreen platform has no tray host and says so when a tray icon is shown; a desktop
# with a tray does not. Only the tests that make a tray icon ignore it.
NO_TRAY_HOST = "QPlatformNativeInterface::systemTrayWindowChanged"


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def _window(qtbot: QtBot, service: Service, *, tray: bool) -> MainWindow:
    window = MainWindow(service, refresh_ms=60_000, tray_available=tray)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def _hold_one(qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock) -> None:
    service.schedule(["+15551234567"], "Your appointment", clock.now() + timedelta(hours=1), "UTC")
    window.refresh()
    qtbot.waitUntil(lambda: "Held on this computer: 1" in window.status.text())


def _tick(qtbot: QtBot, box: QCheckBox) -> None:
    """Click the box itself (its indicator), not the middle of a row the layout widened."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def _press_ctrl_w(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window.tabs, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)


def _dialog(qtbot: QtBot, window: MainWindow) -> KeepSendingDialog:
    qtbot.waitUntil(lambda: window.keep_sending is not None and window.keep_sending.isVisible())
    assert window.keep_sending is not None
    return window.keep_sending


@pytest.mark.qt_log_ignore(NO_TRAY_HOST, "This plugin does not support raise")
def test_closing_with_messages_held_here_can_keep_sending_in_the_tray(
    qtbot: QtBot, service: Service, clock: ManualClock
) -> None:
    window = _window(qtbot, service, tray=True)
    _hold_one(qtbot, window, service, clock)
    _press_ctrl_w(qtbot, window)
    dialog = _dialog(qtbot, window)
    assert window.isVisible()  # nothing happens before the user answers
    text = dialog.findChild(QWidget, "keepSendingText")
    assert "1 message is held on this computer" in text.text()  # type: ignore[union-attr]
    qtbot.mouseClick(dialog.keep_button, Qt.MouseButton.LeftButton)
    assert not window.isVisible()
    assert window.tray is not None and window.tray.isVisible()
    assert window.is_attached and window._timer.isActive()  # still sending and counting
    # The tray's Show brings it back.
    window.tray.show_action.trigger()
    assert window.isVisible()


@pytest.mark.qt_log_ignore(NO_TRAY_HOST)
def test_quit_with_start_at_login_writes_the_autostart_entry(
    qtbot: QtBot, service: Service, clock: ManualClock, config_home: Path
) -> None:
    window = _window(qtbot, service, tray=True)
    _hold_one(qtbot, window, service, clock)
    _press_ctrl_w(qtbot, window)
    dialog = _dialog(qtbot, window)
    assert not dialog.login_check.isChecked()
    _tick(qtbot, dialog.login_check)
    with qtbot.waitSignal(window.quit_requested, timeout=1000):  # app.py ends the app on it
        qtbot.mouseClick(dialog.quit_button, Qt.MouseButton.LeftButton)
    assert not window.isVisible()
    entry = config_home / "autostart" / f"{autostart.DESKTOP_ID}.desktop"
    text = entry.read_text(encoding="utf-8")
    assert "[Desktop Entry]" in text and "\nExec=" in text and "Type=Application" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert "smsdesk" in exec_line


def test_unticking_start_at_login_removes_the_entry(
    qtbot: QtBot, service: Service, clock: ManualClock
) -> None:
    path = autostart.enable(["smsdesk"])
    window = _window(qtbot, service, tray=False)
    _hold_one(qtbot, window, service, clock)
    _press_ctrl_w(qtbot, window)
    dialog = _dialog(qtbot, window)
    assert dialog.login_check.isChecked()  # reads what is set up now
    _tick(qtbot, dialog.login_check)
    qtbot.mouseClick(dialog.quit_button, Qt.MouseButton.LeftButton)
    assert not path.exists()


def test_without_a_tray_the_question_says_what_quitting_means(
    qtbot: QtBot, service: Service, clock: ManualClock
) -> None:
    window = _window(qtbot, service, tray=False)
    _hold_one(qtbot, window, service, clock)
    _press_ctrl_w(qtbot, window)
    dialog = _dialog(qtbot, window)
    assert not dialog.keep_button.isVisible()
    text = dialog.findChild(QWidget, "keepSendingText")
    assert "wait until smsdesk is started again" in text.text()  # type: ignore[union-attr]
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert window.isVisible()  # Cancel: nothing closed
    assert window.keep_sending is None
    # Closing again asks again.
    _press_ctrl_w(qtbot, window)
    again = _dialog(qtbot, window)
    qtbot.keyClick(again, Qt.Key.Key_Escape)  # Escape is Cancel too
    assert window.isVisible() and window.keep_sending is None


def test_closing_with_nothing_held_here_asks_nothing(qtbot: QtBot, service: Service) -> None:
    window = _window(qtbot, service, tray=False)
    qtbot.waitUntil(lambda: "Held on this computer: 0" in window.status.text())
    _press_ctrl_w(qtbot, window)
    assert window.keep_sending is None
    assert not window.isVisible()


def test_start_at_login_is_explained_where_smsdesk_cannot_set_it_up(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    dialog = KeepSendingDialog(3, tray=True)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.login_check.isEnabled()
    assert "Startup folder" in dialog.login_note.text() and dialog.login_note.isVisible()
    with pytest.raises(OSError):
        autostart.enable()


@pytest.mark.qt_log_ignore(NO_TRAY_HOST)
def test_the_tray_icon_is_the_apps_icon(qtbot: QtBot, service: Service) -> None:
    window = _window(qtbot, service, tray=True)
    assert window.tray is not None
    shown = window.tray.icon().pixmap(32, 32).toImage()
    expected = QIcon(str(icons_dir() / "smsdesk-32.png")).pixmap(32, 32).toImage()
    assert not shown.isNull() and shown == expected
    actions = [a.text() for a in window.tray.menu.actions() if a.text()]
    assert actions == ["Show smsdesk", "Quit smsdesk"]
