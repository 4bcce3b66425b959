"""The schema revisions smsdesk ships, read from the migration files' headers.

Without SQLAlchemy or alembic, so that start-up can tell whether a file is at the newest
schema before the storage stack is loaded (first_page.py), and migrate.py the same way.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*(?:None|[\"']([^\"']+)[\"'])", re.MULTILINE)


@cache
def shipped() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision shipped, and the heads (those no other revision builds on): one head
    unless the files branch, which only alembic can sort out."""
    known: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue  # __init__.py
        known.add(revision.group(1))
        down = _DOWN.search(source)
        if down is not None and down.group(1):
            parents.add(down.group(1))
    return frozenset(known), frozenset(known - parents)


def head() -> str | None:
    """The newest revision, or None when the headers do not name exactly one."""
    heads = shipped()[1]
    return next(iter(heads)) if len(heads) == 1 else None
