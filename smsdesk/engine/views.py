"""Plain values the service returns, so the window and the command line never touch the ORM."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from smsdesk.core.lifecycle import State, where_it_lives
from smsdesk.store.models import Event, Message


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    state_from: str | None
    state_to: str | None
    detail: str

    @classmethod
    def of(cls, e: Event) -> EventView:
        return cls(e.at, e.kind, e.state_from, e.state_to, e.detail)


@dataclass(frozen=True)
class MessageView:
    id: str
    batch_id: str
    recipient: str
    sender: str | None
    text: str
    send_at: datetime
    zone: str
    state: str
    where: str
    provider: str
    handling: str
    segments: int
    encoding: str
    provider_ref: str | None
    last_error: str | None
    attention: str | None
    events: tuple[EventView, ...] = field(default=())
    contact_name: str | None = None  # the contact saved under this number, if any
    recipient_zone: str | None = None  # the recipient's own zone, where it is known
    account_id: int = 0  # the provider account's id (what the Queue sorts providers by)
    series: str | None = None  # the series it is an occurrence of (its label), if any

    @classmethod
    def of(
        cls,
        m: Message,
        provider: str,
        events: list[Event] | None = None,
        facts: tuple[str | None, str | None] = (None, None),
        series: str | None = None,
    ) -> MessageView:
        return cls(
            id=m.id,
            batch_id=m.batch_id,
            recipient=m.recipient,
            sender=m.sender,
            text=m.text,
            send_at=m.send_at,
            zone=m.zone,
            state=m.state,
            where=where_it_lives(State(m.state)),
            provider=provider,
            handling=m.handling,
            segments=m.segments,
            encoding=m.encoding,
            provider_ref=m.provider_ref,
            last_error=m.last_error,
            attention=m.attention,
            events=tuple(EventView.of(e) for e in events or []),
            contact_name=facts[0],
            recipient_zone=facts[1],
            account_id=m.account_id,
            series=series,
        )


@dataclass(frozen=True)
class BatchView:
    """One compose action as the Queue groups it: its messages counted by state."""

    id: str
    created_at: datetime
    text: str
    provider: str
    messages: int
    by_state: dict[str, int]
    first_send_at: datetime | None
    last_send_at: datetime | None


@dataclass(frozen=True)
class ScheduledMessage:
    message: MessageView
    handling_text: str  # the plain sentence: how this message will be handled
    note: str = ""  # e.g. "moved from 22:30 to 08:00 next day (quiet hours ...)"


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    messages: tuple[ScheduledMessage, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (number, why not): opted out


@dataclass(frozen=True)
class AccountView:
    name: str
    kind: str
    base_url: str | None
    sender: str | None
    is_default: bool
    capabilities: dict[str, object]
    replies: str = ""  # whether smsdesk collects this account's replies, in words


@dataclass(frozen=True)
class DraftView:
    id: str
    recipients: str
    text: str
    sender: str | None
    account_name: str | None
    send_at: datetime | None
    zone: str | None
    updated_at: datetime


@dataclass(frozen=True)
class PreviewView:
    characters: int
    segments: int
    encoding: str
    units: int
    remaining: int
    ucs2_culprits: tuple[str, ...]
    provider: str
    server: dict[str, object] | None  # the provider's own preview, where it has one


@dataclass(frozen=True)
class Failure:
    at: datetime
    message_id: str
    recipient: str
    reason: str


@dataclass(frozen=True)
class Summary:
    """What the status bar shows about the queue."""

    held_here: int  # queued on this computer
    at_provider: int  # scheduled at a provider
    needs_attention: int
    next_hand_off: datetime | None
    by_state: dict[str, int]
    last_failure: Failure | None = None


@dataclass(frozen=True)
class ActionResult:
    """The outcome of an action on one message (cancel, reschedule)."""

    id: str
    ok: bool
    state: str
    detail: str


def to_jsonable(value: Any) -> Any:
    """Dataclasses and datetimes as JSON-ready values (for ``--json``)."""
    if hasattr(value, "__dataclass_fields__"):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)
