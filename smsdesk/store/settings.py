"""User settings, a small JSON file next to the database. Never holds a secret."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from smsdesk.core.errors import StorageError
from smsdesk.store.paths import settings_path


@dataclass
class Settings:
    default_region: str | None = None  # ISO country code for numbers written without +
    zone: str | None = None  # IANA zone; None means the system's
    # Held messages that came due while nothing ran go out if no later than this.
    catch_up_grace_minutes: int = 15
    # Quiet hours, recipient-local: nothing lands between quiet_start and quiet_end.
    # quiet_mode: "move" (to the next allowed time, and say so), "refuse", or "off".
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    quiet_mode: str = "move"

    @classmethod
    def load(cls, home: Path) -> Settings:
        path = settings_path(home)
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StorageError(f"The settings file {path.name} cannot be read: {exc}") from exc
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def save(self, home: Path) -> None:
        path = settings_path(home)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=2)
        os.replace(tmp, path)
