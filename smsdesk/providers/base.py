"""The provider protocol, the values it exchanges, and the one error taxonomy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities

# Infobip's deliveryTimeWindow: "Properties `from` and `to` should be both provided with the
# minimum 1 hour difference or omitted"; the hours are UTC.
MIN_DELIVERY_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryWindow:
    """Hours of the day, in UTC, in which a provider may deliver a message it holds, so one
    it releases late (paused, moved) still never arrives in the recipient's night."""

    start: time  # UTC wall-clock, naive
    end: time  # UTC wall-clock, naive; at least MIN_DELIVERY_WINDOW after start, same day

    def __post_init__(self) -> None:
        span = datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)
        if span < MIN_DELIVERY_WINDOW:
            raise ValueError("a delivery window spans at least one hour within one UTC day")

    @classmethod
    def allowed(cls, opens: time, closes: time, zone: ZoneInfo, day: date) -> DeliveryWindow | None:
        """The recipient's allowed hours (``opens``..``closes`` their time on ``day``: the
        end and start of quiet hours) as one UTC window. When they cross midnight in UTC
        the longer part is taken (a narrower window never lets a message into the night);
        None when no part spans an hour."""
        start = datetime.combine(day, opens, zone).astimezone(UTC)
        end = datetime.combine(day, closes, zone)
        if closes <= opens:
            end += timedelta(days=1)
        end_utc = end.astimezone(UTC)
        midnight = datetime.combine(start.date() + timedelta(days=1), time(0), UTC)
        last = time(23, 59)  # "hour ... maximum: 23", "minute ... maximum: 59"
        pieces = [(start, min(end_utc, midnight))]
        if end_utc > midnight:
            pieces.append((midnight, end_utc))
        first, final = max(pieces, key=lambda p: p[1] - p[0])
        if final - first < MIN_DELIVERY_WINDOW:
            return None
        closing = last if final.time() == time(0) else final.time()
        try:
            return cls(first.time().replace(second=0, microsecond=0), closing)
        except ValueError:
            return None


@dataclass(frozen=True)
class Outgoing:
    """One message handed to a provider. ``key`` is our idempotency key for it."""

    key: str
    to: str  # E.164
    text: str
    sender: str | None
    send_at: datetime | None  # None: send now
    # The provider-side group smsdesk chose for it before the request (an Infobip bulkId),
    # stored with the message so that a definitive lookup can ask for it after a crash.
    group: str | None = None
    # The hours the provider may deliver it in (quiet hours, in UTC), for a provider that can
    # hold a message to them (Infobip's deliveryTimeWindow); None: any hour.
    window: DeliveryWindow | None = None


@dataclass(frozen=True)
class Receipt:
    """The provider accepted (or already had) a message."""

    key: str
    ref: str  # the provider's id, used for status, reschedule and cancel
    state: State  # SCHEDULED, SENT, DELIVERED, ...
    send_at: datetime | None = None
    detail: str = ""  # the provider's reason, when the state is FAILED
    opted_out: bool = False  # FAILED because the recipient opted out


@dataclass(frozen=True)
class Rejected:
    """The provider refused this one message for a reason that retrying will not fix."""

    key: str
    reason: str
    opted_out: bool = False


Outcome = Receipt | Rejected


@dataclass(frozen=True)
class NotReceived:
    """The provider answered definitively (a lookup it documents as such, for a key or group
    smsdesk chose and stored before the request) that it never got this message: handing it
    off again cannot double it."""

    key: str
    detail: str = ""


@dataclass(frozen=True)
class CannotTell:
    """The provider's answer does not settle it (e.g. "absent from the logs", which may lag):
    the message stays ``unknown``, flagged for the user, and is never resent automatically."""

    key: str
    reason: str


Found = Receipt | NotReceived | CannotTell


@dataclass(frozen=True)
class StatusReport:
    ref: str
    state: State
    detail: str = ""
    opted_out: bool = False  # FAILED because the recipient opted out (STOP)


@dataclass(frozen=True)
class KeyCapability:
    """One thing an account's key may or may not do (Test connection's checklist)."""

    label: str  # "send and schedule", "reschedule, pause and cancel", ...
    allowed: bool
    lacks: str = ""  # what the key would need, in the provider's words (a scope)

    def describe(self) -> str:
        mark = "✓" if self.allowed else f"✗ (the key lacks {self.lacks})"
        return f"can {self.label} {mark}"


@dataclass(frozen=True)
class ServerPreview:
    text: str
    segments: int
    characters_remaining: int | None = None
    note: str = ""


class ProviderError(SmsdeskError):
    """A provider request did not succeed. Subclasses say what the engine may do next."""


class TransientError(ProviderError):
    """Nothing was accepted; trying again later may work (timeout before sending, 429, 503)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """The provider refused the request; retrying will not help."""


class AuthenticationError(PermanentError):
    """The API key or account was refused."""


class ForbiddenError(PermanentError):
    """A 403 the endpoint documents as a refusal of this one request, not of the key: the
    key lacks this operation's scope (Infobip), or the message is past being changed
    (Telnyx's cancel). Raised only where the caller asked for that reading."""


class AmbiguousError(ProviderError):
    """The request may or may not have taken effect (e.g. the response was lost)."""


class Provider(Protocol):
    kind: str
    capabilities: Capabilities

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        """The same messages, each with the provider-side group it will be created in
        (``Outgoing.group``; None where the provider has no such group). The engine stores
        the groups durably before it calls ``schedule`` with exactly these messages."""
        ...

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Hand messages to the provider: scheduled at ``send_at``, or sent now if it is None."""
        ...

    def group_of(self, ref: str) -> str | None:
        """The provider-side group that reschedule and cancel act on as a whole (an Infobip
        bulk), or None when they act on the one message."""
        ...

    def reschedule(self, ref: str, send_at: datetime) -> None: ...

    def cancel(self, ref: str) -> None: ...

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]: ...

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        """Ask about messages by (idempotency key, group stored with it before the request),
        in as few requests as the provider's batch forms allow; one answer per key.
        NotReceived only from a lookup the provider documents as definitive; CannotTell
        otherwise. Raises ProviderError when the provider could not be asked at all."""
        ...

    def preview(self, text: str) -> ServerPreview | None:
        """The provider's own preview, or None where it has none."""
        ...

    def check(self) -> str:
        """Check the credentials; returns a short description of the account."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
