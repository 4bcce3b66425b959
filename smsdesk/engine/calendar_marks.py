"""What the Calendar marks beyond a message's state, for the range on screen: which messages
are occurrences of a series (and of which), the occurrences a series will store later
(computed from its rule, not stored yet: "planned"), and reminders of an appointment the
patient confirmed by a reply.

Every read is bounded by the visible range; the planned occurrences are computed only for
active series not yet stored that far ahead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import col, or_, select

from smsdesk.core.recurrence import between, rule_words
from smsdesk.engine.context import AppContext
from smsdesk.engine.reply_words import ReplyAction
from smsdesk.engine.series import ACTIVE, recurrence_of
from smsdesk.store.models import AppointmentAnswer, Message, Series, SeriesOccurrence

PLANNED_PER_SERIES = 400  # a daily series over a 6-week month page: 42


@dataclass(frozen=True)
class Planned:
    """A future occurrence not stored yet."""

    series_id: str
    name: str  # "Weekly on Monday: Rota for the week is up"
    at: datetime  # UTC
    recipients: str  # "+447700900123, group Staff"


@dataclass(frozen=True)
class Marks:
    series: dict[str, str] = field(default_factory=dict)  # message id -> series name
    stored: list[tuple[str, datetime, str]] = field(default_factory=list)  # (id, at, name)
    confirmed: frozenset[str] = frozenset()  # reminders of a confirmed appointment
    planned: list[Planned] = field(default_factory=list)


def series_name(rule: str, text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    short = line if len(line) <= 40 else line[:39] + "…"
    return f"{rule_words(rule)}: {short}"


def _recipients(row: Series) -> str:
    parts = list(json.loads(row.numbers_json))
    if row.group_name:
        parts.append(f"group {row.group_name}")
    if row.contact_id is not None:
        parts.append("a contact")
    return ", ".join(parts)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def marks(ctx: AppContext, start: datetime, end: datetime) -> Marks:
    """The marks for messages sending in [start, end), and the planned occurrences there."""
    in_range = (col(Message.send_at) >= start, col(Message.send_at) < end)
    with ctx.db.read() as s:
        stored = s.exec(
            select(Message.id, Message.send_at, Series.rule, Series.text)
            .join(SeriesOccurrence, col(SeriesOccurrence.batch_id) == col(Message.batch_id))
            .join(Series, col(Series.id) == col(SeriesOccurrence.series_id))
            .where(*in_range)
        ).all()
        confirmed = s.exec(
            select(Message.id)
            .join(
                AppointmentAnswer,
                col(AppointmentAnswer.appointment_id) == col(Message.appointment_id),
            )
            .where(*in_range, col(AppointmentAnswer.status) == ReplyAction.CONFIRMED.value)
        ).all()
        ahead = s.exec(
            select(Series).where(
                Series.state == ACTIVE,
                or_(col(Series.filled_until).is_(None), col(Series.filled_until) < end),
            )
        ).all()
    planned: list[Planned] = []
    for row in ahead:
        # What is before ``filled_until`` is stored (or skipped) already.
        begin = max(start, _aware(row.filled_until or row.created_at))
        name = series_name(row.rule, row.text)
        for occ in between(recurrence_of(row), begin, end, PLANNED_PER_SERIES):
            if occ.at is not None:
                planned.append(Planned(row.id, name, occ.at, _recipients(row)))
    listed = [(m, _aware(at), series_name(rule, text)) for m, at, rule, text in stored]
    return Marks(
        series={m: name for m, _at, name in listed},
        stored=listed,
        confirmed=frozenset(confirmed),
        planned=sorted(planned, key=lambda p: (p.at, p.name)),
    )
