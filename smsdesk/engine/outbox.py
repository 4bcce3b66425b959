"""The outbox loop: claim due work, commit ``handing_off``, call the provider, record the result.

Exactly-once rests on these rules: the idempotency key, the provider-side group and
``handing_off`` are committed before any request; no request outlives the lease of the
messages it carries (``ClaimLease.ensure`` before each one), and every outcome write is fenced
by lease owner and generation; a request whose outcome is unclear makes the message
``unknown``; ``unknown`` messages are settled by asking the provider, and only a definitive
"never received" hands them off again; anything less is left to the user.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from secrets import token_hex
from typing import Any

from sqlalchemy import and_, case, or_, update
from sqlmodel import Session, col, select

from smsdesk.core.errors import NotFound, SmsdeskError
from smsdesk.core.lifecycle import AT_PROVIDER, FINAL, INTENTS, State, can_transition
from smsdesk.core.planner import Action, Capabilities, plan_handoff
from smsdesk.engine.context import AppContext
from smsdesk.engine.lease import BLOCKED, ClaimLease, request_budget
from smsdesk.engine.pacing import Pacer, TokenBucket
from smsdesk.engine.provider_changes import reconcile_intents
from smsdesk.engine.reconcile import (
    RECONCILE_INTERVAL as RECONCILE_INTERVAL,  # the engine's constant, where tests look
)
from smsdesk.engine.reconcile import (
    Reconciling,
    held_by_provider,
    rows_changed,
)
from smsdesk.engine.replies import ReplyPuller
from smsdesk.engine.series import fill_due, next_fill
from smsdesk.engine.windows import delivery_windows
from smsdesk.providers.base import (
    AmbiguousError,
    AuthenticationError,
    Outgoing,
    PermanentError,
    Provider,
    Receipt,
    Rejected,
    TransientError,
)
from smsdesk.providers.registry import MODULES, kind_info
from smsdesk.store import queries
from smsdesk.store.integrity import DatabaseDamaged
from smsdesk.store.models import Message, ProviderAccount
from smsdesk.store.queries import Claimed, Fence, Move

log = logging.getLogger(__name__)

SYNC_INTERVAL = timedelta(minutes=1)
# A provider asked one message per request under a rate limit (Telnyx) is asked in slices of
# about this long; between slices, a hand-off that came due goes first (status can wait).
STATUS_SLICE = timedelta(seconds=0.25)
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
    # Failed in this pass: refused or failed at hand-off, or reported failed by a status check.
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


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential back-off, capped, never sooner than the provider asked."""
    delay = min(RETRY_BASE * (1 << max(attempts - 1, 0)), RETRY_CAP)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


class Dispatcher(Reconciling):
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

    def run_once(self, stop: threading.Event | None = None) -> PassReport:
        """Hand off what is due, send what is due, reconcile, then sync statuses. ``stop``
        is looked at between requests: once set, the pass gives its claim back and ends,
        leaving each message queued, or handing off / unknown for the next start to ask
        the provider about."""
        report = PassReport()
        # Changes at a provider left unfinished (a crash, a failed write) are settled first.
        reconcile_intents(self.ctx, self.owner)
        # Recurring series: their next occurrences become ordinary queued messages.
        fill_due(self.ctx)
        limit = self.claim_size()
        # Bounded: each round either settles messages or pushes their due time forward.
        for _ in range(1000):
            if _stopped(stop) or not self.claim_round(limit, report, stop):
                break
        if not _stopped(stop):
            ReplyPuller(self.ctx, self.owner).pull_due()  # replies, for accounts that are due
            self.sync_statuses(report, stop=stop)
        return report

    def claim_round(
        self, limit: int, report: PassReport, stop: threading.Event | None = None
    ) -> bool:
        """Claim up to ``limit`` messages that need the engine now, act on them, release
        them; False when nothing was due."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            claimed = queries.claim_due(s, self.owner, now, self.lease, limit)
        if not claimed:
            return False
        lease = ClaimLease(
            self.ctx.db, self.ctx.clock, self.owner, claimed, self.lease, now + self.lease
        )
        try:
            self._process(claimed, report, lease, stop)
        finally:
            lease.release()
        return True

    def claim_size(self) -> int:
        if self.claim_limit is not None:
            return self.claim_limit
        # What each kind takes, without opening every account's provider to ask.
        kinds = {a.kind for a in self.ctx.accounts_by_id().values()} & set(MODULES)
        return max([MIN_CLAIM, *(kind_info(k).capabilities.batch_size for k in kinds)])

    def run_forever(
        self,
        stop: threading.Event,
        idle: timedelta = timedelta(seconds=30),
        wait: Callable[[float], object] | None = None,
    ) -> None:
        """Passes until ``stop`` is set, each at the next moment something needs the engine.
        It also looks every ``idle`` (other processes may add work), but with a read only:
        a pass, which takes the write lock, runs only when something is due. ``wait`` waits
        that many seconds or until stopped (injected by tests that drive time)."""
        pause = wait or stop.wait
        due = True  # the first pass always runs: it picks up what a previous run left
        while not stop.is_set():
            if due:
                try:
                    self.run_once(stop)
                except DatabaseDamaged:
                    raise  # nothing can be written any more: stop, and say so once
                except Exception:  # keep the agent alive; the next pass retries
                    log.exception("dispatch pass failed")
            try:
                ahead = self.next_wake() - self.ctx.clock.now()
            except Exception:  # the database is unreachable for now: look again later
                log.exception("dispatch could not read its next wake")
                ahead = idle
            pause(min(max(ahead.total_seconds(), 0.2), idle.total_seconds()))
            due = not stop.is_set() and self._due()

    def _due(self) -> bool:
        try:
            return self.next_wake() <= self.ctx.clock.now()
        except Exception:
            log.exception("dispatch could not read its next wake")
            return True  # let the pass find out (and report) what is wrong

    def next_wake(self) -> datetime:
        """The earliest moment something will need the engine (now + 1 h if nothing does).
        A message under someone else's lease (another desk, or 'blocked' by a provider that
        cannot be used) counts when that lease runs out, not when it fell due."""
        now = self.ctx.clock.now()
        candidates = [now + timedelta(hours=1)]
        m = Message
        expiry = col(m.lease_expires_at)
        # A lease still running past the due time holds the message until it ends.
        due_or_lease = case(
            (and_(expiry.is_not(None), expiry > col(m.due_at)), expiry), else_=col(m.due_at)
        )
        sync_or_lease = case(
            (and_(expiry.is_not(None), expiry > col(m.next_sync_at)), expiry),
            else_=col(m.next_sync_at),
        )
        with self.ctx.db.read() as s:
            free = or_(expiry.is_(None), expiry <= col(m.due_at))
            due = s.exec(
                select(m.due_at)
                .where(m.state == State.QUEUED.value, col(m.attention).is_(None), free)
                .order_by(col(m.due_at))
                .limit(1)
            ).first()
            leased = s.exec(
                select(due_or_lease)
                .where(
                    m.state == State.QUEUED.value,
                    col(m.attention).is_(None),
                    expiry > col(m.due_at),
                )
                .order_by(due_or_lease)
                .limit(1)
            ).first()
            sync = s.exec(
                select(sync_or_lease)
                .where(col(m.next_sync_at).is_not(None))
                .order_by(sync_or_lease)
                .limit(1)
            ).first()
            # An interrupted hand-off, or a change at a provider left unfinished, is taken
            # over when its lease runs out (at once if it has none).
            unfinished = or_(
                col(m.state) == State.HANDING_OFF.value,
                and_(
                    col(m.state).in_([st.value for st in INTENTS]),
                    col(m.attention).is_(None),
                ),
            )
            interrupted = s.exec(
                select(m.lease_expires_at)
                .where(unfinished)
                .order_by(expiry.is_not(None), expiry)
                .limit(1)
            ).first()
            if interrupted is None and s.exec(select(m.id).where(unfinished).limit(1)).first():
                interrupted = now
        fill = next_fill(self.ctx)  # a series whose stored occurrences run short
        pull = ReplyPuller(self.ctx, self.owner).next_pull()  # replies to pull
        candidates += [t for t in (due, leased, sync, interrupted, fill, pull) if t is not None]
        return min(candidates)

    # -- hand-off ---------------------------------------------------------------------------

    def _process(
        self,
        claimed: Sequence[Claimed],
        report: PassReport,
        lease: ClaimLease,
        stop: threading.Event | None,
    ) -> None:
        ready: dict[int, Ready] = defaultdict(list)
        claimed = self._drop_opted_out(claimed, report)
        # Looked up once for the whole claim, not once per message.
        accounts = self.ctx.accounts_by_id()
        grace = self.ctx.grace
        known: dict[int, Capabilities] = {}
        asking: dict[int, list[Claimed]] = defaultdict(list)
        for msg in claimed:
            if State(msg.state) in (State.HANDING_OFF, State.UNKNOWN):
                asking[msg.account_id].append(msg)
                continue
            try:
                if msg.account_id not in known:  # opened here: a failure blocks the message
                    account = _account(accounts, msg.account_id)
                    known[msg.account_id] = self.ctx.provider(account).capabilities
                decision = self._decide(msg, known[msg.account_id], grace, report)
            except SmsdeskError as exc:  # e.g. the account's key is missing from the keyring
                self._blocked([msg], exc)
                continue
            if decision is not None:
                ready[msg.account_id].append((msg, decision[0]))
        for account_id, msgs in asking.items():
            if _stopped(stop):
                return
            self._reconcile(account_id, msgs, report, lease)
        for account_id, items in ready.items():
            account = accounts[account_id]
            caps = known[account_id]
            size = max(caps.batch_size, 1)
            # One send time per chunk: a bulk provider makes one request of each.
            items.sort(key=lambda item: (item[1] is not None, item[1] or datetime.min))
            chunks: list[Ready] = []
            for _at, group in groupby(items, key=lambda item: item[1]):
                same = list(group)
                chunks += [same[start : start + size] for start in range(0, len(same), size)]
            rate = caps.rate_limit_per_second
            run = _Run(account, lease, report, stop)
            if size == 1 and rate:
                # What the pace gets through in half the lease; the rest is released at the
                # end of this round and claimed again.
                budget = max(1, int(rate * self.lease.total_seconds() / 2))
                self._paced(run, chunks[:budget], rate)
            else:
                for chunk in chunks:
                    self._one_chunk(run, chunk)

    def _one_chunk(self, run: _Run, chunk: Ready, bucket: TokenBucket | None = None) -> None:
        """One request's worth: hand it off if the lease allows, the account is not backing
        off and no stop was asked for; otherwise leave it queued (released with the claim)."""
        if _stopped(run.stop):
            return
        if run.backing_off is not None:
            self._defer(run, chunk)
            return
        if bucket is not None:
            bucket.acquire()
        try:
            needed = request_budget(run.account, creates=True)
            held = set(run.lease.ensure(needed))
            # Taken over meanwhile (we were too slow): not ours to send any more.
            chunk = [item for item in chunk if item[0].id in held]
            if chunk and not _stopped(run.stop):
                busy = self._hand_off(run.account, chunk, run.report, run.lease.fence)
                if busy is not None:
                    run.back_off(busy)
        except SmsdeskError as exc:
            self._blocked([m for m, _ in chunk], exc)

    def _defer(self, run: _Run, chunk: Ready) -> None:
        """The provider asked us to wait: the rest of its round waits too, without a
        request each (the messages stay queued; this is no attempt)."""
        busy = run.backing_off
        assert busy is not None
        now = self.ctx.clock.now()
        until = now + retry_delay(1, busy.retry_after)
        with self.ctx.db.write() as s:
            for msg, _ in chunk:
                s.execute(
                    update(Message)
                    .where(*self._fenced(msg), col(Message.state) == State.QUEUED.value)
                    .values(due_at=until, last_error=str(busy), updated_at=now)
                )
        run.report.retrying += len(chunk)

    def _paced(self, run: _Run, chunks: list[Ready], rate: float) -> None:
        """One message per request: keep several requests in flight (one after another
        reaches only 1 / round trip), each started at the pace of the account's rate limit.
        Every chunk still goes through ``_hand_off``, so exactly-once is untouched."""
        account = run.account
        assert account.id is not None
        bucket = self.pacer.bucket(account.id, rate)
        workers = min(MAX_WORKERS, math.ceil(rate * ASSUMED_LATENCY), len(chunks))
        if workers <= 1:
            for chunk in chunks:
                self._one_chunk(run, chunk, bucket)
            return
        try:  # opened once here rather than by the first threads at the same time
            self.ctx.provider(account)
        except SmsdeskError as exc:
            self._blocked([m for chunk in chunks for m, _ in chunk], exc)
            return
        parts = [run.part() for _ in chunks]  # one report each: none shared between threads
        with ThreadPoolExecutor(workers, thread_name_prefix="smsdesk-handoff") as pool:
            futures = [
                pool.submit(self._one_chunk, part, chunk, bucket)
                for chunk, part in zip(chunks, parts, strict=True)
            ]
        for part in parts:
            run.report.add(part.report)
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
                if self._fail(s, msg, State.QUEUED, reason, now):
                    report.failed += 1
        return [m for m in claimed if m.recipient not in opted or m.state != State.QUEUED.value]

    def _fenced(self, msg: Claimed) -> list[Any]:
        """The conditions of a write that only the holder of ``msg``'s claim may make."""
        return [
            col(Message.id) == msg.id,
            col(Message.lease_owner) == self.owner,
            col(Message.lease_generation) == msg.lease_generation,
        ]

    def _fail(
        self, s: Session, msg: Claimed, old: State, reason: str, now: datetime, **extra: Any
    ) -> bool:
        """Fail one message with its reason (compare-and-set and fenced, as every change)."""
        return queries.transition(
            s,
            msg.id,
            old,
            State.FAILED,
            now,
            kind="failed",
            detail=reason,
            owner=self.owner,
            generation=msg.lease_generation,
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
                # A lease nobody renews keeps every dispatcher away until it runs out
                # (next_wake counts it then, not at the message's due time).
                result = s.execute(
                    update(Message)
                    .where(*self._fenced(msg))
                    .values(
                        last_error=reason,
                        lease_owner=BLOCKED,
                        lease_expires_at=now + BLOCKED_RETRY,
                    )
                )
                if rows_changed(result) and msg.last_error != reason:
                    queries.add_event(s, msg.id, now, "blocked", reason)

    def _decide(
        self, msg: Claimed, caps: Capabilities, grace: timedelta, report: PassReport
    ) -> tuple[datetime | None] | None:
        """Returns (send_at for the provider, None meaning now) when the message goes now."""
        now = self.ctx.clock.now()
        if now - msg.send_at > grace:
            # It came due while nothing ran: the user decides (send now, reschedule, cancel).
            with self.ctx.db.write() as s:
                note = "missed its send time while smsdesk was not running"
                result = s.execute(
                    update(Message).where(*self._fenced(msg)).values(attention=note, updated_at=now)
                )
                if rows_changed(result):
                    queries.add_event(s, msg.id, now, "missed", note)
            report.missed += 1
            return None
        plan = plan_handoff(msg.send_at, caps, now)
        act_at = plan.act_at if plan.action is Action.HOLD_UNTIL else msg.send_at
        if plan.action is not Action.HAND_OFF_NOW and act_at > now:
            with self.ctx.db.write() as s:
                s.execute(
                    update(Message)
                    .where(*self._fenced(msg))
                    .values(due_at=act_at, handling=plan.action.value)
                )
            report.held += 1
            return None
        return (msg.send_at if plan.action is Action.HAND_OFF_NOW else None,)

    def _hand_off(
        self, account: ProviderAccount, items: Ready, report: PassReport, fence: Fence
    ) -> TransientError | None:
        """One request: commit the intent, ask, record. Returns the provider's "busy" answer
        (429/503) so that the rest of the account's round waits as asked."""
        provider = self.ctx.provider(account)
        now = self.ctx.clock.now()
        keys = {msg.id: msg.idempotency_key or f"smsdesk-{token_hex(16)}" for msg, _ in items}
        # The provider-side group (an Infobip bulkId) is chosen here and stored with the key,
        # so that a definitive lookup can ask for it whatever happens to this process.
        # A provider that can hold a message to hours of delivery gets the recipient's
        # allowed ones (quiet hours), so it keeps the message out of their night even when
        # it is released late (paused, moved).
        windows = delivery_windows(self.ctx, items) if provider.capabilities.delivery_window else {}
        planned = provider.assign_groups(
            [
                Outgoing(
                    keys[msg.id],
                    msg.recipient,
                    msg.text,
                    msg.sender,
                    send_at,
                    window=windows.get(msg.id),
                )
                for msg, send_at in items
            ]
        )
        by_key = {o.key: o for o in planned}
        moves = [
            Move(
                msg.id,
                State.HANDING_OFF,
                "handing_off",
                f"handing to {account.name}"
                + (" for sending now" if send_at is None else " to schedule"),
                {
                    "idempotency_key": keys[msg.id],
                    "attempts": msg.attempts + 1,
                    "provider_group": by_key[keys[msg.id]].group,
                },
            )
            for msg, send_at in items
        ]
        # Commit handing_off, the key and the group before the request: the heart of
        # exactly-once (fenced: a claim that was taken over sends nothing).
        with self.ctx.db.write() as s:
            moved = queries.transition_many(
                s, moves, State.QUEUED, now, owner=self.owner, fence=fence
            )
        outgoing: list[Outgoing] = []
        attempts: dict[str, int] = {}
        ids: dict[str, str] = {}  # idempotency key -> message id
        for msg, _send_at in items:
            if msg.id in moved:  # the others moved on meanwhile (cancelled...): not sent
                key = keys[msg.id]
                outgoing.append(by_key[key])
                attempts[key] = msg.attempts + 1
                ids[key] = msg.id
        if not outgoing:
            return None
        out = _Outcome(ids, fence, report)
        try:
            outcomes = provider.schedule(outgoing)
        except TransientError as exc:
            self._record_transient(out, attempts, exc)
            return exc
        except AuthenticationError as exc:
            # The key or account was refused, so nothing was taken: the messages wait, with
            # the reason, until the key is fixed (a change to the account frees them at once)
            # instead of every one of them failing.
            self._record_refused_key(out, str(exc))
            return None
        except PermanentError as exc:
            self._record_all(out, State.FAILED, "failed", str(exc), last_error=str(exc))
            return None
        except AmbiguousError as exc:
            self._record_unknown(out, str(exc))
            return None
        except Exception as exc:  # a bug or an unexpected library error: outcome unknown
            log.exception("hand-off raised")
            self._record_unknown(out, f"unexpected error: {type(exc).__name__}")
            return None
        recipients = {o.key: o.to for o in outgoing}
        self._record_outcomes(out, recipients, outcomes, account.name, provider)
        return None

    def _failure(self, msg_id: str, reason: str, **extra: Any) -> Move:
        """The move that fails one message with its reason (as ``_fail`` does)."""
        return Move(
            msg_id, State.FAILED, "failed", reason, {"last_error": reason, "due_at": None, **extra}
        )

    def _record_outcomes(
        self,
        out: _Outcome,
        recipients: dict[str, str],
        outcomes: Sequence[Receipt | Rejected],
        account_name: str,
        provider: Provider,
    ) -> None:
        now = self.ctx.clock.now()
        ids = out.ids
        seen: set[str] = set()
        accepted: list[Move] = []
        refused: list[Move] = []
        opted_out: dict[str, str] = {}  # number -> reason (the first; one row per number)
        for outcome in outcomes:
            msg_id = ids.get(outcome.key)
            if msg_id is None or outcome.key in seen:
                continue
            seen.add(outcome.key)
            if isinstance(outcome, Receipt) and outcome.state is State.FAILED:
                # Taken but already failed (a send-now the provider could not deliver): a
                # failure with the provider's reason, not a hand-off.
                reason = failure_reason(account_name, outcome.detail)
                if outcome.opted_out:
                    opted_out.setdefault(recipients[outcome.key], f"{account_name}: {reason}")
                refused.append(
                    Move(
                        msg_id,
                        State.FAILED,
                        "failed",
                        f"{account_name} took it as {outcome.ref}, but it failed: {reason}",
                        {**held_by_provider(provider, outcome, now), "last_error": reason},
                    )
                )
            elif isinstance(outcome, Receipt):
                accepted.append(
                    Move(
                        msg_id,
                        outcome.state,
                        "handed_off",
                        f"{account_name} accepted it as {outcome.ref}",
                        held_by_provider(provider, outcome, now),
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
                fence=out.fence,
                lease_owner=None,
                lease_expires_at=None,
            )
        out.report.handed_off += sum(1 for mv in accepted if mv.message_id in moved)
        out.report.failed += sum(1 for mv in refused if mv.message_id in moved)
        missing = {k: v for k, v in ids.items() if k not in seen}
        if missing:
            gone = _Outcome(missing, out.fence, out.report)
            self._record_unknown(gone, "the provider's answer did not mention it")

    def _record_transient(
        self, out: _Outcome, attempts: dict[str, int], exc: TransientError
    ) -> None:
        """Nothing reached the provider: back to the queue after a back-off the engine owns
        (the HTTP layer no longer waits inside a request), failing after max_attempts."""
        now = self.ctx.clock.now()
        retries: list[Move] = []
        failures: list[Move] = []
        for key, msg_id in out.ids.items():
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
                s, failures + retries, State.HANDING_OFF, now, owner=self.owner, fence=out.fence
            )
        out.report.failed += sum(1 for mv in failures if mv.message_id in moved)
        out.report.retrying += sum(1 for mv in retries if mv.message_id in moved)

    def _record_all(
        self, out: _Outcome, state: State, kind: str, detail: str, **changes: object
    ) -> None:
        now = self.ctx.clock.now()
        moves = [Move(msg_id, state, kind, detail) for msg_id in out.ids.values()]
        with self.ctx.db.write() as s:
            moved = queries.transition_many(
                s, moves, State.HANDING_OFF, now, owner=self.owner, fence=out.fence, **changes
            )
        out.report.failed += len(moved)

    def _record_refused_key(self, out: _Outcome, reason: str) -> None:
        now = self.ctx.clock.now()
        moves = [Move(msg_id, State.QUEUED, "blocked", reason) for msg_id in out.ids.values()]
        with self.ctx.db.write() as s:
            queries.transition_many(
                s,
                moves,
                State.HANDING_OFF,
                now,
                owner=self.owner,
                fence=out.fence,
                last_error=reason,
                # As _blocked does: held away from every dispatcher until the lease ends.
                lease_owner=BLOCKED,
                lease_expires_at=now + BLOCKED_RETRY,
            )

    def _record_unknown(self, out: _Outcome, why: str) -> None:
        now = self.ctx.clock.now()
        detail = f"outcome unclear ({why}); will ask the provider before doing anything"
        moves = [Move(msg_id, State.UNKNOWN, "unknown", detail) for msg_id in out.ids.values()]
        with self.ctx.db.write() as s:
            moved = queries.transition_many(
                s,
                moves,
                State.HANDING_OFF,
                now,
                owner=self.owner,
                fence=out.fence,
                last_error=why,
                next_sync_at=now + RECONCILE_INTERVAL,
            )
        out.report.unknown += len(moved)

    # -- status sync ----------------------------------------------------------------------

    def sync_statuses(
        self, report: PassReport, limit: int = 500, stop: threading.Event | None = None
    ) -> None:
        """Ask the providers about messages whose status may have changed. Yields to due
        hand-offs and to ``stop`` before each slice (sending on time comes first; status
        waits only while hand-offs are due); what was not asked stays due."""
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
        for account_id, listed in by_account.items():
            account = self.ctx.account_by_id(account_id)
            try:
                caps = self.ctx.provider(account).capabilities
            except SmsdeskError as exc:
                self._sync_failed(account, listed, exc)
                continue
            for msgs in _status_slices(listed, caps):
                # Not started if a hand-off falls due before the slice would end.
                rate = caps.rate_limit_per_second if caps.batch_size <= 1 else None
                paced = (len(msgs) - 1) / rate if rate else 0.0
                if _stopped(stop) or self._hand_off_due(timedelta(seconds=paced)):
                    return
                self._sync_slice(account, msgs, report)

    def _hand_off_due(self, within: timedelta = timedelta(0)) -> bool:
        """Is a message held here due (and free to claim) now or ``within`` from now? A read
        on the due index."""
        now = self.ctx.clock.now() + within
        m = Message
        expiry = col(m.lease_expires_at)
        with self.ctx.db.read() as s:
            found = s.exec(
                select(m.id)
                .where(
                    m.state == State.QUEUED.value,
                    col(m.due_at) <= now,
                    col(m.attention).is_(None),
                    or_(expiry.is_(None), expiry <= now),
                )
                .limit(1)
            ).first()
        return found is not None

    def _sync_failed(
        self, account: ProviderAccount, msgs: list[Message], exc: SmsdeskError
    ) -> None:
        log.warning("status sync with %s failed: %s", account.name, exc)
        # Asked again in a while, not at once (next_wake would otherwise be now).
        with self.ctx.db.write() as s:
            s.execute(
                update(Message)
                .where(col(Message.id).in_([m.id for m in msgs]))
                .values(next_sync_at=self.ctx.clock.now() + SYNC_INTERVAL)
            )

    def _sync_slice(
        self, account: ProviderAccount, msgs: list[Message], report: PassReport
    ) -> None:
        now = self.ctx.clock.now()
        try:
            reports = self.ctx.provider(account).fetch_status([m.provider_ref or "" for m in msgs])
        except SmsdeskError as exc:
            self._sync_failed(account, msgs, exc)
            return
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
                    if new in (State.FAILED, State.EXPIRED) and status:
                        changes["last_error"] = failure_reason(account.name, status.detail, new)
                    if queries.transition(
                        s, msg.id, old, new, now, kind="status", detail=detail, **changes
                    ):
                        report.status_changes += 1
                        if new is State.FAILED:
                            report.failed += 1
                        if status and status.opted_out:  # a STOP reported after the hand-off
                            source = f"{account.name}: {status.detail}"
                            queries.record_opt_out(s, msg.recipient, now, source)
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


def failure_reason(account_name: str, detail: str, state: State = State.FAILED) -> str:
    """Why a message failed (or expired), in the provider's words, its code included where
    it gives one; said plainly when the provider gave none."""
    return detail.strip() or f"{account_name} reported it {state.value} without giving a reason"


def _account(accounts: Accounts, account_id: int) -> ProviderAccount:
    found = accounts.get(account_id)
    if found is None:
        raise NotFound(f"Provider account {account_id} no longer exists.")
    return found


def _status_slices(msgs: list[Message], caps: Capabilities) -> list[list[Message]]:
    """One slice for a provider that answers many per request; for one asked message by
    message under a rate limit, slices of about STATUS_SLICE each."""
    rate = caps.rate_limit_per_second
    if caps.batch_size > 1 or not rate:
        return [msgs]
    size = max(1, math.ceil(rate * STATUS_SLICE.total_seconds()))
    return [msgs[i : i + size] for i in range(0, len(msgs), size)]


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


@dataclass
class _Outcome:
    """Where one request's outcome is written: its messages by key, the claim's fence."""

    ids: dict[str, str]  # idempotency key -> message id
    fence: Fence
    report: PassReport


@dataclass
class _Run:
    """One account's hand-offs in one round (shared by its paced threads)."""

    account: ProviderAccount
    lease: ClaimLease
    report: PassReport
    stop: threading.Event | None
    busy: list[TransientError] = field(default_factory=list)

    @property
    def backing_off(self) -> TransientError | None:
        return self.busy[0] if self.busy else None

    def back_off(self, exc: TransientError) -> None:
        self.busy.append(exc)

    def part(self) -> _Run:
        """The same run with a report of its own (for one paced thread); the back-off is
        shared."""
        return _Run(self.account, self.lease, PassReport(), self.stop, self.busy)
