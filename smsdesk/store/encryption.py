"""Encryption at rest: which new databases are encrypted, and turning it on or off for a file.

New databases are encrypted (SQLCipher) where the binding is installed and a keyring can hold
the key without asking anyone: an OS-encrypted keyring, or a backend chosen by name. With only
smsdesk's passphrase key file, a new database stays plain until the user turns encryption on
(Settings or ``smsdesk storage encrypt``), which asks for the passphrase once.

Turning it on or off copies the file with ``sqlcipher_export`` into a new file beside it,
checks the copy (quick_check and the same number of rows in every table) and renames it over
the database: a crash before the rename leaves the old file in place, after it the new one.
While it runs, the old file's write lock is held, so nobody writes what the copy would miss.
The old file's bytes are then overwritten with zeros before it is removed (as far as a file
system allows: a copy-on-write or journaling file system, or an SSD, may keep old blocks).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from smsdesk.core.errors import InvalidInput, SmsdeskError, StorageError
from smsdesk.store import raw_connection
from smsdesk.store.paths import create_private_file

_STAGED = ".{name}.{tag}.{how}"
_SHRED = ".{name}.{tag}.shred"
_CHUNK = 1 << 20

# Tests stop a real process here: just before the rename, and just after it.
before_swap: Callable[[], None] = lambda: None  # noqa: E731
after_swap: Callable[[], None] = lambda: None  # noqa: E731


def encrypt_new_databases() -> bool:
    """Whether a new database is made encrypted (see the module's note)."""
    if not raw_connection.cipher_available():
        return False
    from smsdesk.store.secrets import KEY_FILE, SecretStore

    try:
        return SecretStore().backend_name() != KEY_FILE
    except SmsdeskError:  # no keyring to keep the key in: plain, and doctor says so
        return False


def finish_interrupted(db_path: Path) -> None:
    """Clean up after a change of encryption that stopped half-way: a staged copy that was
    never renamed is dropped (the database is still the old file), and old bytes that were
    not yet overwritten are overwritten now."""
    folder = db_path.parent
    prefix = f".{db_path.name}."
    try:
        leftovers = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for path in leftovers:
        if path.name.endswith((".encrypting", ".decrypting")):
            path.unlink(missing_ok=True)
        elif path.name.endswith(".shred"):
            if db_path.exists() and os.path.samefile(path, db_path):
                # Stopped before the rename: this is a second name of the database itself.
                path.unlink()
            else:
                _shred(path)


def encrypt(db_path: Path) -> None:
    """Make the plain database at ``db_path`` an encrypted one (the key made if needed)."""
    mod = raw_connection.cipher_module()
    if mod is None:
        raise StorageError(
            "This installation cannot encrypt the database.", hint=raw_connection.NO_BINDING_HINT
        )
    state = raw_connection.file_state(db_path)
    if state == "encrypted":
        raise InvalidInput("The database is already encrypted.", field="storage")
    if state == "none":
        raise StorageError("There is no database to encrypt yet.")
    key = raw_connection.key_for_new_file()
    _convert(db_path, "encrypting", source_key=None, target_key=key)


def decrypt(db_path: Path) -> None:
    """Make the encrypted database at ``db_path`` a plain one."""
    state = raw_connection.file_state(db_path)
    if state != "encrypted":
        raise InvalidInput("The database is not encrypted.", field="storage")
    key = raw_connection.database_key()
    _convert(db_path, "decrypting", source_key=key, target_key="")


def _convert(db_path: Path, how: str, *, source_key: str | None, target_key: str) -> None:
    mod = raw_connection.cipher_module()
    assert mod is not None
    tag = uuid.uuid4().hex[:8]
    staged = db_path.with_name(_STAGED.format(name=db_path.name, tag=tag, how=how))
    shred = db_path.with_name(_SHRED.format(name=db_path.name, tag=tag))
    create_private_file(staged)
    staged.unlink()  # SQLCipher must create it itself, keyed from its first page
    holder = _open(mod, db_path, source_key)
    try:
        _empty_wal(holder)
        # The write lock, held until the new file is in place: what is written meanwhile
        # would not be in the copy. Others wait (busy timeout) and then fail in one line.
        holder.execute("BEGIN IMMEDIATE")
        _export(mod, db_path, source_key, staged, target_key)
        _check_copy(mod, db_path, source_key, staged, target_key)
        _fsync(staged)
        os.link(db_path, shred)  # the old bytes stay reachable, to be overwritten
        before_swap()
        os.replace(staged, db_path)
        _fsync_dir(db_path.parent)
        after_swap()
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        staged.unlink(missing_ok=True)
    from smsdesk.store.integrity import integrity_of

    integrity_of(db_path).forget()
    _shred(shred)


def _open(mod: ModuleType, path: Path, key: str | None) -> sqlite3.Connection:
    conn: sqlite3.Connection = mod.connect(str(path), timeout=10, isolation_level=None)
    if key:
        conn.execute(f"PRAGMA key = {raw_connection.key_pragma(key)}")
    return conn


def _empty_wal(conn: sqlite3.Connection) -> None:
    # Everything into the main file first: the export reads it, and a WAL left beside the
    # new file would be taken for its own.
    busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise StorageError(
            "The database is in use, so its encryption cannot be changed now.",
            hint="Close the smsdesk window and stop any dispatch agent, then try again.",
        )


def _export(mod: ModuleType, source: Path, source_key: str | None, target: Path, key: str) -> None:
    conn = _open(mod, source, source_key)
    try:
        pragma = raw_connection.key_pragma(key) if key else "''"
        conn.execute(f"ATTACH DATABASE '{_quoted(target)}' AS copy KEY {pragma}")
        conn.execute("SELECT sqlcipher_export('copy')")
        version = conn.execute("PRAGMA main.user_version").fetchone()[0]
        conn.execute(f"PRAGMA copy.user_version = {int(version)}")  # not copied by the export
        conn.execute("DETACH DATABASE copy")
    finally:
        conn.close()
    os.chmod(target, 0o600)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _check_copy(
    mod: ModuleType, source: Path, source_key: str | None, copy: Path, copy_key: str
) -> None:
    old = _open(mod, source, source_key)
    new = _open(mod, copy, copy_key or None)
    try:
        problems = [r[0] for r in new.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
        tables = [
            r[0]
            for r in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(r[0]).startswith("sqlite_")
        ]
        for table in tables:
            count = f'SELECT count(*) FROM "{table}"'
            if old.execute(count).fetchone() != new.execute(count).fetchone():
                problems.append(f"table {table} differs")
    finally:
        old.close()
        new.close()
    if problems:
        raise StorageError(
            f"The converted copy failed its check ({problems[0]}); the database is unchanged."
        )


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _shred(path: Path) -> None:
    """Overwrite the file's bytes with zeros, then remove it."""
    try:
        size = path.stat().st_size
        with open(path, "rb+") as f:
            zeros = bytes(_CHUNK)
            done = 0
            while done < size:
                done += f.write(zeros[: min(_CHUNK, size - done)])
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        pass  # removed below all the same
    path.unlink(missing_ok=True)
