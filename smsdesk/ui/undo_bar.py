"""Undo after Schedule: one button that takes the whole batch back.

Offered for as long as nothing of the batch has left this computer, or the provider holding
it still accepts a cancel (the engine decides: ``Scheduling.undo_window``). The button
re-checks on a timer and hides itself once undo is no longer possible; pressing it late
cancels nothing and says why.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from smsdesk.engine.service import Service
from smsdesk.engine.undo import UndoOutcome, UndoWindow
from smsdesk.ui.tasks import TaskRunner

CHECK_MS = 5000


class UndoBar(QWidget):
    undone = Signal(object)  # UndoOutcome

    def __init__(self, service: Service, tasks: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.batch_id: str | None = None
        self.button = QPushButton("Undo")
        self.button.setObjectName("undoScheduleButton")
        self.button.setAccessibleName("Undo the last schedule")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.check)
        self.button.clicked.connect(self.undo)
        self.hide()

    def offer(self, batch_id: str, count: int) -> None:
        """Offer to undo ``batch_id`` (``count`` messages) while the engine says it can."""
        self.batch_id = batch_id
        plural = "s" if count != 1 else ""
        self.button.setText(f"Undo ({count} message{plural})")
        self.button.setToolTip("Cancel the whole batch")
        self.button.setEnabled(True)
        self.show()
        self.timer.start()
        self.check()  # learn until when

    def withdraw(self) -> None:
        self.batch_id = None
        self.timer.stop()
        self.hide()

    def check(self) -> None:
        batch_id = self.batch_id
        if batch_id is None:
            return
        # Reads the batch's states: off the Qt thread (a batch may have thousands).
        self.tasks.submit(
            lambda: self.service.scheduling.undo_window(batch_id),
            self._checked,
            lambda _exc: self.withdraw(),
        )

    def _checked(self, window: UndoWindow) -> None:
        if window.batch_id != self.batch_id:
            return  # an older batch's answer
        if not window.possible:
            self.withdraw()
        elif window.until_text:
            self.button.setToolTip(f"Cancel the whole batch; possible until {window.until_text}")

    def undo(self) -> None:
        batch_id = self.batch_id
        if batch_id is None:
            return
        self.button.setEnabled(False)
        self.button.setText("Undoing…")
        # Cancelling what a provider holds is a request to it: off the Qt thread.
        self.tasks.submit(
            lambda: self.service.scheduling.undo(batch_id, self.service.cancel),
            self._undone,
            self._failed,
        )

    def _undone(self, outcome: UndoOutcome) -> None:
        self.withdraw()
        self.undone.emit(outcome)

    def _failed(self, exc: Exception) -> None:
        self.withdraw()
        self.undone.emit(UndoOutcome(False, 0, f"Undo failed: {exc}"))
