"""Rolling backups of the database file, and putting one back.

A backup is a consistent copy made with SQLite's online backup API (what is still in the WAL
included, other processes writing meanwhile), checked with quick_check before it counts, and
kept in ``backups/`` in the data folder, readable by the user only. The newest ``KEEP`` are
kept. A file that is replaced (by a restore or a salvage) is never deleted: it is set aside
beside the database under a dated name.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smsdesk.core.errors import InvalidInput, StorageError
from smsdesk.store.integrity import damaged_error, integrity_of, looks_damaged, quick_check
from smsdesk.store.paths import create_private_file, database_path
from smsdesk.store.raw_connection import connect, database_errors, database_key, is_encrypted

FOLDER = "backups"
KEEP = 7
EVERY = timedelta(days=1)
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^smsdesk-(\d{8}T\d{6}Z)\.db$")
SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime
    size: int


def backups_dir(home: Path) -> Path:
    return home / FOLDER


def list_backups(home: Path) -> list[Backup]:
    """Every backup in the data folder, newest first."""
    folder = backups_dir(home)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match is None:
            continue  # a copy still being written, or something the user put there
        taken_at = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
        with contextlib.suppress(OSError):  # pruned by another process meanwhile
            found.append(Backup(path, taken_at, path.stat().st_size))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def newest_backup(home: Path) -> Backup | None:
    found = list_backups(home)
    return found[0] if found else None


def make_backup(db_path: Path, now: datetime, *, keep: int = KEEP) -> Backup:
    """Copy the database into ``backups/`` and drop all but the newest ``keep`` copies.
    A damaged database is not copied (``DatabaseDamaged``): a backup must be good."""
    if not db_path.exists() or db_path.stat().st_size == 0:
        raise StorageError("There is no database to back up yet.")
    folder = backups_dir(db_path.parent)
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    target = folder / f"smsdesk-{now.astimezone(UTC).strftime(_STAMP)}.db"
    part = folder / f".{target.name}.{uuid.uuid4().hex[:8]}.part"
    create_private_file(part)
    try:
        _copy(db_path, part)
        # The backup API copies pages as they are: a damaged source gives a damaged copy.
        problems = quick_check(part)
        if problems:
            integrity_of(db_path).check()
            raise damaged_error(db_path, problems)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    prune(db_path.parent, keep)
    return Backup(target, now.astimezone(UTC).replace(microsecond=0), target.stat().st_size)


def backup_if_due(
    db_path: Path, now: datetime, *, every: timedelta = EVERY, keep: int = KEEP
) -> Backup | None:
    """The rolling backup: a new copy when the newest is older than ``every``."""
    newest = newest_backup(db_path.parent)
    if newest is not None and newest.taken_at > now - every:
        return None
    if not db_path.exists() or db_path.stat().st_size == 0:
        return None
    return make_backup(db_path, now, keep=keep)


def prune(home: Path, keep: int) -> None:
    for old in list_backups(home)[keep:]:
        old.path.unlink(missing_ok=True)


def _copy(source: Path, target: Path) -> None:
    try:
        src = connect(source, read_only=True, timeout=10)
        # An encrypted database gives an encrypted backup, under the same key.
        encrypted = is_encrypted(source)
        dst = connect(target, encrypt_new=encrypted, key=database_key() if encrypted else None)
        try:
            src.backup(dst)
            # A self-contained file: no WAL beside it that could be left behind.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
    except database_errors() as exc:
        # SQLCipher reports a page that fails its check as a plain "SQL logic error" here.
        problems = integrity_of(source).check()
        if problems or looks_damaged(exc):
            raise damaged_error(source, problems or [str(exc)]) from exc
        raise StorageError(
            f"The backup could not be made: {exc}",
            hint="Check that the disk is not full and the data folder is writable.",
        ) from exc
    with open(target, "rb+") as f:
        os.fsync(f.fileno())


def set_aside(db_path: Path, now: datetime, why: str) -> Path:
    """Move the database (and its WAL) to a dated name beside it; returns the new path."""
    aside = db_path.with_name(f"{db_path.name}.{why}-{now.astimezone(UTC).strftime(_STAMP)}")
    for suffix in SIDE_FILES:
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    if db_path.exists():
        os.replace(db_path, aside)
    return aside


def put_in_place(db_path: Path, replacement: Path, now: datetime, why: str) -> Path | None:
    """Make ``replacement`` (a sound file in the data folder) the database; the file it
    replaces is set aside, never deleted. Returns where the old file went (None: none)."""
    aside = set_aside(db_path, now, why) if db_path.exists() else None
    os.replace(replacement, db_path)
    os.chmod(db_path, 0o600)
    integrity_of(db_path).forget()
    return aside


@dataclass(frozen=True)
class Restored:
    backup: Backup
    set_aside: Path | None


def restore(
    home: Path, now: datetime, backup: Path | None = None, *, replace_sound: bool = False
) -> Restored:
    """Put a backup back in place of the database (the newest, unless one is named). A
    sound database is replaced only when asked (``replace_sound``): it would lose whatever
    changed since the backup."""
    db_path = database_path(home)
    chosen = _chosen(home, backup)
    current = quick_check(db_path)
    if not current and db_path.exists() and not replace_sound:
        raise InvalidInput(
            "The database is not damaged; restoring would drop what changed since the "
            f"backup of {chosen.taken_at:%Y-%m-%d %H:%M} UTC. Add --force to restore anyway.",
            field="backup",
        )
    problems = quick_check(chosen.path) or _not_smsdesk(chosen.path)
    if problems:
        raise StorageError(
            f"The backup {chosen.path.name} cannot be used ({problems[0]}).",
            hint="Choose another backup with 'smsdesk restore FILE'.",
        )
    staged = db_path.with_name(f".{db_path.name}.{uuid.uuid4().hex[:8]}.restoring")
    create_private_file(staged)
    try:
        shutil.copyfile(chosen.path, staged)
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
        why = "damaged" if current else "replaced"
        aside = put_in_place(db_path, staged, now, why)
    finally:
        staged.unlink(missing_ok=True)
    return Restored(chosen, aside)


def _not_smsdesk(path: Path) -> list[str]:
    """Why the (sound) file is not an smsdesk database, if it is not one."""
    conn = connect(path, read_only=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except database_errors() as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if {"message", "alembic_version"} <= names else ["not an smsdesk database"]


def _chosen(home: Path, backup: Path | None) -> Backup:
    if backup is None:
        newest = newest_backup(home)
        if newest is None:
            raise StorageError(
                "There is no backup to restore.",
                hint="Run 'smsdesk restore --salvage' to keep what can still be read.",
            )
        return newest
    if not backup.is_file():
        raise InvalidInput(f"No backup file at {backup}.", field="backup")
    match = _NAME.match(backup.name)
    taken = (
        datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
        if match
        else datetime.fromtimestamp(backup.stat().st_mtime, UTC)
    )
    return Backup(backup, taken, backup.stat().st_size)
