"""The provider protocol, the values it exchanges, and the one error taxonomy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.planner import Capabilities


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
