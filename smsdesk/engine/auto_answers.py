"""Automatic answers to replies (a template's "Thanks, see you Tuesday"): an ordinary outbox
message, created in the transaction that stores the reply and records its action.

Exactly once: the reply is stored once (its provider id is unique per account) and its answer
only with it; the answer's ids are made from the reply's (``answer_id``), so even a second
attempt for the same reply could not add another message. Never to an opted-out number (looked
at here, and again by the engine at hand-off), never for STOP, START or free text.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Action, Capabilities, plan_handoff
from smsdesk.core.segments import count_segments
from smsdesk.core.templates import parse_template, render
from smsdesk.engine.reply_words import ReplyAction
from smsdesk.engine.scheduling import validate_text
from smsdesk.engine.template_replies import ReplyRules
from smsdesk.store import queries
from smsdesk.store.models import Appointment, Batch, Message, OptOut, Reply

AUTO_ANSWER = "auto-answer"


def answer_id(reply_id: int) -> str:
    """The answer's message id: the reply's id + "auto-answer" (one reply, one answer)."""
    return f"m-{reply_id}-{AUTO_ANSWER}"


def is_auto_answer(message_id: str) -> bool:
    return message_id.endswith(f"-{AUTO_ANSWER}")


def _values(reply: Reply, appointment: Appointment | None) -> dict[str, object]:
    values: dict[str, object] = {"number": reply.sender}
    if appointment is not None:
        values.update(
            name=appointment.name,
            first_name=appointment.name.split()[0] if appointment.name else "",
            appt_time=appointment.starts_at.astimezone(ZoneInfo(appointment.zone)),
            location=appointment.location,
        )
    return values


def add_answer(
    s: Session,
    reply: Reply,
    action: ReplyAction | None,
    rules: ReplyRules,
    answered: Message | None,
    caps: Capabilities,
    now: datetime,
) -> str:
    """Queue the template's answer to ``reply`` in the caller's transaction, to be sent now
    (the patient just wrote: quiet hours are for messages nobody asked for). Returns what
    the reply's history says about it ("" when the template has none)."""
    text = rules.answer_for(action)
    if not text or reply.id is None:
        return ""
    ident = answer_id(reply.id)
    if s.get(Message, ident) is not None:
        return ""
    if s.get(OptOut, reply.sender) is not None:
        return "no automatic answer: the number has opted out"
    appointment = s.get(Appointment, reply.appointment_id) if reply.appointment_id else None
    try:
        body = render(parse_template(text), _values(reply, appointment))
        validate_text(body)
    except InvalidInput as exc:
        return f"no automatic answer: {exc.message}"
    plan = plan_handoff(now, caps, now)
    info = count_segments(body)
    zone = appointment.zone if appointment is not None else "UTC"
    batch = f"b-{reply.id}-{AUTO_ANSWER}"
    s.add(Batch(id=batch, account_id=reply.account_id, text=text, zone=zone, created_at=now))
    s.flush()
    s.add(
        Message(
            id=ident,
            batch_id=batch,
            account_id=reply.account_id,
            recipient=reply.sender,
            sender=answered.sender if answered is not None else None,
            text=body,
            encoding=info.encoding,
            segments=info.segments,
            send_at=now,
            zone=zone,
            state=State.QUEUED.value,
            handling=plan.action.value,
            due_at=now if plan.action is Action.HAND_OFF_NOW else plan.act_at,
            created_at=now,
            updated_at=now,
        )
    )
    s.flush()  # the message before its event (no relationship orders them)
    queries.add_event(
        s,
        ident,
        now,
        "created",
        f"automatic answer to the reply “{reply.text}”: to be sent now",
        state_to=State.QUEUED.value,
    )
    return f"answered automatically: “{body}”"
