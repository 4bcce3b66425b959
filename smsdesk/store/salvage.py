"""Salvage: copy every row SQLite can still read from a damaged file into a new database.

The new file gets smsdesk's own schema (indexes rebuilt from scratch, so damaged index pages
cost nothing). Each table is read in rowid order; where a damaged page stops the read, the
reader looks further on (doubling the step, then narrowing down to the first readable row)
and counts the rowids it had to skip as lost. Rows that refer to a lost row (an event whose
message is gone) are dropped too, and the ids of such lost messages are listed, so the
report says what is gone as precisely as the file allows.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from smsdesk.core.errors import StorageError
from smsdesk.store.raw_connection import connect, database_errors

BATCH = 500
_SKIP_TABLES = ("alembic_version", "sqlite_")
_HIGHEST_ROWID = 2**62


@dataclass
class TableSalvage:
    table: str
    kept: int = 0
    unreadable: int = 0  # rowids skipped over damaged pages (an upper bound: ids have gaps)
    dropped: int = 0  # readable rows that referred to a lost row, or did not fit
    tail_lost: bool = False  # nothing past the last damaged page could be read


@dataclass
class SalvageReport:
    path: Path
    tables: list[TableSalvage] = field(default_factory=list)
    lost_messages: list[str] = field(default_factory=list)
    unreadable_tables: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return sum(t.kept for t in self.tables)

    @property
    def complete(self) -> bool:
        return not self.unreadable_tables and not any(
            t.unreadable or t.dropped or t.tail_lost for t in self.tables
        )

    def lines(self) -> list[str]:
        """What was kept and what was lost, for people."""
        out = []
        for t in self.tables:
            lost = []
            if t.unreadable:
                lost.append(f"up to {t.unreadable} unreadable")
            if t.tail_lost:
                lost.append("an unknown number past the damage unreadable")
            if t.dropped:
                lost.append(f"{t.dropped} referring to lost rows")
            if t.kept or lost:  # empty tables say nothing
                out.append(f"{t.table}: {t.kept} kept" + (f", {', '.join(lost)}" if lost else ""))
        out += [f"{name}: could not be read at all" for name in self.unreadable_tables]
        if self.lost_messages:
            out.append("Messages known to be lost: " + ", ".join(self.lost_messages))
        return out


def salvage(damaged: Path, target: Path) -> SalvageReport:
    """Write what ``damaged`` still holds into a new database at ``target``."""
    _fresh_schema(target)
    report = SalvageReport(target)
    # An encrypted file is read with its key (none in the keyring: DatabaseKeyMissing, and
    # nothing is salvaged); the new file is made like any new database.
    src = _Source(damaged)
    # No key for an encrypted file stops here, before anything; damage at the very start
    # does not (every table below is then found unreadable).
    with contextlib.suppress(*src.errors):
        src.execute("SELECT 1")
    dst = connect(target, isolation_level=None)
    try:
        dst.execute("PRAGMA foreign_keys=OFF")  # rows go in table by table, parents later
        dst.execute("BEGIN")
        for table in _tables(dst):
            columns = _columns(src, table)
            if columns is None:
                report.unreadable_tables.append(table)
                continue
            shared = [c for c in _columns(dst, table) or [] if c in columns]
            report.tables.append(_copy_table(src, dst, table, shared))
        _drop_orphans(dst, report)
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    return report


def _fresh_schema(target: Path) -> None:
    from smsdesk.store.db import Database

    scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    scratch.mkdir(mode=0o700)
    try:
        db = Database.open(scratch, check=False)
        assert db.path is not None
        db.dispose()
        conn = connect(db.path)
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to move
        conn.close()
        db.path.replace(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class _Source:
    """The damaged file, read-only. After a read error the next statement runs on a new
    connection: SQLCipher leaves a connection unusable once a page fails its check (every
    later statement fails, as out of memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        # Asked each time: SQLCipher's errors exist only once its binding is loaded.
        return (*database_errors(), MemoryError)

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        if self._conn is None:
            self._conn = connect(self.path, read_only=True, timeout=10)
            # Read the schema even where it names pages past a truncated end (as SQLite's
            # own recovery does); the connection is read-only: nothing is written either way.
            self._conn.execute("PRAGMA writable_schema=ON")
        try:
            return self._conn.execute(sql, params)
        except self.errors:
            self.reset()
            raise

    def reset(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    close = reset


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
    return [r[0] for r in rows if not r[0].startswith(_SKIP_TABLES)]


def _columns(conn: sqlite3.Connection | _Source, table: str) -> list[str] | None:
    # SQLCipher reports reads after a page failed its check as out of memory.
    errors: tuple[type[BaseException], ...] = (*database_errors(), MemoryError)
    try:
        rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    except errors:
        return None  # the schema itself is unreadable
    return [r[1] for r in rows] or None


def _copy_table(
    src: _Source, dst: sqlite3.Connection, table: str, columns: list[str]
) -> TableSalvage:
    result = TableSalvage(table)
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * (len(columns) + 1))
    insert = f'INSERT OR IGNORE INTO "{table}" (rowid, {names}) VALUES ({marks})'
    batch: list[tuple[object, ...]] = []
    for row in _readable_rows(src, table, names, result):
        batch.append(row)
        if len(batch) >= BATCH:
            result.kept += _insert(dst, insert, batch, result)
            batch = []
    result.kept += _insert(dst, insert, batch, result)
    return result


def _insert(
    dst: sqlite3.Connection, sql: str, rows: list[tuple[object, ...]], result: TableSalvage
) -> int:
    kept = 0
    for row in rows:
        try:
            inserted = dst.execute(sql, row).rowcount == 1
        except database_errors():
            inserted = False  # e.g. a NOT NULL column garbled into NULL
        if inserted:
            kept += 1
        else:
            result.dropped += 1
    return kept


def _readable_rows(
    src: _Source, table: str, names: str, result: TableSalvage
) -> Iterator[tuple[object, ...]]:
    query = f'SELECT rowid, {names} FROM "{table}" WHERE rowid >= ? ORDER BY rowid LIMIT {BATCH}'
    start = -_HIGHEST_ROWID
    while True:
        last: int | None = None
        try:
            for row in src.execute(query, (start,)):
                last = int(row[0])
                yield tuple(row)
        except src.errors:
            src.reset()
            # Rowids start at 1: damage before the first row read is looked past from there.
            bad = (last + 1) if last is not None else max(start, 0)
            resume = _next_readable(src, table, bad)
            if resume is None:
                result.tail_lost = True
                return
            result.unreadable += max(resume - max(bad, 1), 1)
            start = resume
            continue
        if last is None:
            return
        start = last + 1


def _first_from(src: _Source, table: str, at: int) -> int | bool | None:
    """The first rowid >= ``at``; None when there is none; False when unreadable."""
    try:
        row = src.execute(
            f'SELECT rowid FROM "{table}" WHERE rowid >= ? ORDER BY rowid LIMIT 1', (at,)
        ).fetchone()
    except src.errors:
        src.reset()
        return False
    return None if row is None else int(row[0])


def _next_readable(src: _Source, table: str, bad: int) -> int | None:
    """The smallest rowid past ``bad`` from which reading works again (None: none)."""
    step = 1
    good: int | None = None
    while bad + step < _HIGHEST_ROWID:
        found = _first_from(src, table, bad + step)
        if found is None:
            return None
        if found is not False:
            good = bad + step
            break
        step *= 2
    if good is None:
        return None
    # Narrow down: the first start in (bad, good] whose seek works.
    low, high = bad, good
    while high - low > 1:
        mid = (low + high) // 2
        if _first_from(src, table, mid) is False:
            low = mid
        else:
            high = mid
    return high


def _drop_orphans(dst: sqlite3.Connection, report: SalvageReport) -> None:
    """Rows whose parent row was lost cannot stay (the app keeps foreign keys on)."""
    by_table = {t.table: t for t in report.tables}
    lost: set[str] = set()
    for _ in range(10):  # dropping a child may orphan nothing further; bounded anyway
        found = dst.execute("PRAGMA foreign_key_check").fetchall()
        if not found:
            break
        for table, rowid, parent, _fk in found:
            if table == "event" and parent == "message":
                row = dst.execute("SELECT message_id FROM event WHERE rowid = ?", (rowid,))
                lost.update(str(r[0]) for r in row)
            dst.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))
            if table in by_table:
                by_table[table].dropped += 1
                by_table[table].kept -= 1
    report.lost_messages = sorted(lost)


def check_salvaged(report: SalvageReport) -> None:
    from smsdesk.store.integrity import quick_check

    problems = quick_check(report.path)
    if problems:
        raise StorageError(f"The salvaged copy failed its own check ({problems[0]}).")
