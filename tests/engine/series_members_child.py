"""A process that brings one group series in line with its group, for the race and crash
tests of test_series_members.py.

python -m tests.engine.series_members_child HOME NOW_ISO SERIES_ID MODE
  MODE "race":         plan, say "ready N" (N messages planned for new members) and wait
                       for a line on stdin (a barrier: every process planned the same
                       additions), then store; print "added taken"
  MODE "die-in-store": plan, then store, dying (like SIGKILL) in the middle of the
                       transaction, right after the new members' messages were written
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from smsdesk.engine import series_members
from smsdesk.store import queries
from tests.engine.series_setup import barrier, child_context


def main() -> None:
    ctx, series_id, mode = child_context()
    plan = series_members.plan_members(ctx, series_id)
    assert plan is not None
    report = series_members.MembersReport()
    if mode == "race":
        barrier(sum(len(p.messages) for _o, p in plan.adds))
    elif mode == "die-in-store":
        insert = queries.insert_messages

        def dying_insert(
            s: Session, rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
        ) -> None:
            insert(s, rows, events)
            s.flush()  # the messages are written, inside the open transaction
            print(f"dying {len(rows)}", flush=True)
            os._exit(9)  # no rollback, no cleanup: as if killed

        queries.insert_messages = dying_insert  # type: ignore[assignment]
    series_members.store_members(ctx, plan, report)
    print(report.added, report.taken)


if __name__ == "__main__":
    main()
