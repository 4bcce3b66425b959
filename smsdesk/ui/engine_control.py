"""The outbox engine in a worker thread beside the window, with pause/resume for the user.

The thread owns its own AppContext (its own database connections) and touches no widget;
after a pass that changed something it emits ``changed``, which Qt delivers on the GUI thread,
so the views re-read at once instead of waiting for their periodic refresh.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from PySide6.QtCore import QObject, Signal

from smsdesk.engine.backups import DatabaseDamaged
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher

log = logging.getLogger(__name__)
IDLE = timedelta(seconds=30)


class EngineControl(QObject):
    changed = Signal()  # a pass moved some message; emitted from the worker thread

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self._dispatcher = Dispatcher(ctx)
        self._stop = threading.Event()
        # Set while paused or stopping: a pass under way gives its claim back before its
        # next request, so nothing is handed off once the user has paused sending.
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._paused = False
        self.last_error: str | None = None
        self.turns = 0  # rounds of the loop so far, run or skipped (paused)
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._paused

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._paused = True
        self._halt.set()

    def resume(self) -> None:
        self._paused = False
        if not self._stop.is_set():
            self._halt.clear()
        self.wake()

    def wake(self) -> None:
        """Run a pass now (after the user scheduled or changed something)."""
        self._wake.set()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        clock = self._dispatcher.ctx.clock
        while not self._stop.is_set():
            wait = IDLE.total_seconds()
            if not self._paused:
                try:
                    report = self._dispatcher.run_once(self._halt)
                    self.last_error = None
                    if any(report.as_dict().values()):
                        self.changed.emit()
                    wait = (self._dispatcher.next_wake() - clock.now()).total_seconds()
                except DatabaseDamaged as exc:  # nothing can be written: stop, say so once
                    self.last_error = exc.message
                    break
                except Exception as exc:  # keep the engine alive; the next pass retries
                    log.exception("dispatch pass failed")
                    self.last_error = str(exc) or type(exc).__name__
            self.turns += 1
            self._wake.wait(min(max(wait, 0.2), IDLE.total_seconds()))
            self._wake.clear()
