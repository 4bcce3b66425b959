"""A batch's send times spread to the rate at which its provider sends from one sender.

Telnyx sends from a long code at most 1 message every 10 seconds; more due together wait in
its queue (see providers/telnyx.py, ``sender_rate``). Rather than have the window say 09:00
for messages that leave over several minutes, the plan gives each message its own time: the
earliest at or after the one asked that keeps the sender within its rate, counting what is
already due from the same sender, and never inside the recipient's quiet hours. That time is
stored, shown, and handed to the provider, so what the window says is what happens.
"""

from __future__ import annotations

import importlib
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from smsdesk.core.lifecycle import INTENTS, State
from smsdesk.core.planner import SendRate
from smsdesk.core.quiet_hours import QuietHours, next_allowed
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import quiet_hours_of, recipient_zone
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.providers.registry import MODULES
from smsdesk.store.models import Message, ProviderAccount

# Spread and quiet hours take turns until neither moves a message; a burst that crosses a few
# nights settles within a round per night. Should it not, the rate wins (the last spread).
MAX_ROUNDS = 20
# Messages that will still leave from their sender: held here, being handed off, held by the
# provider, or being changed there.
PENDING = (State.QUEUED, State.HANDING_OFF, State.SCHEDULED, *INTENTS)
Allowed = Callable[[int, datetime], datetime]


def sender_rate(kind: str, sender: str | None) -> SendRate | None:
    """The rate at which the provider of ``kind`` sends from ``sender`` (its module's
    ``sender_rate``), or None when it documents none that a batch could exceed."""
    name = MODULES.get(kind)
    rate_of = getattr(importlib.import_module(name), "sender_rate", None) if name else None
    found = rate_of(sender) if rate_of is not None else None
    return found if isinstance(found, SendRate) else None


def _clash(at: datetime, rate: SendRate, placed: list[datetime]) -> datetime | None:
    """None when ``at`` keeps every ``rate.slot`` to ``rate.per_slot`` messages among those
    ``placed`` (sorted); else a later time to try: one slot past the first message of a run
    it would crowd (it cannot go earlier, and a little later crowds that run still)."""
    near = placed[bisect_right(placed, at - rate.slot) : bisect_left(placed, at + rate.slot)]
    n = rate.per_slot
    k = bisect_right(near, at)  # how many of them are at or before ``at``
    # Every run of per_slot neighbours that ``at`` would join: too close if within a slot.
    for first in range(max(0, k - n), min(k, len(near) - n) + 1):
        run = near[first : first + n]
        if max(run[-1], at) - min(run[0], at) < rate.slot:
            return run[0] + rate.slot
    return None


def _spread_once(
    times: Sequence[datetime], rate: SendRate, taken: Sequence[datetime] = ()
) -> list[datetime]:
    spread = list(times)
    order = sorted(range(len(times)), key=lambda n: times[n])
    if not taken:
        placed: list[datetime] = []  # in sending order, never decreasing
        for i in order:
            at = times[i]
            if len(placed) >= rate.per_slot:
                # The message per_slot places back is the oldest that shares this one's slot.
                at = max(at, placed[-rate.per_slot] + rate.slot)
            placed.append(at)
            spread[i] = at
        return spread
    busy = sorted(taken)  # other messages' times from this sender, and those placed so far
    floor: datetime | None = None
    for i in order:
        # A time too crowded for the one before stays too crowded (placing only adds to it):
        # the search starts where the last one went, not again at the time asked.
        at = times[i] if floor is None else max(times[i], floor)
        later = _clash(at, rate, busy)
        while later is not None:
            at = later
            later = _clash(at, rate, busy)
        insort(busy, at)
        spread[i] = floor = at
    return spread


def spread_times(
    times: Sequence[datetime],
    rate: SendRate,
    allowed: Allowed | None = None,
    taken: Sequence[datetime] = (),
) -> list[datetime]:
    """Each time (in the order given) moved as little as needed so that no ``rate.slot``
    holds more than ``rate.per_slot`` of them and of ``taken`` (the sender's other messages,
    which stay where they are): none earlier than asked, earlier ones first. ``allowed(i,
    t)``: the first time at or after ``t`` that message ``i`` may go (its recipient's quiet
    hours), so spreading never pushes a message into the night."""
    spread = _spread_once(times, rate, taken)
    for _ in range(MAX_ROUNDS if allowed is not None else 0):
        assert allowed is not None
        moved = [allowed(i, at) for i, at in enumerate(spread)]
        if moved == spread:
            break
        spread = _spread_once(moved, rate, taken)
    return spread


def _quiet_allowed(quiet: QuietHours | None, zones: Sequence[ZoneInfo | None]) -> Allowed | None:
    if quiet is None:
        return None
    hours = quiet

    def allowed(i: int, at: datetime) -> datetime:
        zone = zones[i]
        return at if zone is None else next_allowed(hours, at, zone)

    return allowed


def _taken(
    ctx: AppContext,
    account_id: int | None,
    sender: str | None,
    start: datetime,
    end: datetime,
    leave_out: frozenset[str] = frozenset(),
) -> list[datetime]:
    """Send times of the sender's pending messages from ``start`` to ``end``."""
    if account_id is None:
        return []
    with ctx.db.read() as s:
        rows = s.exec(
            select(Message.id, Message.send_at).where(
                col(Message.state).in_([p.value for p in PENDING]),
                col(Message.send_at) >= start,
                col(Message.send_at) <= end,
                Message.account_id == account_id,
                Message.sender == sender,
            )
        ).all()
    return [at for ident, at in rows if ident not in leave_out]


def _spread_around(
    ctx: AppContext,
    account_id: int | None,
    sender: str | None,
    rate: SendRate,
    asked: Sequence[datetime],
    allowed: Allowed | None,
    leave_out: frozenset[str] = frozenset(),
) -> tuple[list[datetime], list[datetime]]:
    """``asked`` spread around the sender's pending messages, and those messages' times.
    Reads them from a little before the first time asked to past the last one given,
    widening the reach while the spread runs beyond it."""
    start = min(asked) - rate.slot
    end = max(asked) + rate.slot * (len(asked) // rate.per_slot + 1)
    while True:
        taken = _taken(ctx, account_id, sender, start, end, leave_out)
        spread = spread_times(asked, rate, allowed, taken)
        reach = max(spread) + rate.slot
        if reach <= end:
            return spread, taken
        end = reach + rate.slot * (len(taken) + 1)


def describe_spread(
    rate: SendRate,
    asked: Sequence[datetime],
    spread: Sequence[datetime],
    desk: ZoneInfo,
    *,
    held: int = 0,
    between: int = 0,
) -> str:
    """What spreading did, in the desk's zone, or "" when no time moved. ``held``: how many
    wait for the end of quiet hours; ``between``: the sender's other messages among them."""
    if list(asked) == list(spread):
        return ""
    first, last = min(spread), max(spread)
    start = format_local(first, desk, seconds=True)
    if first.astimezone(desk).date() == last.astimezone(desk).date():
        end = f"{last.astimezone(desk):%H:%M:%S}"
    else:
        end = format_local(last, desk, seconds=True)
    if len(spread) == 1:
        text = f"The message from {rate.sender} will go at {start} ({rate.limit})."
    else:
        text = (
            f"{len(spread)} messages from {rate.sender} will go {rate.pace}: first at {start}, "
            f"last at {end} ({rate.limit})."
        )
    if between:
        text += f" {between} already due from it then keep their times."
    if held:
        text += f" {held} of them wait for the end of quiet hours."
    return text


def spread_batch(
    ctx: AppContext,
    account: ProviderAccount,
    sender: str | None,
    asked: Sequence[datetime],
    places: Sequence[str | None],
    desk: ZoneInfo,
) -> tuple[list[datetime], str]:
    """A new batch's send times spread to its sender's rate, around the sender's pending
    messages and out of each recipient's quiet hours (``places``: each recipient's zone,
    None for a number without a place), and what was done ("" when nothing moved)."""
    rate = sender_rate(account.kind, sender)
    if rate is None or not asked:
        return list(asked), ""
    zones = [resolve_zone(place) if place else None for place in places]
    allowed = _quiet_allowed(quiet_hours_of(ctx.settings), zones)
    spread, taken = _spread_around(ctx, account.id, sender, rate, asked, allowed)
    between = sum(1 for t in taken if min(asked) <= t <= max(spread))
    # Those that spreading alone would have sent sooner were held out of quiet hours.
    alone = spread_times(asked, rate, None, taken) if allowed is not None else spread
    held = sum(1 for a, b in zip(alone, spread, strict=True) if a != b)
    return spread, describe_spread(rate, asked, spread, desk, held=held, between=between)


def spread_moved(
    ctx: AppContext, msgs: Sequence[Message], times: Mapping[str, tuple[datetime, str]]
) -> dict[str, tuple[datetime, str]]:
    """Messages moved (``times``: each one's new time and why) spread per sender as a new
    batch would be, so that moving a batch, or a message onto another's time, does not bunch
    them: the times that change, with why."""
    groups: dict[tuple[int, str | None], list[Message]] = {}
    for msg in msgs:
        if msg.state in (State.QUEUED.value, State.SCHEDULED.value):
            groups.setdefault((msg.account_id, msg.sender), []).append(msg)
    changed: dict[str, tuple[datetime, str]] = {}
    for (account_id, sender), members in groups.items():
        rate = sender_rate(ctx.account_by_id(account_id).kind, sender)
        if rate is None:
            continue
        members.sort(key=lambda m: m.send_at)  # in the order they had: a spread batch keeps it
        contacts = ContactBook(ctx).by_numbers({m.recipient for m in members})
        zones = [
            recipient_zone(m.recipient, contacts.get(m.recipient), resolve_zone(m.zone))
            for m in members
        ]
        asked = [times[m.id][0] for m in members]
        allowed = _quiet_allowed(quiet_hours_of(ctx.settings), zones)
        moving = frozenset(m.id for m in members)
        spread, _ = _spread_around(ctx, account_id, sender, rate, asked, allowed, moving)
        for msg, before, after in zip(members, asked, spread, strict=True):
            if after != before:
                why = f"spread to {rate.pace} ({rate.limit})"
                note = times[msg.id][1]
                changed[msg.id] = (after, f"{note}; {why}" if note else why)
    return changed
