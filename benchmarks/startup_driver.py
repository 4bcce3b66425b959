"""Child process of the cold-start scenario: start a window, print when it first painted.

    python -m benchmarks.startup_driver bare       # a bare PySide6 QWidget
    python -m benchmarks.startup_driver smsdesk    # smsdesk's own start-up (run_gui)

Prints one JSON line and exits. The parent notes ``time.time()`` before it spawns the process.
``painted`` is the ``time.time()`` of the first paint of the top-level window. For smsdesk,
the driver then does what a user in a hurry would: it opens the Queue tab at once, and
``data_shown`` is when the Queue's table first paints with rows in it: the real Queue's, or
the first page start-up shows until storage is open (the same rows and cells, read without
the storage stack; ``first_page`` says which it was). ``real_shown``: when the real Queue
(filters and actions ready) first paints with rows.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

FIRST_PAGE = "queueFirstPageTable"  # ui/first_page_model.py
QUEUE_TABLES = ("queueTable", FIRST_PAGE)


class FirstPaint(QObject):
    """Records the first paint of a top-level window (and, if asked, of the Queue's rows)."""

    def __init__(self, app: QApplication, *, wait_for_queue: bool) -> None:
        super().__init__()
        self.app = app
        self.wait_for_queue = wait_for_queue
        self.painted: float | None = None
        self.data_shown: float | None = None
        self.first_page: bool | None = None
        self.real_shown: float | None = None  # the real Queue (filters, actions) with rows

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Paint or not isinstance(watched, QWidget):
            return False
        if self.painted is None and watched.isWindow():
            self.painted = time.time()
            if not self.wait_for_queue:
                QTimer.singleShot(0, self.app.quit)
            else:
                show_view = getattr(watched, "show_view", None)
                if callable(show_view):
                    show_view("Queue")  # the user clicks the Queue tab straight away
        elif self.wait_for_queue and self.real_shown is None:
            table = self._queue_rows(watched)
            if table is not None and self.data_shown is None:
                self.data_shown = time.time()
                self.first_page = table == FIRST_PAGE
            if table == "queueTable":
                self.real_shown = time.time()
                QTimer.singleShot(0, self.app.quit)
        return False

    @staticmethod
    def _queue_rows(widget: QWidget) -> str | None:
        """The name of the Queue table whose viewport ``widget`` is, if it has rows."""
        table = widget.parentWidget()
        if not isinstance(table, QAbstractItemView) or table.objectName() not in QUEUE_TABLES:
            return None
        model = table.model()
        if widget is table.viewport() and model is not None and model.rowCount() > 0:
            return table.objectName()
        return None


def main(mode: str) -> int:
    app = QApplication(sys.argv[:1])
    spy = FirstPaint(app, wait_for_queue=mode != "bare")
    app.installEventFilter(spy)
    if mode == "bare":
        window = QWidget()
        window.resize(1100, 720)
        window.show()
        app.exec()
    else:
        from smsdesk.ui.app import run_gui

        code = run_gui()
        if code != 0:
            return code
    marks = {
        "painted": spy.painted,
        "data_shown": spy.data_shown,
        "real_shown": spy.real_shown,
        "first_page": spy.first_page,
    }
    print(json.dumps(marks), flush=True)
    return 0 if spy.painted is not None else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "bare"))
