"""The outbox loop: claim due work, commit ``handing_off``, call the provider, record the result.

Exactly-once rests on three rules: the idempotency key and ``handing_off`` are committed before
any request; a request whose outcome is unclear makes the message ``unknown``; ``unknown``
messages are settled by asking the provider for that key, never by sending again blindly.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from secrets import token_hex
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from smsdesk.core.errors import NotFound, SmsdeskError
from smsdesk.core.lifecycle import AT_PROVIDER, FINAL, State, can_transition
from smsdesk.core.planner import Action, Capabilities, plan_handoff
from smsdesk.engine.context import AppContext
from smsdesk.engine.pacing import Pacer, TokenBucket
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
from smsdesk.providers.registry import MODULES, kind_info
from smsdesk.store import queries
from smsdesk.store.models import Message, ProviderAccount
from smsdesk.store.queries import Claimed, Move

log = logging.getLogger(__name__)

SYNC_INTERVAL = timedelta(minutes=1)
RECONCILE_INTERVAL = timedelta(seconds=30)
RETRY_BASE = timedelta(seconds=15)
RETRY_CAP = timedelta(minutes=30)
BLOCKED_RETRY = timedelta(minutes=5)
MIN_CLAIM = 200
# Paced hand-offs (one message per request under a rate limit): enough requests in flight to
# fill the limit when an answer takes ASSUMED_LATENCY, never more than MAX_WORKERS threads
# (each holds a pooled database connection; SQLAlchemy's pool has 5 + 10 overflow).
MAX_WORKERS = 8
ASSUMED_LATENCY = 0.5  # seconds

Accounts = dict[int, ProviderAccount]
Ready = list[tuple[Claimed, datetime | None]]


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

    def add(self, other: PassReport) -> None:
        for name, value in other.as_dict().items():
            setattr(self, name, getattr(self, name) + value)


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
        claim_limit: int | None = None,
        max_attempts: int = 8,
        pacer: Pacer | None = None,
    ) -> None:
        self.ctx = ctx
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self.lease = lease
        # None: at least MIN_CLAIM and at least the largest batch a provider takes, so that a
        # claim can fill a whole bulk request (Infobip takes 1,000 per request).
        self.claim_limit = claim_limit
        self.max_attempts = max_attempts
        # Kept across passes: a rate limit is per account, not per pass.
        self.pacer = pacer or Pacer()

    # -- the pass -------------------------------------------------------------------------

    def run_once(self) -> PassReport:
        """Hand off what is due, send what is due, reconcile, then sync statuses."""
        report = PassReport()
        limit = self.claim_size()
        # Bounded: each round either settles messages or pushes their due time forward.
        for _ in range(1000):
            if not self.claim_round(limit, report):
                break
        self.sync_statuses(report)
        return report

    def claim_round(self, limit: int, report: PassReport) -> bool:
        """Claim up to ``limit`` messages that need the engine now, act on them, release
        them; False when nothing was due."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            claimed = queries.claim_due(s, self.owner, now, self.lease, limit)
        if not claimed:
            return False
        try:
            self._process(claimed, report)
        finally:
            with self.ctx.db.write() as s:
                queries.release(s, [m.id for m in claimed], self.owner)
        return True

    def claim_size(self) -> int:
        if self.claim_limit is not None:
            return self.claim_limit
        # What each kind takes, without opening every account's provider to ask.
        kinds = {a.kind for a in self.ctx.accounts_by_id().values()} & set(MODULES)
        return max([MIN_CLAIM, *(kind_info(k).capabilities.batch_size for k in kinds)])

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

    def _process(self, claimed: Sequence[Claimed], report: PassReport) -> None:
        ready: dict[int, Ready] = defaultdict(list)
        claimed = self._drop_opted_out(claimed, report)
        # Looked up once for the whole claim, not once per message.
        accounts = self.ctx.accounts_by_id()
        grace = self.ctx.grace
        known: dict[int, Capabilities] = {}
        for msg in claimed:
            try:
                if State(msg.state) in (State.HANDING_OFF, State.UNKNOWN):
                    self._reconcile(msg, report)
                    continue
                if msg.account_id not in known:  # opened here: a failure blocks the message
                    account = _account(accounts, msg.account_id)
                    known[msg.account_id] = self.ctx.provider(account).capabilities
                decision = self._decide(msg, known[msg.account_id], grace, report)
            except SmsdeskError as exc:  # e.g. the account's key is missing from the keyring
                self._blocked([msg], exc)
                continue
            if decision is not None:
                ready[msg.account_id].append((msg, decision[0]))
        for account_id, items in ready.items():
            account = accounts[account_id]
            caps = known[account_id]
            size = max(caps.batch_size, 1)
            chunks = [items[start : start + size] for start in range(0, len(items), size)]
            rate = caps.rate_limit_per_second
            if size == 1 and rate:
                # What the pace gets through in half the lease; the rest is released at the
                # end of this round and claimed again, so no lease runs out mid-way.
                budget = max(1, int(rate * self.lease.total_seconds() / 2))
                self._paced(account, chunks[:budget], rate, report)
            else:
                for chunk in chunks:
                    self._one_chunk(account, chunk, report)

    def _one_chunk(
        self,
        account: ProviderAccount,
        chunk: Ready,
        report: PassReport,
        bucket: TokenBucket | None = None,
    ) -> None:
        if bucket is not None:
            bucket.acquire()
        try:
            self._hand_off(account, chunk, report)
        except SmsdeskError as exc:
            self._blocked([m for m, _ in chunk], exc)

    def _paced(
        self, account: ProviderAccount, chunks: list[Ready], rate: float, report: PassReport
    ) -> None:
        """One message per request: keep several requests in flight (one after another
        reaches only 1 / round trip), each started at the pace of the account's rate limit.
        Every chunk still goes through ``_hand_off``, so exactly-once is untouched."""
        assert account.id is not None
        bucket = self.pacer.bucket(account.id, rate)
        workers = min(MAX_WORKERS, math.ceil(rate * ASSUMED_LATENCY), len(chunks))
        if workers <= 1:
            for chunk in chunks:
                self._one_chunk(account, chunk, report, bucket)
            return
        try:  # opened once here rather than by the first threads at the same time
            self.ctx.provider(account)
        except SmsdeskError as exc:
            self._blocked([m for chunk in chunks for m, _ in chunk], exc)
            return
        parts = [PassReport() for _ in chunks]  # one each: no report shared between threads
        with ThreadPoolExecutor(workers, thread_name_prefix="smsdesk-handoff") as pool:
            futures = [
                pool.submit(self._one_chunk, account, chunk, part, bucket)
                for chunk, part in zip(chunks, parts, strict=True)
            ]
        for part in parts:
            report.add(part)
        for future in futures:
            future.result()  # an unexpected error surfaces here, as it would unpaced

    def _drop_opted_out(self, claimed: Sequence[Claimed], report: PassReport) -> list[Claimed]:
        """Checked again at hand-off: a recipient may have opted out since scheduling."""
        queued = [m for m in claimed if m.state == State.QUEUED.value]
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            opted = queries.opted_out(s, {m.recipient for m in queued})
        if not opted:  # the usual case: no write transaction at all
            return list(claimed)
        with self.ctx.db.write() as s:
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

    def _blocked(self, msgs: Sequence[Claimed], exc: SmsdeskError) -> None:
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

    def _decide(
        self, msg: Claimed, caps: Capabilities, grace: timedelta, report: PassReport
    ) -> tuple[datetime | None] | None:
        """Returns (send_at for the provider, None meaning now) when the message goes now."""
        now = self.ctx.clock.now()
        if now - msg.send_at > grace:
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
        plan = plan_handoff(msg.send_at, caps, now)
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

    def _hand_off(self, account: ProviderAccount, items: Ready, report: PassReport) -> None:
        provider = self.ctx.provider(account)
        now = self.ctx.clock.now()
        keys = {msg.id: msg.idempotency_key or f"smsdesk-{token_hex(16)}" for msg, _ in items}
        moves = [
            Move(
                msg.id,
                State.HANDING_OFF,
                "handing_off",
                f"handing to {account.name}"
                + (" for sending now" if send_at is None else " to schedule"),
                {"idempotency_key": keys[msg.id], "attempts": msg.attempts + 1},
            )
            for msg, send_at in items
        ]
        # Commit handing_off and the key before the request: the heart of exactly-once.
        with self.ctx.db.write() as s:
            moved = queries.transition_many(s, moves, State.QUEUED, now, owner=self.owner)
        outgoing: list[Outgoing] = []
        attempts: dict[str, int] = {}
        ids: dict[str, str] = {}  # idempotency key -> message id
        for msg, send_at in items:
            if msg.id in moved:  # the others moved on meanwhile (cancelled...): not sent
                key = keys[msg.id]
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
        recipients = {o.key: o.to for o in outgoing}
        self._record_outcomes(ids, recipients, outcomes, account.name, provider, report)

    def _failure(self, msg_id: str, reason: str, **extra: Any) -> Move:
        """The move that fails one message with its reason (as ``_fail`` does)."""
        return Move(
            msg_id, State.FAILED, "failed", reason, {"last_error": reason, "due_at": None, **extra}
        )

    def _record_outcomes(
        self,
        ids: dict[str, str],
        recipients: dict[str, str],
        outcomes: Sequence[Receipt | Rejected],
        account_name: str,
        provider: Provider,
        report: PassReport,
    ) -> None:
        now = self.ctx.clock.now()
        seen: set[str] = set()
        accepted: list[Move] = []
        refused: list[Move] = []
        opted_out: dict[str, str] = {}  # number -> reason (the first; one row per number)
        for outcome in outcomes:
            msg_id = ids.get(outcome.key)
            if msg_id is None or outcome.key in seen:
                continue
            seen.add(outcome.key)
            if isinstance(outcome, Receipt):
                accepted.append(
                    Move(
                        msg_id,
                        outcome.state,
                        "handed_off",
                        f"{account_name} accepted it as {outcome.ref}",
                        _held_by_provider(provider, outcome, now),
                    )
                )
            else:
                if outcome.opted_out:
                    number = recipients[outcome.key]
                    opted_out.setdefault(number, f"{account_name}: {outcome.reason}")
                refused.append(self._failure(msg_id, outcome.reason))
        with self.ctx.db.write() as s:
            for number, source in opted_out.items():
                # Never message this number again (also checked when scheduling).
                queries.record_opt_out(s, number, now, source)
            # Settled: the lease goes with this change (the round's release then has nothing
            # left to rewrite for these rows).
            moved = queries.transition_many(
                s,
                accepted + refused,
                State.HANDING_OFF,
                now,
                owner=self.owner,
                lease_owner=None,
                lease_expires_at=None,
            )
        report.handed_off += sum(1 for mv in accepted if mv.message_id in moved)
        report.failed += sum(1 for mv in refused if mv.message_id in moved)
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
        retries: list[Move] = []
        failures: list[Move] = []
        for key, msg_id in ids.items():
            tries = attempts.get(key, 1)
            if tries >= self.max_attempts:
                failures.append(self._failure(msg_id, f"gave up after {tries} attempts: {exc}"))
                continue
            delay = retry_delay(tries, exc.retry_after)
            retries.append(
                Move(
                    msg_id,
                    State.QUEUED,
                    "retry",
                    f"{exc}; trying again in {int(delay.total_seconds())} s",
                    {"last_error": str(exc), "due_at": now + delay},
                )
            )
        with self.ctx.db.write() as s:
            moved = queries.transition_many(
                s, failures + retries, State.HANDING_OFF, now, owner=self.owner
            )
        report.failed += sum(1 for mv in failures if mv.message_id in moved)
        report.retrying += sum(1 for mv in retries if mv.message_id in moved)

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
        moves = [Move(msg_id, state, kind, detail) for msg_id in ids.values()]
        with self.ctx.db.write() as s:
            queries.transition_many(s, moves, State.HANDING_OFF, now, owner=self.owner, **changes)
        report.failed += len(ids)

    def _record_unknown(self, ids: dict[str, str], why: str, report: PassReport) -> None:
        now = self.ctx.clock.now()
        detail = f"outcome unclear ({why}); will ask the provider before doing anything"
        moves = [Move(msg_id, State.UNKNOWN, "unknown", detail) for msg_id in ids.values()]
        with self.ctx.db.write() as s:
            queries.transition_many(
                s,
                moves,
                State.HANDING_OFF,
                now,
                owner=self.owner,
                last_error=why,
                next_sync_at=now + RECONCILE_INTERVAL,
            )
        report.unknown += len(ids)

    # -- reconciliation -------------------------------------------------------------------

    def _reconcile(self, msg: Claimed, report: PassReport) -> None:
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


def _account(accounts: Accounts, account_id: int) -> ProviderAccount:
    found = accounts.get(account_id)
    if found is None:
        raise NotFound(f"Provider account {account_id} no longer exists.")
    return found
