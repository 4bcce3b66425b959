"""When Qt cannot start its display plugin, smsdesk says why in one line and exits non-zero.

Each case starts the real window command in a fresh process with an environment the test
controls: a platform that does not exist, a system library the xcb plugin needs shadowed by
an unusable file (what a missing or broken package looks like to the loader), a display that
is not there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smsdesk.ui.qt_libraries import (
    EXIT_NO_DISPLAY,
    available_platforms,
    family,
    install_commands,
    plugin_dir,
)

QT_WALL = ("This application failed to start", "Available platform plugins", "Reinstalling")


def _start_window(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "smsdesk", "gui"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert not any(wall in done.stderr for wall in QT_WALL)
    assert done.returncode == EXIT_NO_DISPLAY
    return lines[0]


@pytest.mark.timeout(180)
def test_an_unknown_platform_is_named_with_the_ones_qt_has() -> None:
    line = _one_line(_start_window({"QT_QPA_PLATFORM": "nosuchscreen"}))
    assert line.startswith("smsdesk: the window cannot open: ")
    assert "'nosuchscreen'" in line and "offscreen" in line and "xcb" in line
    assert "Unset QT_QPA_PLATFORM" in line


@pytest.mark.timeout(180)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_a_library_the_plugin_cannot_load_is_named_with_the_install_command(
    tmp_path: Path,
) -> None:
    # An empty file where the loader looks first: to it, the library is unusable.
    shadow = tmp_path / "lib"
    shadow.mkdir()
    (shadow / "libxcb-cursor.so.0").write_bytes(b"")
    line = _one_line(
        _start_window({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0", "LD_LIBRARY_PATH": str(shadow)})
    )
    assert "libxcb-cursor.so.0" in line
    assert install_commands(["libxcb-cursor.so.0"], family()) in line
    # Qt's own text would blame the plugin in general; the line names the package.
    expected = {
        "Debian/Ubuntu": "sudo apt-get install libxcb-cursor0",
        "Fedora": "sudo dnf install xcb-util-cursor",
        "Arch": "sudo pacman -S xcb-util-cursor",
    }
    system = family()
    wanted = [expected[system]] if system else list(expected.values())
    assert all(command in line for command in wanted)


@pytest.mark.timeout(180)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_a_display_that_is_not_there_is_said_plainly() -> None:
    # Qt would blame xcb-cursor here, which is installed: the real problem is the display.
    line = _one_line(_start_window({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":97"}))
    assert "no display could be reached at :97" in line
    assert "xcb-cursor" not in line


def test_the_family_comes_from_os_release(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    cases = {
        'ID=ubuntu\nID_LIKE="debian"\n': "Debian/Ubuntu",
        "ID=debian\n": "Debian/Ubuntu",
        'ID="fedora"\n': "Fedora",
        "ID=endeavouros\nID_LIKE=arch\n": "Arch",
        "ID=alpine\n": None,
    }
    for text, expected in cases.items():
        release.write_text(text, encoding="utf-8")
        assert family(release) == expected
    assert family(tmp_path / "absent") is None


def test_an_unknown_family_gets_every_familys_command() -> None:
    text = install_commands(["libxkbcommon-x11.so.0", "libEGL.so.1"], None)
    assert "'sudo apt-get install libxkbcommon-x11-0 libegl1' (Debian/Ubuntu)" in text
    assert "'sudo dnf install libxkbcommon-x11 libglvnd-egl' (Fedora)" in text
    assert "'sudo pacman -S libxkbcommon-x11 libglvnd' (Arch)" in text
    assert install_commands(["libunheard.so.3"], "Fedora") == (
        "Install the package that provides libunheard.so.3."
    )


def test_the_platforms_listed_are_the_plugins_qt_ships() -> None:
    assert {"offscreen", "minimal"} <= set(available_platforms(plugin_dir()))
