"""Scheduling: validate a compose action, plan each recipient, store the batch.

Nothing here talks to a provider except ``preview``; the Dispatcher does the hand-off.
Every check runs before anything is stored, so invalid input changes nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.phones import normalize_number
from smsdesk.core.planner import Action, Plan, describe_plan, plan_handoff
from smsdesk.core.segments import count_segments
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import Planned, plan_audience
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.ids import new_id
from smsdesk.engine.views import BatchResult, MessageView, PreviewView, ScheduledMessage
from smsdesk.store import queries
from smsdesk.store.models import Batch, Message, ProviderAccount

MAX_SEGMENTS = 10  # what the providers we support accept for one message
MAX_AHEAD = timedelta(days=365)
PAST_TOLERANCE = timedelta(minutes=1)  # a time that passed while the user typed means "now"
MAX_RECIPIENTS = 10_000
_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


def validate_text(text: str) -> None:
    """Refuse an empty text, control characters, or more segments than providers take."""
    if not text.strip():
        raise InvalidInput("The message is empty.", field="text")
    for pos, ch in enumerate(text):
        if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in ("Cc", "Cs"):
            raise InvalidInput(
                f"The message contains a control character (U+{ord(ch):04X}) at position "
                f"{pos + 1}; remove it.",
                field="text",
            )
    info = count_segments(text)
    if info.segments > MAX_SEGMENTS:
        raise InvalidInput(
            f"The message is {info.segments} segments long ({info.characters} characters, "
            f"{info.encoding}); the most a provider accepts is {MAX_SEGMENTS}.",
            field="text",
        )


def validate_send_at(send_at: datetime, now: datetime) -> None:
    """Refuse a time without a zone, in the past, or more than a year ahead."""
    if send_at.tzinfo is None:
        raise InvalidInput("The send time has no time zone.", field="send_at")
    if send_at < now - PAST_TOLERANCE:
        raise InvalidInput(
            f"The send time {send_at.isoformat(timespec='minutes')} is in the past.",
            field="send_at",
        )
    if send_at - now > MAX_AHEAD:
        raise InvalidInput(
            "The send time is more than 365 days ahead; smsdesk schedules up to a year out.",
            field="send_at",
        )


class Scheduling:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def normalize_recipients(
        self, recipients: Sequence[str], account: ProviderAccount
    ) -> list[str]:
        if not recipients:
            raise InvalidInput("Add at least one recipient.", field="recipients")
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidInput(
                f"{len(recipients)} recipients is more than the {MAX_RECIPIENTS} one message "
                "may have.",
                field="recipients",
            )
        numbers: list[str] = []
        errors: list[InvalidInput] = []
        for raw in recipients:
            try:
                number = normalize_number(
                    raw,
                    self.ctx.settings.default_region,
                    allow_test_numbers=account.kind == "sandbox",
                )
            except InvalidInput as exc:
                errors.append(exc)
                continue
            if number not in numbers:
                numbers.append(number)
        if errors:
            more = f" (and {len(errors) - 1} more invalid)" if len(errors) > 1 else ""
            raise InvalidInput(f"{errors[0].message}{more}", field="recipients")
        return numbers

    def _validate_sender(self, sender: str | None, account: ProviderAccount) -> str | None:
        sender = (sender or account.sender or "").strip() or None
        if sender is None:
            return None
        if sender.startswith("+") or sender.isdigit():
            return normalize_number(
                sender, self.ctx.settings.default_region, allow_test_numbers=True
            )
        if len(sender) > 11 or not all(c.isascii() and (c.isalnum() or c == " ") for c in sender):
            raise InvalidInput(
                f"Sender '{sender}' is neither a phone number nor a name of at most 11 letters "
                "and digits.",
                field="sender",
            )
        return sender

    def schedule(
        self,
        recipients: Sequence[str],
        text: str,
        send_at: datetime,
        zone: str,
        *,
        account: str | None = None,
        sender: str | None = None,
        group: str | None = None,
        recipient_local: bool = False,
        values: dict[str, dict[str, object]] | None = None,
        appointment: tuple[int, int] | None = None,
    ) -> BatchResult:
        """Validate everything, then store the batch and one queued message per recipient.

        ``text`` may hold merge fields ({first_name|there}); ``recipient_local`` sends at the
        same wall-clock time in each recipient's zone; quiet hours and opt-outs apply.
        ``appointment`` = (appointment id, offset minutes) marks the messages as reminders.
        """
        acct = self.ctx.account(account)
        tz = resolve_zone(zone)
        validate_text(text)
        book = ContactBook(self.ctx)
        numbers = self.normalize_recipients(recipients, acct) if recipients or not group else []
        for number in book.group_numbers(group) if group else []:
            if number not in numbers:
                numbers.append(number)
        if not numbers:
            raise InvalidInput(f"The group '{group}' has no members.", field="recipients")
        sender = self._validate_sender(sender, acct)
        validate_send_at(send_at, self.ctx.clock.now())
        audience = plan_audience(
            book,
            self.ctx.settings,
            numbers,
            text,
            send_at,
            tz,
            recipient_local=recipient_local,
            extra_values=values,
        )
        for planned in audience.planned:
            validate_text(planned.text)
            validate_send_at(planned.send_at, self.ctx.clock.now())
        now = self.ctx.clock.now()
        caps = self.ctx.capabilities(acct)
        batch_id = new_id("b")
        assert acct.id is not None
        stored: list[tuple[Message, Planned, Plan]] = []
        events: list[dict[str, object]] = []
        for planned in audience.planned:
            plan = plan_handoff(planned.send_at, caps, now)
            info = count_segments(planned.text)
            msg = Message(
                id=new_id("m"),
                batch_id=batch_id,
                account_id=acct.id,
                recipient=planned.number,
                sender=sender,
                text=planned.text,
                encoding=info.encoding,
                segments=info.segments,
                send_at=planned.send_at,
                zone=planned.zone,
                state=State.QUEUED.value,
                handling=plan.action.value,
                due_at=now if plan.action is Action.HAND_OFF_NOW else plan.act_at,
                appointment_id=appointment[0] if appointment else None,
                reminder_offset_minutes=appointment[1] if appointment else None,
                created_at=now,
                updated_at=now,
            )
            when = format_local(planned.send_at, resolve_zone(planned.zone))
            detail = f"to be sent {when}" + (f"; {planned.note}" if planned.note else "")
            events.append(
                {
                    "message_id": msg.id,
                    "at": now,
                    "kind": "created",
                    "detail": detail,
                    "state_from": None,
                    "state_to": State.QUEUED.value,
                }
            )
            stored.append((msg, planned, plan))
        with self.ctx.db.write() as s:
            s.add(Batch(id=batch_id, account_id=acct.id, text=text, zone=tz.key, created_at=now))
            s.flush()
            # One executemany each rather than an ORM flush per message (10,000 took 7 s);
            # the rows are the messages' own values, so nothing differs from adding them.
            columns = queries.MESSAGES.columns
            rows = [{c.name: getattr(m, c.name) for c in columns} for m, _p, _plan in stored]
            s.execute(insert(queries.MESSAGES), rows)
            s.execute(insert(queries.EVENTS), events)
        return BatchResult(
            batch_id,
            tuple(
                ScheduledMessage(
                    MessageView.of(m, acct.name),
                    self._describe(plan, acct.name, p.send_at, resolve_zone(p.zone)),
                    p.note,
                )
                for m, p, plan in stored
            ),
            tuple(audience.skipped),
        )

    def describe_handling(self, send_at: datetime, zone: str, account: str | None = None) -> str:
        """The plain sentence for the composer: who will hold the message, and until when."""
        acct = self.ctx.account(account)
        plan = plan_handoff(send_at, self.ctx.capabilities(acct), self.ctx.clock.now())
        return self._describe(plan, acct.name, send_at, resolve_zone(zone))

    @staticmethod
    def _describe(plan: Plan, provider: str, send_at: datetime, tz: ZoneInfo) -> str:
        return describe_plan(
            plan, provider, format_local(send_at, tz), format_local(plan.act_at, tz)
        )

    def preview(self, text: str, account: str | None = None) -> PreviewView:
        """Local segment count, plus the provider's own preview where it has one (network)."""
        acct = self.ctx.account(account)
        info = count_segments(text)
        server: dict[str, object] | None = None
        provider = self.ctx.provider(acct)
        if provider.capabilities.server_preview and text:
            result = provider.preview(text)
            if result is not None:
                server = {
                    "text": result.text,
                    "segments": result.segments,
                    "characters_remaining": result.characters_remaining,
                    "note": result.note,
                }
        return PreviewView(
            characters=info.characters,
            segments=info.segments,
            encoding=info.encoding,
            units=info.units,
            remaining=info.remaining,
            ucs2_culprits=info.ucs2_culprits,
            provider=acct.name,
            server=server,
        )
