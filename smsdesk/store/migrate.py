"""Schema migrations, applied at start. A copy of the database is kept before any change.

Alembic costs a third of a second to import; most starts find the schema already at head, so
the revision is read with plain SQL and the head is read from the migration files' headers.
Alembic is imported only when there is something to upgrade.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from smsdesk.core.errors import StorageError
from smsdesk.store import raw_connection
from smsdesk.store.db import Database
from smsdesk.store.paths import create_private_file
from smsdesk.store.revisions import MIGRATIONS, shipped

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@cache
def known_revisions() -> tuple[frozenset[str], str | None]:
    """Every revision shipped, and the head (the one no other revision builds on)."""
    known, heads = shipped()
    if len(heads) != 1:
        # A branch or an unreadable header: let alembic decide (it raises on real problems).
        from alembic.script import ScriptDirectory

        script_dir = ScriptDirectory.from_config(alembic_config())
        return frozenset(r.revision for r in script_dir.walk_revisions()), (
            script_dir.get_current_head()
        )
    return known, next(iter(heads))


def current_revision(conn: Connection) -> str | None:
    """What alembic_version says, without alembic (None for a new or half-created file)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row is not None else None


def migrate_to_head(db: Database) -> str | None:
    """Bring the schema to the newest revision; returns the path of the backup made, if any."""
    known, head = known_revisions()
    with db.engine.connect() as conn:
        current = current_revision(conn)
    if current == head:
        return None
    if current is not None and current not in known:
        raise StorageError(
            f"This database was written by a newer version of smsdesk (schema {current}).",
            hint="Install the newer smsdesk again, or point SMSDESK_HOME elsewhere.",
        )
    from alembic import command

    cfg = alembic_config()
    backup = _backup(db.path, f"{current}") if current is not None and db.path else None
    # The write engine locks first, so two processes starting at once migrate one after the other.
    with db._write_engine.begin() as conn:
        if current_revision(conn) != head:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return str(backup) if backup else None


def _backup(path: Path, revision: str) -> Path:
    target = path.with_name(f"{path.name}.before-upgrade-from-{revision}.bak")
    create_private_file(target)
    # SQLite's backup API copies a consistent snapshot, including what is still in the WAL.
    src = raw_connection.connect(path)
    # An encrypted database gives an encrypted copy, under the same key.
    dst = raw_connection.connect(target, encrypt_new=raw_connection.is_encrypted(path))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target
