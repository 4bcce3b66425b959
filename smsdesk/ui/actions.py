"""Cancel, reschedule and retry as the Queue and the Calendar offer them.

Cancel and reschedule may talk to the provider that holds a message, so they run through the
background helper; the callback refreshes the views with what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import QObject, Signal

from smsdesk.engine.service import Service
from smsdesk.engine.views import ActionResult
from smsdesk.ui.tasks import TaskRunner


def summarize(verb: str, results: Sequence[ActionResult]) -> str:
    """ "Cancelled 2 messages; 1 could not: it is already sent." — for the status line."""
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    parts = []
    if done:
        parts.append(f"{verb} {len(done)} message{'s' if len(done) != 1 else ''}")
    if failed:
        parts.append(f"{len(failed)} could not be changed: {failed[0].detail}")
    return "; ".join(parts) or "Nothing to do."


class MessageActions(QObject):
    """One place that runs message actions and announces the outcome."""

    finished = Signal(str)  # a sentence for the user
    changed = Signal()  # the database changed: views re-read

    def __init__(self, service: Service, tasks: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.tasks = tasks

    def _run(self, verb: str, work: Callable[[], list[ActionResult]]) -> None:
        self.tasks.submit(work, lambda results: self._done(verb, results), self._failed)

    def _done(self, verb: str, results: list[ActionResult]) -> None:
        self.finished.emit(summarize(verb, results))
        self.changed.emit()

    def _failed(self, exc: Exception) -> None:
        self.finished.emit(f"Failed: {exc}")
        self.changed.emit()

    def cancel(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        self._run("Cancelled", lambda: [r for i in ids for r in self.service.cancel(i)])

    def reschedule(self, ids: Sequence[str], send_at: datetime) -> None:
        ids = list(ids)
        self._run(
            "Rescheduled", lambda: [r for i in ids for r in self.service.reschedule(i, send_at)]
        )

    def retry(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        self._run("Queued again", lambda: [r for i in ids for r in self.service.retry(i)])


# Which actions apply to a message in each state (the engine refuses the rest; the Queue
# enables a button only when it applies to at least one selected message).
_CANCEL_STATES = frozenset({"draft", "queued", "scheduled"})
_SETTLE_STATES = frozenset({"unknown", "cancelling", "rescheduling", "withdrawing"})


def can_cancel(state: str, attention: bool = False) -> bool:
    # A change the provider never confirmed can be settled as cancelled once flagged.
    return state in _CANCEL_STATES or (attention and state in _SETTLE_STATES)


def can_reschedule(state: str, attention: bool = False) -> bool:
    return state in ("queued", "scheduled")


def can_retry(state: str, attention: bool = False) -> bool:
    return state == "failed" or (attention and state == "unknown")
