"""Replies without a server: the engine pulls what patients texted back from every account
whose provider lets a client fetch it (Infobip's inbox, Twilio's message list), stores each
reply once, links it to the message it answers and acts on its words (reply_words).

Stored once: a reply's provider id is unique per account (a constraint), and each reply is
stored in its own transaction together with what its words change at once (the opt-out
list, the appointment's answer). What needs the provider — cancelling a confirmed
appointment's later reminders — is marked ``pending`` in that same transaction and done
afterwards through the engine's ordinary cancel (intent before request), so a process that
dies in between leaves it for the next pull to finish, never to do twice.

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
from sqlmodel import Session, col, func, select

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.engine.actions import Actions
from smsdesk.engine.context import AppContext
from smsdesk.engine.reply_words import (
    DEFAULT_CONFIRMATION,
    ConfirmationWords,
    ReplyAction,
    action_for,
)
from smsdesk.providers.base import AmbiguousError, PermanentError
from smsdesk.providers.registry import MODULES, kind_info
from smsdesk.store import queries
from smsdesk.store.models import (
    Appointment,
    AppointmentAnswer,
    Contact,
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
MATCH_WINDOW = timedelta(days=7)  # a reply answers a message sent at most this long before
# Twilio's list is read again from this long before the last pull started: a message listed
# late is still found (stored once anyway).
LISTING_OVERLAP = timedelta(hours=1)
PULL_LEASE = timedelta(minutes=2)
MAX_INBOX_BATCHES = 10
CANCEL_REMINDERS = "cancel_reminders"
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
        match_window: timedelta = MATCH_WINDOW,
        words: ConfirmationWords = DEFAULT_CONFIRMATION,
    ) -> None:
        self.ctx = ctx
        self.owner = owner or f"replies-{uuid.uuid4().hex[:12]}"
        self.interval = interval
        self.quiet_interval = quiet_interval
        self.match_window = match_window
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
        try:
            with self.ctx.db.write() as s:
                return sum(self._store(s, account, item) for item in items)
        except IntegrityError:
            return sum(self.store(account, item) for item in items)

    def store(self, account: ProviderAccount, item: Incoming) -> int:
        """Store one reply and apply what its words change here; 1 if new, 0 if known."""
        try:
            with self.ctx.db.write() as s:
                return self._store(s, account, item)
        except IntegrityError:
            return 0  # another process stored it at the same moment

    def _store(self, s: Session, account: ProviderAccount, item: Incoming) -> int:
        assert account.id is not None
        now = self.ctx.clock.now()
        known = s.exec(
            select(Reply.id).where(
                Reply.account_id == account.id, Reply.provider_id == item.provider_id
            )
        ).first()
        if known is not None:
            return 0
        answered = self._answered(s, account.id, item)
        opted = s.get(OptOut, item.sender) is not None
        appointment = answered.appointment_id if answered is not None else None
        action = action_for(
            item.text,
            opted_out=opted,
            has_appointment=appointment is not None,
            words=self.words,
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
        return 1

    def _answered(self, s: Session, account_id: int, item: Incoming) -> Message | None:
        """The latest message sent to the number from that account within the window."""
        return s.exec(
            select(Message)
            .where(
                Message.account_id == account_id,
                Message.recipient == item.sender,
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
        """Cancel the later reminders of confirmed appointments (the engine's cancel, with
        its intent records). The mark is cleared once none is left to cancel: one the
        provider could not be asked about, or one being handed off right now, is tried again
        at the next pass."""
        with self.ctx.db.read() as s:
            waiting = list(s.exec(select(Reply).where(col(Reply.pending).is_not(None))).all())
        if not waiting:
            return
        actions = Actions(self.ctx)
        for reply in waiting:
            cancellable = [State.QUEUED.value, State.SCHEDULED.value]
            try:
                for ident in self._later(reply, cancellable):
                    actions.cancel(ident)
            except SmsdeskError as exc:  # the provider could not be asked: next pass again
                log.warning("later reminders of a confirmed appointment not cancelled yet: %s", exc)
                continue
            unsettled = [*cancellable, State.HANDING_OFF.value, *(i.value for i in INTENTS)]
            if self._later(reply, unsettled):
                continue  # a cancel under way or refused, or a hand-off: the next pass looks
            cancelled = len(self._later(reply, [State.CANCELLED.value]))
            with self.ctx.db.write() as s:
                fresh = s.get(Reply, reply.id)
                if fresh is not None and fresh.pending is not None:
                    fresh.pending = None
                    fresh.detail = f"appointment confirmed; {cancelled} later reminder(s) cancelled"
                    s.add(fresh)

    def _later(self, reply: Reply, states: list[str]) -> list[str]:
        """The appointment's reminders due after the reply, in ``states``."""
        with self.ctx.db.read() as s:
            return list(
                s.exec(
                    select(Message.id).where(
                        Message.appointment_id == reply.appointment_id,
                        col(Message.send_at) > reply.received_at,
                        col(Message.state).in_(states),
                    )
                ).all()
            )


def _lease_end(row: ReplyPull) -> datetime:
    return row.lease_expires_at or row.next_at


# -- reading, for the window and the command line ------------------------------------------


@dataclass(frozen=True)
class ReplyView:
    id: int
    sender: str
    name: str  # the contact's name, "" when the number is no contact
    to: str
    text: str
    received_at: datetime
    account: str
    message_id: str | None
    answers: str  # the text of the message it answers, "" when unmatched
    appointment_id: int | None
    action: str | None
    detail: str
    handled: bool


class ReplyBook:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def replies(
        self,
        *,
        unread_only: bool = False,
        search: str = "",
        action: str | None = None,
        limit: int = 2000,
    ) -> list[ReplyView]:
        """Newest first. ``action``: one of ReplyAction's values, or "none" for free text."""
        # The contact's name, else the name on the appointment the reply is about.
        who = func.coalesce(func.nullif(col(Contact.name), ""), col(Appointment.name))
        query = (
            select(Reply, ProviderAccount.name, Message.text, who)
            .join(ProviderAccount, col(ProviderAccount.id) == col(Reply.account_id))
            .join(Message, col(Message.id) == col(Reply.message_id), isouter=True)
            .join(Contact, col(Contact.number) == col(Reply.sender), isouter=True)
            .join(Appointment, col(Appointment.id) == col(Reply.appointment_id), isouter=True)
        )
        if unread_only:
            query = query.where(col(Reply.handled_at).is_(None))
        if action == "none":
            query = query.where(col(Reply.action).is_(None))
        elif action:
            query = query.where(Reply.action == action)
        if search.strip():
            like = f"%{search.strip()}%"
            query = query.where(
                or_(
                    col(Reply.text).ilike(like),
                    col(Reply.sender).ilike(like),
                    col(Contact.name).ilike(like),
                    col(Appointment.name).ilike(like),
                )
            )
        query = query.order_by(col(Reply.received_at).desc(), col(Reply.id).desc()).limit(limit)
        with self.ctx.db.read() as s:
            rows = s.exec(query).all()
        return [
            ReplyView(
                r.id or 0,
                r.sender,
                name or "",
                r.to,
                r.text,
                r.received_at,
                account,
                r.message_id,
                answers or "",
                r.appointment_id,
                r.action,
                r.detail,
                r.handled_at is not None,
            )
            for r, account, answers, name in rows
        ]

    def unread_count(self) -> int:
        with self.ctx.db.read() as s:
            return int(s.exec(select(func.count()).where(col(Reply.handled_at).is_(None))).one())

    def mark_handled(self, ids: list[int]) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            s.exec(
                update(Reply)
                .where(col(Reply.id).in_(ids), col(Reply.handled_at).is_(None))
                .values(handled_at=now)
            )

    def appointment_answers(self, appointment_ids: list[int]) -> dict[int, str]:
        """Per appointment: "confirmed" or "reschedule_requested" (for Reminders, Calendar)."""
        with self.ctx.db.read() as s:
            rows = s.exec(
                select(AppointmentAnswer).where(
                    col(AppointmentAnswer.appointment_id).in_(appointment_ids)
                )
            ).all()
        return {a.appointment_id: a.status for a in rows}

    def pull_problems(self) -> dict[str, str]:
        """Per account name: why its replies could not be pulled last time."""
        with self.ctx.db.read() as s:
            rows = s.exec(
                select(ProviderAccount.name, ReplyPull.last_error)
                .join(ReplyPull, col(ReplyPull.account_id) == col(ProviderAccount.id))
                .where(col(ReplyPull.last_error).is_not(None))
            ).all()
        return {name: str(err) for name, err in rows}
