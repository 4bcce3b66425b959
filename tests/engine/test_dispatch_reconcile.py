"""Reconciliation asks the provider once per account per round, for all of that account's
unclear hand-offs, and acts only on definitive answers: a receipt settles the message, a
definitive "never received" queues it for a fresh hand-off, and "cannot tell" leaves it
``unknown`` for the user (attention), never resent automatically."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import RECONCILE_INTERVAL, Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.base import AmbiguousError, CannotTell, Found, Outcome, Outgoing
from smsdesk.store.models import Message
from tests.engine.faults import FaultySandbox

NUMBERS = [f"+1555123{i:04d}" for i in range(6)]


class Unsure(FaultySandbox):
    """The real Sandbox, whose lookup cannot tell about some recipients' messages (like
    logs that lag acceptance); counts lookup calls."""

    def __init__(self, inner: FaultySandbox, unsure: set[str]) -> None:
        super().__init__(inner.inner)
        self.unsure = unsure  # recipients
        self.lookups: list[int] = []
        self.to: dict[str, str] = {}  # key -> recipient, as handed off

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        self.to.update({m.key: m.to for m in messages})
        return super().schedule(messages)

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        self.lookups.append(len(messages))
        answers = super().lookup(messages)
        return [
            CannotTell(a.key, "absent from the logs, which may lag")
            if self.to.get(a.key) in self.unsure
            else a
            for a in answers
        ]


def _rows(ctx: AppContext) -> dict[str, Message]:
    with ctx.db.read() as s:
        return {m.recipient: m for m in s.exec(select(Message))}


def test_one_lookup_per_account_and_only_definitive_answers_resend(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    unsure = Unsure(sandbox, unsure=set())
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _a: unsure)
    try:
        svc = Service(ctx)
        # Two requests (two send times): the Sandbox takes the first in but its answer is
        # lost; the second goes through.
        svc.schedule(NUMBERS[:3], "first", clock.now() + timedelta(hours=2), "UTC")
        svc.schedule(NUMBERS[3:], "second", clock.now() + timedelta(hours=3), "UTC")
        unsure.after.append(AmbiguousError("answer lost"))
        report = Dispatcher(ctx).run_once()
        assert report.unknown == 3 and report.handed_off == 3
        rows = _rows(ctx)
        assert {rows[n].state for n in NUMBERS[:3]} == {"unknown"}
        clock.advance(RECONCILE_INTERVAL)
        report = Dispatcher(ctx).run_once()
        assert unsure.lookups == [3]  # one lookup for the account's three unclear ones
        assert report.reconciled == 3
        assert {_rows(ctx)[n].state for n in NUMBERS[:3]} == {"scheduled"}
        assert set(unsure.inner.requests_by_key().values()) == {1}
    finally:
        ctx.close()


def test_cannot_tell_stays_unknown_for_the_user_and_is_never_resent(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    unsure = Unsure(sandbox, unsure={NUMBERS[1]})
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _a: unsure)
    try:
        svc = Service(ctx)
        svc.schedule(NUMBERS[:3], "hi", clock.now() + timedelta(hours=2), "UTC")
        # The Sandbox never sees the request, and the answer is unclear to smsdesk.
        unsure.before.append(AmbiguousError("no answer"))
        assert Dispatcher(ctx).run_once().unknown == 3
        clock.advance(RECONCILE_INTERVAL)
        report = Dispatcher(ctx).run_once()
        assert unsure.lookups == [3]
        # Definitively never received: queued and handed off again in the same pass.
        rows = _rows(ctx)
        assert (rows[NUMBERS[0]].state, rows[NUMBERS[2]].state) == ("scheduled", "scheduled")
        doubtful = rows[NUMBERS[1]]
        assert doubtful.state == "unknown"
        assert doubtful.attention and "cannot tell" in doubtful.attention
        assert doubtful.next_sync_at is None
        assert report.reconciled == 2
        for _ in range(5):  # later passes neither ask again nor resend it
            clock.advance(timedelta(minutes=10))
            Dispatcher(ctx).run_once()
        assert unsure.lookups == [3]
        assert _rows(ctx)[NUMBERS[1]].state == "unknown"
        sent_to = set(unsure.to[k] for k in unsure.inner.requests_by_key())
        assert NUMBERS[1] not in sent_to
    finally:
        ctx.close()


def test_an_interrupted_hand_off_with_no_definitive_answer_is_flagged_not_resent(
    isolated_home: Path, clock: ManualClock, sandbox: FaultySandbox
) -> None:
    """A dispatcher died mid hand-off (rows left handing_off, lease run out)."""
    unsure = Unsure(sandbox, unsure={NUMBERS[0]})
    ctx = AppContext.open(isolated_home, clock=clock, provider_factory=lambda _a: unsure)
    try:
        svc = Service(ctx)
        svc.schedule(NUMBERS[:1], "hi", clock.now() + timedelta(hours=2), "UTC")

        def die() -> None:
            raise SystemExit("killed mid hand-off")

        unsure.after.append(die)
        with contextlib.suppress(SystemExit):
            Dispatcher(ctx, lease=timedelta(minutes=2)).run_once()
        assert _rows(ctx)[NUMBERS[0]].state == "handing_off"
        clock.advance(timedelta(minutes=3))
        Dispatcher(ctx).run_once()
        row = _rows(ctx)[NUMBERS[0]]
        assert (row.state, row.next_sync_at) == ("unknown", None)
        assert row.attention and "cannot tell" in row.attention
        assert list(unsure.inner.requests_by_key().values()) == [1]
    finally:
        ctx.close()
