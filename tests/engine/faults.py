"""Providers for tests: the real Sandbox, with faults put in front of it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from smsdesk.core.planner import Capabilities
from smsdesk.providers.base import (
    Found,
    Outcome,
    Outgoing,
    Receipt,
    ServerPreview,
    StatusReport,
)
from smsdesk.providers.sandbox import SandboxProvider


class FaultySandbox:
    """The real Sandbox; ``faults`` is a queue of things that happen to the next requests.

    Each fault is a callable run around one ``schedule`` call: ``before`` faults raise
    without the Sandbox seeing the request, ``after`` faults raise once it has accepted it.
    """

    kind = "sandbox"

    def __init__(self, inner: SandboxProvider, capabilities: Capabilities | None = None) -> None:
        self.inner = inner
        self.capabilities = capabilities or inner.capabilities
        self.before: list[Exception | Callable[[], None]] = []
        self.after: list[Exception | Callable[[], None]] = []
        self.schedule_calls = 0

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        self.schedule_calls += 1
        if self.before:
            _happen(self.before.pop(0))
        outcomes = self.inner.schedule(messages)
        if self.after:
            _happen(self.after.pop(0))
        return outcomes

    def group_of(self, ref: str) -> str | None:
        return None

    def reschedule(self, ref: str, send_at: datetime) -> None:
        self.inner.reschedule(ref, send_at)

    def cancel(self, ref: str) -> None:
        self.inner.cancel(ref)

    def fetch_status(self, refs: Sequence[str]) -> list[StatusReport]:
        return self.inner.fetch_status(refs)

    def assign_groups(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        return self.inner.assign_groups(messages)

    def lookup(self, messages: Sequence[tuple[str, str | None]]) -> list[Found]:
        return self.inner.lookup(messages)

    def preview(self, text: str) -> ServerPreview | None:
        return None

    def check(self) -> str:
        return self.inner.check()

    def close(self) -> None:
        self.inner.close()


def without_scheduling(caps: Capabilities) -> Capabilities:
    """A provider that can only send now (like Vonage): everything is held locally."""
    return replace(caps, native_scheduling=False)


def _happen(fault: Exception | Callable[[], None]) -> None:
    if isinstance(fault, Exception):
        raise fault
    fault()


class BulkSandbox(FaultySandbox):
    """The Sandbox made to behave like Infobip: each request is one bulk, and reschedule and
    cancel act on the whole bulk."""

    def __init__(self, inner: SandboxProvider) -> None:
        super().__init__(inner)
        self.groups: dict[str, str] = {}  # ref -> bulk
        self.provider_calls: list[str] = []

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        outcomes = super().schedule(messages)
        bulk = f"bulk-{self.schedule_calls}"
        for outcome in outcomes:
            if isinstance(outcome, Receipt):
                self.groups[outcome.ref] = bulk
        return outcomes

    def group_of(self, ref: str) -> str | None:
        return self.groups.get(ref)

    def _members(self, ref: str) -> list[str]:
        return [r for r, g in self.groups.items() if g == self.groups[ref]]

    def reschedule(self, ref: str, send_at: datetime) -> None:
        self.provider_calls.append("reschedule")
        for member in self._members(ref):
            self.inner.reschedule(member, send_at)

    def cancel(self, ref: str) -> None:
        self.provider_calls.append("cancel")
        for member in self._members(ref):
            self.inner.cancel(member)
