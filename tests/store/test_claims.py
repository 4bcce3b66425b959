"""A claim takes at most what it asked for, on SQLite and on PostgreSQL.

PostgreSQL may run an ``IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` again for each row
it updates; with many messages due at the same instant (a clinic's 09:00 batch) each run can
pick other rows, and one desk then claimed all of them at once."""

from __future__ import annotations

from datetime import timedelta

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import queries

LEASE = timedelta(minutes=2)


def test_a_claim_takes_at_most_its_limit_of_messages_due_together(
    db_ctx: AppContext, clock: ManualClock
) -> None:
    numbers = [f"+1555300{i:04d}" for i in range(200)]
    Service(db_ctx).schedule(numbers, "Closed Monday", clock.now() + timedelta(hours=1), "UTC")
    with db_ctx.db.write() as s:
        first = queries.claim_due(s, "desk-1", clock.now(), LEASE, 5)
    with db_ctx.db.write() as s:
        second = queries.claim_due(s, "desk-2", clock.now(), LEASE, 5)
    assert len(first) == len(second) == 5
    assert not {c.id for c in first} & {c.id for c in second}
    with db_ctx.db.read() as s:
        leased = s.connection().exec_driver_sql(
            "SELECT lease_owner, COUNT(*) FROM message WHERE lease_owner IS NOT NULL "
            "GROUP BY lease_owner ORDER BY lease_owner"
        )
        assert [tuple(row) for row in leased] == [("desk-1", 5), ("desk-2", 5)]
