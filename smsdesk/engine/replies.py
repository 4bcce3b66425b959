"""Replies without a server: the engine pulls what patients texted back from every account
whose provider lets a client fetch it (Infobip's inbox, Twilio's message list), stores each
reply once, links it to the message it answers and acts on its words (reply_words, or the
words of the template the answered reminder was made from: template_replies).

Stored once: a reply's provider id is unique per account (a constraint), and each reply is
stored in its transaction together with what its words change at once (the opt-out list,
the appointment's answer, the template's automatic answer queued as an ordinary message:
auto_answers). What needs the provider — cancelling a confirmed appointment's later
reminders, or what a provider holds for a number that replied STOP — is marked ``pending``
in that same transaction and done afterwards through the engine's ordinary cancel (intent
before request: reply_cancels), so a process that dies in between leaves it for the next
pass to finish, never to do twice.

Twilio's list is read again from a little before where the last pull stopped (it can be
read any number of times); Infobip's inbox hands each reply out once, so each batch is
stored as soon as it arrives.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities
from smsdesk.engine.auto_answers import AUTO_ANSWER, add_answer
from smsdesk.engine.context import AppContext
from smsdesk.engine.reply_cancels import (
    CANCEL_AT_PROVIDER,
    CANCEL_REMINDERS,
    ReplyCancels,
    stop_needs_cancels,
    waiting_here,
)
from smsdesk.engine.reply_words import (
    DEFAULT_CONFIRMATION,
    ConfirmationWords,
    ReplyAction,
    action_for,
)
from smsdesk.engine.template_replies import rules_for_text
from smsdesk.providers.base import AmbiguousError, PermanentError
from smsdesk.providers.registry import MODULES, kind_info
from smsdesk.store import queries
from smsdesk.store.models import (
    AppointmentAnswer,
    Message,
    OptOut,
    ProviderAccount,
    Reply,
    ReplyPull,
)

log = logging.getLogger(__name__)

# Infobip documents no rate for its inbox and Twilio none for listing (providers' notes):
# once a minute per account stays far below Infobip's 120 a minute for logs.
PULL_INTERVAL = timedelta(minutes=1)
# An account that sent nothing within the match window expects few replies: asked hourly.
QUIET_INTERVAL = timedelta(hours=1)
BACKOFF_CAP = timedelta(minutes=30)
# Twilio's list is read again from this long before the last pull started: a message listed
# late is still found (stored once anyway).
LISTING_OVERLAP = timedelta(hours=1)
PULL_LEASE = timedelta(minutes=2)
MAX_INBOX_BATCHES = 10
# Messages that went (or may have gone) to the number: what a reply can answer.
_NOT_SENT = (State.DRAFT.value, State.QUEUED.value, State.CANCELLED.value)


class Incoming(Protocol):
    provider_id: str
    sender: str
    to: str
    text: str
    received_at: datetime


@runtime_checkable
class InboxProvider(Protocol):
    """Hands each received message out once (Infobip)."""

    def inbox_batch(self) -> tuple[list[Incoming], int]: ...


@runtime_checkable
class ListingProvider(Protocol):
    """Lists received messages since a time, as often as asked (Twilio)."""

    def received(self, since: datetime, numbers: tuple[str, ...] = ()) -> list[Incoming]: ...


def pulls_replies(kind: str) -> bool:
    return kind in MODULES and kind_info(kind).replies


@dataclass(frozen=True)
class PullReport:
    stored: int = 0
    accounts: int = 0
    failed: int = 0


class ReplyPuller:
    def __init__(
        self,
        ctx: AppContext,
        owner: str | None = None,
        *,
        interval: timedelta = PULL_INTERVAL,
        quiet_interval: timedelta = QUIET_INTERVAL,
        match_window: timedelta | None = None,
        words: ConfirmationWords = DEFAULT_CONFIRMATION,
    ) -> None:
        self.ctx = ctx
        self.owner = owner or f"replies-{uuid.uuid4().hex[:12]}"
        self.interval = interval
        self.quiet_interval = quiet_interval
        # The desk's setting (Settings, `smsdesk settings --reply-days`) unless given here.
        self.match_window = (
            match_window
            if match_window is not None
            else timedelta(days=ctx.settings.reply_match_days)
        )
        self.words = words

    # -- when -------------------------------------------------------------------------------

    def _accounts(self) -> list[ProviderAccount]:
        with self.ctx.db.read() as s:
            live = s.exec(
                select(ProviderAccount).where(col(ProviderAccount.removed_at).is_(None))
            ).all()
        return [a for a in live if pulls_replies(a.kind)]

    def next_pull(self) -> datetime | None:
        """When an account is next due a pull (now for one never pulled); None: none can.
        What stored replies left pending is looked at by every pass, so it needs no wake."""
        accounts = self._accounts()
        if not accounts:
            return None
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            rows = {
                r.account_id: r
                for r in s.exec(
                    select(ReplyPull).where(col(ReplyPull.account_id).in_([a.id for a in accounts]))
                )
            }
        times = [
            now if a.id not in rows else max(rows[a.id].next_at, _lease_end(rows[a.id]))
            for a in accounts
        ]
        return min(times)

    # -- pulling ----------------------------------------------------------------------------

    def pull_due(self) -> PullReport:
        """Pull every account that is due, then finish what stored replies left pending."""
        stored = accounts = failed = 0
        for account in self._accounts():
            if not self._claim(account):
                continue
            accounts += 1
            try:
                stored += self._pull(account)
            except SmsdeskError as exc:
                failed += 1
                self._failed(account, exc)
            else:
                self._succeeded(account)
        self.finish_pending()
        return PullReport(stored, accounts, failed)

    def _claim(self, account: ProviderAccount) -> bool:
        assert account.id is not None
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.write() as s:
                if s.get(ReplyPull, account.id) is None:
                    s.add(ReplyPull(account_id=account.id, next_at=now))
                    s.flush()
                claimed = s.exec(
                    update(ReplyPull)
                    .where(
                        col(ReplyPull.account_id) == account.id,
                        col(ReplyPull.next_at) <= now,
                        or_(
                            col(ReplyPull.lease_expires_at).is_(None),
                            col(ReplyPull.lease_expires_at) <= now,
                            col(ReplyPull.lease_owner) == self.owner,
                        ),
                    )
                    .values(lease_owner=self.owner, lease_expires_at=now + PULL_LEASE)
                )
                return bool(claimed.rowcount)
        except IntegrityError:
            return False  # another process made the row first: it pulls this time

    def _pull(self, account: ProviderAccount) -> int:
        provider = self.ctx.provider(account)
        stored = 0
        if isinstance(provider, InboxProvider):
            for _ in range(MAX_INBOX_BATCHES):
                batch, waiting = provider.inbox_batch()
                # Stored before the next request: Infobip will not hand these out again.
                stored += self.store_all(account, batch)
                if not waiting:
                    break
        elif isinstance(provider, ListingProvider):
            started = self.ctx.clock.now()
            with self.ctx.db.read() as s:
                row = s.get(ReplyPull, account.id)
                read_until = row.read_until if row is not None else None
            since = (read_until - LISTING_OVERLAP) if read_until else started - self.match_window
            stored += self.store_all(account, provider.received(since))
            with self.ctx.db.write() as s:
                s.exec(
                    update(ReplyPull)
                    .where(
                        col(ReplyPull.account_id) == account.id,
                        col(ReplyPull.lease_owner) == self.owner,
                    )
                    .values(read_until=started)
                )
        return stored

    def _succeeded(self, account: ProviderAccount) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            sent = s.exec(
                select(Message.id)
                .where(
                    Message.account_id == account.id,
                    col(Message.state).not_in(_NOT_SENT),
                    col(Message.send_at) <= now,
                    col(Message.send_at) >= now - self.match_window,
                )
                .limit(1)
            ).first()
        interval = self.interval if sent is not None else self.quiet_interval
        self._settle(account, next_at=now + interval, failures=0, last_error=None)

    def _failed(self, account: ProviderAccount, exc: SmsdeskError) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            row = s.get(ReplyPull, account.id)
            failures = (row.failures if row is not None else 0) + 1
        if isinstance(exc, PermanentError):  # a refused key or scope: the user must act
            wait = BACKOFF_CAP
        else:
            wait = min(self.interval * (1 << min(failures, 10)), BACKOFF_CAP)
            after = getattr(exc, "retry_after", None)
            if after is not None:
                wait = max(wait, timedelta(seconds=float(after)))
        if isinstance(exc, AmbiguousError) and self._hands_out_once(account):
            # The inbox may have handed a batch out on an answer that never arrived: those
            # replies cannot be fetched again (the provider's contract), so say so.
            exc = AmbiguousError(f"{exc}; replies in that answer may be lost")
        log.warning("replies from %s could not be pulled: %s", account.name, exc)
        self._settle(account, next_at=now + wait, failures=failures, last_error=str(exc))

    def _hands_out_once(self, account: ProviderAccount) -> bool:
        try:
            return isinstance(self.ctx.provider(account), InboxProvider)
        except SmsdeskError:
            return False

    def _settle(
        self, account: ProviderAccount, *, next_at: datetime, failures: int, last_error: str | None
    ) -> None:
        with self.ctx.db.write() as s:
            s.exec(
                update(ReplyPull)
                .where(
                    col(ReplyPull.account_id) == account.id,
                    col(ReplyPull.lease_owner) == self.owner,
                )
                .values(
                    next_at=next_at,
                    failures=failures,
                    last_error=last_error,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )

    # -- storing ----------------------------------------------------------------------------

    def store_all(self, account: ProviderAccount, items: Sequence[Incoming]) -> int:
        """Store a pulled batch in one transaction (all of it or none: a batch Infobip
        handed out is stored whole), each reply with what its words change here; returns
        how many were new. Should another process store one of them at the same moment,
        they are stored one by one instead."""
        if not items:
            return 0
        caps = self.ctx.capabilities(account)  # for automatic answers; read before the lock
        try:
            with self.ctx.db.write() as s:
                return sum(self._store(s, account, item, caps) for item in items)
        except IntegrityError:
            return sum(self.store(account, item) for item in items)

    def store(self, account: ProviderAccount, item: Incoming) -> int:
        """Store one reply and apply what its words change here; 1 if new, 0 if known."""
        caps = self.ctx.capabilities(account)
        try:
            with self.ctx.db.write() as s:
                return self._store(s, account, item, caps)
        except IntegrityError:
            with self.ctx.db.read() as s:
                if self._known(s, account, item):
                    return 0  # another process stored it at the same moment
            raise  # anything else must not pass for "stored": the reply would be lost

    def _store(
        self, s: Session, account: ProviderAccount, item: Incoming, caps: Capabilities
    ) -> int:
        assert account.id is not None
        now = self.ctx.clock.now()
        if self._known(s, account, item):
            return 0
        answered = self._answered(s, account.id, item)
        opted = s.get(OptOut, item.sender) is not None
        appointment = answered.appointment_id if answered is not None else None
        # The words of the template the answered reminder was made from, else the defaults.
        rules = rules_for_text(s, answered.text) if answered is not None and appointment else None
        action = action_for(
            item.text,
            opted_out=opted,
            has_appointment=appointment is not None,
            words=rules.words if rules is not None else self.words,
        )
        reply = Reply(
            account_id=account.id,
            provider_id=item.provider_id,
            sender=item.sender,
            to=item.to,
            text=item.text,
            received_at=item.received_at,
            stored_at=now,
            message_id=answered.id if answered is not None else None,
            appointment_id=appointment,
            action=action.value if action is not None else None,
        )
        s.add(reply)
        s.flush()
        self._apply(s, reply, action, now)
        if rules is not None:  # its answer, in this same transaction (auto_answers)
            said = add_answer(s, reply, action, rules, answered, caps, now)
            if said:
                reply.detail = f"{reply.detail}; {said}"
                s.add(reply)
        return 1

    @staticmethod
    def _known(s: Session, account: ProviderAccount, item: Incoming) -> bool:
        found = s.exec(
            select(Reply.id).where(
                Reply.account_id == account.id, Reply.provider_id == item.provider_id
            )
        ).first()
        return found is not None

    def _answered(self, s: Session, account_id: int, item: Incoming) -> Message | None:
        """The latest message sent to the number from that account within the window (an
        automatic answer aside: a reply is about the reminder, not the "thanks")."""
        return s.exec(
            select(Message)
            .where(
                # "+ 0": a seek by number (recipient, send_at, id), never a walk of the
                # account's whole window, which SQLite with no statistics would choose.
                col(Message.account_id) + 0 == account_id,
                Message.recipient == item.sender,
                col(Message.id).not_like(f"%-{AUTO_ANSWER}"),
                col(Message.state).not_in(_NOT_SENT),
                col(Message.send_at) <= item.received_at,
                col(Message.send_at) >= item.received_at - self.match_window,
            )
            .order_by(col(Message.send_at).desc(), col(Message.id).desc())
            .limit(1)
        ).first()

    def _apply(self, s: Session, reply: Reply, action: ReplyAction | None, now: datetime) -> None:
        assert reply.id is not None
        if action is ReplyAction.OPTED_OUT:
            queries.record_opt_out(s, reply.sender, now, "reply")
            reply.detail = "opted out: nothing more is handed off to this number"
            held = waiting_here(s, reply.sender)
            if held:
                reply.detail += f"; {held} waiting on this computer will not be sent"
            # What a provider already holds for the number is cancelled there (pending).
            if stop_needs_cancels(s, reply.sender, reply.received_at):
                reply.pending = CANCEL_AT_PROVIDER
        elif action is ReplyAction.OPTED_IN:
            found = s.get(OptOut, reply.sender)
            if found is not None:
                s.delete(found)
            reply.detail = "opted back in"
        elif action in (ReplyAction.CONFIRMED, ReplyAction.RESCHEDULE_REQUESTED):
            assert reply.appointment_id is not None
            answer = s.get(AppointmentAnswer, reply.appointment_id)
            if answer is None:
                answer = AppointmentAnswer(
                    appointment_id=reply.appointment_id, status="", reply_id=reply.id, at=now
                )
            answer.status, answer.reply_id, answer.at = action.value, reply.id, now
            s.add(answer)
            if action is ReplyAction.CONFIRMED:
                reply.pending = CANCEL_REMINDERS
                reply.detail = "appointment confirmed"
            else:
                reply.detail = "wants to reschedule: flagged for staff"
        s.add(reply)

    def finish_pending(self) -> None:
        """Cancel what stored replies asked for: a confirmed appointment's later reminders,
        what a provider holds for a number that replied STOP (reply_cancels)."""
        ReplyCancels(self.ctx).finish()


def _lease_end(row: ReplyPull) -> datetime:
    return row.lease_expires_at or row.next_at
