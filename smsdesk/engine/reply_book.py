"""Reading stored replies, for the window and the command line: conversations with the
message each answers and its automatic answer, the unread count, what is new since a reply
(the tray's notice), and what patients answered about appointments (Reminders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, func, select

from smsdesk.engine.auto_answers import answer_id
from smsdesk.engine.context import AppContext
from smsdesk.store.models import (
    Appointment,
    AppointmentAnswer,
    Contact,
    Message,
    ProviderAccount,
    Reply,
    ReplyPull,
)


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
    answer: str = ""  # the automatic answer sent back, "" when none
    answer_state: str | None = None  # its message's state (queued, scheduled, sent, ...)


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
        after_id: int | None = None,
    ) -> list[ReplyView]:
        """Newest first. ``action``: one of ReplyAction's values, or "none" for free text;
        ``after_id``: only replies stored after that one."""
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
        if after_id is not None:
            query = query.where(col(Reply.id) > after_id)
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
            answers = self._answers(s, [r.id for r, *_ in rows if r.id is not None])
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
                answered or "",
                r.appointment_id,
                r.action,
                r.detail,
                r.handled_at is not None,
                *answers.get(r.id or 0, ("", None)),
            )
            for r, account, answered, name in rows
        ]

    @staticmethod
    def _answers(s: Session, reply_ids: list[int]) -> dict[int, tuple[str, str | None]]:
        """Per reply: its automatic answer's text and state (found by their fixed ids)."""
        found: dict[int, tuple[str, str | None]] = {}
        by_message = {answer_id(i): i for i in reply_ids}
        ids = list(by_message)
        for start in range(0, len(ids), 500):
            rows = s.exec(
                select(Message.id, Message.text, Message.state).where(
                    col(Message.id).in_(ids[start : start + 500])
                )
            ).all()
            for message_id, text, state in rows:
                found[by_message[message_id]] = (text, state)
        return found

    def newest_id(self) -> int:
        """The id of the newest reply stored (0: none yet)."""
        with self.ctx.db.read() as s:
            return int(s.exec(select(func.max(col(Reply.id)))).one() or 0)

    def pulling(self) -> bool:
        """Whether a pull is under way (a lease held and running) in any process."""
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            held = s.exec(
                select(ReplyPull.account_id)
                .where(
                    col(ReplyPull.lease_owner).is_not(None),
                    col(ReplyPull.lease_expires_at) > now,
                )
                .limit(1)
            ).first()
        return held is not None

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
