"""Schema migrations, applied at start. A copy of the database is kept before any change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from smsdesk.core.errors import StorageError
from smsdesk.store.db import Database
from smsdesk.store.paths import create_private_file

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate_to_head(db: Database) -> str | None:
    """Bring the schema to the newest revision; returns the path of the backup made, if any."""
    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    known = {rev.revision for rev in script.walk_revisions()}
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return None
    if current is not None and current not in known:
        raise StorageError(
            f"This database was written by a newer version of smsdesk (schema {current}).",
            hint="Install the newer smsdesk again, or point SMSDESK_HOME elsewhere.",
        )
    backup = _backup(db.path, f"{current}") if current is not None and db.path else None
    # The write engine locks first, so two processes starting at once migrate one after the other.
    with db._write_engine.begin() as conn:
        if MigrationContext.configure(conn).get_current_revision() != head:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return str(backup) if backup else None


def _backup(path: Path, revision: str) -> Path:
    target = path.with_name(f"{path.name}.before-upgrade-from-{revision}.bak")
    create_private_file(target)
    # SQLite's backup API copies a consistent snapshot, including what is still in the WAL.
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target
