"""The hand-off planner: decides, for one message, who holds it and when the engine acts.

A pure function of the message's send time, the provider's capabilities and now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Hand-offs aimed at a provider window edge keep this much slack, because our clock and the
# provider's differ and a request takes time.
EDGE_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do; drives the planner and is shown to users."""

    native_scheduling: bool
    min_lead: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=365)
    native_reschedule: bool = False
    # How long before the send time the provider still accepts a cancel; None: it cannot cancel.
    cancel_cutoff: timedelta | None = None
    batch_size: int = 1
    rate_limit_per_second: float | None = None
    server_preview: bool = False
    # Whether the provider can be asked "do you have the message with this key?".
    lookup_by_key: bool = False
    # Whether the provider can hold a message to given hours of delivery (Infobip's
    # deliveryTimeWindow): the engine then hands it the recipient's allowed hours.
    delivery_window: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "native_scheduling": self.native_scheduling,
            "min_lead_seconds": self.min_lead.total_seconds(),
            "horizon_seconds": self.horizon.total_seconds(),
            "native_reschedule": self.native_reschedule,
            "cancel_cutoff_seconds": (
                None if self.cancel_cutoff is None else self.cancel_cutoff.total_seconds()
            ),
            "batch_size": self.batch_size,
            "rate_limit_per_second": self.rate_limit_per_second,
            "server_preview": self.server_preview,
            "lookup_by_key": self.lookup_by_key,
        }


@dataclass(frozen=True)
class SendRate:
    """How fast a provider sends from one sender: at most ``per_slot`` messages in any
    ``slot`` (whole seconds, the finest grain a send time is given in)."""

    per_slot: int
    slot: timedelta
    sender: str  # the sender in words, its number redacted: "the long code +120…00"
    limit: str  # the documented limit in words, said with where it comes from

    @property
    def pace(self) -> str:
        """E.g. "1 every 10 s" or "20 a second"."""
        seconds = int(self.slot.total_seconds())
        if seconds == 1:
            return f"{self.per_slot} a second"
        return f"{self.per_slot} every {seconds} s"


class Action(StrEnum):
    HAND_OFF_NOW = "hand_off_now"  # give it to the provider's scheduler now
    HOLD_UNTIL = "hold_until"  # keep it here, hand it to the provider's scheduler at `act_at`
    SEND_LOCALLY = "send_locally"  # keep it here and send it with a plain send at `act_at`


@dataclass(frozen=True)
class Plan:
    action: Action
    act_at: datetime  # when the engine acts on the message
    reason: str


def plan_handoff(send_at: datetime, caps: Capabilities, now: datetime) -> Plan:
    """Decide who holds a message due at ``send_at`` and when the engine acts on it."""
    lead = send_at - now
    if not caps.native_scheduling:
        return Plan(Action.SEND_LOCALLY, send_at, "the provider cannot schedule messages")
    if lead < caps.min_lead + EDGE_MARGIN:
        # "needs 0 minutes notice" reads as nonsense: a provider without a minimum lead is
        # only skipped because the send time is (all but) now.
        why = (
            f"the provider needs {_human(caps.min_lead)} notice to schedule"
            if caps.min_lead > timedelta(0)
            else "it is due too soon to hand to the provider's scheduler"
        )
        return Plan(Action.SEND_LOCALLY, send_at, why)
    if caps.cancel_cutoff is None:
        # The provider cannot cancel what it holds: keep it here (cancellable) until the last
        # moment at which the provider still accepts it.
        last_safe = send_at - caps.min_lead - 2 * EDGE_MARGIN
        if last_safe > now:
            return Plan(
                Action.HOLD_UNTIL,
                last_safe,
                "the provider cannot cancel, so it stays cancellable here as long as possible",
            )
        return Plan(Action.HAND_OFF_NOW, now, "inside the provider's scheduling window")
    if lead > caps.horizon - EDGE_MARGIN:
        return Plan(
            Action.HOLD_UNTIL,
            send_at - caps.horizon + EDGE_MARGIN,
            f"the provider schedules at most {_human(caps.horizon)} ahead",
        )
    return Plan(Action.HAND_OFF_NOW, now, "inside the provider's scheduling window")


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 and seconds >= 86400:
        days = seconds // 86400
        return f"{days} day" + ("s" if days != 1 else "")
    if seconds % 3600 == 0 and seconds >= 3600:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    minutes = max(seconds // 60, 0)
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def describe_plan(
    plan: Plan, provider: str, when_local: str, act_at_local: str, *, due_now: bool = False
) -> str:
    """The plain sentence the composer shows: how the message will be handled.

    ``due_now``: the send time has (just) passed, so it goes at once rather than "at" it."""
    if plan.action is Action.HAND_OFF_NOW:
        return f"{provider} will schedule it; it goes out even if this computer is off."
    if plan.action is Action.HOLD_UNTIL:
        return (
            f"Held on this computer until {act_at_local} (it must be on then), "
            f"then handed to {provider}."
        )
    if due_now:
        return (
            f"Sent through {provider} from this computer right away; this computer must "
            "stay on until it has gone."
        )
    return (
        f"Held on this computer and sent through {provider} at {when_local} "
        f"({plan.reason}); this computer must be on then."
    )
