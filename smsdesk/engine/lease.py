"""The leases of one claim, kept alive while their holder works.

A claim leases its messages for a while and receives a generation (fencing token) per message.
Before each request to a provider the holder makes sure enough of the lease remains for that
request's worst case, renewing it if not; a message whose lease was taken over meanwhile is
dropped from the claim and never touched again. Every outcome write checks owner and
generation, so a holder that was too slow writes nothing (see ``queries.transition_many``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from smsdesk.core.clock import Clock
from smsdesk.providers.http import worst_case_seconds
from smsdesk.providers.options import timeout_from
from smsdesk.store import queries
from smsdesk.store.db import Database
from smsdesk.store.models import ProviderAccount
from smsdesk.store.queries import Claimed

# The lease owner of messages whose account cannot be used now (no key, a refused key, bad
# settings): held away from every dispatcher until the lease ends; a change to the account
# releases them at once (engine/accounts.py).
BLOCKED = "blocked"

# Kept between a request's worst case and the end of its lease: clocks of two desks differ a
# little, and the outcome must still be written after the answer arrives.
MARGIN = timedelta(seconds=10)


def request_budget(account: ProviderAccount, *, creates: bool) -> timedelta:
    """The longest one request to this account's provider can take (its timeout option
    included). Raises SmsdeskError when the account's options are invalid."""
    raw = json.loads(account.settings_json or "{}")
    options = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return timedelta(seconds=worst_case_seconds(timeout_from(options), creates=creates))


class ClaimLease:
    """The messages one claim holds, with their generations and the lease's end."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        owner: str,
        claimed: Sequence[Claimed],
        length: timedelta,
        expires: datetime,
    ) -> None:
        self._db = db
        self._clock = clock
        self.owner = owner
        self.length = length
        self.expires = expires
        # Generations as claimed: every write of this claim is fenced with them.
        self.fence: dict[str, int] = {c.id: c.lease_generation for c in claimed}
        self._held = set(self.fence)
        self._lock = threading.Lock()  # paced hand-offs renew from several threads

    def ensure(self, needed: timedelta) -> set[str]:
        """Make sure the lease still runs for ``needed`` (plus MARGIN), renewing it if not;
        returns the ids still held by this claim."""
        with self._lock:
            now = self._clock.now()
            want = needed + MARGIN
            if self.expires - now >= want or not self._held:
                return set(self._held)
            expires = now + max(self.length, want)
            fence = {i: self.fence[i] for i in self._held}
            with self._db.write() as s:
                kept = queries.renew(s, fence, self.owner, expires)
            self._held &= kept
            self.expires = expires
            return set(self._held)

    def release(self) -> None:
        with self._lock:
            fence = {i: self.fence[i] for i in self._held}
            self._held.clear()
        if fence:
            with self._db.write() as s:
                queries.release(s, fence, self.owner)
