"""Is a newer smsdesk released? A look at the project's release feed, at most once a day.

Clinics otherwise never get the fixes to the bundled OpenSSL, Qt and SQLite. The look is a
plain GET of a small JSON file: no identifier, no version, no query string, no cookie; only
what any download would show (the computer's address). It can be turned off on each
computer (Settings); the choice and the day of the last look are held on this computer, in
``updates.json`` in the data folder, not in the shared database.

The feed: ``{"version": "0.1.2", "url": "https://.../releases/tag/v0.1.2"}``, written by the
release workflow beside the apt repository.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from smsdesk import __version__

log = logging.getLogger(__name__)

# A placeholder until the project has a release host: the release workflow builds the files
# that belong here (packaging/README.md, "Updates").
FEED_URL = "https://smsdesk.github.io/smsdesk/latest.json"
LOOK_EVERY = timedelta(days=1)
TIMEOUT_S = 10.0
PREFS_FILE = "updates.json"
_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")


@dataclass(frozen=True)
class Release:
    version: str
    url: str


def version_key(version: str) -> tuple[int, ...] | None:
    """Release versions compare by their numbers; anything else is no release."""
    if not _VERSION.match(version):
        return None
    return tuple(int(part) for part in version.split("."))


def is_newer(candidate: str, running: str = __version__) -> bool:
    new, old = version_key(candidate), version_key(running.split("+")[0])
    return new is not None and old is not None and new > old


def fetch_latest(url: str = FEED_URL, *, timeout: float = TIMEOUT_S) -> Release:
    """The feed's release. Raises httpx.HTTPError or ValueError for a feed that cannot be
    read; the caller just tries again the next day."""
    # A client of its own with fixed headers: nothing httpx would add names the user, but
    # the User-Agent is set so that not even the smsdesk version leaves the computer.
    with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=True) as client:
        response = client.get(url, headers={"User-Agent": "smsdesk", "Accept": "*/*"})
        response.raise_for_status()
        data = response.json()
    if not isinstance(data, dict):
        raise ValueError("the release feed is not a JSON object")
    version, link = data.get("version"), data.get("url")
    if not isinstance(version, str) or version_key(version) is None:
        raise ValueError("the release feed names no release version")
    if not isinstance(link, str) or not link.startswith("https://"):
        raise ValueError("the release feed has no https link")
    return Release(version=version, url=link)


@dataclass
class UpdatePrefs:
    """Held on this computer: whether to look, and when it last looked."""

    enabled: bool = True
    last_look: datetime | None = None


def prefs_path(home: Path) -> Path:
    return home / PREFS_FILE


def read_prefs(home: Path) -> UpdatePrefs:
    try:
        data = json.loads(prefs_path(home).read_text(encoding="utf-8"))
        last = data.get("last_look")
        return UpdatePrefs(
            enabled=bool(data.get("enabled", True)),
            last_look=datetime.fromisoformat(last) if isinstance(last, str) else None,
        )
    except FileNotFoundError:
        return UpdatePrefs()
    except (OSError, ValueError, AttributeError):
        log.warning("%s is unreadable; looking for updates as by default", PREFS_FILE)
        return UpdatePrefs()


def write_prefs(home: Path, prefs: UpdatePrefs) -> None:
    path = prefs_path(home)
    data = {
        "enabled": prefs.enabled,
        "last_look": prefs.last_look.isoformat() if prefs.last_look else None,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)  # never half a file, even if the computer goes off


def set_enabled(home: Path, enabled: bool) -> None:
    prefs = read_prefs(home)
    prefs.enabled = enabled
    write_prefs(home, prefs)


def look_if_due(home: Path, now: datetime, url: str = FEED_URL) -> Release | None:
    """The newer release, if one is out, looking at most once per LOOK_EVERY and never
    when turned off. A failed look counts as a look (no retry storm against the host)."""
    prefs = read_prefs(home)
    if not prefs.enabled:
        return None
    if prefs.last_look is not None and now - prefs.last_look < LOOK_EVERY:
        return None
    prefs.last_look = now
    write_prefs(home, prefs)
    try:
        release = fetch_latest(url)
    except (httpx.HTTPError, ValueError) as exc:
        log.info("no release information this time: %s", type(exc).__name__)
        return None
    return release if is_newer(release.version) else None
