"""Spacing read requests to a provider's documented rate (status sync, reconciliation).

A provider that allows ``n`` requests per minute gets them evenly spaced, never in a burst:
each caller reserves the next free slot under a lock and waits (on the injected clock)
outside it, so tests move a manual clock instead of waiting.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from smsdesk.core.clock import Clock


class Spacing:
    """At most one request every ``interval``."""

    def __init__(self, clock: Clock, interval: timedelta) -> None:
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._next: datetime | None = None
        self.waited = timedelta(0)  # in total, for benchmarks and tests

    @classmethod
    def per_minute(cls, clock: Clock, requests: float) -> Spacing:
        return cls(clock, timedelta(minutes=1) / requests)

    @classmethod
    def per_second(cls, clock: Clock, requests: float) -> Spacing:
        return cls(clock, timedelta(seconds=1) / requests)

    def wait(self) -> None:
        """Return when the caller may send its request."""
        with self._lock:
            now = self._clock.now()
            slot = now if self._next is None or self._next <= now else self._next
            self._next = slot + self._interval
            delay = slot - now
            self.waited += delay
        if delay > timedelta(0):
            self._clock.sleep(delay.total_seconds())
