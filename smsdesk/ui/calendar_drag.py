"""Moving messages with the mouse: press on a message, move, release over a day or an hour.

The gesture lives in the widget that was pressed (Qt keeps delivering the mouse to it until
release), so a drop onto another widget of the Calendar is found by where the pointer is,
not by the platform's drag and drop, and works the same on every platform.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

Drop = Callable[[list[str], QPoint], None]  # (message ids, global position)
Hover = Callable[[QPoint | None], None]  # global position, None when the drag ends


class DragGesture:
    def __init__(self, drop: Drop, hover: Hover) -> None:
        self._drop = drop
        self._hover = hover
        self._ids: list[str] = []
        self._start: QPoint | None = None
        self.dragging = False

    def press(self, ids: list[str], at: QPoint) -> None:
        self._ids, self._start, self.dragging = list(ids), QPoint(at), False

    def move(self, at: QPoint, buttons: Qt.MouseButton) -> bool:
        """True while a drag is under way (the widget then ignores the move)."""
        if self._start is None or not self._ids:
            return False
        if not buttons & Qt.MouseButton.LeftButton:
            self.cancel()
            return False
        if not self.dragging:
            if (at - self._start).manhattanLength() < QApplication.startDragDistance():
                return False
            self.dragging = True
            QApplication.setOverrideCursor(Qt.CursorShape.ClosedHandCursor)
        self._hover(at)
        return True

    def release(self, at: QPoint) -> bool:
        """True when the release ended a drag (and the drop was offered)."""
        was, ids = self.dragging, self._ids
        self.cancel()
        if was:
            self._drop(ids, at)
        return was

    def cancel(self) -> None:
        if self.dragging:
            QApplication.restoreOverrideCursor()
            self._hover(None)
        self._ids, self._start, self.dragging = [], None, False
