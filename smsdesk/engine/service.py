"""The service façade: every operation the window and the command line offer.

Each call validates first and changes nothing when input is invalid. Scheduling only writes
the database; the Dispatcher does the hand-off. Cancel and reschedule of a message that the
provider holds talk to the provider, so the window calls them off the Qt thread.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from smsdesk.core.errors import ConflictError, InvalidInput, NotFound
from smsdesk.core.lifecycle import State
from smsdesk.core.phones import normalize_number
from smsdesk.core.planner import Action, Plan, describe_plan, plan_handoff
from smsdesk.core.quiet_hours import QuietHours
from smsdesk.core.segments import count_segments
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.core.urls import check_provider_url
from smsdesk.engine.audience import (
    Planned,
    plan_audience,
    quiet_hours_of,
    recipient_zone,
    respect_quiet_hours,
)
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.views import (
    AccountView,
    ActionResult,
    BatchResult,
    DraftView,
    Failure,
    MessageView,
    PreviewView,
    ScheduledMessage,
    Summary,
)
from smsdesk.providers.base import ProviderError
from smsdesk.providers.registry import MODULES, kind_info, open_provider
from smsdesk.store import queries
from smsdesk.store.models import Batch, Draft, Event, Message, ProviderAccount
from smsdesk.store.settings import Settings

MAX_SEGMENTS = 10  # what the providers we support accept for one message
MAX_AHEAD = timedelta(days=365)
PAST_TOLERANCE = timedelta(minutes=1)  # a time that passed while the user typed means "now"
MAX_RECIPIENTS = 10_000
_ALLOWED_CONTROLS = {"\n", "\r", "\t"}
ACTIVE_STATES = (State.QUEUED, State.HANDING_OFF, State.SCHEDULED, State.UNKNOWN)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Service:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    # -- validation -----------------------------------------------------------------------

    def validate_text(self, text: str) -> None:
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

    def validate_send_at(self, send_at: datetime) -> None:
        if send_at.tzinfo is None:
            raise InvalidInput("The send time has no time zone.", field="send_at")
        now = self.ctx.clock.now()
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

    # -- scheduling -----------------------------------------------------------------------

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
        self.validate_text(text)
        book = ContactBook(self.ctx)
        numbers = self.normalize_recipients(recipients, acct) if recipients or not group else []
        for number in book.group_numbers(group) if group else []:
            if number not in numbers:
                numbers.append(number)
        if not numbers:
            raise InvalidInput(f"The group '{group}' has no members.", field="recipients")
        sender = self._validate_sender(sender, acct)
        self.validate_send_at(send_at)
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
            self.validate_text(planned.text)
            self.validate_send_at(planned.send_at)
        now = self.ctx.clock.now()
        caps = self.ctx.capabilities(acct)
        batch_id = _new_id("b")
        assert acct.id is not None
        stored: list[tuple[Message, Planned, Plan]] = []
        events: list[dict[str, object]] = []
        for planned in audience.planned:
            plan = plan_handoff(planned.send_at, caps, now)
            info = count_segments(planned.text)
            msg = Message(
                id=_new_id("m"),
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

    # -- reading --------------------------------------------------------------------------

    def _account_names(self) -> dict[int, str]:
        with self.ctx.db.read() as s:
            return {a.id: a.name for a in s.exec(select(ProviderAccount)) if a.id is not None}

    def list_messages(self, state: str | None = None, limit: int = 500) -> list[MessageView]:
        if state is not None and state not in {st.value for st in State}:
            raise InvalidInput(
                f"Unknown state '{state}'; one of: {', '.join(st.value for st in State)}",
                field="state",
            )
        names = self._account_names()
        with self.ctx.db.read() as s:
            stmt = select(Message).order_by(col(Message.send_at), col(Message.id)).limit(limit)
            if state:
                stmt = stmt.where(Message.state == state)
            return [MessageView.of(m, names.get(m.account_id, "?")) for m in s.exec(stmt)]

    def _resolve(self, ident: str) -> list[Message]:
        ident = ident.strip()
        with self.ctx.db.read() as s:
            msg = s.get(Message, ident)
            if msg is not None:
                return [msg]
            msgs = list(
                s.exec(
                    select(Message).where(Message.batch_id == ident).order_by(col(Message.id))
                ).all()
            )
        if not msgs:
            raise NotFound(f"No message or batch with id '{ident}'.", field="id")
        return msgs

    def show(self, ident: str) -> list[MessageView]:
        """A message (or every message of a batch) with its event history."""
        names = self._account_names()
        msgs = self._resolve(ident)
        with self.ctx.db.read() as s:
            return [
                MessageView.of(m, names.get(m.account_id, "?"), queries.events_of(s, m.id))
                for m in msgs
            ]

    def summary(self) -> Summary:
        """Counts for the status bar: held here, at the provider, needing attention."""
        with self.ctx.db.read() as s:
            counts = dict(s.exec(select(Message.state, func.count()).group_by(Message.state)).all())
            attention = s.exec(
                select(func.count()).where(col(Message.attention).is_not(None))
            ).one()
            next_due = s.exec(
                select(func.min(Message.due_at)).where(Message.state == State.QUEUED.value)
            ).one()
            newest = s.exec(
                select(Event, Message.recipient)
                .join(Message, col(Message.id) == col(Event.message_id))
                .where(Event.state_to == State.FAILED.value)
                .order_by(col(Event.id).desc())
                .limit(1)
            ).first()
        failure = (
            Failure(newest[0].at, newest[0].message_id, newest[1], newest[0].detail)
            if newest
            else None
        )
        return Summary(
            held_here=counts.get(State.QUEUED.value, 0),
            at_provider=counts.get(State.SCHEDULED.value, 0),
            needs_attention=attention,
            next_hand_off=next_due,
            by_state=counts,
            last_failure=failure,
        )

    # -- changing -------------------------------------------------------------------------

    def reschedule(self, ident: str, send_at: datetime) -> list[ActionResult]:
        """Move messages to ``send_at``; quiet hours apply as when scheduling (a message
        moved into its recipient's night goes at the next morning, or, by setting, the
        change is refused and nothing changes)."""
        self.validate_send_at(send_at)
        msgs = self._resolve(ident)
        times = self._out_of_quiet_hours(msgs, send_at)
        by_time: dict[datetime, list[Message]] = defaultdict(list)
        for msg in msgs:
            by_time[times[msg.id][0]].append(msg)
        results: dict[str, ActionResult] = {}
        for at, group in by_time.items():
            for result in self._act(group, at):
                note = times[result.id][1]
                if note and result.ok:
                    result = replace(result, detail=f"{result.detail}; {note}")
                results[result.id] = result
        return [results[m.id] for m in msgs]

    def _out_of_quiet_hours(
        self, msgs: Sequence[Message], send_at: datetime
    ) -> dict[str, tuple[datetime, str]]:
        """Each message's time (and why it moved); raises, changing nothing, when quiet
        hours refuse one."""
        settings = self.ctx.settings
        quiet = quiet_hours_of(settings)
        contacts = ContactBook(self.ctx).by_numbers({m.recipient for m in msgs})
        times: dict[str, tuple[datetime, str]] = {}
        movable = (State.QUEUED.value, State.SCHEDULED.value)
        for msg in msgs:
            if msg.state not in movable:  # refused for its state anyway, with that reason
                times[msg.id] = (send_at, "")
                continue
            place = recipient_zone(
                msg.recipient, contacts.get(msg.recipient), resolve_zone(msg.zone)
            )
            times[msg.id] = respect_quiet_hours(settings, quiet, msg.recipient, send_at, place)
        return times

    def cancel(self, ident: str) -> list[ActionResult]:
        return self._act(self._resolve(ident), None)

    def _act(self, msgs: list[Message], send_at: datetime | None) -> list[ActionResult]:
        """Cancel (``send_at`` None) or reschedule messages. Messages that the provider
        holds as one group (an Infobip bulk) are handled together."""
        verb = "cancel" if send_at is None else "reschedule"
        results: dict[str, ActionResult] = {}
        groups: dict[tuple[int, str], list[Message]] = defaultdict(list)
        for msg in msgs:
            state = State(msg.state)
            if state is State.QUEUED or (state is State.DRAFT and send_at is None):
                results[msg.id] = self._act_locally(msg, send_at)
            elif state is State.UNKNOWN and msg.attention and send_at is None:
                results[msg.id] = self._settle_as_cancelled(msg)
            elif state is not State.SCHEDULED:
                results[msg.id] = self._refuse(msg, verb)
            elif msg.provider_group:
                groups[(msg.account_id, msg.provider_group)].append(msg)
            else:
                results.update(self._act_at_provider([msg], [], send_at))
        for (account_id, group), members in groups.items():
            chosen = {m.id for m in members}
            with self.ctx.db.read() as s:
                siblings = [
                    m
                    for m in s.exec(
                        select(Message).where(
                            Message.account_id == account_id,
                            Message.provider_group == group,
                            Message.state == State.SCHEDULED.value,
                        )
                    )
                    if m.id not in chosen
                ]
            results.update(self._act_at_provider(members, siblings, send_at))
        return [results[m.id] for m in msgs]

    def _act_locally(self, msg: Message, send_at: datetime | None) -> ActionResult:
        now = self.ctx.clock.now()
        state = State(msg.state)
        if send_at is None:
            with self.ctx.db.write() as s:
                ok = queries.transition(
                    s,
                    msg.id,
                    state,
                    State.CANCELLED,
                    now,
                    kind="cancelled",
                    detail="cancelled on this computer; it was never handed off",
                    due_at=None,
                    attention=None,
                )
            return self._result(msg.id, ok, "cancelled")
        with self.ctx.db.write() as s:
            ok = self._requeue(s, msg, send_at, now, "rescheduled", "now {when}")
        return self._result(msg.id, ok, f"rescheduled to {self._when(msg, send_at)}")

    def _settle_as_cancelled(self, msg: Message) -> ActionResult:
        """The user, having checked the provider's console, gives up on a message whose
        hand-off could not be confirmed. Nothing can be cancelled at the provider: we never
        learnt its id there, so say so plainly."""
        now = self.ctx.clock.now()
        acct = self.ctx.account_by_id(msg.account_id)
        with self.ctx.db.write() as s:
            ok = queries.transition(
                s,
                msg.id,
                State.UNKNOWN,
                State.CANCELLED,
                now,
                kind="cancelled",
                detail=f"marked cancelled by you; if {acct.name} did receive it, it may still "
                "go out",
                attention=None,
                next_sync_at=None,
            )
        return self._result(msg.id, ok, f"marked cancelled (check {acct.name} to be sure)")

    def _act_at_provider(
        self, targets: list[Message], siblings: list[Message], send_at: datetime | None
    ) -> dict[str, ActionResult]:
        acct = self.ctx.account_by_id(targets[0].account_id)
        provider = self.ctx.provider(acct)
        now = self.ctx.clock.now()
        ref = targets[0].provider_ref or ""
        native = (
            send_at is not None
            and not siblings
            and provider.capabilities.native_reschedule
            and plan_handoff(send_at, provider.capabilities, now).action is Action.HAND_OFF_NOW
        )
        try:
            if native:
                assert send_at is not None
                provider.reschedule(ref, send_at)
            else:
                # Cancelling is also how a provider that cannot move a message "reschedules":
                # it is withdrawn and held on this computer again under a fresh key.
                provider.cancel(ref)
        except ProviderError as exc:
            return {m.id: ActionResult(m.id, False, m.state, str(exc)) for m in targets}
        outcome: dict[str, tuple[bool, str]] = {}
        with self.ctx.db.write() as s:
            for m in targets:
                if send_at is None:
                    ok = queries.transition(
                        s,
                        m.id,
                        State.SCHEDULED,
                        State.CANCELLED,
                        now,
                        kind="cancelled",
                        detail=f"cancelled at {acct.name}",
                        next_sync_at=None,
                    )
                    outcome[m.id] = (ok, f"cancelled at {acct.name}")
                elif native:
                    when = self._when(m, send_at)
                    ok = queries.transition(
                        s,
                        m.id,
                        State.SCHEDULED,
                        State.SCHEDULED,
                        now,
                        kind="rescheduled",
                        detail=f"{acct.name} now sends it {when}",
                        send_at=send_at,
                        next_sync_at=send_at,
                    )
                    outcome[m.id] = (ok, f"rescheduled at {acct.name} to {when}")
                else:
                    ok = self._requeue(
                        s,
                        m,
                        send_at,
                        now,
                        "rescheduled",
                        f"withdrawn from {acct.name}; held on this computer for {{when}}",
                    )
                    outcome[m.id] = (
                        ok,
                        f"rescheduled to {self._when(m, send_at)}, held on this computer",
                    )
            for sib in siblings:
                # The provider withdrew the whole group: the others go back in the queue,
                # unchanged, and are handed off again.
                self._requeue(
                    s,
                    sib,
                    sib.send_at,
                    now,
                    "re-queued",
                    f"{acct.name} withdraws a whole group at once; it will be handed off "
                    "again for {when}",
                )
        return {mid: self._result(mid, ok, detail) for mid, (ok, detail) in outcome.items()}

    def _requeue(
        self, s: Session, msg: Message, send_at: datetime, now: datetime, kind: str, detail: str
    ) -> bool:
        """Hold ``msg`` on this computer again for ``send_at``, as a fresh hand-off."""
        caps = self.ctx.capabilities(self.ctx.account_by_id(msg.account_id))
        plan = plan_handoff(send_at, caps, now)
        return queries.transition(
            s,
            msg.id,
            State(msg.state),
            State.QUEUED,
            now,
            kind=kind,
            detail=detail.format(when=self._when(msg, send_at)),
            send_at=send_at,
            due_at=now if plan.action is Action.HAND_OFF_NOW else plan.act_at,
            handling=plan.action.value,
            attention=None,
            idempotency_key=None,
            provider_ref=None,
            provider_group=None,
            next_sync_at=None,
        )

    @staticmethod
    def _when(msg: Message, send_at: datetime) -> str:
        return format_local(send_at, resolve_zone(msg.zone))

    def _result(self, msg_id: str, ok: bool, detail: str) -> ActionResult:
        with self.ctx.db.read() as s:
            current = s.get(Message, msg_id)
        state = current.state if current else "?"
        if not ok:
            detail = f"it changed meanwhile (now {state}); try again"
        return ActionResult(msg_id, ok, state, detail)

    @staticmethod
    def _refuse(msg: Message, verb: str) -> ActionResult:
        state = State(msg.state)
        reasons = {
            State.HANDING_OFF: "it is being handed to the provider right now; try again shortly",
            State.UNKNOWN: "whether the provider got it is still being checked; try again "
            "after the next dispatch",
        }
        why = reasons.get(state, f"it is already {state.value}")
        if state is State.UNKNOWN and msg.attention:
            why = "the provider could not confirm it got it; cancel it, or send it again with retry"
        return ActionResult(msg.id, False, msg.state, f"Cannot {verb}: {why}.")

    def retry(self, ident: str) -> list[ActionResult]:
        """Queue failed messages again, each as a fresh hand-off (a new idempotency key).

        Also "send again" for a message whose hand-off the provider could not confirm, once
        the user has checked that it did not arrive."""
        now = self.ctx.clock.now()
        results: list[ActionResult] = []
        for msg in self._resolve(ident):
            state = State(msg.state)
            if not (state is State.FAILED or (state is State.UNKNOWN and msg.attention)):
                results.append(self._refuse(msg, "retry"))
                continue
            with self.ctx.db.write() as s:
                ok = self._requeue(
                    s, msg, max(msg.send_at, now), now, "retry", "queued again for {when}"
                )
            results.append(self._result(msg.id, ok, "queued again"))
        return results

    # -- settings -------------------------------------------------------------------------

    def settings(self) -> Settings:
        return replace(self.ctx.settings)

    def update_settings(
        self,
        *,
        zone: str | None = None,
        default_region: str | None = None,
        catch_up_grace_minutes: int | None = None,
        quiet_hours: str | None = None,
        quiet_mode: str | None = None,
    ) -> Settings:
        """Validate and save; an empty string clears a value (back to the system's).

        ``quiet_hours`` is "HH:MM-HH:MM" (quiet from the first time to the second)."""
        new = replace(self.ctx.settings)
        if quiet_hours is not None:
            start, sep, end = quiet_hours.partition("-")
            try:
                if not sep:
                    raise ValueError("no dash")
                QuietHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
            except ValueError:
                raise InvalidInput(
                    f"Quiet hours '{quiet_hours}' are not HH:MM-HH:MM, e.g. 21:00-08:00.",
                    field="quiet_hours",
                ) from None
            new.quiet_start, new.quiet_end = start.strip(), end.strip()
        if quiet_mode is not None:
            if quiet_mode not in ("move", "refuse", "off"):
                raise InvalidInput("Quiet-hours mode is move, refuse or off.", field="quiet_mode")
            new.quiet_mode = quiet_mode
        if zone is not None:
            new.zone = resolve_zone(zone).key if zone else None
        if default_region is not None:
            region = default_region.strip().upper()
            if region and region not in phonenumbers.SUPPORTED_REGIONS:
                raise InvalidInput(
                    f"Unknown region '{default_region}'; use a two-letter country code like GB",
                    field="default_region",
                )
            new.default_region = region or None
        if catch_up_grace_minutes is not None:
            if not 0 <= catch_up_grace_minutes <= 24 * 60:
                raise InvalidInput(
                    "The catch-up grace must be between 0 minutes and 24 hours.",
                    field="catch_up_grace_minutes",
                )
            new.catch_up_grace_minutes = catch_up_grace_minutes
        new.save(self.ctx.home)
        self.ctx.settings = new
        return replace(new)

    def set_default_account(self, name: str) -> None:
        acct = self.ctx.account(name)
        with self.ctx.db.write() as s:
            s.execute(update(ProviderAccount).values(is_default=False))
            s.execute(
                update(ProviderAccount)
                .where(col(ProviderAccount.id) == acct.id)
                .values(is_default=True)
            )

    # -- drafts ---------------------------------------------------------------------------

    def save_draft(
        self,
        *,
        draft_id: str | None = None,
        recipients: str = "",
        text: str = "",
        sender: str | None = None,
        account_name: str | None = None,
        send_at: datetime | None = None,
        zone: str | None = None,
    ) -> DraftView:
        """Create or update a draft. Drafts are unvalidated work in progress."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            draft = s.get(Draft, draft_id) if draft_id else None
            if draft_id and draft is None:
                raise NotFound(f"No draft with id '{draft_id}'.", field="id")
            if draft is None:
                draft = Draft(id=_new_id("d"), created_at=now, updated_at=now)
            draft.recipients = recipients
            draft.text = text
            draft.sender = sender
            draft.account_name = account_name
            draft.send_at = send_at
            draft.zone = zone
            draft.updated_at = now
            s.add(draft)
        return self._draft_view(draft)

    def list_drafts(self) -> list[DraftView]:
        with self.ctx.db.read() as s:
            drafts = s.exec(select(Draft).order_by(col(Draft.updated_at).desc())).all()
            return [self._draft_view(d) for d in drafts]

    def get_draft(self, draft_id: str) -> DraftView:
        with self.ctx.db.read() as s:
            draft = s.get(Draft, draft_id)
        if draft is None:
            raise NotFound(f"No draft with id '{draft_id}'.", field="id")
        return self._draft_view(draft)

    def delete_draft(self, draft_id: str) -> None:
        with self.ctx.db.write() as s:
            draft = s.get(Draft, draft_id)
            if draft is None:
                raise NotFound(f"No draft with id '{draft_id}'.", field="id")
            s.delete(draft)

    @staticmethod
    def _draft_view(d: Draft) -> DraftView:
        return DraftView(
            d.id, d.recipients, d.text, d.sender, d.account_name, d.send_at, d.zone, d.updated_at
        )

    # -- provider accounts ----------------------------------------------------------------

    @staticmethod
    def account_kinds() -> list[tuple[str, str]]:
        """(kind, title) of every provider smsdesk can use, for the account form."""
        return [(kind, kind_info(kind).title) for kind in MODULES]

    def list_accounts(self) -> list[AccountView]:
        with self.ctx.db.read() as s:
            accounts = s.exec(
                select(ProviderAccount)
                .where(col(ProviderAccount.removed_at).is_(None))
                .order_by(col(ProviderAccount.name))
            ).all()
        return [
            AccountView(
                a.name,
                a.kind,
                a.base_url,
                a.sender,
                a.is_default,
                kind_info(a.kind).capabilities.as_dict(),
            )
            for a in accounts
        ]

    def add_account(
        self,
        name: str,
        kind: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        sender: str | None = None,
        options: dict[str, object] | None = None,
        make_default: bool = False,
    ) -> AccountView:
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidInput("Give the account a name of 1 to 64 characters.", field="name")
        info = kind_info(kind)
        if info.needs_key and not (api_key and api_key.strip()):
            raise InvalidInput(f"A {info.title} account needs an API key.", field="api_key")
        if base_url:
            base_url = check_provider_url(base_url)
        # Building the client (no request yet) checks the options, so a bad account is
        # refused now rather than failing at its first hand-off.
        open_provider(
            kind,
            home=self.ctx.home,
            clock=self.ctx.clock,
            settings_json=json.dumps(options or {}),
            base_url=base_url,
            api_key=api_key,
        ).close()
        with self.ctx.db.read() as s:
            if s.exec(select(ProviderAccount).where(ProviderAccount.name == name)).first():
                raise InvalidInput(f"An account named '{name}' already exists.", field="name")
        if api_key:
            self.ctx.secrets.set(name, api_key.strip())
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.write() as s:
                if make_default:
                    s.execute(update(ProviderAccount).values(is_default=False))
                s.add(
                    ProviderAccount(
                        name=name,
                        kind=kind,
                        base_url=base_url,
                        sender=sender,
                        settings_json=json.dumps(options or {}),
                        is_default=make_default,
                        created_at=now,
                    )
                )
        except Exception:
            if api_key:
                self.ctx.secrets.delete(name)
            raise
        return next(a for a in self.list_accounts() if a.name == name)

    def remove_account(self, name: str) -> None:
        acct = self.ctx.account(name)
        with self.ctx.db.write() as s:
            active = s.exec(
                select(func.count()).where(
                    Message.account_id == acct.id,
                    col(Message.state).in_([st.value for st in ACTIVE_STATES]),
                )
            ).one()
            if active:
                raise ConflictError(
                    f"'{name}' still has {active} message(s) to send; cancel or move them first."
                )
            now = self.ctx.clock.now()
            # Keep the row for history, free the name.
            s.execute(
                update(ProviderAccount)
                .where(col(ProviderAccount.id) == acct.id)
                .values(removed_at=now, is_default=False, name=f"{name} (removed {acct.id})")
            )
        if kind_info(acct.kind).needs_key:
            self.ctx.secrets.delete(name)
        assert acct.id is not None
        self.ctx.forget_provider(acct.id)

    def test_account(self, name: str | None) -> str:
        """Check the credentials against the provider (network)."""
        acct = self.ctx.account(name)
        return self.ctx.provider(acct).check()
