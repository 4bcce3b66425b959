"""The app's icon, for the window (set before the first paint) and the tray: apart from
tray.py so that the window's start does not load the tray's dialogs."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

ICON_SIZES = (32, 48, 64, 128, 256)


def icons_dir() -> Path:
    """resources/icons: beside the code in a frozen build, at the top of a source checkout."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    return base / "resources" / "icons"


def app_icon() -> QIcon:
    """The app's icon at every size shipped (empty when resources/ is missing)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = icons_dir() / f"smsdesk-{size}.png"
        if path.exists():
            icon.addFile(str(path))
    return icon
