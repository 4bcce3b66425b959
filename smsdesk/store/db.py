"""Database set-up: one SQLAlchemy engine, SQLite pragmas, write transactions that lock early."""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlmodel import Session

from smsdesk.core.errors import StorageError
from smsdesk.store import raw_connection
from smsdesk.store.encryption import encrypt_new_databases, finish_interrupted
from smsdesk.store.integrity import (
    Integrity,
    damaged_error,
    integrity_of,
    is_io_error,
    looks_damaged,
)
from smsdesk.store.paths import create_private_file, database_path, ensure_home
from smsdesk.store.raw_connection import (
    NO_BINDING,
    NO_BINDING_HINT,
    DatabaseKeyMissing,
    cipher_module,
    database_errors,
    database_key,
    file_state,
    is_encrypted,
    is_error,
    key_for_new_file,
)

BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS = "FULL"


class Database:
    """The local store. ``write()`` sessions take the write lock up front (BEGIN IMMEDIATE on
    SQLite) so that read-then-update sequences cannot interleave between processes.

    A SQLite file is checked for damage (see integrity.py): ``check=True`` checks before
    anything else touches the file and refuses to open a damaged one (``DatabaseDamaged``);
    ``check=False`` opens at once and leaves the check to the caller (``integrity.expect()``
    and ``start()``, in the background). Either way a write refuses once damage is known."""

    def __init__(self, engine: Engine, path: Path | None) -> None:
        self.engine = engine
        self.path = path
        self._write_engine = engine.execution_options(smsdesk_immediate=True)
        # PostgreSQL keeps its own integrity; there is no file here to check.
        self.integrity: Integrity | None = integrity_of(path) if path is not None else None
        if path is not None:
            _live.add(self)

    @classmethod
    def open(
        cls, home: Path, *, migrate: bool = True, check: bool = True, encrypt: bool | None = None
    ) -> Database:
        """``encrypt``: whether a new file is encrypted (None: as encryption.py decides)."""
        url = os.environ.get("SMSDESK_DATABASE_URL")
        with _storage_errors(None):
            if url:
                db = cls(create_engine(url, pool_pre_ping=True), None)
            else:
                path = database_path(ensure_home(home))
                finish_interrupted(path)
                if check and integrity_of(path).check(reuse=True):
                    raise damaged_error(path, integrity_of(path).problems)
                new = file_state(path) == "none"
                encrypt_new = new and (encrypt_new_databases() if encrypt is None else encrypt)
                create_private_file(path)
                db = cls(_sqlite_engine(path, encrypt_new=encrypt_new), path)
        if migrate:
            from smsdesk.store.migrate import migrate_to_head

            try:
                with _storage_errors(db.integrity):
                    migrate_to_head(db)
            except BaseException:
                db.dispose()
                raise
        return db

    @contextmanager
    def read(self) -> Iterator[Session]:
        with (
            _storage_errors(self.integrity),
            Session(self.engine, expire_on_commit=False) as session,
        ):
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        if self.integrity is not None:
            self.integrity.require_sound()
        with (
            _storage_errors(self.integrity),
            Session(self._write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @property
    def encrypted(self) -> bool:
        return self.path is not None and is_encrypted(self.path)

    def reconnect(self) -> None:
        """The file was replaced (encrypted or decrypted): new connections open it anew."""
        assert self.path is not None
        self.engine.dispose()
        self.engine = _sqlite_engine(self.path)
        self._write_engine = self.engine.execution_options(smsdesk_immediate=True)

    def dispose(self) -> None:
        self.engine.dispose()


# Every open Database on a file in this process: when the file is encrypted or decrypted,
# each must drop its connections (to let the conversion through) and reconnect afterwards.
_live: weakref.WeakSet[Database] = weakref.WeakSet()


def databases_on(path: Path) -> list[Database]:
    key = path.resolve()
    return [db for db in list(_live) if db.path is not None and db.path.resolve() == key]


@contextmanager
def _storage_errors(integrity: Integrity | None) -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise  # a constraint, not the file: callers handle it
    except DatabaseKeyMissing:
        raise  # not damage: the key is elsewhere, and the file must stay as it is
    except _errors() as exc:
        # Damage shows as "database disk image is malformed" or "file is not a database";
        # an I/O error may be damage too. Check the file, then refuse writes from here on.
        if integrity is not None and (looks_damaged(exc) or is_io_error(exc)):
            problems = integrity.check()
            if not problems and looks_damaged(exc):
                # SQLite said so while reading a page quick_check does not look at.
                problems = integrity.mark([str(getattr(exc, "orig", None) or exc)])
            if problems:
                raise damaged_error(integrity.path, problems) from exc
        if not isinstance(exc, OperationalError) and not is_error(exc, "OperationalError"):
            raise
        reason = getattr(exc, "orig", None) or exc
        raise StorageError(
            f"The local database could not be used: {reason}",
            hint="Check that the disk is not full and the data folder is writable.",
        ) from exc
    except MemoryError as exc:
        # How SQLCipher reports reading on after a page failed its check: damage, if the
        # check finds it; otherwise truly out of memory.
        if integrity is not None and integrity.check():
            raise damaged_error(integrity.path, integrity.problems) from exc
        raise
    except OSError as exc:
        raise StorageError(
            f"The data folder could not be used: {exc.strerror or exc}",
            hint="Check that the disk is not full and the data folder is writable.",
        ) from exc


def _errors() -> tuple[type[BaseException], ...]:
    return (DatabaseError, *database_errors())


def _sqlite_engine(path: Path, *, encrypt_new: bool = False) -> Engine:
    connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    if encrypt_new or is_encrypted(path):
        # SQLCipher's own DB-API module, so SQLAlchemy knows its errors; each connection is
        # keyed as it opens (raw_connection.connect), before anything reads the file.
        module = cipher_module()
        if module is None:
            raise StorageError(NO_BINDING, hint=NO_BINDING_HINT)
        key = key_for_new_file() if encrypt_new else database_key()
        engine = create_engine(
            f"sqlite:///{path}",
            module=module,
            creator=lambda: raw_connection.connect(path, key=key, encrypt_new=True, **connect_args),
        )
    else:
        engine = create_engine(f"sqlite:///{path}", connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions start too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # FULL: every commit is on disk (the WAL fsynced) before it returns. The hand-off
        # commits ``handing_off`` and the idempotency key and then sends; with NORMAL a power
        # cut after the request could roll that commit back and the message go out again
        # under a new key.
        cursor.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("smsdesk_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    if engine.dialect.dbapi is cipher_module():

        @event.listens_for(engine, "handle_error")
        def _drop_connection(context: Any) -> None:
            # SQLCipher leaves a connection unusable once a page fails its check (every later
            # statement fails, as out of memory): never hand it out again.
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False

    return engine
