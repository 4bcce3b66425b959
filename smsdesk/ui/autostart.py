"""Starting smsdesk when the user logs in, so that messages held on this computer go out.

On Linux (and other XDG desktops) this is a desktop entry in ``~/.config/autostart``
(``$XDG_CONFIG_HOME/autostart``), per the XDG Autostart specification. Windows (a shortcut in
the Startup folder) and macOS (a login item) are not set up by smsdesk: ``supported()`` is
False there and the window says what to do by hand (``MANUAL``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DESKTOP_ID = "io.github.smsdesk.SmsDesk"
MANUAL = (
    "smsdesk cannot set this up on this system yet. On Windows, put a shortcut to smsdesk in "
    "the Startup folder (Win+R, shell:startup); on macOS, add it under System Settings › "
    "General › Login Items."
)


def supported() -> bool:
    return not sys.platform.startswith(("win", "darwin"))


def entry_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / f"{DESKTOP_ID}.desktop"


def launch_command() -> list[str]:
    """How this smsdesk is started again: the frozen program, the installed ``smsdesk``
    script, or this interpreter with ``-m smsdesk``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = shutil.which("smsdesk")
    return [script] if script else [sys.executable, "-m", "smsdesk"]


def _exec_line(command: list[str]) -> str:
    # The Desktop Entry spec quotes arguments with double quotes and escapes ", `, $ and \.
    def quote(arg: str) -> str:
        if arg and all(c.isalnum() or c in "/._-+=:," for c in arg):
            return arg
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{escaped}"'

    return " ".join(quote(arg) for arg in command)


def is_enabled() -> bool:
    return supported() and entry_path().is_file()


def enable(command: list[str] | None = None) -> Path:
    """Write the autostart entry (replacing an older one); returns where it is."""
    if not supported():
        raise OSError(MANUAL)
    path = entry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    exec_line = _exec_line(command or launch_command())
    text = (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=smsdesk\n"
        "Comment=Send the text messages held on this computer\n"
        f"Exec={exec_line}\n"
        f"Icon={DESKTOP_ID}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path


def disable() -> None:
    entry_path().unlink(missing_ok=True)
