"""The contacts table's columns as the user left them: a custom field hidden, a column dragged
to the front by its title, a column dragged wider; all of it back after the window is closed
and opened again on this computer (window.ini), and nothing of it in the shared database."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QHeaderView, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.ui.contacts_view import ContactsView
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.window_state import FILE_NAME
from tests.ui.conftest import Answers

MARIA = "+12025550119"
LEFT = Qt.MouseButton.LeftButton


def _drag(window: MainWindow, source: QWidget, start: QPoint, end: QPoint) -> None:
    """Press, move in steps and release through the window, as a person drags."""
    handle = window.windowHandle()
    assert handle is not None
    first, last = source.mapTo(window, start), source.mapTo(window, end)
    QTest.mousePress(handle, LEFT, Qt.KeyboardModifier.NoModifier, first)
    for step in range(1, 6):
        QTest.mouseMove(handle, first + (last - first) * step / 5)
    QTest.mouseRelease(handle, LEFT, Qt.KeyboardModifier.NoModifier, last)


def _open_contacts(qtbot: QtBot, window: MainWindow) -> ContactsView:
    bar = window.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i).replace("&", "") == "Contacts")
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert window.tabs.currentWidget() is window.contacts
    return window.contacts


def _shown(header: QHeaderView, contacts: ContactsView) -> list[str]:
    model = contacts.model
    return [
        model.headerData(header.logicalIndex(v), Qt.Orientation.Horizontal)
        for v in range(header.count())
    ]


def test_columns_shown_their_order_and_widths_outlive_a_restart(
    qtbot: QtBot, window: MainWindow, service: Service, answers: Answers, isolated_home: Path
) -> None:
    ContactBook(service.ctx).save_contact(
        MARIA, name="Maria", fields={"dentist": "Dr Ode", "room": "4"}
    )
    contacts = _open_contacts(qtbot, window)
    contacts.refresh()
    header = contacts.table.horizontalHeader()
    # Hide "dentist" through Columns…, by clicking its box.
    qtbot.mouseClick(contacts.columns_button, LEFT)
    dialog = contacts.columns_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    box = dialog.boxes["dentist"]
    qtbot.mouseClick(box, LEFT, pos=QPoint(8, box.height() // 2))
    qtbot.mouseClick(dialog.findChild(QWidget, "closeColumnsButton"), LEFT)
    assert _shown(header, contacts) == [
        "Name",
        "Number",
        "Time zone",
        "Groups",
        "Opted out",
        "room",
    ]
    # Drag "room" by its title to the front.
    room = 5
    y = header.height() // 2
    start = QPoint(header.sectionViewportPosition(room) + header.sectionSize(room) // 2, y)
    _drag(window, header.viewport(), start, QPoint(4, y))
    assert _shown(header, contacts)[0] == "room"
    # Drag the right edge of "Number" 60 pixels wider.
    number = 1
    before = header.sectionSize(number)
    edge = header.sectionViewportPosition(number) + before - 1
    _drag(window, header.viewport(), QPoint(edge, y), QPoint(edge + 60, y))
    wider = header.sectionSize(number)
    assert wider >= before + 50
    qtbot.waitUntil(lambda: contacts.column_layout.widths.get("Number") == wider, timeout=5000)
    # Kept on this computer beside the window's place, not in the shared database.
    ini = (isolated_home / FILE_NAME).read_text(encoding="utf-8")
    assert "contacts" in ini and "dentist" in ini and "room" in ini
    window.close()

    again = MainWindow(
        service,
        confirm=answers.on_confirm,
        ask_time=lambda _messages: answers.time,
        ask_path=lambda: answers.path,
        refresh_ms=60_000,
    )
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    reopened = _open_contacts(qtbot, again)
    reopened.refresh()
    header = reopened.table.horizontalHeader()
    assert list(reopened.model.extra) == ["room"]  # "dentist" still hidden
    assert _shown(header, reopened) == [
        "room", "Name", "Number", "Time zone", "Groups", "Opted out"
    ]  # fmt: skip
    assert header.sectionSize(number) == wider
