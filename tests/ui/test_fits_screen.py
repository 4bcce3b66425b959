"""However small the screen (1400×900 at 150 % leaves about 930×560 for the window), the
whole window fits it: the views scroll, the status bar stays in sight, and a control that
Tab reaches is scrolled into view."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from smsdesk.ui.main_window import MainWindow


def test_the_window_can_be_smaller_than_its_views_and_still_shows_everything(
    qtbot: QtBot, window: MainWindow
) -> None:
    compose = window.compose
    needed = compose.minimumSizeHint()
    window.resize(needed.width() - 100, needed.height() - 150)  # smaller than Compose needs
    assert window.size().width() == needed.width() - 100
    assert window.size().height() == needed.height() - 150
    bar = window.statusBar()
    assert window.rect().contains(bar.geometry())  # the status bar is on the window
    # Tab to Schedule: the view scrolls so that it shows.
    compose.schedule_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(compose.schedule_button, Qt.Key.Key_Backtab)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is compose.schedule_button
    viewport = window.view_scroll.viewport()
    corner = compose.schedule_button.mapTo(viewport, QPoint(0, 0))
    assert viewport.rect().contains(corner)
