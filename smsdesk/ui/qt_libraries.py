"""When Qt cannot start its display plugin: one line saying why, and how to fix it.

Qt's own answer is a wall of text that blames the wrong thing (it names xcb-cursor even when
the real problem is that no display is reachable), then aborts. So, while the application
object is made, a message handler collects Qt's messages; on the fatal one it looks at the
plugin itself (which system libraries it cannot load), prints one line with the install
command for this system's family, and ends the process with ``EXIT_NO_DISPLAY``.

Nothing here costs anything when start-up succeeds: the handler is removed at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

EXIT_NO_DISPLAY = 3
FAMILIES = ("Debian/Ubuntu", "Fedora", "Arch")
INSTALL = {
    "Debian/Ubuntu": "sudo apt-get install",
    "Fedora": "sudo dnf install",
    "Arch": "sudo pacman -S",
}

# A library Qt's display plugins load -> its package on Debian/Ubuntu, Fedora, Arch.
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": (
        "libxcb-render-util0",
        "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libSM.so.6": ("libsm6", "libSM", "libsm"),
    "libICE.so.6": ("libice6", "libICE", "libice"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client", "wayland"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor", "wayland"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl", "wayland"),
}

# Patterns, compiled when a start fails (the window's start counts its milliseconds).
_NOT_FOUND = r"(?m)^\s*(\S+) => not found"
# The loader's (and dlopen's) wording for a library it found but could not use.
_BROKEN = r"(?:shared libraries: )?(/?[^\s:]+\.so[.\d]*): "
_PLUGIN_NAMED = r'platform plugin "([^"]+)"'


@dataclass(frozen=True)
class Diagnosis:
    """Why the window cannot open, and what to do about it (both one sentence)."""

    what: str
    fix: str

    def line(self) -> str:
        return f"smsdesk: the window cannot open: {self.what}. {self.fix}"


def family(os_release: Path = Path("/etc/os-release")) -> str | None:
    """This system's family among FAMILIES, from os-release's ID and ID_LIKE."""
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError:
        return None
    ids: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            ids |= set(value.strip().strip('"').lower().split())
    if ids & {"debian", "ubuntu"}:
        return "Debian/Ubuntu"
    if ids & {"fedora", "rhel", "centos"}:
        return "Fedora"
    if ids & {"arch", "archlinux"}:
        return "Arch"
    return None


def install_commands(libraries: list[str], system: str | None) -> str:
    """The install command for this system's family, or one per family when it is not
    known; libraries with no known package are named as they are."""
    families = [system] if system in FAMILIES else list(FAMILIES)
    known = [lib for lib in libraries if lib in PACKAGES]
    if not known:
        return "Install the package that provides " + ", ".join(libraries) + "."
    parts = []
    for name in families:
        assert name is not None
        index = FAMILIES.index(name)
        packages = list(dict.fromkeys(PACKAGES[lib][index] for lib in known))
        parts.append(f"'{INSTALL[name]} {' '.join(packages)}' ({name})")
    return "Install with " + ", or ".join(parts)


def plugin_dir() -> Path:
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"


def available_platforms(directory: Path) -> list[str]:
    names = (p.name for p in directory.glob("libq*.so*")) if directory.is_dir() else iter(())
    return sorted(re.sub(r"^libq|\.so.*$", "", n) for n in names)


def unloadable_libraries(plugin: Path) -> list[str]:
    """The system libraries the plugin cannot load: missing ones (all of them, from ldd),
    else the one the loader stopped at (a damaged or unusable file)."""
    # Imported here: only a failed start needs them, and the window's start counts its ms.
    import ctypes
    import shutil
    import subprocess

    ldd = shutil.which("ldd")
    text = ""
    if ldd:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                [ldd, str(plugin)], capture_output=True, text=True, timeout=10, check=False
            )
            text = done.stdout + done.stderr
            missing = re.findall(_NOT_FOUND, text)
            if missing:
                return list(dict.fromkeys(missing))
    if not text or "error while loading" not in text:
        try:
            ctypes.CDLL(str(plugin))
            return []
        except OSError as exc:
            text = str(exc)
    found = re.search(_BROKEN, text.replace(str(plugin) + ": ", "", 1))
    return [Path(found.group(1)).name] if found else []


def diagnose(
    messages: list[str],
    *,
    platform: str | None = None,
    directory: Path | None = None,
    system: str | None = None,
) -> Diagnosis:
    """What went wrong, from Qt's messages and a look at the plugin."""
    wanted = platform or os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] or None
    if wanted is None:
        for text in messages:
            named = re.search(_PLUGIN_NAMED, text)
            if named:
                wanted = named.group(1)
                break
    wanted = wanted or "xcb"
    directory = directory if directory is not None else plugin_dir()
    system = system if system is not None else family()
    plugins = [p for p in directory.glob(f"libq{wanted}.so*")] if directory.is_dir() else []
    if not plugins:
        have = ", ".join(available_platforms(directory)) or "none"
        return Diagnosis(
            f"Qt has no display platform '{wanted}' (QT_QPA_PLATFORM); it has {have}",
            "Unset QT_QPA_PLATFORM, or set it to one of those.",
        )
    missing = unloadable_libraries(plugins[0])
    if missing:
        return Diagnosis(
            f"Qt's '{wanted}' display plugin needs {', '.join(missing)}, which cannot be "
            "loaded (not installed, or damaged)",
            install_commands(missing, system) + ".",
        )
    if any("could not connect to display" in m for m in messages):
        where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        return Diagnosis(
            f"no display could be reached at {where}"
            if where
            else "no display is set (DISPLAY and WAYLAND_DISPLAY are empty)",
            "Run it in a desktop session (or under xvfb-run), or use the command line: "
            "'smsdesk --help'.",
        )
    first = next((m.splitlines()[0] for m in messages if m.strip()), "no reason given")
    return Diagnosis(
        f"Qt could not start its '{wanted}' display plugin ({first})",
        "Run 'smsdesk doctor' for a full check of this computer.",
    )


Report = Callable[[Diagnosis], None]


def _print_line(diagnosis: Diagnosis) -> None:
    print(diagnosis.line(), file=sys.stderr, flush=True)


@contextlib.contextmanager
def plain_platform_errors(report: Report = _print_line) -> Iterator[None]:
    """Around the making of QApplication/QGuiApplication: a failing display plugin ends the
    process with one line (``report``) and EXIT_NO_DISPLAY instead of Qt's abort."""
    from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

    seen: list[str] = []

    def handler(kind: QtMsgType, _context: QMessageLogContext, text: str) -> None:
        if kind != QtMsgType.QtFatalMsg:
            seen.append(text)
            return
        try:
            report(diagnose(seen))
        finally:
            # Qt aborts when this returns (a core dump, a crash reporter): end here instead.
            os._exit(EXIT_NO_DISPLAY)

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)
        for text in seen:  # start-up succeeded: Qt's warnings still go where they went
            print(text, file=sys.stderr)
