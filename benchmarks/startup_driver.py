"""Child process of the cold-start scenario: start a window, print when it first painted.

    python -m benchmarks.startup_driver bare       # a bare PySide6 QWidget
    python -m benchmarks.startup_driver smsdesk    # smsdesk's own start-up (run_gui)

Prints one JSON line ``{"painted": <time.time() of the first paint of the top-level window>}``
and exits. The parent notes ``time.time()`` before it spawns the process.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget


class FirstPaint(QObject):
    """Records the first paint event of a top-level window, then quits the event loop."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.painted: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            self.painted is None
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.isWindow()
        ):
            self.painted = time.time()
            QTimer.singleShot(0, self.app.quit)
        return False


def main(mode: str) -> int:
    app = QApplication(sys.argv[:1])
    spy = FirstPaint(app)
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
    print(json.dumps({"painted": spy.painted}), flush=True)
    return 0 if spy.painted is not None else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "bare"))
