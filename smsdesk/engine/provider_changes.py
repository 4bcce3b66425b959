"""Cancel, reschedule and withdraw at a provider, each under an intent.

The order is what keeps a message from being lost: (1) one transaction moves the messages
into intent states under a lease (``cancelling``, ``rescheduling`` with the target time,
``withdrawing`` for the other members of a group the provider changes as a whole); (2) the
request; (3) the outcome is written, fenced by owner and lease generation. A crash or a failed
write between (2) and (3) leaves the intents, and ``reconcile_intents`` finishes them: it asks
the provider what is true, repeats the same (idempotent) request once where the provider still
holds the message unchanged, and settles; where the provider cannot say, the user is asked.

Why asking is enough, per provider: Infobip's bulk status (CANCELED / PENDING / sent) is
definitive for the bulk smsdesk named; Telnyx's message record and the Sandbox's store are
definitive for the one message. A repeated cancel is accepted by all three when already done;
a repeated reschedule sets the same time again.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.core.planner import Action, plan_handoff
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.providers.base import PermanentError, Provider, ProviderError
from smsdesk.store import intents
from smsdesk.store.intents import Held, Intent
from smsdesk.store.models import Message, ProviderAccount

log = logging.getLogger(__name__)

# Longer than a change can take: up to three requests (Infobip: status, change, status
# again), each bounded by the HTTP layer's timeouts and its few quick repeats (about two
# minutes at worst). A holder that dies is replaced by reconciliation once it runs out.
LEASE = timedelta(minutes=8)
# After the provider could not be asked, the intent waits this long before the next try.
RETRY = timedelta(minutes=1)
_WENT_OUT = frozenset({State.SENT, State.DELIVERED, State.FAILED, State.EXPIRED})

# What a message of each intent becomes once the provider has withdrawn it.
_WITHDRAWN = {
    State.CANCELLING: State.CANCELLED,
    State.RESCHEDULING: State.QUEUED,
    State.WITHDRAWING: State.QUEUED,
}


class _Moved(Exception):
    """A message left ``scheduled`` while its intent was being written: nothing is kept."""


@dataclass(frozen=True)
class Outcome:
    """What the user is told about one message they acted on."""

    ok: bool
    detail: str
    state: str | None = None  # when known without reading the database again


def _when(zone: str, at: datetime) -> str:
    return format_local(at, resolve_zone(zone))


class ProviderChanges:
    def __init__(
        self, ctx: AppContext, *, owner: str | None = None, lease: timedelta = LEASE
    ) -> None:
        self.ctx = ctx
        self.owner = owner or f"desk-{uuid.uuid4().hex[:12]}"
        self.lease = lease

    # -- a change the user asked for ------------------------------------------------------

    def change(self, targets: Sequence[Message], send_at: datetime | None) -> dict[str, Outcome]:
        """Cancel (``send_at`` None) or move ``targets``, which the provider holds as one
        message or one group."""
        acct = self.ctx.account_by_id(targets[0].account_id)
        provider = self.ctx.provider(acct)
        now = self.ctx.clock.now()
        ref = targets[0].provider_ref or ""
        try:
            with self.ctx.db.write() as s:
                held, native = self._begin(s, acct, provider, targets, send_at, now)
        except _Moved as moved:
            return {m.id: Outcome(False, str(moved)) for m in targets}
        chosen = {m.id for m in targets}
        try:
            _request(provider, ref, send_at if native else None)
        except PermanentError as exc:
            # Refused: nothing changed at the provider; the messages stay as they were.
            self._put_back(held, acct, str(exc), attention=False)
            return {m.id: Outcome(False, str(exc)) for m in targets}
        except ProviderError as exc:
            # It may have happened: reconciliation asks the provider on the engine's next pass.
            self._let_go(held, retry_at=None)
            why = f"{exc} smsdesk will check with {acct.name} and finish the change."
            return {m.id: Outcome(False, why) for m in targets}
        try:
            done = self._settle(held, acct, "reschedule" if native else "cancel", now=None)
        except SmsdeskError as exc:
            # Done at the provider, not recorded here: the intent stays for reconciliation.
            why = (
                f"{acct.name} made the change, but this computer could not record it ({exc}); "
                "it will be recorded when smsdesk next runs."
            )
            return {h.id: Outcome(False, why, h.state.value) for h in held if h.id in chosen}
        return {mid: out for mid, out in done.items() if mid in chosen}

    def _begin(
        self,
        s: Any,
        acct: ProviderAccount,
        provider: Provider,
        targets: Sequence[Message],
        send_at: datetime | None,
        now: datetime,
    ) -> tuple[list[Held], bool]:
        assert acct.id is not None
        chosen = {m.id for m in targets}
        group = targets[0].provider_group
        members = intents.group_members(s, acct.id, group) if group else []
        if any(m.state in INTENTS for m in members):
            raise _Moved(
                f"Cannot change it now: {acct.name} is being asked to change its group; "
                "try again shortly."
            )
        siblings = [m.id for m in members if m.state is State.SCHEDULED and m.id not in chosen]
        caps = provider.capabilities
        native = (
            send_at is not None
            and not siblings
            and caps.native_reschedule
            and plan_handoff(send_at, caps, now).action is Action.HAND_OFF_NOW
        )
        wanted: list[Intent] = []
        for m in targets:
            if send_at is None:
                wanted.append(Intent(m.id, State.CANCELLING, f"asking {acct.name} to cancel it"))
                continue
            when = _when(m.zone, send_at)
            detail = (
                f"asking {acct.name} to move it to {when}"
                if native
                else f"withdrawing it from {acct.name}, to hold it on this computer for {when}"
            )
            wanted.append(Intent(m.id, State.RESCHEDULING, detail, send_at))
        wanted += [
            Intent(
                sib,
                State.WITHDRAWING,
                f"{acct.name} withdraws a whole group at once; it will be handed off again",
            )
            for sib in siblings
        ]
        held = intents.begin(s, wanted, self.owner, now, self.lease)
        if held is None:
            raise _Moved("It changed meanwhile; try again.")
        return held, native

    # -- settling -------------------------------------------------------------------------

    def _settle(
        self, held: Sequence[Held], acct: ProviderAccount, request: str, now: datetime | None
    ) -> dict[str, Outcome]:
        """The request succeeded (``cancel``: the message or its group was withdrawn;
        ``reschedule``: moved in place): record it for every message held."""
        now = now or self.ctx.clock.now()
        out: dict[str, Outcome] = {}
        with self.ctx.db.write() as s:
            for h in held:
                if request == "reschedule" and h.state is State.RESCHEDULING:
                    out[h.id] = self._moved_in_place(s, h, acct, now)
                else:
                    out[h.id] = self._withdrawn(s, h, acct, now)
        return out

    def _moved_in_place(self, s: Any, h: Held, acct: ProviderAccount, now: datetime) -> Outcome:
        assert h.intent_send_at is not None
        when = _when(h.zone, h.intent_send_at)
        ok = intents.settle(
            s,
            h,
            self.owner,
            State.SCHEDULED,
            now,
            kind="rescheduled",
            detail=f"{acct.name} now sends it {when}",
            send_at=h.intent_send_at,
            next_sync_at=h.intent_send_at,
        )
        return self._outcome(ok, f"rescheduled at {acct.name} to {when}", State.SCHEDULED)

    def _withdrawn(self, s: Any, h: Held, acct: ProviderAccount, now: datetime) -> Outcome:
        new = _WITHDRAWN[h.state]
        if new is State.CANCELLED:
            ok = intents.settle(
                s,
                h,
                self.owner,
                State.CANCELLED,
                now,
                kind="cancelled",
                detail=f"cancelled at {acct.name}",
                next_sync_at=None,
            )
            return self._outcome(ok, f"cancelled at {acct.name}", new)
        at = h.intent_send_at if h.state is State.RESCHEDULING else h.send_at
        assert at is not None
        when = _when(h.zone, at)
        if h.state is State.RESCHEDULING:
            kind, detail = (
                "rescheduled",
                f"withdrawn from {acct.name}; held on this computer for {when}",
            )
            said = f"rescheduled to {when}, held on this computer"
        else:
            kind = "re-queued"
            detail = (
                f"{acct.name} withdraws a whole group at once; it will be handed off again "
                f"for {when}"
            )
            said = detail
        ok = intents.settle(
            s,
            h,
            self.owner,
            State.QUEUED,
            now,
            kind=kind,
            detail=detail,
            **self._requeue(acct, at, now),
        )
        return self._outcome(ok, said, new)

    def _requeue(self, acct: ProviderAccount, send_at: datetime, now: datetime) -> dict[str, Any]:
        """Held on this computer again for ``send_at``, as a fresh hand-off (new key)."""
        plan = plan_handoff(send_at, self.ctx.capabilities(acct), now)
        return {
            "send_at": send_at,
            "due_at": now if plan.action is Action.HAND_OFF_NOW else plan.act_at,
            "handling": plan.action.value,
            "attention": None,
            "idempotency_key": None,
            "provider_ref": None,
            "provider_group": None,
            "next_sync_at": None,
        }

    def _went_out(self, s: Any, h: Held, acct: ProviderAccount, new: State, why: str) -> None:
        verb = {State.CANCELLING: "cancel", State.RESCHEDULING: "move"}.get(h.state, "withdraw")
        detail = f"{acct.name} had already sent it; it was too late to {verb} it"
        now = self.ctx.clock.now()
        changes: dict[str, Any] = {"next_sync_at": now if new is State.SENT else None}
        if new is State.FAILED:
            changes["last_error"] = why or "failed at provider"
        intents.settle(s, h, self.owner, new, now, kind="status", detail=detail, **changes)

    def _put_back(
        self, held: Sequence[Held], acct: ProviderAccount, reason: str, *, attention: bool
    ) -> None:
        """The provider refused: each message is ``scheduled`` as before. ``attention``: the
        user is no longer waiting for the answer, so the refusal is shown on the message."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for h in held:
                flag = attention and h.state is not State.WITHDRAWING
                intents.settle(
                    s,
                    h,
                    self.owner,
                    State.SCHEDULED,
                    now,
                    kind="refused",
                    detail=f"{acct.name} refused the change: {reason}",
                    # Ask the provider soon what it holds (the refusal may say it has gone).
                    next_sync_at=now,
                    **({"attention": f"not changed: {reason}"} if flag else {}),
                )

    def _let_go(
        self, held: Sequence[Held], retry_at: datetime | None, attention: str | None = None
    ) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            for h in held:
                intents.let_go(s, h, self.owner, retry_at, now, attention=attention)

    def _outcome(self, ok: bool, detail: str, state: State) -> Outcome:
        if not ok:
            return Outcome(False, "it changed meanwhile; try again")
        return Outcome(True, detail, state.value)

    # -- reconciliation -------------------------------------------------------------------

    def reconcile(self, limit: int = 1000) -> int:
        """Finish intents whose holder is gone; returns how many messages were settled."""
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            if not intents.any_unfinished(s, now):
                return 0
        with self.ctx.db.write() as s:
            held = intents.claim_unfinished(s, self.owner, now, self.lease, limit)
        groups: dict[tuple[int, str], list[Held]] = defaultdict(list)
        for h in held:
            groups[(h.account_id, h.provider_group or f"ref:{h.provider_ref or h.id}")].append(h)
        settled = 0
        for members in groups.values():
            try:
                settled += self._reconcile_group(members)
            except SmsdeskError as exc:  # e.g. the account's key is missing: try again later
                log.warning("could not finish a change at the provider: %s", exc)
                with contextlib.suppress(SmsdeskError):  # else the lease runs out by itself
                    self._let_go(members, retry_at=self.ctx.clock.now() + RETRY)
        return settled

    def _reconcile_group(self, held: list[Held]) -> int:
        acct = self.ctx.account_by_id(held[0].account_id)
        provider = self.ctx.provider(acct)
        refs = [h.provider_ref for h in held if h.provider_ref]
        try:
            reports = {r.ref: r for r in provider.fetch_status(refs)} if refs else {}
        except ProviderError as exc:
            log.info("%s could not be asked about a change: %s", acct.name, exc)
            self._let_go(held, retry_at=self.ctx.clock.now() + RETRY)
            return 0
        withdrawn: list[Held] = []
        unchanged: list[Held] = []
        went_out: list[tuple[Held, State, str]] = []
        unclear: list[Held] = []
        for h in held:
            report = reports.get(h.provider_ref or "")
            if report is None:
                unclear.append(h)
            elif report.state is State.CANCELLED:
                withdrawn.append(h)
            elif report.state is State.SCHEDULED:
                unchanged.append(h)
            elif report.state in _WENT_OUT:
                went_out.append((h, report.state, report.detail))
            else:
                unclear.append(h)
        if withdrawn:
            self._settle(withdrawn, acct, "cancel", now=None)
        if went_out:
            with self.ctx.db.write() as s:
                for h, new, why in went_out:
                    self._went_out(s, h, acct, new, why)
        if unclear:
            self._let_go(
                unclear,
                retry_at=None,
                attention=f"smsdesk could not tell whether {acct.name} made the change it "
                f"was asked for; check the message at {acct.name}",
            )
        if unchanged:
            self._repeat(unchanged, acct, provider)
        return len(withdrawn) + len(went_out) + len(unchanged)

    def _repeat(self, held: list[Held], acct: ProviderAccount, provider: Provider) -> None:
        """The provider still holds them unchanged: the same request once more, then settle."""
        now = self.ctx.clock.now()
        ref = held[0].provider_ref or ""
        target = held[0].intent_send_at
        group = held[0].provider_group
        with self.ctx.db.read() as s:
            alone = not group or intents.withdrawing_in_group(s, acct.id or 0, group) == 0
        caps = provider.capabilities
        native = (
            alone
            and target is not None
            and all(h.state is State.RESCHEDULING and h.intent_send_at == target for h in held)
            and caps.native_reschedule
            and plan_handoff(target, caps, now).action is Action.HAND_OFF_NOW
        )
        try:
            _request(provider, ref, target if native else None)
        except PermanentError as exc:
            self._put_back(held, acct, str(exc), attention=True)
            return
        except ProviderError as exc:
            log.info("%s did not settle a repeated change: %s", acct.name, exc)
            self._let_go(held, retry_at=self.ctx.clock.now() + RETRY)
            return
        self._settle(held, acct, "reschedule" if native else "cancel", now=None)


def reconcile_intents(ctx: AppContext, owner: str, *, lease: timedelta = LEASE) -> int:
    """Finish every change at a provider whose holder is gone (crash, failed write); the
    engine calls this at the start of each pass. Returns how many messages were settled."""
    return ProviderChanges(ctx, owner=owner, lease=lease).reconcile()


def _request(provider: Provider, ref: str, move_to: datetime | None) -> None:
    """The one request of a change: move in place to ``move_to``, or cancel. Cancelling is
    also how a group, or a provider that cannot move a message, is "rescheduled": withdrawn,
    then held on this computer under a fresh key."""
    if move_to is not None:
        provider.reschedule(ref, move_to)
    else:
        provider.cancel(ref)
