"""The one helper for background work: run a callable off the Qt thread, get the outcome back
on it.

Provider-touching calls (preview, cancel/reschedule at a provider, testing an account) can take
seconds, so they never run on the Qt thread. The work function must not touch widgets; the
callbacks run on the GUI thread, where they may. Failures arrive as the exception object so a
view can show ``InvalidInput.field`` beside the right input.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")
Success = Callable[[Any], None]
Failure = Callable[[Exception], None]


class _Bridge(QObject):
    # Emitted from a pool thread; the receiver lives on the GUI thread, so Qt queues it.
    done = Signal(int, bool, object)


class _Job(QRunnable):
    def __init__(self, job_id: int, work: Callable[[], object], bridge: _Bridge) -> None:
        super().__init__()
        self._id = job_id
        self._work = work
        self._bridge = bridge

    def run(self) -> None:
        try:
            result = self._work()
        except Exception as exc:  # handed to the failure callback on the GUI thread
            self._bridge.done.emit(self._id, False, exc)
        else:
            self._bridge.done.emit(self._id, True, result)


class TaskRunner(QObject):
    """Runs work in its own small thread pool; ``pending`` counts unfinished jobs."""

    pending_changed = Signal(int)
    failed = Signal(object)  # every failure, for the status bar

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._bridge = _Bridge(self)
        self._bridge.done.connect(self._deliver)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Success | None, Failure | None]] = {}

    @property
    def pending(self) -> int:
        return len(self._callbacks)

    def submit(
        self,
        work: Callable[[], T],
        on_success: Callable[[T], None] | None = None,
        on_failure: Failure | None = None,
    ) -> int:
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_success, on_failure)
        self._pool.start(_Job(job_id, work, self._bridge))
        self.pending_changed.emit(self.pending)
        return job_id

    def _deliver(self, job_id: int, ok: bool, payload: object) -> None:
        on_success, on_failure = self._callbacks.pop(job_id, (None, None))
        try:
            if ok:
                if on_success is not None:
                    on_success(payload)
            else:
                assert isinstance(payload, Exception)
                if on_failure is not None:
                    on_failure(payload)
                else:
                    log.error("background task failed: %s", payload)
                self.failed.emit(payload)
        finally:
            self.pending_changed.emit(self.pending)

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until every job has finished (on close). Callbacks still arrive by event."""
        return bool(self._pool.waitForDone(msecs))
