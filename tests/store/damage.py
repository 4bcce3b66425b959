"""Real damaged databases for the tests: a real smsdesk file with 1,000 messages (real pages,
real indexes), then garbage written over pages in its middle, or over its header."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path

from benchmarks.dataset import build
from smsdesk.store import raw_connection

MESSAGES = 1000
GARBAGE = b"\xde\xad\xbe\xef"
DAMAGED_PAGES = 8


def build_home(home: Path, now: datetime, count: int = MESSAGES) -> Path:
    """A data folder holding a sound database of ``count`` messages; returns its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = build(home, count, now)
    conn = raw_connection.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
    conn.close()
    return path


@cache
def _pristine(now: datetime) -> tuple[Path, str | None]:
    # Built once per test process (migrations take seconds), copied by every test; made
    # like any new database (encrypted, as by default), so its key goes with it.
    root = Path(tempfile.mkdtemp(prefix="smsdesk-pristine-"))
    atexit.register(shutil.rmtree, root, True)
    path = build_home(root / "home", now)
    key = raw_connection.stored_key() if raw_connection.is_encrypted(path) else None
    return root / "home", key


def sound_home(target: Path, now: datetime) -> Path:
    """``target`` as a data folder with a sound 1,000-message database; returns its path.
    An encrypted one's key is put in this test's keyring too."""
    pristine, key = _pristine(now)
    shutil.copytree(pristine, target, dirs_exist_ok=True)
    if key is not None:
        raw_connection.put_key(key)
    return target / "smsdesk.db"


def damage_middle(path: Path) -> None:
    """Overwrite a few whole pages inside the message table (a third into the file: its
    indexes, a good half of the file, come after it) with garbage."""
    size = path.stat().st_size
    page = 4096
    at = (size // 3) - (size // 3) % page
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(GARBAGE * (page * DAMAGED_PAGES // len(GARBAGE)))


def truncate_half(path: Path) -> None:
    """Cut the file short, as a copy or a disk that gave up partway would: at a third, inside
    the message table (its indexes, a good half of the file, come after it)."""
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 3)


def damage_header(path: Path) -> None:
    """Overwrite the file's header: SQLite no longer sees a database at all."""
    with open(path, "r+b") as f:
        f.write(GARBAGE * 25)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def message_ids(path: Path) -> set[str]:
    conn = raw_connection.connect(path, read_only=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM message")}
    finally:
        conn.close()


def integrity(path: Path) -> str:
    conn = raw_connection.connect(path, read_only=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
