"""Reconciliation: settling hand-offs whose outcome is unclear (interrupted by a crash, or an
answer that did not say) by asking the provider, never by sending again blindly.

Per provider, what counts as definitive is the provider's own ``lookup`` (see its notes):
a receipt settles the message, a definitive "never received" hands it off again, and
anything less ("cannot tell") leaves it ``unknown`` for the user. One lookup per account
per claim, in the provider's batch forms. Every write is fenced by lease owner and
generation, like the hand-off's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, col

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import FINAL, State
from smsdesk.engine.context import AppContext
from smsdesk.engine.lease import ClaimLease
from smsdesk.providers.base import (
    CannotTell,
    NotReceived,
    Provider,
    ProviderError,
    Receipt,
)
from smsdesk.store import queries
from smsdesk.store.models import Message
from smsdesk.store.queries import Claimed, Move

if TYPE_CHECKING:
    from smsdesk.engine.outbox import PassReport

RECONCILE_INTERVAL = timedelta(seconds=30)


def rows_changed(result: Any) -> int:
    """How many rows an UPDATE changed (0 when the condition, say the fence, held none)."""
    return int(getattr(result, "rowcount", 0) or 0)


def held_by_provider(provider: Provider, receipt: Receipt, now: datetime) -> dict[str, Any]:
    """The columns that record a message the provider has accepted."""
    return {
        "provider_ref": receipt.ref,
        "provider_group": provider.group_of(receipt.ref),
        "due_at": None,
        "last_error": receipt.detail or None,
        # Nothing changes at the provider before the send time: ask after it.
        "next_sync_at": None if receipt.state in FINAL else max(receipt.send_at or now, now),
    }


class Reconciling:
    """The dispatcher's reconciliation (a part of ``Dispatcher``, kept apart for size)."""

    ctx: AppContext
    owner: str
    max_attempts: int

    # Provided by the dispatcher: the fenced writes both parts share.
    def _fenced(self, msg: Claimed) -> list[Any]:
        raise NotImplementedError

    def _fail(
        self, s: Session, msg: Claimed, old: State, reason: str, now: datetime, **extra: Any
    ) -> bool:
        raise NotImplementedError

    def _blocked(self, msgs: Sequence[Claimed], exc: SmsdeskError) -> None:
        raise NotImplementedError

    def _reconcile(
        self, account_id: int, msgs: list[Claimed], report: PassReport, lease: ClaimLease
    ) -> None:
        """Ask the provider about one account's interrupted and unclear hand-offs, in one
        lookup: settle what it has, queue again only what it definitively never received,
        and flag the rest for the user."""
        now = self.ctx.clock.now()
        fence = lease.fence
        try:
            # Opened first: if the provider cannot be used, nothing changes yet.
            account = self.ctx.account_by_id(account_id)
            provider = self.ctx.provider(account)
        except SmsdeskError as exc:
            self._blocked(msgs, exc)
            return
        interrupted = [
            Move(m.id, State.UNKNOWN, "unknown", "a hand-off was interrupted; asking the provider")
            for m in msgs
            if State(m.state) is State.HANDING_OFF
        ]
        if interrupted:
            with self.ctx.db.write() as s:
                queries.transition_many(
                    s,
                    interrupted,
                    State.HANDING_OFF,
                    now,
                    owner=self.owner,
                    fence=fence,
                    next_sync_at=now,
                )
        askable = provider.capabilities.lookup_by_key
        unaskable = [m for m in msgs if m.idempotency_key is None or not askable]
        if unaskable:
            self._flag(
                unaskable,
                f"{account.name} cannot be asked whether it received this message; check the "
                "provider's console, then send again or cancel",
            )
        asked = [m for m in msgs if m.idempotency_key is not None and askable]
        # A lookup only reads: it may outlive the lease (its answer is written fenced, and
        # dropped if someone took over), so the lease is not stretched for it: that would
        # keep every message of the claim from a successor for minutes after a crash.
        held = lease.ensure(timedelta(0))
        asked = [m for m in asked if m.id in held]
        if not asked:
            return
        try:
            found = provider.lookup([(m.idempotency_key or "", m.provider_group) for m in asked])
        except ProviderError as exc:
            with self.ctx.db.write() as s:
                for msg in asked:
                    s.execute(
                        update(Message)
                        .where(*self._fenced(msg))
                        .values(last_error=str(exc), next_sync_at=now + RECONCILE_INTERVAL)
                    )
            return
        answers = {f.key: f for f in found}
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for msg in asked:
                answer = answers.get(msg.idempotency_key or "")
                if self._settle(s, msg, answer, account.name, provider, now):
                    report.reconciled += 1

    def _settle(
        self,
        s: Session,
        msg: Claimed,
        answer: Receipt | NotReceived | CannotTell | None,
        account_name: str,
        provider: Provider,
        now: datetime,
    ) -> bool:
        """Record one lookup answer (fenced); True when the message was settled."""
        gen = msg.lease_generation
        if isinstance(answer, Receipt):
            if answer.opted_out:
                queries.record_opt_out(s, msg.recipient, now, f"{account_name}: {answer.detail}")
            detail = f"{account_name} has it as {answer.ref}"
            return queries.transition(
                s,
                msg.id,
                State.UNKNOWN,
                answer.state,
                now,
                kind="reconciled",
                detail=f"{detail}: {answer.detail}" if answer.detail else detail,
                owner=self.owner,
                generation=gen,
                **held_by_provider(provider, answer, now),
            )
        if isinstance(answer, NotReceived):
            if msg.attempts >= self.max_attempts:
                # Every hand-off so far went unanswered; stop rather than try for ever.
                reason = (
                    f"gave up after {msg.attempts} attempts: {account_name} never confirmed "
                    f"receiving it ({msg.last_error or 'no answer'})"
                )
                return self._fail(s, msg, State.UNKNOWN, reason, now, next_sync_at=None)
            # Definitively never received: handing it off again cannot double it.
            return queries.transition(
                s,
                msg.id,
                State.UNKNOWN,
                State.QUEUED,
                now,
                kind="reconciled",
                detail=f"{account_name} never received it; it will be handed off again",
                owner=self.owner,
                generation=gen,
                due_at=now,  # the check itself waited RECONCILE_INTERVAL; the cap bounds it
                next_sync_at=None,
            )
        if isinstance(answer, CannotTell):
            # Not definitive (logs that lag, or hide scheduled messages): the user decides;
            # resending could double it.
            note = (
                f"{account_name} cannot tell whether it received this message "
                f"({answer.reason}); check the provider's console, then send again or cancel"
            )
            result = s.execute(
                update(Message)
                .where(*self._fenced(msg), col(Message.state) == State.UNKNOWN.value)
                .values(attention=note, last_error=answer.reason, next_sync_at=None, updated_at=now)
            )
            if rows_changed(result):
                queries.add_event(s, msg.id, now, "attention", note)
            return False
        # No answer about this key: ask again later.
        s.execute(
            update(Message).where(*self._fenced(msg)).values(next_sync_at=now + RECONCILE_INTERVAL)
        )
        return False

    def _flag(self, msgs: Sequence[Claimed], note: str) -> None:
        """Left ``unknown`` for the user to decide, never asked about or resent again."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for msg in msgs:
                s.execute(
                    update(Message)
                    .where(*self._fenced(msg))
                    .values(attention=note, next_sync_at=None, updated_at=now)
                )
