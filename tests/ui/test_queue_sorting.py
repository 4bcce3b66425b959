"""Queue: a header click sorts by that column (again: reversed), over pages read by keyset;
the contact's name beside the number; the "upcoming and needs attention" default scope."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State, where_it_lives
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column

COUNT = 230  # more than two pages of the model (100 rows each)


def _click_header(qtbot: QtBot, window: MainWindow, column: Column) -> None:
    header = window.queue.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(
        header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2)
    )


def _rows(window: MainWindow) -> list[MessageView]:
    model = window.queue.model
    found = [model.message(r) for r in range(model.rowCount())]
    assert all(m is not None for m in found)
    return [m for m in found if m is not None]


def _lead(column: Column, m: MessageView) -> Any:
    return {
        Column.SEND_TIME: m.send_at,
        Column.RECIPIENT: m.recipient,
        Column.TEXT: m.text[:40],
        Column.PROVIDER: m.account_id,
        Column.STATE: m.state,
        Column.WHERE: (where_it_lives(State(m.state)), m.state),  # the words, then state
        Column.SEGMENTS: m.segments,
    }[column]


def _fill(service: Service, clock: ManualClock) -> None:
    # Recipients, texts, segments and send times that do not sort alike.
    for i in range(COUNT):
        text = f"{chr(ord('a') + (i * 7) % 26)} reminder {i}" + (" long" * 40 if i % 5 == 0 else "")
        service.schedule(
            [f"+1555{(i * 37) % 1000:03d}{i:04d}"],
            text,
            clock.now() + timedelta(hours=1 + (i * 13) % 97),
            "UTC",
        )
    ids = [m.id for m in service.list_messages(limit=None)]
    for message_id in ids[::9]:
        service.cancel(message_id)


def test_a_header_click_sorts_every_row_by_that_column_and_a_second_click_reverses(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    _fill(service, clock)
    window.show_view("Queue")
    window.refresh()
    qtbot.mouseClick(window.queue.all_button, Qt.MouseButton.LeftButton)
    assert window.queue.model.rowCount() == COUNT
    for column in (
        Column.RECIPIENT,
        Column.TEXT,
        Column.PROVIDER,
        Column.STATE,
        Column.WHERE,
        Column.SEGMENTS,
        Column.SEND_TIME,
    ):
        _click_header(qtbot, window, column)
        rows = _rows(window)
        keys = [(_lead(column, m), m.send_at, m.id) for m in rows]
        assert keys == sorted(keys), column
        assert len({m.id for m in rows}) == COUNT  # every message once, across the pages
        _click_header(qtbot, window, column)
        keys = [(_lead(column, m), m.send_at, m.id) for m in _rows(window)]
        assert keys == sorted(keys, reverse=True), column
    # The order survives a change of filter: the header's order stays.
    _click_header(qtbot, window, Column.RECIPIENT)
    window.queue.state_combo.setCurrentText("cancelled")
    rows = _rows(window)
    assert [m.recipient for m in rows] == sorted(m.recipient for m in rows)
    assert {m.state for m in rows} == {"cancelled"} and len(rows) == len(range(0, COUNT, 9))


def test_the_contact_name_is_beside_the_number(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    service.contact_book().add_contact(
        number="+15551230001", name="Ann Lee", zone=None, fields={}, groups=[]
    )
    service.schedule(
        ["+15551230001", "+15551230002"], "Hi", clock.now() + timedelta(hours=2), "UTC"
    )
    window.show_view("Queue")
    window.refresh()
    model = window.queue.model
    shown = sorted(model.index(r, Column.RECIPIENT).data() for r in range(2))
    assert shown == ["+15551230001 (Ann Lee)", "+15551230002"]


def test_the_queue_opens_on_upcoming_and_needs_attention_and_one_click_shows_all(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    upcoming = service.schedule(
        ["+15551230001"], "Upcoming", clock.now() + timedelta(days=1), "UTC"
    )
    gone = service.schedule(["+15551230002"], "Cancelled", clock.now() + timedelta(days=1), "UTC")
    service.cancel(gone.batch_id)
    # A Sandbox failure ("Fails"), a minute ago: it needs the user's attention.
    service.schedule(["+15550001234"], "Fails", clock.now() + timedelta(minutes=5), "UTC")
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(minutes=10))
    Dispatcher(service.ctx).run_once()
    window.show_view("Queue")
    window.refresh()
    queue = window.queue
    assert queue.upcoming_button.isChecked()
    states = sorted(m.state for m in _rows(window))
    assert states == ["failed", "scheduled"]  # the cancelled one is not shown
    assert upcoming.messages[0].message.id in {m.id for m in _rows(window)}
    qtbot.mouseClick(queue.all_button, Qt.MouseButton.LeftButton)
    assert sorted(m.state for m in _rows(window)) == ["cancelled", "failed", "scheduled"]
    assert queue.count_label.text() == "3 messages"
    # A week later the failure is history: under "All messages" only.
    clock.advance(timedelta(days=8))
    qtbot.mouseClick(queue.upcoming_button, Qt.MouseButton.LeftButton)
    assert [m.state for m in _rows(window)] == ["scheduled"]
