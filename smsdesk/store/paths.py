"""Where smsdesk keeps its state: ``$SMSDESK_HOME`` or the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from smsdesk.core.errors import StorageError

APP_NAME = "smsdesk"


def home_dir() -> Path:
    """The directory holding the database, created user-only."""
    override = os.environ.get("SMSDESK_HOME")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME))
    return ensure_home(path)


def ensure_home(path: Path) -> Path:
    """Create the data folder (user-only) if needed; a path that names a file, or a folder
    that cannot be created, is one readable error instead of a traceback."""
    if path.exists() and not path.is_dir():
        raise StorageError(
            f"The data folder {path} is a file, not a folder.",
            hint="Point SMSDESK_HOME at a folder.",
        )
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"The data folder {path} cannot be created: {exc.strerror or exc}",
            hint="Point SMSDESK_HOME at a folder you can write to.",
        ) from exc
    return path


def database_path(home: Path) -> Path:
    return home / "smsdesk.db"


def settings_path(home: Path) -> Path:
    """Where settings lived before they moved into the database; read once, to import them."""
    return home / "settings.json"


def imported_settings_path(home: Path) -> Path:
    """The old settings file once imported: kept for the user, never read again."""
    return home / "settings.json.imported"


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by the user only (SQLite's WAL/SHM files copy this mode)."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)
