"""Backups, damage checks and recovery, for the window and the command line.

Everything here works on the data folder without opening storage the usual way: a damaged
database cannot be opened, and that is exactly when restore and salvage are needed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from smsdesk.core.clock import Clock, SystemClock
from smsdesk.core.errors import StorageError
from smsdesk.store import backup as store_backup
from smsdesk.store import encryption, raw_connection
from smsdesk.store.integrity import DatabaseDamaged, integrity_of, quick_check
from smsdesk.store.paths import create_private_file, database_path, home_dir
from smsdesk.store.raw_connection import DatabaseKeyMissing
from smsdesk.store.salvage import check_salvaged, salvage

__all__ = [
    "BackupView",
    "Backups",
    "DatabaseDamaged",
    "DatabaseKeyMissing",
    "Encryption",
    "Recovered",
]

# What turning encryption on means, said wherever it is turned on.
KEY_WARNING = (
    "The key lives in this computer's keyring ({where}); backups are encrypted with the "
    "same key. If that keyring entry is lost (a new computer, a reset user account), the "
    "database and its backups cannot be opened: write down the recovery code "
    "('smsdesk storage key', or Settings → Show recovery code) and keep it locked away."
)

NOT_A_FILE = (
    "The database is on a PostgreSQL server (SMSDESK_DATABASE_URL), so smsdesk keeps no file "
    "here to check, back up or restore."
)
NOT_A_FILE_HINT = "Use the server's own backups (for example pg_dump)."


@dataclass(frozen=True)
class BackupView:
    path: str
    taken_at: datetime
    size: int


@dataclass(frozen=True)
class Recovered:
    """What a restore or a salvage did: the file put in place, where the old one went, and
    (for a salvage) what was kept and lost."""

    how: str  # "restored" or "salvaged"
    source: str
    set_aside: str | None
    lines: list[str] = field(default_factory=list)
    lost_messages: list[str] = field(default_factory=list)
    complete: bool = True
    report_file: str | None = None


@dataclass(frozen=True)
class Encryption:
    """The database file's encryption at rest, in the user's words."""

    encrypted: bool
    available: bool  # the SQLCipher binding is installed
    detail: str


class Backups:
    def __init__(self, home: Path | None = None, clock: Clock | None = None) -> None:
        self.home = home if home is not None else home_dir()
        self.clock = clock or SystemClock()

    @property
    def db_path(self) -> Path:
        return database_path(self.home)

    @property
    def file_based(self) -> bool:
        return not os.environ.get("SMSDESK_DATABASE_URL")

    def _require_file(self) -> None:
        if not self.file_based:
            raise StorageError(NOT_A_FILE, hint=NOT_A_FILE_HINT)

    def check(self) -> list[str]:
        """What is wrong with the database file (empty: sound)."""
        self._require_file()
        return integrity_of(self.db_path).check()

    def expect_check(self) -> None:
        """A check is owed: writes in this process wait for its verdict from now on (the
        first to wait starts it, unless ``start_check`` did). Nothing to do for PostgreSQL."""
        if self.file_based:
            integrity_of(self.db_path).expect()

    def start_check(self) -> None:
        """Check the file in a background thread; writes wait for the verdict."""
        if self.file_based:
            integrity_of(self.db_path).start()

    def verdict(self) -> list[str]:
        """The problems found by the check under way (waits for it); empty: sound."""
        return integrity_of(self.db_path).wait() if self.file_based else []

    def encryption(self) -> Encryption:
        """Whether the file is encrypted at rest, and where its key is."""
        self._require_file()
        available = raw_connection.cipher_available()
        state = raw_connection.file_state(self.db_path)
        if state == "encrypted":
            return Encryption(True, available, f"encrypted (SQLCipher); {self.key_place()}")
        if not available:
            return Encryption(
                False, False, "not encrypted: this installation has no SQLCipher binding"
            )
        if state == "none":
            made = "encrypted" if encryption.encrypt_new_databases() else "not encrypted"
            return Encryption(False, True, f"not made yet; it will be {made}")
        return Encryption(False, True, "not encrypted")

    def key_place(self) -> str:
        from smsdesk.store.secrets import SecretStore

        return f"the key is in {SecretStore().describe()}"

    def key_warning(self) -> str:
        from smsdesk.store.secrets import SecretStore

        return KEY_WARNING.format(where=SecretStore().describe())

    def encrypt(self) -> Encryption:
        """Encrypt the database file (a checked copy renamed over it; see store/encryption)."""
        self._require_file()
        self._converting(encryption.encrypt)
        return self.encryption()

    def decrypt(self) -> Encryption:
        self._require_file()
        self._converting(encryption.decrypt)
        return self.encryption()

    def _converting(self, convert: Callable[[Path], None]) -> None:
        """Run ``convert`` on the file; the databases this process has open on it let go of
        their connections first (the conversion needs the WAL emptied) and open the new
        file afterwards, whether or not it went through."""
        from smsdesk.store.db import databases_on

        live = databases_on(self.db_path)
        for db in live:
            db.engine.dispose()
        try:
            convert(self.db_path)
        finally:
            for db in live:
                db.reconnect()

    def recovery_code(self) -> str:
        """The database key as a code to write down: 16 groups of 4 characters."""
        key = raw_connection.database_key()
        return "-".join(key[i : i + 4] for i in range(0, len(key), 4))

    def restore_key(self, code: str) -> None:
        """Put the key from a recovery code back in the keyring; it must open the file."""
        from smsdesk.core.errors import InvalidInput

        key = "".join(c for c in code.lower() if c not in "- \t\r\n")
        if len(key) != 2 * raw_connection.KEY_BYTES or any(
            c not in "0123456789abcdef" for c in key
        ):
            raise InvalidInput(
                "A recovery code is 64 characters 0-9 and a-f, in groups of four.",
                field="code",
            )
        if raw_connection.is_encrypted(self.db_path):
            try:
                raw_connection.connect(self.db_path, read_only=True, key=key).close()
            except raw_connection.DatabaseKeyMissing:
                raise InvalidInput(
                    "This recovery code does not open the database; nothing was stored.",
                    field="code",
                ) from None
        raw_connection.put_key(key)

    def list(self) -> list[BackupView]:
        """The backups kept, newest first."""
        self._require_file()
        return [_view(b) for b in store_backup.list_backups(self.home)]

    def newest(self) -> BackupView | None:
        found = store_backup.newest_backup(self.home) if self.file_based else None
        return _view(found) if found is not None else None

    def backup_now(self) -> BackupView:
        self._require_file()
        return _view(store_backup.make_backup(self.db_path, self.clock.now()))

    def restore(self, backup: Path | None = None, *, force: bool = False) -> Recovered:
        """Put the newest (or the named) backup in place of the database."""
        self._require_file()
        done = store_backup.restore(self.home, self.clock.now(), backup, replace_sound=force)
        return Recovered(
            "restored",
            str(done.backup.path),
            str(done.set_aside) if done.set_aside else None,
            [f"Restored the backup of {done.backup.taken_at:%Y-%m-%d %H:%M} UTC."],
        )

    def salvage(self) -> Recovered:
        """Copy what can still be read into a new database and put it in place; the damaged
        file is set aside, and what was lost is written beside it."""
        self._require_file()
        if not self.db_path.exists():
            raise StorageError("There is no database to salvage.")
        target = self.home / f".smsdesk-salvaged-{uuid.uuid4().hex[:8]}.db"
        try:
            report = salvage(self.db_path, target)
            if report.kept == 0 and report.unreadable_tables:
                raise StorageError(
                    "Nothing could be read from the damaged database.",
                    hint="Restore a backup instead ('smsdesk restore').",
                )
            check_salvaged(report)
            now = self.clock.now()
            why = "damaged" if quick_check(self.db_path) else "replaced"
            aside = store_backup.put_in_place(self.db_path, target, now, why)
        finally:
            target.unlink(missing_ok=True)
        lines = report.lines()
        report_file = None
        if aside is not None:
            report_file = aside.with_name(aside.name + ".salvage.txt")
            create_private_file(report_file)
            report_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return Recovered(
            "salvaged",
            str(aside) if aside else str(self.db_path),
            str(aside) if aside else None,
            lines,
            report.lost_messages,
            report.complete,
            str(report_file) if report_file else None,
        )


def _view(b: store_backup.Backup) -> BackupView:
    return BackupView(str(b.path), b.taken_at, b.size)
