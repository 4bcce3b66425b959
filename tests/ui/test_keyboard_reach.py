"""Every control in every view is reachable with Tab, and each one it reaches has a name an
assistive technology can read: its accessibleName, a label that is its buddy, or (for a
button or check box) its own visible text."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.ui.main_window import TITLES, MainWindow

MAX_STOPS = 300
SECTIONS = 8  # the most sections a date-time edit has ("ddd d MMM yyyy HH:mm")


def _focus_target(widget: QWidget) -> QWidget:
    proxy = widget.focusProxy()
    while proxy is not None:
        widget, proxy = proxy, proxy.focusProxy()
    return widget


def _named(widget: QWidget, window: MainWindow) -> bool:
    if widget.accessibleName().strip():
        return True
    if isinstance(widget, QAbstractButton) and widget.text().replace("&", "").strip():
        return True
    owner: QWidget | None = widget
    # A combo box's line edit, a spin box's editor: the control's name counts.
    while owner is not None and owner is not window:
        if owner.accessibleName().strip():
            return True
        if any(label.buddy() is owner for label in window.findChildren(QLabel)):
            return True
        parent = owner.parentWidget()
        if parent is None or parent.focusProxy() is not owner:
            break
        owner = parent
    return False


def _describe(widget: QWidget) -> str:
    return f"{type(widget).__name__}(objectName={widget.objectName()!r})"


def _walk(qtbot: QtBot, window: MainWindow, view: QWidget) -> list[QWidget]:
    """Tab from the tab bar until focus comes back to it: the stops, in order."""
    window.tabs.tabBar().setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.tabs.tabBar())
    stops: list[QWidget] = []
    for _ in range(MAX_STOPS):
        current = QApplication.focusWidget()
        assert current is not None
        after: QWidget | None = current
        # A date or time edit takes Tab for its sections (day, month, ...) first, then lets go.
        for _section in range(SECTIONS):
            qtbot.keyClick(current, Qt.Key.Key_Tab)
            after = QApplication.focusWidget()
            assert after is not None
            if after is not current:
                break
        assert after is not None and after is not current, f"Tab is trapped in {_describe(current)}"
        if after is window.tabs.tabBar():
            return stops
        stops.append(after)
    raise AssertionError(f"Tab never came back to the tab bar: {[_describe(w) for w in stops]}")


def _tab_candidates(view: QWidget) -> set[QWidget]:
    found = set()
    for widget in view.findChildren(QWidget):
        if not widget.isVisible() or not widget.isEnabled():
            continue
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if widget.focusProxy() is not None:
            continue
        found.add(widget)
    return found


@pytest.mark.parametrize("title", TITLES)
def test_tab_reaches_every_control_and_each_has_a_name(
    qtbot: QtBot, window: MainWindow, title: str
) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.show_view(title)
    view = window.tabs.currentWidget()
    assert view is not None
    stops = _walk(qtbot, window, view)
    in_view = [w for w in stops if view.isAncestorOf(w)]
    assert in_view, f"Tab never enters {title}"

    # Every stop, the status bar's too, not only the view's.
    unnamed = [_describe(w) for w in stops if not _named(_focus_target(w), window)]
    assert window.about_button in stops
    assert not unnamed, f"{title}: no accessible name or buddy label: {unnamed}"

    missed = _tab_candidates(view) - {_focus_target(w) for w in stops}
    assert not missed, f"{title}: not reachable with Tab: {sorted(map(_describe, missed))}"
