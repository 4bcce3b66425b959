"""The window's size and position, remembered across runs on this computer.

Kept in ``window.ini`` in the data folder (QSettings' INI format), not in the settings table:
the database may be shared by several desks (PostgreSQL), and where a window sits belongs to
one computer's screens, not to the office.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

FILE_NAME = "window.ini"
# What must stay on a screen of a restored window: enough of its title bar to grab it.
MIN_VISIBLE = QSize(200, 80)


def placed_on_screens(saved: QRect, screens: list[QRect]) -> QRect:
    """``saved`` if enough of it lies on one of ``screens`` (their free areas); else the same
    size (shrunk to fit) centred on the screen it overlaps most, or on the first one."""
    if not screens:
        return saved
    for free in screens:
        overlap = free.intersected(saved)
        # Enough of it on this screen, and its top edge (the title bar) reachable.
        if (
            overlap.width() >= min(MIN_VISIBLE.width(), saved.width())
            and overlap.height() >= min(MIN_VISIBLE.height(), saved.height())
            and free.top() <= saved.top() < free.bottom()
        ):
            return saved
    best = max(screens, key=lambda free: _area(free.intersected(saved)))
    if _area(best.intersected(saved)) == 0:
        best = screens[0]
    size = saved.size().boundedTo(best.size())
    placed = QRect(best.topLeft(), size)
    placed.moveCenter(best.center())
    return placed


def _area(rect: QRect) -> int:
    return max(rect.width(), 0) * max(rect.height(), 0) if rect.isValid() else 0


def _free_areas() -> list[QRect]:
    primary = QGuiApplication.primaryScreen()
    others = [s for s in QGuiApplication.screens() if s is not primary]
    return [s.availableGeometry() for s in ([primary] if primary else []) + others]


class WindowState:
    """Reads and writes one window's geometry (of its normal, not maximised, state)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def restore(self, window: QWidget) -> bool:
        """Put ``window`` where it was; False (and nothing changed) when nothing was saved."""
        saved = self._settings.value("window/geometry")
        if not isinstance(saved, QRect) or saved.isEmpty():
            return False
        placed = placed_on_screens(saved, _free_areas())
        window.resize(placed.size())
        window.move(placed.topLeft())
        if self._settings.value("window/maximized") in (True, "true"):
            from PySide6.QtCore import Qt  # the enum namespace is slow to load: only here

            window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)
        return True

    def save(self, window: QWidget) -> None:
        """Remember where ``window`` is (its normal geometry when maximised)."""
        maximized = window.isMaximized()
        rect = window.normalGeometry() if maximized else window.geometry()
        if rect.isEmpty():
            rect = window.geometry()
        # geometry() is the client area; move() places the frame: keep the frame's corner.
        frame = window.frameGeometry()
        rect = QRect(frame.topLeft() if not maximized else rect.topLeft(), rect.size())
        self._settings.setValue("window/geometry", rect)
        self._settings.setValue("window/maximized", maximized)
        self._settings.sync()
