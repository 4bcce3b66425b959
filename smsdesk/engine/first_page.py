"""What the window may show before storage is open: the Queue's first page, read without the
storage stack (store/first_page.py), for start-up to hand to the window."""

from __future__ import annotations

from pathlib import Path

from smsdesk.core.clock import Clock, SystemClock
from smsdesk.store.first_page import PAGE as PAGE
from smsdesk.store.first_page import FirstPage as FirstPage
from smsdesk.store.first_page import FirstRow as FirstRow
from smsdesk.store.first_page import read_first_page


def first_page(home: Path, clock: Clock | None = None, *, limit: int = PAGE) -> FirstPage | None:
    """The Queue's first page in its default scope, or None: start the normal way."""
    return read_first_page(home, (clock or SystemClock()).now(), limit=limit)
