"""Pacing requests to a provider's rate limit: one token bucket per account, shared by the
threads that hand messages off to it.

Time is injected (``monotonic`` and ``sleep``) so that tests drive it without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Monotonic = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """``rate`` requests per second, at most ``burst`` at once.

    The default burst of 1 spaces requests evenly: a provider that counts per second (or
    with its own bucket) never sees more than ``rate`` in any second, even right after a
    pause. Callers reserve their slot under the lock and wait outside it, so several threads
    share one bucket without waiting for each other's sleeps.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a rate limit must be positive")
        if burst < 1:
            raise ValueError("a bucket must hold at least one request")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = burst
        self._stamp = monotonic()

    def reserve(self) -> float:
        """Take the next slot; returns how many seconds to wait before using it."""
        with self._lock:
            now = self._monotonic()
            # Tokens accrue with time, up to the burst; a debt (negative) means slots ahead
            # are already promised to other callers.
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> None:
        """Wait for a slot (blocking the calling thread only)."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)


class Pacer:
    """The buckets of a dispatcher, one per account; a changed rate gets a new bucket."""

    def __init__(self, *, monotonic: Monotonic = time.monotonic, sleep: Sleep = time.sleep):
        self._monotonic = monotonic
        self._sleep = sleep
        self._buckets: dict[int, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, account_id: int, rate: float) -> TokenBucket:
        with self._lock:
            found = self._buckets.get(account_id)
            if found is None or found.rate != rate:
                found = TokenBucket(rate, monotonic=self._monotonic, sleep=self._sleep)
                self._buckets[account_id] = found
            return found
