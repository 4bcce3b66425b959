"""Prototype: hand off one-message-per-request providers concurrently, paced by their rate limit.

``Dispatcher._process`` hands an account's messages off one request after another, so with a
provider that takes one message per request (Telnyx) the throughput is 1 / round-trip time,
whatever the provider allows. This subclass keeps everything else and changes only that loop:
when ``capabilities.batch_size == 1`` and ``rate_limit_per_second`` is set, the chunks go
through a small thread pool, each request waiting for a slot of a per-account token bucket at
the provider's rate. The exactly-once rules are untouched: every chunk still goes through
``Dispatcher._hand_off`` (handing_off committed before its request).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.engine.outbox import Dispatcher, PassReport
from smsdesk.store.models import Message

MAX_WORKERS = 8  # also below SQLAlchemy's default pool (5 + 10 overflow)
ASSUMED_LATENCY = 0.5  # seconds; workers = rate x this, so slow answers still fill the limit


class RateGate:
    """Evenly spaced slots at ``rate`` per second, shared by every thread of one account."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def _merge(into: PassReport, part: PassReport) -> None:
    for name, value in part.as_dict().items():
        setattr(into, name, getattr(into, name) + value)


class PacedDispatcher(Dispatcher):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._gates: dict[int, RateGate] = {}

    def _process(self, claimed: Sequence[Message], report: PassReport) -> None:
        ready: dict[int, list[tuple[Message, datetime | None]]] = defaultdict(list)
        for msg in claimed:  # unchanged from Dispatcher._process
            try:
                if State(msg.state) in (State.HANDING_OFF, State.UNKNOWN):
                    self._reconcile(msg, report)
                    continue
                decision = self._decide(msg, report)
            except SmsdeskError as exc:
                self._blocked([msg], exc)
                continue
            if decision is not None:
                ready[msg.account_id].append((msg, decision[0]))
        for account_id, items in ready.items():
            caps = self.ctx.capabilities(self.ctx.account_by_id(account_id))
            size = max(caps.batch_size, 1)
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
            rate = caps.rate_limit_per_second
            if size == 1 and rate and len(chunks) > 1:
                self._paced(account_id, chunks, rate, report)
                continue
            for chunk in chunks:
                self._one_chunk(account_id, chunk, report, None)

    def _one_chunk(
        self,
        account_id: int,
        chunk: list[tuple[Message, datetime | None]],
        report: PassReport,
        gate: RateGate | None,
    ) -> None:
        if gate is not None:
            gate.wait()
        try:
            self._hand_off(account_id, chunk, report)
        except SmsdeskError as exc:
            self._blocked([m for m, _ in chunk], exc)

    def _paced(
        self,
        account_id: int,
        chunks: list[list[tuple[Message, datetime | None]]],
        rate: float,
        report: PassReport,
    ) -> None:
        gate = self._gates.setdefault(account_id, RateGate(rate))
        workers = max(1, min(MAX_WORKERS, math.ceil(rate * ASSUMED_LATENCY), len(chunks)))
        parts = [PassReport() for _ in chunks]
        self.ctx.provider(self.ctx.account_by_id(account_id))  # open it once, before threads
        with ThreadPoolExecutor(workers, thread_name_prefix="handoff") as pool:
            for chunk, part in zip(chunks, parts, strict=True):
                pool.submit(self._one_chunk, account_id, chunk, part, gate)
        for part in parts:
            _merge(report, part)
