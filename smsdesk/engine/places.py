"""Where smsdesk keeps its data, for the faces (which do not reach into storage)."""

from __future__ import annotations

from pathlib import Path

from smsdesk.store import paths


def home_dir() -> Path:
    """The data folder: ``$SMSDESK_HOME``, else the user's data directory."""
    return paths.home_dir()
