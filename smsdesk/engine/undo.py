"""Undo a schedule: take the whole batch back while nothing of it has left this computer,
or while the provider that holds it still accepts a cancel.

The cancel itself is the service's batch cancel (engine/actions.py); this module only
decides whether undo is still honest to offer, and reports the outcome as one sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from smsdesk.core.errors import NotFound
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import EDGE_MARGIN, Action, Capabilities
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.engine.views import ActionResult
from smsdesk.store.models import Message


@dataclass(frozen=True)
class UndoWindow:
    batch_id: str
    possible: bool
    messages: int  # what undo would cancel (already cancelled ones are not counted)
    until: datetime | None  # the last moment undo is possible, when it is
    why: str  # why not, "" when possible
    until_text: str = ""  # ``until`` in the desk's zone


@dataclass(frozen=True)
class UndoOutcome:
    ok: bool  # every message of the batch is cancelled
    cancelled: int
    text: str  # one sentence for the status line
    results: tuple[ActionResult, ...] = ()


def _deadline(
    state: State, handling: str, send_at: datetime, due_at: datetime | None, caps: Capabilities
) -> datetime | None:
    """Until when this message can be cancelled without anything having gone out, or None
    when it cannot (any more)."""
    can_cancel = caps.native_scheduling and caps.cancel_cutoff is not None
    at_provider_until = (
        send_at - caps.cancel_cutoff - EDGE_MARGIN if caps.cancel_cutoff is not None else None
    )
    if state is State.QUEUED:
        # Held here: safe until the engine acts on it; if the provider it goes to can
        # cancel, until that provider's cut-off.
        acts_at = due_at or send_at
        if handling != Action.SEND_LOCALLY.value and can_cancel and at_provider_until:
            return max(acts_at, at_provider_until)
        return acts_at
    if state in (State.HANDING_OFF, State.SCHEDULED) and can_cancel:
        return at_provider_until
    return None


def undo_window(ctx: AppContext, batch_id: str) -> UndoWindow:
    now = ctx.clock.now()
    with ctx.db.read() as s:
        msgs = s.exec(select(Message).where(col(Message.batch_id) == batch_id)).all()
        rows = [(m.state, m.handling, m.send_at, m.due_at, m.account_id) for m in msgs]
    if not rows:
        raise NotFound(f"No batch with id '{batch_id}'.", field="id")
    accounts = ctx.accounts_by_id()
    caps: dict[int, Capabilities] = {}
    deadlines: list[datetime] = []
    gone: Counter[str] = Counter()
    for state_value, handling, send_at, due_at, account_id in rows:
        state = State(state_value)
        if state is State.CANCELLED:
            continue
        if account_id not in caps:
            caps[account_id] = ctx.capabilities(accounts[account_id])
        deadline = _deadline(state, handling, send_at, due_at, caps[account_id])
        if deadline is None:
            gone[state.value] += 1
        else:
            deadlines.append(deadline)
    if gone:
        parts = ", ".join(f"{n} {state}" for state, n in gone.items())
        why = f"Too late to undo: {parts}; cancel the rest from the Queue."
        return UndoWindow(batch_id, False, len(deadlines), None, why)
    if not deadlines:
        return UndoWindow(batch_id, False, 0, None, "Already undone: every message is cancelled.")
    until = min(deadlines)
    if now >= until:
        return UndoWindow(
            batch_id, False, len(deadlines), until, "Too late to undo: the first message is due."
        )
    desk = resolve_zone(ctx.settings.zone)
    return UndoWindow(batch_id, True, len(deadlines), until, "", format_local(until, desk))


def undo_batch(
    ctx: AppContext, batch_id: str, cancel: Callable[[str], list[ActionResult]]
) -> UndoOutcome:
    window = undo_window(ctx, batch_id)
    if not window.possible:
        return UndoOutcome(False, 0, window.why)
    results = tuple(cancel(batch_id))
    done = sum(1 for r in results if r.ok or r.state == State.CANCELLED.value)
    failed = [r for r in results if not (r.ok or r.state == State.CANCELLED.value)]
    if not failed:
        plural = "s" if done != 1 else ""
        return UndoOutcome(True, done, f"Undone: {done} message{plural} cancelled.", results)
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return UndoOutcome(
        False,
        done,
        f"Undo cancelled {done} of {len(results)}; {first.id}: {first.detail}{more}",
        results,
    )
