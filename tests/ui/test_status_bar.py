"""The status bar never widens the window, and the window's own notes leave it again."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow


def test_a_long_error_does_not_widen_the_window(qtbot: QtBot, window: MainWindow) -> None:
    width, minimum = window.width(), window.minimumSizeHint().width()
    reason = "The provider refused the request: " + "far too many words " * 60
    window.tasks.failed.emit(RuntimeError(reason))  # what the background helper reports
    qtbot.waitUntil(lambda: "last error" in window.status.text())
    assert window.width() == width
    assert window.minimumSizeHint().width() == minimum
    # Cut on screen, whole in the tooltip.
    assert reason in window.status.toolTip()
    assert window.status.width() <= window.width()


def test_the_windows_own_error_leaves_the_status_bar(qtbot: QtBot, service: Service) -> None:
    window = MainWindow(service, refresh_ms=60_000, status_expiry_ms=50)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.tasks.failed.emit(RuntimeError("Could not read the contacts file"))
    assert "last error: Could not read the contacts file" in window.status.text()
    qtbot.waitUntil(lambda: "last error" not in window.status.text(), timeout=5000)
    assert "Held on this computer" in window.status.text() or "Counting" in window.status.text()
