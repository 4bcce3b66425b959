"""Reading the queue: lists, a message or batch with its history, the status bar's counts."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from smsdesk.core.errors import InvalidInput, NotFound
from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.engine.context import AppContext
from smsdesk.engine.recipient_facts import recipient_facts
from smsdesk.engine.views import Failure, MessageView, Summary
from smsdesk.store import queries
from smsdesk.store.models import Event, Message, ProviderAccount


def _check_state(state: str | None) -> None:
    if state is not None and state not in {st.value for st in State}:
        raise InvalidInput(
            f"Unknown state '{state}'; one of: {', '.join(st.value for st in State)}",
            field="state",
        )


def resolve(ctx: AppContext, ident: str) -> list[Message]:
    """The message with id ``ident``, or every message of the batch with that id."""
    ident = ident.strip()
    with ctx.db.read() as s:
        msg = s.get(Message, ident)
        if msg is not None:
            return [msg]
        msgs = list(
            s.exec(select(Message).where(Message.batch_id == ident).order_by(col(Message.id))).all()
        )
    if not msgs:
        raise NotFound(f"No message or batch with id '{ident}'.", field="id")
    return msgs


class MessageReader:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _account_names(self) -> dict[int, str]:
        with self.ctx.db.read() as s:
            return {a.id: a.name for a in s.exec(select(ProviderAccount)) if a.id is not None}

    def list_messages(
        self, state: str | None = None, limit: int | None = 500, offset: int = 0
    ) -> list[MessageView]:
        """Messages by send time: ``limit`` of them (None: all) after skipping ``offset``."""
        _check_state(state)
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidInput("A limit or offset cannot be negative.", field="limit")
        names = self._account_names()
        with self.ctx.db.read() as s:
            stmt = select(Message).order_by(col(Message.send_at), col(Message.id)).offset(offset)
            if limit is not None:
                stmt = stmt.limit(limit)
            if state:
                stmt = stmt.where(Message.state == state)
            rows = list(s.exec(stmt))
            facts = recipient_facts(s, (m.recipient for m in rows))
            return [
                MessageView.of(m, names.get(m.account_id, "?"), facts=facts[m.recipient])
                for m in rows
            ]

    def count_messages(self, state: str | None = None) -> int:
        """How many messages ``list_messages`` would list without a limit."""
        _check_state(state)
        with self.ctx.db.read() as s:
            stmt = select(func.count()).select_from(Message)
            if state:
                stmt = stmt.where(Message.state == state)
            return int(s.exec(stmt).one())

    def show(self, ident: str) -> list[MessageView]:
        """A message (or every message of a batch) with its event history."""
        names = self._account_names()
        msgs = resolve(self.ctx, ident)
        with self.ctx.db.read() as s:
            facts = recipient_facts(s, (m.recipient for m in msgs))
            return [
                MessageView.of(
                    m,
                    names.get(m.account_id, "?"),
                    queries.events_of(s, m.id),
                    facts=facts[m.recipient],
                )
                for m in msgs
            ]

    def summary(self) -> Summary:
        """Counts for the status bar: held here, at the provider, needing attention."""
        with self.ctx.db.read() as s:
            counts = dict(s.exec(select(Message.state, func.count()).group_by(Message.state)).all())
            attention = s.exec(
                select(func.count()).where(col(Message.attention).is_not(None))
            ).one()
            next_due = s.exec(
                select(func.min(Message.due_at)).where(Message.state == State.QUEUED.value)
            ).one()
            newest = s.exec(
                select(Event, Message.recipient, Message.last_error)
                .join(Message, col(Message.id) == col(Event.message_id))
                .where(Event.state_to == State.FAILED.value)
                .order_by(col(Event.id).desc())
                .limit(1)
            ).first()
        failure = None
        if newest:
            event, recipient, reason = newest
            # The message's recorded reason, not the event's wording of the transition.
            failure = Failure(event.at, event.message_id, recipient, reason or event.detail)
        return Summary(
            held_here=counts.get(State.QUEUED.value, 0),
            at_provider=sum(counts.get(s.value, 0) for s in (State.SCHEDULED, *INTENTS)),
            needs_attention=attention,
            next_hand_off=next_due,
            by_state=counts,
            last_failure=failure,
        )
