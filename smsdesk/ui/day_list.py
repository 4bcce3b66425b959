"""The Calendar's day list: the chosen day's messages, wrapped to the list's width; a message
(or the selected ones) can be dragged onto a day of the month or an hour of the week."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QWidget

from smsdesk.ui.calendar_drag import DragGesture

MESSAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class DayList(QListWidget):
    """The chosen day's messages, wrapped to the list's width; a message (or the selected
    ones) can be dragged onto a day of the month or an hour of the week."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gesture: DragGesture | None = None
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setUniformItemSizes(False)
        self.setSpacing(1)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        item = self.itemAt(event.position().toPoint())
        if self.gesture is None or item is None or event.button() != Qt.MouseButton.LeftButton:
            return
        chosen = self.selectedItems() if item.isSelected() else [item]
        # A planned occurrence (no message yet) is not dragged.
        ids = [str(i.data(MESSAGE_ID_ROLE)) for i in chosen if i.data(MESSAGE_ID_ROLE)]
        if ids:
            self.gesture.press(ids, event.globalPosition().toPoint())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.gesture is not None and self.gesture.move(
            event.globalPosition().toPoint(), event.buttons()
        ):
            return  # dragging: no rubber-band selection meanwhile
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.gesture is not None and self.gesture.release(event.globalPosition().toPoint()):
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.gesture is not None and self.gesture.dragging:
            self.gesture.cancel()
            return
        super().keyPressEvent(event)
