"""A process that fills one series, for the race and crash tests of test_series.py.

python -m tests.engine.series_child HOME NOW_ISO SERIES_ID MODE
  MODE "race":         plan the fill, say "ready N" (N occurrences planned) and wait for a
                       line on stdin (a barrier: every process has planned the same
                       occurrences), then store; print "stored taken"
  MODE "die-in-store": plan, then store, dying (like SIGKILL) in the middle of the
                       transaction, right after the occurrences' messages were written
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sqlmodel import Session

from smsdesk.engine import series
from smsdesk.engine.scheduling import Prepared, Scheduling
from tests.engine.series_setup import barrier, child_context


def main() -> None:
    ctx, series_id, mode = child_context()
    fill = series.plan_fill(ctx, series_id)
    assert fill is not None
    report = series.FillReport()
    if mode == "race":
        barrier(sum(1 for _o, p, _d in fill.planned if p is not None))
    elif mode == "die-in-store":
        store_many = Scheduling.store_many

        def dying_store(s: Session, prepared: Sequence[Prepared]) -> None:
            store_many(s, prepared)
            s.flush()  # the messages are written, inside the open transaction
            print(f"dying {len(prepared)}", flush=True)
            os._exit(9)  # no rollback, no cleanup: as if killed

        Scheduling.store_many = staticmethod(dying_store)  # type: ignore[method-assign]
    series.store_fill(ctx, fill, report)
    print(report.stored, report.taken)


if __name__ == "__main__":
    main()
