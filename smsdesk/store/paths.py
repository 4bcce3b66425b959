"""Where smsdesk keeps its state: ``$SMSDESK_HOME`` or the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "smsdesk"


def home_dir() -> Path:
    """The directory holding the database and settings, created user-only."""
    override = os.environ.get("SMSDESK_HOME")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def database_path(home: Path) -> Path:
    return home / "smsdesk.db"


def settings_path(home: Path) -> Path:
    return home / "settings.json"


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by the user only (SQLite's WAL/SHM files copy this mode)."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)
