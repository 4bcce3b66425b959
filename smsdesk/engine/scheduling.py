"""Scheduling: validate a compose action, plan each recipient, store the batch.

Nothing here talks to a provider except ``preview``; the Dispatcher does the hand-off.
Every check runs before anything is stored, so invalid input changes nothing.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from smsdesk.core.errors import InvalidInput
from smsdesk.core.gc_pause import collector_paused
from smsdesk.core.lifecycle import State, where_it_lives
from smsdesk.core.phones import normalize_number, split_for_account
from smsdesk.core.planner import Action, Capabilities, describe_plan, plan_handoff
from smsdesk.core.segments import SegmentInfo, count_segments
from smsdesk.core.text_checks import is_blank
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import Audience, plan_audience
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.ids import new_id
from smsdesk.engine.plan import (
    AT_PROVIDER,
    HELD_HERE,
    REFUSED_INVALID,
    REFUSED_OPTED_OUT,
    PlanChanged,
    PlannedSend,
    Refusal,
    ScheduledBatch,
    SchedulePlan,
    cost_of,
    provider_warnings,
    rate_of,
)
from smsdesk.engine.spread import spread_batch
from smsdesk.engine.undo import UndoOutcome, UndoWindow, undo_batch, undo_window
from smsdesk.engine.views import (
    ActionResult,
    BatchResult,
    MessageView,
    PreviewView,
    ScheduledMessage,
)
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
    if is_blank(text):  # zero-width spaces or a lone BOM would go out as a blank SMS
        raise InvalidInput(
            "The message has only invisible characters (such as zero-width spaces); it would "
            "arrive blank.",
            field="text",
        )
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


def validate_send_at(send_at: datetime, now: datetime, zone: ZoneInfo | None = None) -> None:
    """Refuse a time without a zone, in the past, or more than a year ahead. ``zone``: the
    one the user typed the time in, so the error repeats it as they wrote it."""
    if send_at.tzinfo is None:
        raise InvalidInput("The send time has no time zone.", field="send_at")
    if send_at < now - PAST_TOLERANCE:
        typed = (
            format_local(send_at, zone) if zone is not None else send_at.isoformat("T", "minutes")
        )
        raise InvalidInput(
            f"The send time {typed} is in the past; it is now {_now_in(now, zone)}.",
            field="send_at",
        )
    if send_at - now > MAX_AHEAD:
        raise InvalidInput(
            "The send time is more than 365 days ahead; smsdesk schedules up to a year out.",
            field="send_at",
        )


def _now_in(now: datetime, zone: ZoneInfo | None) -> str:
    return format_local(now, zone) if zone is not None else now.isoformat("T", "minutes")


# A new message row: every column, with the defaults ``Message`` gives those not set here.
_MESSAGE_DEFAULTS: dict[str, object] = {
    name: field.get_default()
    for name, field in Message.model_fields.items()
    if not field.is_required()
}


@dataclass
class Prepared:
    """A checked batch, not yet stored. ``messages``: each message's row, every column (plain
    values: building 10,000 ``Message`` objects cost more than planning and storing them)."""

    batch: Batch
    messages: list[dict[str, object]]
    events: list[dict[str, object]]
    result: BatchResult


class _Formats:
    """format_local per (instant, zone): a batch shares a handful of times, and formatting
    each of 10,000 messages twice would dominate planning."""

    def __init__(self) -> None:
        self._cache: dict[tuple[datetime, str, bool], str] = {}

    def __call__(self, instant: datetime, zone: ZoneInfo, seconds: bool = False) -> str:
        key = (instant, zone.key, seconds)
        text = self._cache.get(key)
        if text is None:
            text = self._cache[key] = format_local(instant, zone, seconds=seconds)
        return text


@dataclass(frozen=True, slots=True)
class _Timing:
    """The parts of a planned message that follow from its time and zones alone."""

    when: str
    when_recipient: str
    where: str
    action: str
    act_at: datetime
    act_when: str
    handling: str
    computer_on_at: datetime | None


def _timing(
    send_at: datetime,
    place_name: str | None,
    zone: str,
    caps: Capabilities,
    now: datetime,
    desk: ZoneInfo,
    account: str,
    fmt: _Formats,
    spread: str = "",
) -> _Timing:
    seconds = bool(spread)  # spread times are seconds apart: show the seconds
    handoff = plan_handoff(send_at, caps, now)
    place = resolve_zone(place_name) if place_name else None
    when = fmt(send_at, desk, seconds)
    local = fmt(send_at, place, seconds) if place is not None else ""
    shown = resolve_zone(zone)
    at_provider = handoff.action is Action.HAND_OFF_NOW
    return _Timing(
        when=when,
        when_recipient="" if local == when else local,
        where=AT_PROVIDER if at_provider else HELD_HERE,
        action=handoff.action.value,
        act_at=now if at_provider else handoff.act_at,
        act_when=fmt(max(handoff.act_at, now), desk),
        handling=describe_plan(
            handoff,
            account,
            fmt(send_at, shown, seconds),
            fmt(handoff.act_at, shown),
            due_now=handoff.act_at <= now,
        ),
        computer_on_at=None if at_provider else handoff.act_at,
    )


class Scheduling:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def normalize_recipients(
        self, recipients: Sequence[str], account: ProviderAccount
    ) -> list[str]:
        numbers, errors = self._sort_recipients(recipients, account)
        if errors:
            more = f" (and {len(errors) - 1} more invalid)" if len(errors) > 1 else ""
            raise InvalidInput(f"{errors[0][1]}{more}", field="recipients")
        return numbers

    def _sort_recipients(
        self, recipients: Sequence[str], account: ProviderAccount
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """The valid entries as distinct E.164 numbers, and the invalid ones with why."""
        if not recipients:
            raise InvalidInput("Add at least one recipient.", field="recipients")
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidInput(
                f"{len(recipients)} recipients is more than the {MAX_RECIPIENTS} one message "
                "may have.",
                field="recipients",
            )
        region = self.ctx.settings.default_region
        numbers: dict[str, None] = {}
        errors: list[tuple[str, str]] = []
        for raw in recipients:
            try:
                number = normalize_number(raw, region, allow_test_numbers=account.kind == "sandbox")
            except InvalidInput as exc:
                errors.append((raw.strip(), exc.message))
                continue
            numbers[number] = None
        return list(numbers), errors

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

    def plan(
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
    ) -> SchedulePlan:
        """What ``schedule`` with the same arguments would store, without storing anything:
        each recipient's final time (quiet hours applied, with why), where the message will
        live, and who is refused and why (opted out, not a valid number).

        Raises InvalidInput for what makes a plan impossible (a past time, an unknown zone,
        a bad sender, a text over the limit). An empty text is planned with 0 segments, so
        the window can show the plan while the user is still writing."""
        with collector_paused():  # see ``schedule``
            return self._plan(
                self.ctx.account(account),
                recipients,
                text,
                send_at,
                zone,
                sender=sender,
                group=group,
                recipient_local=recipient_local,
                values=values,
            )

    def _plan(
        self,
        acct: ProviderAccount,
        recipients: Sequence[str],
        text: str,
        send_at: datetime,
        zone: str,
        *,
        sender: str | None,
        group: str | None,
        recipient_local: bool,
        values: dict[str, dict[str, object]] | None,
    ) -> SchedulePlan:
        tz = resolve_zone(zone)
        if text.strip():
            validate_text(text)
        book = ContactBook(self.ctx)
        numbers: list[str] = []
        invalid: list[tuple[str, str]] = []
        if recipients or not group:
            numbers, invalid = self._sort_recipients(recipients, acct)
        if group:
            # A member the account cannot send to (a Sandbox test number) is refused as invalid.
            members, unsendable = split_for_account(book.group_numbers(group), acct.kind)
            invalid += unsendable
            if not members and not numbers and not invalid:
                raise InvalidInput(f"The group '{group}' has no members.", field="recipients")
            numbers = list(dict.fromkeys([*numbers, *members]))
        sender = self._validate_sender(sender, acct)
        now = self.ctx.clock.now()
        validate_send_at(send_at, now, tz)
        refused = [Refusal(raw, REFUSED_INVALID, why) for raw, why in invalid]
        audience = self._audience(book, numbers, text, send_at, tz, recipient_local, values)
        refused += [Refusal(n, REFUSED_OPTED_OUT, why) for n, why in audience.skipped]
        caps = self.ctx.capabilities(acct)
        desk = resolve_zone(self.ctx.settings.zone)
        fmt = _Formats()
        segments: dict[str, SegmentInfo] = {}
        # What follows from a send time and the zones it is shown in, worked out once for
        # the recipients that share them (a batch has a handful of such times).
        timings: dict[tuple[datetime, str | None, str], _Timing] = {}
        messages: list[PlannedSend] = []
        # Spread to the sender's documented rate before anything else is worked out from the
        # times, so the stored, shown and handed-off time is the one it leaves at.
        times, spread = spread_batch(
            self.ctx,
            acct,
            sender,
            [planned.send_at for planned in audience.planned],
            [planned.place for planned in audience.planned],
            desk,
        )
        for planned, at in zip(audience.planned, times, strict=True):
            key = (at, planned.place, planned.zone)
            timing = timings.get(key)
            if timing is None:
                validate_send_at(at, now, tz)
                timing = timings[key] = _timing(
                    at, planned.place, planned.zone, caps, now, desk, acct.name, fmt, spread
                )
            info = segments.get(planned.text)
            if info is None:
                if planned.text.strip():
                    validate_text(planned.text)  # merged: may be longer than the template
                info = segments[planned.text] = count_segments(planned.text)
            messages.append(
                PlannedSend(
                    number=planned.number,
                    name=planned.name,
                    text=planned.text,
                    segments=info.segments,
                    encoding=info.encoding,
                    send_at=at,
                    zone=planned.zone,
                    recipient_zone=planned.place,
                    when=timing.when,
                    when_recipient=timing.when_recipient,
                    moved=planned.note,
                    where=timing.where,
                    action=timing.action,
                    act_at=timing.act_at,
                    act_when=timing.act_when,
                    handling=timing.handling,
                    computer_on_at=timing.computer_on_at,
                )
            )
        options = json.loads(acct.settings_json or "{}")
        return SchedulePlan(
            account=acct.name,
            desk_zone=desk.key,
            requested_at=send_at,
            messages=tuple(messages),
            refused=tuple(refused),
            cost=cost_of(
                sum(m.segments for m in messages),
                rate_of(options) if isinstance(options, dict) else None,
            ),
            warnings=provider_warnings(acct.kind, sender, [m.send_at for m in messages]),
            spread=spread,
        )

    def _audience(
        self,
        book: ContactBook,
        numbers: list[str],
        text: str,
        send_at: datetime,
        tz: ZoneInfo,
        recipient_local: bool,
        values: dict[str, dict[str, object]] | None,
    ) -> Audience:
        """plan_audience, except that nobody left (all refused) is a plan with no messages
        rather than an error, so the plan can still say who was refused and why."""
        if not numbers:
            return Audience([], [])
        try:
            return plan_audience(
                book,
                self.ctx.settings,
                numbers,
                text,
                send_at,
                tz,
                recipient_local=recipient_local,
                extra_values=values,
            )
        except InvalidInput as exc:
            if exc.field != "recipients":  # its only recipients error: everyone opted out
                raise
            opted = book.opted_out(numbers)
            return Audience(
                [],
                [
                    (n, f"opted out on {format_local(opted[n].at, tz)} ({opted[n].source})")
                    for n in numbers
                    if n in opted
                ],
            )

    def prepare(
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
        expected: SchedulePlan | None = None,
    ) -> Prepared:
        """Plan (see ``plan``) and build the batch's rows, storing nothing: exactly what the
        plan says; InvalidInput when anyone is invalid or nobody is left.

        ``text`` may hold merge fields ({first_name|there}); ``recipient_local`` sends at the
        same wall-clock time in each recipient's zone; quiet hours and opt-outs apply.
        ``appointment`` = (appointment id, offset minutes) marks the messages as reminders.
        ``expected``: the plan the user agreed to; if planning now gives another outcome,
        PlanChanged (with the new plan) is raised.
        """
        validate_text(text)
        acct = self.ctx.account(account)  # read once: it costs milliseconds
        plan = self._plan(
            acct,
            recipients,
            text,
            send_at,
            zone,
            sender=sender,
            group=group,
            recipient_local=recipient_local,
            values=values,
        )
        problem = plan.refusal_error()
        if problem is not None:
            raise problem
        if expected is not None and expected.fingerprint() != plan.fingerprint():
            raise PlanChanged(plan)
        tz = resolve_zone(zone)
        sender = self._validate_sender(sender, acct)
        now = self.ctx.clock.now()
        batch_id = new_id("b")
        assert acct.id is not None
        queued = State.QUEUED.value
        where = where_it_lives(State.QUEUED)
        fmt = _Formats()
        messages: list[dict[str, object]] = []
        events: list[dict[str, object]] = []
        shown: list[ScheduledMessage] = []
        for planned in plan.messages:
            row: dict[str, object] = {
                **_MESSAGE_DEFAULTS,
                "id": new_id("m"),
                "batch_id": batch_id,
                "account_id": acct.id,
                "recipient": planned.number,
                "sender": sender,
                "text": planned.text,
                "encoding": planned.encoding,
                "segments": planned.segments,
                "send_at": planned.send_at,
                "zone": planned.zone,
                "state": queued,
                "handling": planned.action,
                "due_at": planned.act_at,
                "appointment_id": appointment[0] if appointment else None,
                "reminder_offset_minutes": appointment[1] if appointment else None,
                "created_at": now,
                "updated_at": now,
            }
            message_id = str(row["id"])
            when = fmt(planned.send_at, resolve_zone(planned.zone), bool(plan.spread))
            detail = f"to be sent {when}" + (f"; {planned.moved}" if planned.moved else "")
            events.append(
                {
                    "message_id": message_id,
                    "at": now,
                    "kind": "created",
                    "detail": detail,
                    "state_from": None,
                    "state_to": queued,
                }
            )
            messages.append(row)
            # What MessageView.of gives for this row once stored.
            view = MessageView(
                id=message_id,
                batch_id=batch_id,
                recipient=planned.number,
                sender=sender,
                text=planned.text,
                send_at=planned.send_at,
                zone=planned.zone,
                state=queued,
                where=where,
                provider=acct.name,
                handling=planned.action,
                segments=planned.segments,
                encoding=planned.encoding,
                provider_ref=None,
                last_error=None,
                attention=None,
                account_id=acct.id,
            )
            shown.append(ScheduledMessage(view, planned.handling, planned.moved))
        result = ScheduledBatch(
            batch_id,
            tuple(shown),
            tuple((r.recipient, r.reason) for r in plan.refused),
            plan=plan,
        )
        batch = Batch(id=batch_id, account_id=acct.id, text=text, zone=tz.key, created_at=now)
        return Prepared(batch, messages, events, result)

    @staticmethod
    def store(s: Session, prepared: Prepared) -> None:
        """Write a prepared batch in the caller's transaction."""
        s.add(prepared.batch)
        s.flush()
        # One executemany each rather than an ORM flush per message (10,000 took 7 s).
        queries.insert_messages(s, prepared.messages, prepared.events)

    @staticmethod
    def store_many(s: Session, prepared: Sequence[Prepared]) -> None:
        """Write several prepared batches in the caller's transaction, one statement per
        table (an import of 900 reminders took 4 s batch by batch, holding the write lock)."""
        if not prepared:
            return
        s.add_all([p.batch for p in prepared])
        s.flush()
        queries.insert_messages(
            s, [m for p in prepared for m in p.messages], [e for p in prepared for e in p.events]
        )

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
        expected: SchedulePlan | None = None,
    ) -> BatchResult:
        """Validate and plan everything (see ``prepare``), then store the batch and one
        queued message per planned recipient. The result carries the plan it stored
        (``ScheduledBatch.plan``)."""
        # A batch makes a few objects per recipient that live until it is stored; the cycle
        # collector's walks over them cost more than a tenth of a 10,000-message batch.
        with collector_paused():
            prepared = self.prepare(
                recipients,
                text,
                send_at,
                zone,
                account=account,
                sender=sender,
                group=group,
                recipient_local=recipient_local,
                values=values,
                appointment=appointment,
                expected=expected,
            )
            with self.ctx.db.write() as s:
                self.store(s, prepared)
        return prepared.result

    def undo_window(self, batch_id: str) -> UndoWindow:
        """Whether the whole batch can still be taken back, and until when."""
        return undo_window(self.ctx, batch_id)

    def undo(self, batch_id: str, cancel: Callable[[str], list[ActionResult]]) -> UndoOutcome:
        """Cancel the whole batch through ``cancel`` (the service's batch cancel) while that
        is still possible; otherwise cancel nothing and say why."""
        return undo_batch(self.ctx, batch_id, cancel)

    def describe_handling(self, send_at: datetime, zone: str, account: str | None = None) -> str:
        """The plain sentence for one message at ``send_at`` (no quiet hours: use ``plan``
        for what a given recipient gets). A past time is refused, never described."""
        acct = self.ctx.account(account)
        tz = resolve_zone(zone)
        now = self.ctx.clock.now()
        validate_send_at(send_at, now, tz)
        plan = plan_handoff(send_at, self.ctx.capabilities(acct), now)
        return describe_plan(
            plan,
            acct.name,
            format_local(send_at, tz),
            format_local(plan.act_at, tz),
            due_now=plan.act_at <= now,
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
