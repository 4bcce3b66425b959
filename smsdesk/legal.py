"""Where the licence texts shipped with smsdesk are.

A frozen build carries LICENSE (smsdesk's own, MIT) and THIRD_PARTY_NOTICES.txt (the licence
of everything the build bundles, written at build time by packaging/third_party_notices.py)
beside this module; a source checkout has LICENSE at its top and no notices file.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
NOTICES_NAME = "THIRD_PARTY_NOTICES.txt"


def third_party_notices() -> Path | None:
    """The bundled third-party notices, or None when not running from a build."""
    path = _HERE / NOTICES_NAME
    return path if path.is_file() else None


def licence() -> Path | None:
    """smsdesk's own licence text: beside the code in a build, at the top of a checkout."""
    for path in (_HERE / "LICENSE", _HERE.parent / "LICENSE"):
        if path.is_file():
            return path
    return None
