"""Opening the local database file with the driver it needs, without SQLAlchemy.

A plain file opens with Python's ``sqlite3``; an encrypted one (SQLCipher, through the
``sqlcipher3`` binding) with its key, read from the keyring (see secrets.py). Which one a file
is shows in its first 16 bytes: a plain SQLite file starts with ``SQLite format 3``, an
encrypted one with a random salt. Importing this module is cheap: the binding and the keyring
are loaded only when an encrypted file is opened (or one is made).

The key is 256 random bits given to SQLCipher as a raw key (``PRAGMA key = "x'…'"``), so no
passphrase derivation runs per connection. One key serves every database of this user's
keyring (backups and copies included): losing the keyring entry loses the data, which is why
``smsdesk storage key`` shows it as a recovery code to write down.
"""

from __future__ import annotations

import hashlib
import os
import secrets as random_bytes
import sqlite3
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from smsdesk.core.errors import StorageError

PLAIN_HEADER = b"SQLite format 3\x00"
KEY_ACCOUNT = "local-database-key"  # the keyring entry holding the database key
KEY_BYTES = 32
_NOTADB = 26

KEY_MISSING = "The database is encrypted and its key is not in this computer's keyring."
KEY_MISSING_HINT = (
    "Put the key back with 'smsdesk storage key --restore' and the recovery code, or use "
    "the computer (keyring) that made the file. Nothing was changed; do not salvage it."
)
NO_BINDING = "The database is encrypted, and this installation cannot open encrypted files."
NO_BINDING_HINT = "Install smsdesk with its SQLCipher binding (the sqlcipher3-binary package)."


class DatabaseKeyMissing(StorageError):
    """The file is encrypted and no key this computer holds opens it (not damage)."""

    def __init__(self) -> None:
        super().__init__(KEY_MISSING, hint=KEY_MISSING_HINT)


_lock = threading.Lock()
_keys: dict[str, str] = {}  # the key once read, per keyring identity (see _key_slot)


def file_state(path: Path) -> str:
    """``"none"`` (missing or empty), ``"plain"`` or ``"encrypted"``."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return "none"
    if not head:
        return "none"
    return "plain" if head == PLAIN_HEADER else "encrypted"


def is_encrypted(path: Path) -> bool:
    return file_state(path) == "encrypted"


def cipher_module() -> ModuleType | None:
    """The SQLCipher binding's DB-API module, or None where it is not installed."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        return None
    with _lock:
        if not getattr(dbapi2, "_smsdesk_quiet", False):
            # SQLCipher logs a decryption failure to stderr by default; smsdesk reports it
            # itself, in one line.
            quiet = dbapi2.connect(":memory:")
            quiet.execute("PRAGMA cipher_log_level = NONE")
            quiet.close()
            dbapi2._smsdesk_quiet = True
    module: ModuleType = dbapi2
    return module


def cipher_available() -> bool:
    return cipher_module() is not None


def database_errors() -> tuple[type[Exception], ...]:
    """The DB-API ``DatabaseError`` classes in play (the binding's only once it is loaded)."""
    mod = sys.modules.get("sqlcipher3.dbapi2")
    found: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
    return found if mod is None else (*found, mod.DatabaseError)


def is_error(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is the DB-API error ``name`` (e.g. "OperationalError") of either driver."""
    mod = sys.modules.get("sqlcipher3.dbapi2")
    kinds: list[type[BaseException]] = [getattr(sqlite3, name)]
    if mod is not None:
        kinds.append(getattr(mod, name))
    return isinstance(exc, tuple(kinds))


def _key_slot() -> str:
    # The keyring a key was read from: the data folder (the key file lives there) and the
    # keyring's own data folder and choice. Tests change these between runs in one process.
    return "|".join(
        (
            os.environ.get("SMSDESK_HOME", ""),
            os.environ.get("PYTHON_KEYRING_BACKEND", ""),
            os.environ.get("XDG_DATA_HOME", ""),
        )
    )


def stored_key() -> str | None:
    """The database key held in the keyring (hex), or None when there is none. Keyring
    failures are one-line SecretStoreErrors (a locked keyring is not a missing key)."""
    slot = _key_slot()
    with _lock:
        if slot in _keys:
            return _keys[slot]
    from smsdesk.store.secrets import SecretStore

    found = SecretStore().get(KEY_ACCOUNT)
    if found is not None:
        found = found.strip().lower()
        with _lock:
            _keys[slot] = found
    return found


def database_key() -> str:
    """The key an encrypted file needs; DatabaseKeyMissing when the keyring has none."""
    found = stored_key()
    if found is None:
        raise DatabaseKeyMissing()
    return found


def key_for_new_file() -> str:
    """The keyring's key, made and stored first when there is none yet."""
    found = stored_key()
    if found is not None:
        return found
    from smsdesk.store.secrets import SecretStore

    made = random_bytes.token_hex(KEY_BYTES)
    SecretStore().set(KEY_ACCOUNT, made)
    with _lock:
        _keys[_key_slot()] = made
    return made


def put_key(key: str) -> None:
    """Store ``key`` (hex, as shown in the recovery code) as the keyring's database key."""
    from smsdesk.store.secrets import SecretStore

    SecretStore().set(KEY_ACCOUNT, key)
    with _lock:
        _keys[_key_slot()] = key


def forget_cached_key() -> None:
    with _lock:
        _keys.clear()


def key_pragma(key: str) -> str:
    """The value for ``PRAGMA key``: a raw key, which SQLCipher uses as it is (no passphrase
    derivation per connection), with its salt given too. The salt is derived from the key
    rather than read from the file's first 16 bytes, so garbage over the header damages
    page 1 only and is told apart from a wrong key (which fails on every page)."""
    if len(key) != 2 * KEY_BYTES or any(c not in "0123456789abcdef" for c in key):
        raise StorageError("The database key in the keyring is not a key smsdesk made.")
    salt = hashlib.sha256(b"smsdesk database salt:" + key.encode()).hexdigest()[:32]
    return f"\"x'{key}{salt}'\""


def connect(
    path: Path,
    *,
    read_only: bool = False,
    key: str | None = None,
    encrypt_new: bool = False,
    **kwargs: Any,
) -> sqlite3.Connection:
    """A DB-API connection to the file at ``path`` (``kwargs`` as for ``sqlite3.connect``).

    Plain files open with ``sqlite3``; encrypted ones with SQLCipher and ``key`` (default:
    the keyring's). A missing or empty file is created plain, or encrypted with
    ``encrypt_new``. A key that does not open the file is DatabaseKeyMissing; a file that
    the key opens but is damaged raises SQLite's own error (damage, for integrity.py)."""
    state = file_state(path)
    target: str | Path = path
    if read_only:
        target = f"file:{quote(str(path))}?mode=ro"
        kwargs["uri"] = True
    if state == "plain" or (state == "none" and not encrypt_new):
        plain: sqlite3.Connection = sqlite3.connect(target, **kwargs)
        return plain
    mod = cipher_module()
    if mod is None:
        raise StorageError(NO_BINDING, hint=NO_BINDING_HINT)
    if key is None:
        key = key_for_new_file() if state == "none" else database_key()
    conn: sqlite3.Connection = mod.connect(target, **kwargs)  # the same DB-API surface
    try:
        conn.execute(f"PRAGMA key = {key_pragma(key)}")
        if state == "encrypted":
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except mod.DatabaseError as exc:
        conn.close()
        if getattr(exc, "sqlite_errorcode", None) != _NOTADB:
            # The key is right and the file damaged further in: a fresh connection (a failed
            # page leaves this one unusable) for the caller to meet the damage its own way.
            conn = mod.connect(target, **kwargs)
            conn.execute(f"PRAGMA key = {key_pragma(key)}")
            return conn
        if _wrong_key(mod, path, key):
            raise DatabaseKeyMissing() from None
        raise
    return conn


def _wrong_key(mod: ModuleType, path: Path, key: str) -> bool:
    """Whether ``key`` fails on every page (another key made the file) rather than on
    some (the file is damaged). Only asked after page 1 failed, so it may read it all."""
    try:
        conn = mod.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except mod.DatabaseError:
        return False
    try:
        conn.execute(f"PRAGMA key = {key_pragma(key)}")
        failed = conn.execute("PRAGMA cipher_integrity_check").fetchall()
    except mod.DatabaseError:
        return False
    finally:
        conn.close()
    pages = max(os.path.getsize(path) // 4096, 1)
    # Every page failing is a wrong key; a damaged file has good pages left.
    return len(failed) >= pages
