"""Bulk work with Python's cycle collector paused.

Reading a 100,000-row file makes hundreds of thousands of small objects that all live until the
preview is done; every few hundred allocations the collector walks the live ones again, which
was a sixth of a large import's time. Those objects form no reference cycles (reference counting
frees them), so the collector is paused while such work runs and resumed after, also when it
fails. Nested and concurrent uses share one pause.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_users = 0
_resume = False  # whether the collector was running when the first user paused it


@contextmanager
def collector_paused() -> Iterator[None]:
    global _users, _resume
    with _lock:
        if _users == 0:
            _resume = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _resume:
                gc.enable()
