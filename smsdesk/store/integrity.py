"""Is the database file sound? ``PRAGMA quick_check`` at start and after a storage error.

A damaged file (bytes overwritten, truncated) can still accept writes that touch healthy
pages, so writing on after damage is known only buries it deeper. Once damage is found, every
write in this process is refused with ``DatabaseDamaged`` until the file is restored or
salvaged.

Timing: quick_check reads the whole file. On a 100,000-message file (86 MiB) it takes about
0.13 s with the file in the operating system's cache and 1.3 s without; on 1,000,000 messages
(866 MiB) about 4 s cached and 15 s not (on a busy two-core machine). So a sound verdict is
remembered with the file's identity, size and times (see ``_remember_sound``): the command
line checks before it does anything, but only in full when the file changed since the last
sound check. The window checks in the background once it is usable (``expect``/``start``);
a write made meanwhile waits for the verdict rather than going ahead (``require_sound``).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from smsdesk.core.errors import StorageError
from smsdesk.store.raw_connection import connect, database_errors, is_error

# SQLite's result codes for a damaged file (sqlite3.h): SQLITE_CORRUPT, SQLITE_NOTADB.
_CORRUPT_CODES = frozenset({11, 26})
_CORRUPT_WORDS = ("malformed", "not a database", "corrupt")
SHOWN_PROBLEMS = 20  # quick_check stops after this many; the first ones say enough


class DatabaseDamaged(StorageError):
    """The database file is damaged: nothing is written to it until it is recovered."""

    def __init__(self, problems: list[str], *, hint: str = "") -> None:
        first = problems[0] if problems else "unknown damage"
        super().__init__(
            f"The local database is damaged ({first}); nothing was changed.", hint=hint
        )
        self.problems = problems


def looks_damaged(exc: BaseException) -> bool:
    """Whether an error from SQLite says the file is damaged (not busy, full or read-only)."""
    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, database_errors()) or is_error(orig, "IntegrityError"):
        return False
    if getattr(orig, "sqlite_errorcode", None) in _CORRUPT_CODES:
        return True
    return any(word in str(orig).lower() for word in _CORRUPT_WORDS)


def is_io_error(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    # SQLITE_IOERR and its extended codes (10 + n * 256).
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == 10


def quick_check(path: Path) -> list[str]:
    """What SQLite finds wrong with the file (empty: sound, or not checkable for a reason
    that is not damage, such as a full disk: then the operation itself reports that).
    Read-only: the check never writes, so a damaged file stays exactly as it was found."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return []
        # An encrypted file opens with its key; no key is DatabaseKeyMissing, not damage.
        conn = connect(path, read_only=True, timeout=10)
    except database_errors() as exc:
        return [str(exc)] if looks_damaged(exc) else []
    except OSError:
        return []
    try:
        rows = conn.execute(f"PRAGMA quick_check({SHOWN_PROBLEMS})").fetchall()
    except database_errors() as exc:
        return [str(exc)] if looks_damaged(exc) else []
    finally:
        conn.close()
    # A row may hold several lines under a "*** in database main ***" heading.
    lines = (line.strip() for r in rows if r[0] != "ok" for line in str(r[0]).splitlines())
    return [line for line in lines if line and not line.startswith("***")]


class Integrity:
    """The verdict on one file, shared by every ``Database`` on it in this process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()  # no check due: writes go ahead until a check says otherwise
        self._due = False  # a check is owed (``expect``) but not started yet
        self._running = False
        self._problems: list[str] = []
        self._error: Exception | None = None

    @property
    def problems(self) -> list[str]:
        return list(self._problems)

    @property
    def damaged(self) -> bool:
        return bool(self._problems)

    def check(self, *, reuse: bool = False) -> list[str]:
        """Check now, in this thread; returns the problems found (and remembers them).
        ``reuse``: skip the check if the file and its WAL are exactly as a previous sound
        check found them (see ``_unchanged_since_sound``); never after an error."""
        if reuse and _unchanged_since_sound(self.path):
            problems: list[str] = []
        else:
            before = _state(self.path)
            problems = quick_check(self.path)
            if not problems and before is not None and _state(self.path) == before:
                _remember_sound(self.path, before)
        with self._lock:
            self._problems = problems
        return problems

    def mark(self, problems: list[str]) -> list[str]:
        """Damage found some other way (an error while reading)."""
        with self._lock:
            self._problems = list(problems)
        return self.problems

    def expect(self) -> None:
        """A check is owed: writes wait for its verdict from now on, and the first one to
        wait starts it if ``start`` has not been called by then."""
        with self._lock:
            if not self._running:
                self._due = True
                self._done.clear()

    def start(self) -> None:
        """Check in a background thread (once; later calls while it runs do nothing)."""
        with self._lock:
            if self._running:
                return
            self._running, self._due = True, False
            self._done.clear()
        threading.Thread(target=self._background, name="quick-check", daemon=True).start()

    def _background(self) -> None:
        try:
            self.check(reuse=True)
        except Exception as exc:  # handed to whoever waits for the verdict
            self._error = exc
        finally:
            with self._lock:
                self._running = False
            self._done.set()

    def wait(self, timeout: float | None = None) -> list[str]:
        """The problems found, once the check owed or under way has finished."""
        if self._due:
            self.start()
        self._done.wait(timeout)
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self.problems

    def require_sound(self) -> None:
        """Raise ``DatabaseDamaged`` if the file is known to be damaged (waiting for a check
        owed or under way first)."""
        if self.wait():
            raise damaged_error(self.path, self.problems)

    def forget(self) -> None:
        """The file was replaced (restored or salvaged): the old verdict no longer holds."""
        with self._lock:
            self._problems = []
            self._error = None


# A full check of a large file takes seconds (see above), and the command line checks at
# every start. Most commands find the file exactly as the last one left it, so a sound
# verdict is remembered with the file's identity, size and modification time and those of
# its WAL (every write changes one of them, including garbage written by something else);
# while they are unchanged the check is not repeated. Any error while reading checks again,
# and the daily backup checks its copy in full, which catches decay that leaves the times.
_State = tuple[int, int, int, int, int]


def _state(path: Path) -> _State | None:
    try:
        db = path.stat()
        wal = path.with_name(path.name + "-wal")
        w = wal.stat() if wal.exists() else None
    except OSError:
        return None
    # An empty WAL holds nothing: the same as none (a reader may create one).
    wal_part = (w.st_size, w.st_mtime_ns) if w is not None and w.st_size else (0, 0)
    return (db.st_ino, db.st_size, db.st_mtime_ns, *wal_part)


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _unchanged_since_sound(path: Path) -> bool:
    state = _state(path)
    try:
        recorded = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return state is not None and list(state) == recorded


def _remember_sound(path: Path, state: _State) -> None:
    from smsdesk.store.paths import create_private_file

    record = _record_path(path)
    part = record.with_name(f"{record.name}.{threading.get_ident()}.part")
    try:
        create_private_file(part)
        part.write_text(json.dumps(list(state)), encoding="utf-8")
        os.replace(part, record)
    except OSError:
        part.unlink(missing_ok=True)  # only a shortcut lost; the next start checks in full


_known: dict[Path, Integrity] = {}
_known_lock = threading.Lock()


def integrity_of(path: Path) -> Integrity:
    """The one verdict for ``path`` in this process (the window and its engine share it)."""
    key = path.resolve()
    with _known_lock:
        found = _known.get(key)
        if found is None:
            found = _known[key] = Integrity(key)
        return found


def damaged_error(path: Path, problems: list[str]) -> DatabaseDamaged:
    """The error to show, with what the user can do about it."""
    from smsdesk.store.backup import newest_backup

    good = newest_backup(path.parent)
    salvage = "'smsdesk restore --salvage' to keep what can still be read"
    if good is not None:
        hint = (
            f"Run 'smsdesk restore' to go back to the backup of "
            f"{good.taken_at:%Y-%m-%d %H:%M} UTC, or {salvage}."
        )
    else:
        hint = f"There is no backup to go back to; run {salvage}."
    return DatabaseDamaged(problems, hint=hint)
