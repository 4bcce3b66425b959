"""Settings that change behaviour, kept in the database (table ``setting``, one row per key) so
that every process and every desk sharing a database sees the same values. Never a secret.

Only the keys a change touches are written, each a compare-and-set on its version (retried
against the newer version when another process got there first). So two processes changing
different keys both keep their change, and two changing the same key apply one after the
other: the later change wins, a deliberate choice (the user's latest explicit choice for
that one setting). A key without a row has its default.

Settings used to live in ``settings.json`` beside the database; the first open after the
upgrade imports it (keys the database already holds win) and renames it, so it is never read
again. Nothing writes that file any more.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from smsdesk.core.errors import StorageError
from smsdesk.store.db import Database
from smsdesk.store.models import Setting
from smsdesk.store.paths import imported_settings_path, settings_path

log = logging.getLogger(__name__)

QUIET_MODES = ("move", "refuse", "off")
MAX_GRACE_MINUTES = 24 * 60
MAX_REPLY_DAYS = 90
_CAS_ATTEMPTS = 20
_UNREADABLE = object()


@dataclass(frozen=True)
class Settings:
    """A snapshot of every setting. Frozen: it is shared between threads, and a change goes
    through ``write_settings`` so that other processes see it too."""

    default_region: str | None = None  # ISO country code for numbers written without +
    zone: str | None = None  # IANA zone; None means the system's
    # Held messages that came due while nothing ran go out if no later than this.
    catch_up_grace_minutes: int = 15
    # Quiet hours, recipient-local: nothing lands between quiet_start and quiet_end.
    # quiet_mode: "move" (to the next allowed time, and say so), "refuse", or "off".
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    quiet_mode: str = "move"
    # The window's first-run guide was completed; it is not shown at start again.
    first_run_done: bool = False
    # A reply answers the last message sent to that number at most this many days before.
    reply_match_days: int = 7


KEYS = tuple(f.name for f in fields(Settings))
Versions = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Snapshot:
    """The settings as read, with each stored key's version: equal versions, equal values."""

    settings: Settings
    versions: Versions
    # Keys stored with a value this version cannot use (read as the default): any change
    # to them is written, even to the default.
    unreadable: frozenset[str] = frozenset()


def read_settings(db: Database) -> Snapshot:
    """Every setting in one small query (a handful of rows)."""
    with db.read() as s:
        rows = s.exec(select(Setting.key, Setting.value_json, Setting.version)).all()
    values: dict[str, Any] = {}
    unreadable: set[str] = set()
    for key, value_json, _version in rows:
        if key in KEYS:  # a key a newer smsdesk added is kept for it, not read here
            value = _decode(key, value_json)
            if value is _UNREADABLE:
                unreadable.add(key)
            else:
                values[key] = value
    versions = tuple(sorted((key, version) for key, _v, version in rows))
    return Snapshot(replace(Settings(), **values), versions, frozenset(unreadable))


def write_settings(db: Database, changes: Mapping[str, object], now: datetime) -> None:
    """Store each changed key in one transaction, each a compare-and-set on its version."""
    unknown = set(changes) - set(KEYS)
    if unknown:
        raise ValueError(f"not settings: {sorted(unknown)}")
    if not changes:
        return
    with db.write() as s:
        for key, value in changes.items():
            _compare_and_set(s, key, json.dumps(value), now)


def _compare_and_set(s: Session, key: str, value_json: str, now: datetime) -> None:
    # On SQLite the write transaction already holds the lock; on PostgreSQL another desk may
    # change the row between our read and our update, and the version check sees it.
    for _ in range(_CAS_ATTEMPTS):
        version = s.exec(select(Setting.version).where(Setting.key == key)).first()
        if version is None:
            if _insert_if_absent(s, key, value_json, now):
                return
            continue  # another process created it first: update theirs
        changed = s.execute(
            update(Setting)
            .where(col(Setting.key) == key, col(Setting.version) == version)
            .values(value_json=value_json, version=version + 1, updated_at=now)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            return
    raise StorageError(f"The setting {key} kept changing under us; try again.")


def _insert_if_absent(s: Session, key: str, value_json: str, now: datetime) -> bool:
    """Create the key's row; False if another process created it first (PostgreSQL: a
    savepoint keeps the rest of the transaction)."""
    try:
        with s.begin_nested():
            s.add(Setting(key=key, value_json=value_json, version=1, updated_at=now))
    except IntegrityError:
        return False
    return True


# -- the old settings file ------------------------------------------------------------------


def import_settings_file(db: Database, home: Path, now: datetime) -> bool:
    """Import ``settings.json`` if it is still there: keys the database does not hold yet
    are stored, then the file is renamed so that it is never read again. A file that is not
    a settings object is an error naming it, and nothing of it is imported."""
    path = settings_path(home)
    if not path.exists():
        return False
    values = parse_settings_file(path)
    with db.write() as s:
        held = set(s.exec(select(Setting.key)).all())
        for key, value in values.items():
            if key not in held:
                _insert_if_absent(s, key, json.dumps(value), now)
    try:
        os.replace(path, imported_settings_path(home))
    except FileNotFoundError:
        pass  # another process imported it at the same time and renamed it first
    except OSError as exc:
        reason = exc.strerror or exc
        raise StorageError(
            f"The settings file {path} was imported but cannot be renamed: {reason}",
            hint="Check that the data folder is writable.",
        ) from exc
    return True


def parse_settings_file(path: Path) -> dict[str, object]:
    """The known settings in the file, each checked; unknown keys are ignored, as before."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad_file(path, f"cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise _bad_file(path, f"holds {type(raw).__name__}, not an object of settings")
    values: dict[str, object] = {}
    for key in KEYS:
        if key in raw:
            problem = _problem(key, raw[key])
            if problem:
                raise _bad_file(path, f"has {key} {json.dumps(raw[key])}: {problem}")
            values[key] = raw[key]
    return values


def _bad_file(path: Path, what: str) -> StorageError:
    return StorageError(
        f"The settings file {path} {what}.",
        hint=f"Fix or remove {path.name}; settings are kept in the database now.",
    )


def _problem(key: str, value: object) -> str:
    """Why ``value`` cannot be stored for ``key`` ('' when it can)."""
    if key in ("default_region", "zone"):
        return "" if value is None or isinstance(value, str) else "expected text or null"
    if key == "catch_up_grace_minutes":
        if isinstance(value, bool) or not isinstance(value, int):
            return "expected whole minutes"
        return "" if 0 <= value <= MAX_GRACE_MINUTES else "expected 0 to 1440 minutes"
    if key in ("quiet_start", "quiet_end"):
        if not isinstance(value, str):
            return "expected a time like 21:00"
        try:
            time.fromisoformat(value)
        except ValueError:
            return "expected a time like 21:00"
        return ""
    if key == "quiet_mode":
        return "" if value in QUIET_MODES else "expected move, refuse or off"
    if key == "first_run_done":
        return "" if isinstance(value, bool) else "expected true or false"
    if key == "reply_match_days":
        if isinstance(value, bool) or not isinstance(value, int):
            return "expected whole days"
        return "" if 1 <= value <= MAX_REPLY_DAYS else f"expected 1 to {MAX_REPLY_DAYS} days"
    return "not a setting"


def _decode(key: str, value_json: str) -> Any:
    """The stored value, or _UNREADABLE: a value this version cannot use (a newer smsdesk on
    a shared database may allow more) means the default, said in the log, rather than a
    desk that cannot start or change the setting back."""
    try:
        value = json.loads(value_json)
    except ValueError:
        value = _UNREADABLE
    if value is _UNREADABLE or _problem(key, value):
        log.warning(
            "setting %s holds %s, which this version cannot use: default used", key, value_json[:80]
        )
        return _UNREADABLE
    return value
