"""About: smsdesk's version and the licences of smsdesk and what it is built on, read from
the installed packages' metadata."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

import smsdesk
from smsdesk.ui.about_dialog import AboutDialog
from smsdesk.ui.main_window import MainWindow


def _rows(dialog: AboutDialog) -> dict[str, tuple[str, str]]:
    table = dialog.table
    rows = {}
    for row in range(table.rowCount()):
        name, version, licence = (table.item(row, c).text() for c in range(3))  # type: ignore[union-attr]
        rows[name.replace("_", "-").lower()] = (version, licence)
    return rows


def test_f1_opens_about_with_the_version_and_licences(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.keyClick(window.tabs, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(window, "about", None) is not None and window.about.isVisible())
    dialog: AboutDialog = window.about
    heading = dialog.findChild(QLabel, "aboutHeading")
    assert heading is not None
    assert f"smsdesk {smsdesk.__version__}" in heading.text() and "MIT" in heading.text()
    rows = _rows(dialog)
    # The main dependencies, each with the version installed and a licence its metadata names.
    for name in ("pyside6-essentials", "sqlalchemy", "httpx", "phonenumbers", "keyring"):
        assert name in rows, name
        assert rows[name][0] == metadata.version(name)
        assert rows[name][1] and rows[name][1] != "see the package", name
    assert "LGPL" in rows["pyside6-essentials"][1]
    assert "Apache" in rows["phonenumbers"][1]
    assert "MIT" in rows["sqlalchemy"][1]


def test_the_about_button_in_the_status_bar_opens_it(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(window.about_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(window, "about", None) is not None and window.about.isVisible())
    qtbot.keyClick(window.about, Qt.Key.Key_Escape)
    assert not window.about.isVisible()
