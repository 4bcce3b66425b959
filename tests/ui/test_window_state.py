"""The window opens where it was left, and always on a screen that is there now."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSettings
from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.window_state import FILE_NAME, placed_on_screens


def _open(qtbot: QtBot, service: Service) -> MainWindow:
    window = MainWindow(service, refresh_ms=60_000)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_size_and_position_are_remembered_across_runs(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    width = window.width()  # as wide as it fits; the height and place are the user's
    height = window.minimumSizeHint().height() + 37
    window.resize(width, height)
    assert window.height() == height
    window.move(QPoint(12, 34))
    window.close()
    assert (service.ctx.home / FILE_NAME).is_file()

    again = _open(qtbot, service)
    assert again.frameGeometry().topLeft() == QPoint(12, 34)
    assert (again.width(), again.height()) == (width, height)


def test_a_window_left_on_a_screen_that_is_gone_opens_on_this_one(
    qtbot: QtBot, service: Service
) -> None:
    # Left on a second monitor, to the right of and below this one, which is now unplugged.
    settings = QSettings(str(service.ctx.home / FILE_NAME), QSettings.Format.IniFormat)
    settings.setValue("window/geometry", QRect(2600, 1500, 640, 480))
    settings.sync()

    window = _open(qtbot, service)
    free = window.screen().availableGeometry()
    frame = window.frameGeometry()
    assert free.contains(frame.topLeft())  # the title bar can be grabbed
    assert free.intersected(frame).height() == frame.height()


def test_placement_keeps_a_visible_window_and_moves_an_unreachable_one() -> None:
    laptop, monitor = QRect(0, 0, 1400, 900), QRect(1400, 0, 1920, 1080)
    on_monitor = QRect(1500, 100, 1000, 700)
    assert placed_on_screens(on_monitor, [laptop, monitor]) == on_monitor
    # The monitor is gone: same size, centred on the laptop's screen.
    moved = placed_on_screens(on_monitor, [laptop])
    assert moved.size() == on_monitor.size() and laptop.contains(moved)
    # Title bar above the top of the screen: brought down even though most of it shows.
    above = QRect(100, -50, 800, 600)
    assert laptop.contains(placed_on_screens(above, [laptop]).topLeft())
    # Bigger than the screen now (scaling went from 100 % to 150 %): shrunk to fit.
    big = placed_on_screens(QRect(4000, 0, 1800, 1200), [laptop])
    assert laptop.contains(big)


def test_the_state_file_lives_in_the_data_folder_not_the_shared_database(
    window: MainWindow, service: Service, tmp_path: Path
) -> None:
    window.close()
    assert window.window_state.path == service.ctx.home / FILE_NAME
