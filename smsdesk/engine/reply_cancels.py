"""What a stored reply still has to do at the provider: cancel a confirmed appointment's later
reminders, or, after a STOP, the messages the provider already holds for that number.

Both go through the engine's ordinary cancel (an intent committed before the request, the
outcome fenced; reconciliation finishes a cancel whose answer was lost and flags the message
for the user where the provider cannot tell). The reply's ``pending`` mark is set in the
transaction that stores it and cleared once nothing is left to settle, so a process that dies
in between leaves the rest to the next pass, never to do twice. A cancel the provider refuses
flags that message for the user (it is then no longer the reply's to retry).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.actions import Actions
from smsdesk.engine.context import AppContext
from smsdesk.store import queries
from smsdesk.store.models import Event, Message, OptOut, Reply

log = logging.getLogger(__name__)

CANCEL_REMINDERS = "cancel_reminders"
CANCEL_AT_PROVIDER = "cancel_at_provider"
SHOWN = 3  # the send times a STOP's history names; the rest are counted

# Not yet settled: being handed off, handed off without an answer yet, or being changed.
_UNSETTLED = (State.HANDING_OFF.value, State.UNKNOWN.value, *(i.value for i in INTENTS))


def stop_needs_cancels(s: Session, number: str, after: datetime) -> bool:
    """Whether the provider holds (or may soon hold) messages for ``number`` due after
    ``after``: a STOP then leaves the cancels pending. Read in the transaction storing it."""
    found = s.exec(
        select(Message.id)
        .where(
            Message.recipient == number,
            col(Message.send_at) > after,
            col(Message.state).in_([State.SCHEDULED.value, *_UNSETTLED]),
            col(Message.attention).is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def waiting_here(s: Session, number: str) -> int:
    """Messages held on this computer for ``number``: the engine drops them at hand-off."""
    rows = s.exec(
        select(Message.id).where(Message.recipient == number, Message.state == State.QUEUED.value)
    ).all()
    return len(rows)


class ReplyCancels:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def finish(self) -> None:
        """Each reply's pending cancels: asked once per pass, settled when none is left."""
        with self.ctx.db.read() as s:
            waiting = list(s.exec(select(Reply).where(col(Reply.pending).is_not(None))).all())
        if not waiting:
            return
        actions = Actions(self.ctx)
        for reply in waiting:
            if reply.pending == CANCEL_AT_PROVIDER and not self._still_opted_out(reply):
                self._settle(reply, "; opted back in before anything more was cancelled")
                continue
            cancellable = (
                [State.SCHEDULED.value]  # queued ones are dropped at hand-off (opted out)
                if reply.pending == CANCEL_AT_PROVIDER
                else [State.QUEUED.value, State.SCHEDULED.value]
            )
            try:
                for ident in self._targets(reply, cancellable):
                    self._cancel(actions, reply, ident)
            except SmsdeskError as exc:  # the provider could not be asked: next pass again
                log.warning("cancels a reply asked for are not done yet: %s", exc)
                continue
            if self._targets(reply, [*cancellable, *_UNSETTLED]):
                continue  # a cancel under way or a hand-off: the next pass looks again
            self._settle(reply, self._summary(reply))

    def _still_opted_out(self, reply: Reply) -> bool:
        with self.ctx.db.read() as s:
            return s.get(OptOut, reply.sender) is not None

    @staticmethod
    def _about(query: Any, reply: Reply) -> Any:
        """``query`` narrowed to the messages the reply's cancels are about."""
        # Due after the reply: what was due before it has gone out, whatever is known here.
        query = query.where(col(Message.send_at) > reply.received_at)
        if reply.pending == CANCEL_AT_PROVIDER:
            # What was written before the STOP; a later message follows a later START.
            return query.where(
                Message.recipient == reply.sender, col(Message.created_at) <= reply.stored_at
            )
        return query.where(Message.appointment_id == reply.appointment_id)

    def _targets(self, reply: Reply, states: list[str]) -> list[str]:
        """Those messages in ``states``, not flagged for the user."""
        query = select(Message.id).where(
            col(Message.state).in_(states), col(Message.attention).is_(None)
        )
        with self.ctx.db.read() as s:
            return list(s.exec(self._about(query, reply).order_by(col(Message.send_at))).all())

    def _because(self, reply: Reply) -> str:
        if reply.pending == CANCEL_AT_PROVIDER:
            return f"the recipient replied “{reply.text}” (opted out)"
        return "the appointment was confirmed by a reply"

    def _cancel(self, actions: Actions, reply: Reply, ident: str) -> None:
        result = actions.cancel(ident)[0]
        now = self.ctx.clock.now()
        if result.ok:
            with self.ctx.db.write() as s:
                queries.add_event(
                    s, ident, now, "reply", f"cancelled because {self._because(reply)}"
                )
            return
        with self.ctx.db.read() as s:
            msg = s.get(Message, ident)
            last = s.exec(
                select(Event.kind)
                .where(Event.message_id == ident)
                .order_by(col(Event.at).desc(), col(Event.id).desc())
                .limit(1)
            ).first()
        if msg is None or msg.state != State.SCHEDULED.value or last != "refused":
            return  # under way, or changed meanwhile: looked at again next pass
        # Refused by the provider (too close to its time, already gone): the user decides.
        with self.ctx.db.write() as s:
            queries.transition(
                s,
                ident,
                State.SCHEDULED,
                State.SCHEDULED,
                now,
                kind="flagged",
                detail=f"not cancelled although {self._because(reply)}: {result.detail}",
                attention=f"{self._because(reply)}, but the provider refused to cancel it: "
                f"{result.detail}",
            )

    def _summary(self, reply: Reply) -> str:
        """What was cancelled because of the reply, and what is left to the user."""

        # Cancelled since the reply, by this pass or by reconciliation finishing a cancel
        # whose answer was lost; refused by the provider; and those whose cancel the provider
        # could not confirm (flagged by reconciliation): the last two are the user's now.
        def since(kind: str) -> Any:
            return select(Event.message_id).where(
                Event.kind == kind, col(Event.at) >= reply.stored_at
            )

        cancelled = select(Message).where(
            Message.state == State.CANCELLED.value, col(Message.id).in_(since("cancelled"))
        )
        refused = select(Message.id).where(col(Message.id).in_(since("flagged")))
        unclear = select(Message.id).where(
            col(Message.attention).is_not(None),
            col(Message.state).in_(_UNSETTLED),
            col(Message.updated_at) >= reply.stored_at,
        )
        with self.ctx.db.read() as s:
            done = list(s.exec(self._about(cancelled, reply).order_by(col(Message.send_at))).all())
            not_done = len(s.exec(self._about(refused, reply)).all())
            unknown = len(s.exec(self._about(unclear, reply)).all())
        left = f"; {not_done} the provider would not cancel (see its history)" if not_done else ""
        if unknown:
            left += f"; {unknown} not known to be cancelled: see the Queue"
        if reply.pending != CANCEL_AT_PROVIDER:
            return f"; {len(done)} later reminder(s) cancelled{left}"
        if not done:
            return f"; nothing was cancelled at a provider{left}"
        times = [format_local(m.send_at, resolve_zone(m.zone)) for m in done[:SHOWN]]
        more = f" and {len(done) - SHOWN} more" if len(done) > SHOWN else ""
        plural = "message" if len(done) == 1 else "messages"
        return f"; cancelled at the provider: {len(done)} {plural} ({', '.join(times)}{more}){left}"

    def _settle(self, reply: Reply, note: str) -> None:
        with self.ctx.db.write() as s:
            fresh = s.get(Reply, reply.id)
            if fresh is not None and fresh.pending is not None:
                fresh.pending = None
                fresh.detail = f"{fresh.detail}{note}"
                s.add(fresh)
