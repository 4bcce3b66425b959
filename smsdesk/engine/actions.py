"""Cancel, reschedule and retry: the actions that change a message after it was scheduled.

A message held on this computer changes in the database alone; one the provider holds is
changed at the provider too (an Infobip bulk as a whole, its other members withdrawn and
queued again), under an intent recorded before the request (see provider_changes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session

from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.core.planner import Action, plan_handoff
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import quiet_hours_of, recipient_zone, respect_quiet_hours
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.messages import resolve
from smsdesk.engine.provider_changes import LEASE, ProviderChanges
from smsdesk.engine.scheduling import validate_send_at
from smsdesk.engine.spread import spread_moved
from smsdesk.engine.views import ActionResult
from smsdesk.store import queries
from smsdesk.store.models import Message


class Actions:
    def __init__(
        self, ctx: AppContext, *, owner: str | None = None, lease: timedelta = LEASE
    ) -> None:
        self.ctx = ctx
        self.changes = ProviderChanges(ctx, owner=owner, lease=lease)

    def reschedule(self, ident: str, send_at: datetime) -> list[ActionResult]:
        """Move messages to ``send_at``; quiet hours apply as when scheduling (a message
        moved into its recipient's night goes at the next morning, or, by setting, the
        change is refused and nothing changes)."""
        validate_send_at(send_at, self.ctx.clock.now())
        msgs = resolve(self.ctx, ident)
        times = self._out_of_quiet_hours(msgs, send_at)
        times.update(spread_moved(self.ctx, msgs, times))  # a sender's rate, as when scheduled
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
        return self._act(resolve(self.ctx, ident), None)

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
            elif (state is State.UNKNOWN or state in INTENTS) and msg.attention and not send_at:
                results[msg.id] = self._settle_as_cancelled(msg)
            elif state is not State.SCHEDULED:
                results[msg.id] = self._refuse(msg, verb)
            elif msg.provider_group:
                groups[(msg.account_id, msg.provider_group)].append(msg)
            else:
                results.update(self._act_at_provider([msg], send_at))
        for members in groups.values():
            # The group's other members are found, and withdrawn with it, under the intent.
            results.update(self._act_at_provider(members, send_at))
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
        hand-off (or change at the provider) could not be confirmed. Nothing more is asked
        of the provider: it could not tell us what it holds, so say so plainly."""
        now = self.ctx.clock.now()
        acct = self.ctx.account_by_id(msg.account_id)
        state = State(msg.state)
        held = "did receive it" if state is State.UNKNOWN else "still holds it"
        with self.ctx.db.write() as s:
            ok = queries.transition(
                s,
                msg.id,
                state,
                State.CANCELLED,
                now,
                kind="cancelled",
                detail=f"marked cancelled by you; if {acct.name} {held}, it may still go out",
                lease_owner=None,
                lease_expires_at=None,
                attention=None,
                next_sync_at=None,
            )
        return self._result(msg.id, ok, f"marked cancelled (check {acct.name} to be sure)")

    def _act_at_provider(
        self, targets: list[Message], send_at: datetime | None
    ) -> dict[str, ActionResult]:
        """Under an intent (see provider_changes): recorded before the request, settled
        after it, finished by reconciliation if this process dies in between."""
        outcomes = self.changes.change(targets, send_at)
        results: dict[str, ActionResult] = {}
        for msg in targets:
            out = outcomes[msg.id]
            state = out.state if out.ok and out.state else self._state_of(msg)
            results[msg.id] = ActionResult(msg.id, out.ok, state, out.detail)
        return results

    def _state_of(self, msg: Message) -> str:
        with self.ctx.db.read() as s:
            current = s.get(Message, msg.id)
        return current.state if current else msg.state

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
        for intent in INTENTS:
            reasons[intent] = (
                "the provider is being asked to change it right now; try again shortly"
            )
        why = reasons.get(state, f"it is already {state.value}")
        if state is State.UNKNOWN and msg.attention:
            why = "the provider could not confirm it got it; cancel it, or send it again with retry"
        elif state in INTENTS and msg.attention:
            why = f"{msg.attention}; cancel it to mark it cancelled once you have checked"
        return ActionResult(msg.id, False, msg.state, f"Cannot {verb}: {why}.")

    def retry(self, ident: str) -> list[ActionResult]:
        """Queue failed messages again, each as a fresh hand-off (a new idempotency key).

        Also "send again" for a message whose hand-off the provider could not confirm, once
        the user has checked that it did not arrive."""
        now = self.ctx.clock.now()
        results: list[ActionResult] = []
        for msg in resolve(self.ctx, ident):
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
