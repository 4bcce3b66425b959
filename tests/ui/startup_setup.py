"""What the start-up tests share: a window on screen, the window with its start-up over the
test's data folder, a dialog start-up opens, and the real start in a fresh interpreter."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.startup import Startup

ROOT = Path(__file__).resolve().parents[2]


def on_screen(qtbot: QtBot, window: MainWindow) -> MainWindow:
    """``window`` shown (and closed with the test), once the platform has exposed it."""
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def window_with_startup(qtbot: QtBot, home: Path) -> Iterator[tuple[MainWindow, Startup]]:
    """A fresh window with its start-up over ``home`` (not started yet: the test does), for
    a fixture to yield from. The engine is made (and must stay stopped on a file it cannot
    use) but sends nothing here."""
    window = on_screen(qtbot, MainWindow())
    startup = Startup(window, home, start_engine=True)
    yield window, startup
    window.close()
    startup.close()


def dialog_named(qtbot: QtBot, window: MainWindow, name: str, timeout: int) -> QDialog:
    """The dialog start-up opens over ``window``, once it is on screen."""
    qtbot.waitUntil(lambda: window.findChild(QDialog, name) is not None, timeout=timeout)
    dialog = window.findChild(QDialog, name)
    assert isinstance(dialog, QDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=timeout)
    return dialog


def fresh_run(
    script: str, home: Path | None = None, *, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter on the offscreen platform (over ``home`` if given):
    nothing this test process has imported is loaded there."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if home is not None:
        env["SMSDESK_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )
