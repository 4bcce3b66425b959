"""Runs the migrations and dies (like SIGKILL) after the third table is created.

python -m tests.store.migrate_child HOME
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from alembic.operations import Operations

from smsdesk.store.db import Database

created = 0
original = Operations.create_table


def create_table_then_die(self: Operations, *args: Any, **kwargs: Any) -> Any:
    global created
    result = original(self, *args, **kwargs)
    created += 1
    if created == 3:
        os._exit(9)
    return result


Operations.create_table = create_table_then_die  # type: ignore[method-assign]  # a throwaway child
Database.open(Path(sys.argv[1]))
