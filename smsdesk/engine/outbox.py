"""The outbox loop: claim due work, commit ``handing_off``, call the provider, record the result.

Exactly-once rests on three rules: the idempotency key and ``handing_off`` are committed before
any request; a request whose outcome is unclear makes the message ``unknown``; ``unknown``
messages are settled by asking the provider for that key, never by sending again blindly.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import AT_PROVIDER, FINAL, State, can_transition
from smsdesk.core.planner import Action, plan_handoff
from smsdesk.engine.context import AppContext
from smsdesk.providers.base import (
    AmbiguousError,
    Outgoing,
    PermanentError,
    Provider,
    ProviderError,
    Receipt,
    Rejected,
    TransientError,
)
from smsdesk.store import queries
from smsdesk.store.models import Message

log = logging.getLogger(__name__)

SYNC_INTERVAL = timedelta(minutes=1)
RECONCILE_INTERVAL = timedelta(seconds=30)
RETRY_BASE = timedelta(seconds=15)
RETRY_CAP = timedelta(minutes=30)
BLOCKED_RETRY = timedelta(minutes=5)


@dataclass
class PassReport:
    """What one pass did, for the command line and the status bar."""

    handed_off: int = 0
    failed: int = 0
    retrying: int = 0
    unknown: int = 0
    reconciled: int = 0
    held: int = 0
    missed: int = 0
    status_changes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _held_by_provider(provider: Provider, receipt: Receipt, now: datetime) -> dict[str, Any]:
    """The columns that record a message the provider has accepted."""
    return {
        "provider_ref": receipt.ref,
        "provider_group": provider.group_of(receipt.ref),
        "due_at": None,
        "last_error": receipt.detail or None,
        # Nothing changes at the provider before the send time: ask after it.
        "next_sync_at": None if receipt.state in FINAL else max(receipt.send_at or now, now),
    }


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential back-off, capped, never sooner than the provider asked."""
    delay = min(RETRY_BASE * (1 << max(attempts - 1, 0)), RETRY_CAP)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


class Dispatcher:
    def __init__(
        self,
        ctx: AppContext,
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        claim_limit: int = 200,
        max_attempts: int = 8,
    ) -> None:
        self.ctx = ctx
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.lease = lease
        self.claim_limit = claim_limit
        self.max_attempts = max_attempts

    # -- the pass -------------------------------------------------------------------------

    def run_once(self) -> PassReport:
        """Hand off what is due, send what is due, reconcile, then sync statuses."""
        report = PassReport()
        # Bounded: each round either settles messages or pushes their due time forward.
        for _ in range(1000):
            now = self.ctx.clock.now()
            with self.ctx.db.write() as s:
                claimed = queries.claim_due(s, self.owner, now, self.lease, self.claim_limit)
            if not claimed:
                break
            try:
                self._process(claimed, report)
            finally:
                with self.ctx.db.write() as s:
                    queries.release(s, [m.id for m in claimed], self.owner)
        self.sync_statuses(report)
        return report

    def run_forever(self, stop: threading.Event, idle: timedelta = timedelta(seconds=30)) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the agent alive; the next pass retries
                log.exception("dispatch pass failed")
            wait = self.next_wake() - self.ctx.clock.now()
            stop.wait(min(max(wait.total_seconds(), 0.2), idle.total_seconds()))

    def next_wake(self) -> datetime:
        """The earliest moment something will need the engine (now + 1 h if nothing does)."""
        now = self.ctx.clock.now()
        candidates = [now + timedelta(hours=1)]
        with self.ctx.db.read() as s:
            due = s.exec(
                select(Message.due_at)
                .where(Message.state == State.QUEUED.value, col(Message.attention).is_(None))
                .order_by(col(Message.due_at))
                .limit(1)
            ).first()
            sync = s.exec(
                select(Message.next_sync_at)
                .where(col(Message.next_sync_at).is_not(None))
                .order_by(col(Message.next_sync_at))
                .limit(1)
            ).first()
        candidates += [t for t in (due, sync) if t is not None]
        return min(candidates)

    # -- hand-off ---------------------------------------------------------------------------

    def _process(self, claimed: Sequence[Message], report: PassReport) -> None:
        ready: dict[int, list[tuple[Message, datetime | None]]] = defaultdict(list)
        claimed = self._drop_opted_out(claimed, report)
        for msg in claimed:
            try:
                if State(msg.state) in (State.HANDING_OFF, State.UNKNOWN):
                    self._reconcile(msg, report)
                    continue
                decision = self._decide(msg, report)
            except SmsdeskError as exc:  # e.g. the account's key is missing from the keyring
                self._blocked([msg], exc)
                continue
            if decision is not None:
                ready[msg.account_id].append((msg, decision[0]))
        for account_id, items in ready.items():
            batch = self.ctx.capabilities(self.ctx.account_by_id(account_id)).batch_size
            for start in range(0, len(items), max(batch, 1)):
                chunk = items[start : start + batch]
                try:
                    self._hand_off(account_id, chunk, report)
                except SmsdeskError as exc:
                    self._blocked([m for m, _ in chunk], exc)

    def _drop_opted_out(self, claimed: Sequence[Message], report: PassReport) -> list[Message]:
        """Checked again at hand-off: a recipient may have opted out since scheduling."""
        queued = [m for m in claimed if m.state == State.QUEUED.value]
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            opted = queries.opted_out(s, {m.recipient for m in queued})
            for msg in queued:
                entry = opted.get(msg.recipient)
                if entry is None:
                    continue
                reason = f"not sent: the recipient opted out ({entry.source})"
                if self._fail(s, msg.id, State.QUEUED, reason, now):
                    report.failed += 1
        return [m for m in claimed if m.recipient not in opted or m.state != State.QUEUED.value]

    def _fail(
        self, s: Session, msg_id: str, old: State, reason: str, now: datetime, **extra: Any
    ) -> bool:
        """Fail one message with its reason (compare-and-set, as every change)."""
        return queries.transition(
            s,
            msg_id,
            old,
            State.FAILED,
            now,
            kind="failed",
            detail=reason,
            owner=self.owner,
            last_error=reason,
            due_at=None,
            **extra,
        )

    def _blocked(self, msgs: Sequence[Message], exc: SmsdeskError) -> None:
        """The provider cannot even be used (no key, locked keyring, bad settings): leave the
        messages where they are, say why, and look again later without stalling the rest."""
        now = self.ctx.clock.now()
        reason = str(exc)
        with self.ctx.db.write() as s:
            for msg in msgs:
                if msg.last_error != reason:
                    queries.add_event(s, msg.id, now, "blocked", reason)
                # A lease nobody renews keeps every dispatcher away until it runs out.
                s.execute(
                    update(Message)
                    .where(col(Message.id) == msg.id)
                    .values(
                        last_error=reason,
                        lease_owner="blocked",
                        lease_expires_at=now + BLOCKED_RETRY,
                    )
                )

    def _decide(self, msg: Message, report: PassReport) -> tuple[datetime | None] | None:
        """Returns (send_at for the provider, None meaning now) when the message goes now."""
        now = self.ctx.clock.now()
        if now - msg.send_at > self.ctx.grace:
            # It came due while nothing ran: the user decides (send now, reschedule, cancel).
            with self.ctx.db.write() as s:
                note = "missed its send time while smsdesk was not running"
                s.execute(
                    update(Message)
                    .where(col(Message.id) == msg.id, col(Message.lease_owner) == self.owner)
                    .values(attention=note, updated_at=now)
                )
                queries.add_event(s, msg.id, now, "missed", note)
            report.missed += 1
            return None
        account = self.ctx.account_by_id(msg.account_id)
        plan = plan_handoff(msg.send_at, self.ctx.provider(account).capabilities, now)
        act_at = plan.act_at if plan.action is Action.HOLD_UNTIL else msg.send_at
        if plan.action is not Action.HAND_OFF_NOW and act_at > now:
            with self.ctx.db.write() as s:
                s.execute(
                    update(Message)
                    .where(col(Message.id) == msg.id, col(Message.lease_owner) == self.owner)
                    .values(due_at=act_at, handling=plan.action.value)
                )
            report.held += 1
            return None
        return (msg.send_at if plan.action is Action.HAND_OFF_NOW else None,)

    def _hand_off(
        self, account_id: int, items: list[tuple[Message, datetime | None]], report: PassReport
    ) -> None:
        account = self.ctx.account_by_id(account_id)
        provider = self.ctx.provider(account)
        now = self.ctx.clock.now()
        outgoing: list[Outgoing] = []
        attempts: dict[str, int] = {}
        ids: dict[str, str] = {}  # idempotency key -> message id
        # Commit handing_off and the key before the request: the heart of exactly-once.
        with self.ctx.db.write() as s:
            for msg, send_at in items:
                key = msg.idempotency_key or f"smsdesk-{uuid.uuid4().hex}"
                ok = queries.transition(
                    s,
                    msg.id,
                    State.QUEUED,
                    State.HANDING_OFF,
                    now,
                    kind="handing_off",
                    detail=f"handing to {account.name}"
                    + (" for sending now" if send_at is None else " to schedule"),
                    owner=self.owner,
                    idempotency_key=key,
                    attempts=msg.attempts + 1,
                )
                if ok:
                    outgoing.append(Outgoing(key, msg.recipient, msg.text, msg.sender, send_at))
                    attempts[key] = msg.attempts + 1
                    ids[key] = msg.id
        if not outgoing:
            return
        try:
            outcomes = provider.schedule(outgoing)
        except TransientError as exc:
            self._record_transient(ids, attempts, exc, report)
            return
        except PermanentError as exc:
            self._record_all(ids, State.FAILED, "failed", str(exc), report, last_error=str(exc))
            return
        except AmbiguousError as exc:
            self._record_unknown(ids, str(exc), report)
            return
        except Exception as exc:  # a bug or an unexpected library error: outcome unknown
            log.exception("hand-off raised")
            self._record_unknown(ids, f"unexpected error: {type(exc).__name__}", report)
            return
        self._record_outcomes(ids, outcomes, account.name, provider, report)

    def _record_outcomes(
        self,
        ids: dict[str, str],
        outcomes: Sequence[Receipt | Rejected],
        account_name: str,
        provider: Provider,
        report: PassReport,
    ) -> None:
        now = self.ctx.clock.now()
        seen: set[str] = set()
        with self.ctx.db.write() as s:
            for outcome in outcomes:
                msg_id = ids.get(outcome.key)
                if msg_id is None:
                    continue
                seen.add(outcome.key)
                if isinstance(outcome, Receipt):
                    queries.transition(
                        s,
                        msg_id,
                        State.HANDING_OFF,
                        outcome.state,
                        now,
                        kind="handed_off",
                        detail=f"{account_name} accepted it as {outcome.ref}",
                        owner=self.owner,
                        **_held_by_provider(provider, outcome, now),
                    )
                    report.handed_off += 1
                else:
                    if outcome.opted_out:
                        # Never message this number again (also checked when scheduling).
                        recipient = s.get(Message, msg_id)
                        if recipient is not None:
                            queries.record_opt_out(
                                s, recipient.recipient, now, f"{account_name}: {outcome.reason}"
                            )
                    self._fail(s, msg_id, State.HANDING_OFF, outcome.reason, now)
                    report.failed += 1
        missing = {k: v for k, v in ids.items() if k not in seen}
        if missing:
            self._record_unknown(missing, "the provider's answer did not mention it", report)

    def _record_transient(
        self,
        ids: dict[str, str],
        attempts: dict[str, int],
        exc: TransientError,
        report: PassReport,
    ) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for key, msg_id in ids.items():
                tries = attempts.get(key, 1)
                if tries >= self.max_attempts:
                    reason = f"gave up after {tries} attempts: {exc}"
                    self._fail(s, msg_id, State.HANDING_OFF, reason, now)
                    report.failed += 1
                    continue
                delay = retry_delay(tries, exc.retry_after)
                queries.transition(
                    s,
                    msg_id,
                    State.HANDING_OFF,
                    State.QUEUED,
                    now,
                    kind="retry",
                    detail=f"{exc}; trying again in {int(delay.total_seconds())} s",
                    owner=self.owner,
                    last_error=str(exc),
                    due_at=now + delay,
                )
                report.retrying += 1

    def _record_all(
        self,
        ids: dict[str, str],
        state: State,
        kind: str,
        detail: str,
        report: PassReport,
        **changes: object,
    ) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for msg_id in ids.values():
                queries.transition(
                    s,
                    msg_id,
                    State.HANDING_OFF,
                    state,
                    now,
                    kind=kind,
                    detail=detail,
                    owner=self.owner,
                    **changes,
                )
        report.failed += len(ids)

    def _record_unknown(self, ids: dict[str, str], why: str, report: PassReport) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for msg_id in ids.values():
                queries.transition(
                    s,
                    msg_id,
                    State.HANDING_OFF,
                    State.UNKNOWN,
                    now,
                    kind="unknown",
                    detail=f"outcome unclear ({why}); will ask the provider before doing anything",
                    owner=self.owner,
                    last_error=why,
                    next_sync_at=now + RECONCILE_INTERVAL,
                )
        report.unknown += len(ids)

    # -- reconciliation -------------------------------------------------------------------

    def _reconcile(self, msg: Message, report: PassReport) -> None:
        now = self.ctx.clock.now()
        # Opened first: if the provider cannot be used, nothing changes yet.
        account = self.ctx.account_by_id(msg.account_id)
        provider = self.ctx.provider(account)
        if State(msg.state) is State.HANDING_OFF:
            with self.ctx.db.write() as s:
                queries.transition(
                    s,
                    msg.id,
                    State.HANDING_OFF,
                    State.UNKNOWN,
                    now,
                    kind="unknown",
                    detail="a hand-off was interrupted; asking the provider",
                    owner=self.owner,
                    next_sync_at=now,
                )
        if msg.idempotency_key is None or not provider.capabilities.lookup_by_key:
            with self.ctx.db.write() as s:
                s.execute(
                    update(Message)
                    .where(col(Message.id) == msg.id)
                    .values(
                        attention=f"{account.name} cannot be asked whether it received this "
                        "message; check the provider's console, then send again or cancel",
                        next_sync_at=None,
                    )
                )
            return
        try:
            receipt = provider.lookup(msg.idempotency_key)
        except ProviderError as exc:
            with self.ctx.db.write() as s:
                s.execute(
                    update(Message)
                    .where(col(Message.id) == msg.id)
                    .values(last_error=str(exc), next_sync_at=now + RECONCILE_INTERVAL)
                )
            return
        with self.ctx.db.write() as s:
            if receipt is not None:
                if receipt.opted_out:
                    queries.record_opt_out(
                        s, msg.recipient, now, f"{account.name}: {receipt.detail}"
                    )
                detail = f"{account.name} has it as {receipt.ref}"
                queries.transition(
                    s,
                    msg.id,
                    State.UNKNOWN,
                    receipt.state,
                    now,
                    kind="reconciled",
                    detail=f"{detail}: {receipt.detail}" if receipt.detail else detail,
                    owner=self.owner,
                    **_held_by_provider(provider, receipt, now),
                )
            elif msg.attempts >= self.max_attempts:
                # Every hand-off so far went unanswered; stop rather than try for ever.
                reason = (
                    f"gave up after {msg.attempts} attempts: {account.name} never confirmed "
                    f"receiving it ({msg.last_error or 'no answer'})"
                )
                self._fail(s, msg.id, State.UNKNOWN, reason, now, next_sync_at=None)
            else:
                # The provider says it never got it: handing it off again cannot double it.
                queries.transition(
                    s,
                    msg.id,
                    State.UNKNOWN,
                    State.QUEUED,
                    now,
                    kind="reconciled",
                    detail=f"{account.name} never received it; it will be handed off again",
                    owner=self.owner,
                    due_at=now,  # the check itself waited RECONCILE_INTERVAL; the cap bounds it
                    next_sync_at=None,
                )
        report.reconciled += 1

    # -- status sync ----------------------------------------------------------------------

    def sync_statuses(self, report: PassReport, limit: int = 500) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            due = list(
                s.exec(
                    select(Message)
                    .where(
                        col(Message.state).in_([st.value for st in AT_PROVIDER]),
                        col(Message.provider_ref).is_not(None),
                        col(Message.next_sync_at) <= now,
                    )
                    .order_by(col(Message.next_sync_at))
                    .limit(limit)
                ).all()
            )
        by_account: dict[int, list[Message]] = defaultdict(list)
        for msg in due:
            by_account[msg.account_id].append(msg)
        for account_id, msgs in by_account.items():
            account = self.ctx.account_by_id(account_id)
            try:
                reports = self.ctx.provider(account).fetch_status(
                    [m.provider_ref or "" for m in msgs]
                )
            except SmsdeskError as exc:
                log.warning("status sync with %s failed: %s", account.name, exc)
                continue
            by_ref = {r.ref: r for r in reports}
            with self.ctx.db.write() as s:
                for msg in msgs:
                    old = State(msg.state)
                    status = by_ref.get(msg.provider_ref or "")
                    new = status.state if status else old
                    next_sync = None if new in FINAL else self._next_sync(msg, now)
                    if new is not old and can_transition(old, new):
                        detail = f"{account.name} reports {new.value}"
                        if status and status.detail:
                            detail += f": {status.detail}"
                        changes: dict[str, Any] = {"next_sync_at": next_sync}
                        if new is State.FAILED and status:
                            changes["last_error"] = status.detail or "failed at provider"
                        if queries.transition(
                            s, msg.id, old, new, now, kind="status", detail=detail, **changes
                        ):
                            report.status_changes += 1
                    else:
                        s.execute(
                            update(Message)
                            .where(col(Message.id) == msg.id, col(Message.state) == old.value)
                            .values(next_sync_at=next_sync)
                        )

    @staticmethod
    def _next_sync(msg: Message, now: datetime) -> datetime:
        # Nothing changes at the provider before the send time; poll after it.
        return max(msg.send_at, now + SYNC_INTERVAL)
