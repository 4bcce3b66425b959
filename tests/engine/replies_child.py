"""A reply pull in a child process that dies where the test says (a real kill, no cleanup).

python -m tests.engine.replies_child HOME NOW_ISO OWNER POINT
  POINT "before-commit": the provider has answered, the process dies before the batch is
                         stored
  POINT "after-commit":  the batch is stored, the process dies before the pull is settled
                         (its lease held, Twilio's read position not moved, the confirmed
                         appointment's reminders not yet cancelled)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.replies import Incoming, ReplyPuller
from smsdesk.store.models import ProviderAccount


def main() -> None:
    home, now_iso, owner, point = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = AppContext.open(home, clock=ManualClock(datetime.fromisoformat(now_iso)))
    store_all = ReplyPuller.store_all

    def dying(self: ReplyPuller, account: ProviderAccount, items: Sequence[Incoming]) -> int:
        print(len(items), flush=True)  # how many the provider handed over
        if point == "before-commit":
            os._exit(9)
        stored = store_all(self, account, items)
        os._exit(9)
        return stored  # never reached

    ReplyPuller.store_all = dying  # type: ignore[method-assign]
    ReplyPuller(ctx, owner).pull_due()
    sys.exit("the pull ended without reaching the kill point")


if __name__ == "__main__":
    main()
