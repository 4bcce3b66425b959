"""What scheduling will do, worked out before anything is stored: the schedule plan.

One plan object is what the window shows before Schedule, what the summary step counts,
what the command line prints and what ``Scheduling.schedule`` stores, so none of them can
say something the others do not.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from smsdesk.core.errors import InvalidInput
from smsdesk.engine.views import BatchResult
from smsdesk.providers.registry import MODULES

AT_PROVIDER = "at provider"
HELD_HERE = "held on this computer"
REFUSED_OPTED_OUT = "opted out"
REFUSED_INVALID = "invalid"
# Any of these makes the window ask before storing (issue: 500 texts in one click).
SUMMARY_RECIPIENTS = 10


@dataclass(frozen=True)
class PlannedSend:
    """One recipient's message as it will be stored and handled."""

    number: str
    name: str  # the contact's name, "" when the number is not in the contact book
    text: str  # merged
    segments: int
    encoding: str
    send_at: datetime  # final (after quiet hours), UTC
    zone: str  # the zone the message's time is kept in
    recipient_zone: str | None  # the recipient's own zone; None: the number has no place
    when: str  # send time in the desk's zone
    when_recipient: str  # in the recipient's zone, "" when that reads the same as ``when``
    moved: str  # why quiet hours moved it, "" when they did not
    where: str  # AT_PROVIDER or HELD_HERE, from when it is stored
    action: str  # the planner's Action value
    act_at: datetime  # when the engine acts on it (hands it off or sends it)
    act_when: str  # ``act_at`` in the desk's zone
    handling: str  # the plain sentence, e.g. "Sandbox will schedule it; ..."
    computer_on_at: datetime | None  # this computer must be on then; None: not needed


@dataclass(frozen=True)
class Refusal:
    recipient: str  # as typed, or the number
    kind: str  # REFUSED_OPTED_OUT or REFUSED_INVALID
    reason: str


@dataclass(frozen=True)
class Cost:
    segments: int
    estimate: str  # "" when no price is known
    source: str  # "provider", "your rate" or ""


@dataclass(frozen=True)
class SchedulePlan:
    account: str
    desk_zone: str
    requested_at: datetime  # the time asked for, before quiet hours
    messages: tuple[PlannedSend, ...]
    refused: tuple[Refusal, ...]
    cost: Cost
    # What the provider's documented limits say about the batch as a whole (a burst through
    # a Telnyx number pool), shown before it is stored; nothing is refused for them.
    warnings: tuple[str, ...] = ()
    # How the send times were spread to the sender's documented rate (a Telnyx long code
    # sends 1 every 10 s), "" when none moved; each message's own time is its spread one.
    spread: str = ""

    @property
    def recipients(self) -> int:
        """Everyone asked for, refused ones included."""
        return len(self.messages) + len(self.refused)

    @property
    def moved(self) -> tuple[PlannedSend, ...]:
        return tuple(m for m in self.messages if m.moved)

    @property
    def invalid(self) -> tuple[Refusal, ...]:
        return tuple(r for r in self.refused if r.kind == REFUSED_INVALID)

    @property
    def first(self) -> PlannedSend | None:
        return min(self.messages, key=lambda m: m.send_at, default=None)

    @property
    def last(self) -> PlannedSend | None:
        return max(self.messages, key=lambda m: m.send_at, default=None)

    @property
    def needs_summary(self) -> bool:
        """Ask before storing: a batch, a time moved by quiet hours, or a long text."""
        return (
            self.recipients >= SUMMARY_RECIPIENTS
            or bool(self.moved)
            or bool(self.warnings)
            or bool(self.spread)
            or any(m.segments > 1 for m in self.messages)
        )

    def fingerprint(self) -> tuple[object, ...]:
        """What the user agreed to: who, when, and where it lives. Equal fingerprints,
        the same outcome."""
        return (
            tuple((m.number, m.send_at, m.where, m.text) for m in self.messages),
            tuple((r.recipient, r.kind) for r in self.refused),
        )

    def refusal_error(self) -> InvalidInput | None:
        """Why nothing may be stored, or None: invalid entries, or nobody left."""
        bad = self.invalid
        if bad:
            more = f" (and {len(bad) - 1} more invalid)" if len(bad) > 1 else ""
            return InvalidInput(f"{bad[0].reason}{more}", field="recipients")
        if not self.messages:
            first = self.refused[0] if self.refused else None
            why = f": {first.recipient} has {first.reason}" if first else ""
            more = f" (and {len(self.refused) - 1} more)" if len(self.refused) > 1 else ""
            return InvalidInput(f"Nobody left to send to{why}{more}", field="recipients")
        return None


@dataclass(frozen=True)
class ScheduledBatch(BatchResult):
    """What was stored, with the plan it was stored from (the same the user saw)."""

    plan: SchedulePlan | None = None


class PlanChanged(InvalidInput):
    """What scheduling would do now differs from the plan the user agreed to."""

    def __init__(self, plan: SchedulePlan) -> None:
        super().__init__(
            "What will happen changed since you looked (the time passed, or settings or "
            "contacts changed); check the new summary.",
            field="plan",
        )
        self.plan = plan


def provider_warnings(kind: str, sender: str | None, times: Sequence[datetime]) -> tuple[str, ...]:
    """The provider's own warnings for a batch from ``sender`` due at ``times`` (its module's
    ``schedule_warnings``, where it has one: Telnyx's per-sender throughput)."""
    name = MODULES.get(kind)
    check = getattr(importlib.import_module(name), "schedule_warnings", None) if name else None
    return tuple(check(sender, times)) if check is not None else ()


def rate_of(options: dict[str, object]) -> tuple[Decimal, str] | None:
    """The account's own price per segment (option ``price_per_segment``, e.g.
    "0.0079 USD"), or None when it has none or it is not a number."""
    raw = str(options.get("price_per_segment", "")).split()
    if not raw:
        return None
    try:
        amount = Decimal(raw[0])
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount, " ".join(raw[1:2])


def cost_of(segments: int, rate: tuple[Decimal, str] | None) -> Cost:
    """Segments, and segments × your rate when a rate is known. No provider we support
    quotes a price before sending, so an estimate is never presented as theirs."""
    if rate is None:
        return Cost(segments, "", "")
    amount, currency = rate
    total = (amount * segments).quantize(Decimal("0.01"))
    unit = f" {currency}" if currency else ""
    return Cost(
        segments,
        f"about {total}{unit} ({segments:,} segments × {amount}{unit}, your rate)",
        "your rate",
    )


def _recipient(m: PlannedSend) -> str:
    return f"{m.name} ({m.number})" if m.name else m.number


def both_times(when: str, when_recipient: str) -> str:
    """The recipient's time with the desk's beside it, or the desk's alone when the
    recipient's reads the same (the plan's and a series outline's way of saying a time)."""
    return f"{when_recipient} ({when} here)" if when_recipient else when


def capped(lines: list[str], limit: int | None) -> list[str]:
    """At most ``limit`` lines, the last one saying how many more there are."""
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[: limit - 1], f"… and {len(lines) - (limit - 1)} more"]


def _when(m: PlannedSend) -> str:
    return both_times(m.when, m.when_recipient)


def _usual(plan: SchedulePlan) -> tuple[str, str, str, str] | None:
    """The send time and handling most messages share (what "the rest" get); None when
    the times were spread, so that each recipient's own time is listed."""
    if plan.spread:
        return None
    counts = Counter((m.when, m.when_recipient, m.moved, m.handling) for m in plan.messages)
    return counts.most_common(1)[0][0] if counts else None


def plan_headline(plan: SchedulePlan) -> str:
    """One sentence: how many, when, and where they will live."""
    if plan.spread:
        handlings = Counter(m.handling for m in plan.messages)
        [(handling, same)] = handlings.most_common(1)
        each = handling if same == len(plan.messages) else "How each is handled is listed below."
        return f"{plan.spread} {each}"
    usual = _usual(plan)
    if usual is None:
        return "Nothing will be sent."
    count = len(plan.messages)
    when, when_recipient, moved, handling = usual
    shown = both_times(when, when_recipient)
    if count == 1:
        head = f"1 message for {shown}"
    else:
        same = sum(
            1 for m in plan.messages if (m.when, m.when_recipient, m.moved, m.handling) == usual
        )
        head = f"{count} messages " + (
            f"for {shown}" if same == count else f"— {same} of them for {shown}"
        )
    note = f" — {moved}" if moved else ""
    return f"{head}{note}. {handling}"


def plan_details(plan: SchedulePlan, limit: int | None = None) -> list[str]:
    """One line per recipient whose time or handling differs from the headline's, then the
    refused ones with why; the plan's warnings come first. ``limit`` caps the lines (the
    last one says how many more)."""
    usual = _usual(plan)
    lines: list[str] = [f"Warning: {w}" for w in plan.warnings]
    for m in plan.messages:
        if (m.when, m.when_recipient, m.moved, m.handling) == usual:
            continue
        moved = f" — {m.moved}" if m.moved else ""
        lines.append(f"{_recipient(m)}: {_when(m)}{moved}. {m.handling}")
    for r in plan.refused:
        lines.append(f"Not sent to {r.recipient}: {r.reason}")
    return capped(lines, limit)


def summary_lines(plan: SchedulePlan) -> list[tuple[str, str]]:
    """The summary step's rows: recipients, messages, segments, price, first and last."""
    rows = [
        ("Recipients", f"{plan.recipients:,}"),
        ("Messages", f"{len(plan.messages):,}"),
        ("Segments", f"{plan.cost.segments:,} in total"),
    ]
    if plan.cost.estimate:
        rows.append(("Price", plan.cost.estimate))
    first, last = plan.first, plan.last
    if first is not None and last is not None:
        rows.append(("First send", _when(first)))
        rows.append(("Last send", _when(last)))
    if plan.moved:
        count = len(plan.moved)
        rows.append(("Quiet hours", f"{count} message{'s' if count != 1 else ''} moved; see below"))
    held = [m for m in plan.messages if m.computer_on_at is not None]
    if held:
        first_at = min(held, key=lambda m: m.act_at)
        last_at = max(held, key=lambda m: m.act_at)
        span = (
            first_at.act_when
            if first_at.act_when == last_at.act_when
            else f"{first_at.act_when} and until {last_at.act_when}"
        )
        rows.append(("This computer", f"{len(held):,} held here; it must be on at {span}"))
    if plan.refused:
        kinds = Counter(r.kind for r in plan.refused)
        rows.append(("Not sent", ", ".join(f"{n} {kind}" for kind, n in kinds.items())))
    return rows
