"""The Queue model over more rows than it holds: jumps to either end, scrolling back, bounded
pages, filters, and refreshes while the data changes — in a real table over a real database."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column, QueueModel

PAGE = 5
PAGES = 3
COUNT = 60


def _schedule(service: Service, clock: ManualClock, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        service.schedule(
            [f"+1555123{i:04d}"], f"Reminder {i}", clock.now() + timedelta(hours=1 + i), "UTC"
        )


def _truth(service: Service, flt: QueueFilter | None = None) -> list[str]:
    """Every matching message's text in queue order, walked independently of the model."""
    return [m.text for m in Browser(service.ctx).page(flt or QueueFilter(), limit=10_000)]


def _texts(model: QueueModel, rows: range) -> list[str]:
    return [model.index(r, Column.TEXT).data() for r in rows]


def _on_screen(table: QTableView) -> range:
    last = table.rowAt(table.viewport().height() - 1)
    return range(table.rowAt(0), (last if last >= 0 else table.model().rowCount() - 1) + 1)


@pytest.fixture
def service_with_queue(service: Service, clock: ManualClock) -> Service:
    service.update_settings(quiet_mode="off")
    _schedule(service, clock, COUNT)
    return service


@pytest.fixture
def table(qtbot: QtBot, service_with_queue: Service) -> QTableView:
    model = QueueModel(Browser(service_with_queue.ctx), "UTC", page_size=PAGE, max_pages=PAGES)
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.resize(600, 200)  # a few rows on screen, fewer than the model holds
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.setFocus()
    return view


def _model(table: QTableView) -> QueueModel:
    model = table.model()
    assert isinstance(model, QueueModel)
    return model


def test_counts_every_row_and_holds_few(qtmodeltester, service_with_queue: Service) -> None:
    model = QueueModel(Browser(service_with_queue.ctx), "UTC", page_size=PAGE, max_pages=PAGES)
    assert model.rowCount() == COUNT
    assert model.loaded_rows() == 0  # nothing read before the view asks
    assert model.index(0, Column.TEXT).data() == "Reminder 0"
    assert model.index(0, Column.SEGMENTS).data() == "1"
    qtmodeltester.check(model)
    assert model.loaded_rows() <= PAGE * PAGES


def test_ctrl_end_shows_the_last_message_on_the_last_row(
    qtbot: QtBot, table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    truth = _truth(service_with_queue)
    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: table.currentIndex().row() == COUNT - 1)
    assert _on_screen(table)[-1] == COUNT - 1
    assert model.index(COUNT - 1, Column.TEXT).data() == truth[-1] == f"Reminder {COUNT - 1}"
    qtbot.keyClick(table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: table.currentIndex().row() == 0)
    assert model.index(0, Column.TEXT).data() == truth[0]


def test_scrolling_back_from_the_end_shows_consecutive_rows(
    qtbot: QtBot, table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    truth = _truth(service_with_queue)
    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: table.currentIndex().row() == COUNT - 1)
    seen: dict[int, str] = {}
    while table.currentIndex().row() > COUNT // 2:
        row = table.currentIndex().row()
        qtbot.keyClick(table, Qt.Key.Key_PageUp)
        qtbot.waitUntil(lambda row=row: table.currentIndex().row() < row)  # type: ignore[misc]
        table.viewport().repaint()  # what is painted is what the user sees
        seen.update({r: model.index(r, Column.TEXT).data() for r in _on_screen(table)})
        assert model.loaded_rows() <= PAGE * PAGES
    rows = sorted(seen)
    assert rows == list(range(rows[0], COUNT))  # no gap
    assert [seen[r] for r in rows] == truth[rows[0] :]  # in order, no duplicate


def test_a_drag_to_the_middle_then_scrolling_up_stays_consecutive(
    qtbot: QtBot, table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    truth = _truth(service_with_queue)
    bar = table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)  # read from the nearest end, skipping rows in between
    middle = _on_screen(table)
    assert _texts(model, middle) == truth[middle.start : middle.stop]
    for row in range(middle.start, -1, -1):  # up to the top, one row at a time
        assert model.index(row, Column.TEXT).data() == truth[row]
    assert model.loaded_rows() <= PAGE * PAGES


def test_pages_held_stay_bounded_over_a_full_scroll(
    qtbot: QtBot, table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    truth = _truth(service_with_queue)
    bar = table.verticalScrollBar()
    seen: list[str] = []
    for value in range(bar.minimum(), bar.maximum() + 1):
        bar.setValue(value)
        seen.append(model.index(table.rowAt(0), Column.TEXT).data())
        assert model.loaded_rows() <= PAGE * PAGES
    tops = list(dict.fromkeys(seen))  # the last step may only align the bottom row
    assert tops == truth[: len(tops)]
    assert _texts(model, range(COUNT)) == truth  # and every row reads back right


def test_filter_by_state_counts_and_reaches_its_last_row(
    qtbot: QtBot, table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    messages = service_with_queue.list_messages(limit=COUNT)
    cancelled = [m for i, m in enumerate(messages) if i % 7 == 3]
    for m in cancelled:
        service_with_queue.cancel(m.id)
    flt = QueueFilter(states=frozenset({"cancelled"}))
    truth = _truth(service_with_queue, flt)
    assert len(truth) == len(cancelled)
    model.set_filter(flt)
    assert model.rowCount() == model.total() == len(cancelled)
    table.setCurrentIndex(model.index(0, 0))  # as a click in the table does
    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: table.currentIndex().row() == len(cancelled) - 1)
    assert _texts(model, range(len(cancelled))) == truth
    assert {model.index(r, Column.STATE).data() for r in range(len(cancelled))} == {"cancelled"}


def test_refresh_after_new_messages_keeps_the_top_row_and_counts_them(
    qtbot: QtBot, table: QTableView, service_with_queue: Service, clock: ManualClock
) -> None:
    model = _model(table)
    table.scrollTo(model.index(30, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    top = model.index(30, Column.TEXT).data()
    # Two before what is on screen, one after everything.
    for hours, name in ((-2, "early"), (-1, "earlier"), (500, "latest")):
        service_with_queue.schedule(
            ["+15559990000"], name, clock.now() + timedelta(hours=hours + 3), "UTC"
        )
    screen = _on_screen(table)
    moved = model.refresh(screen.start, screen.stop - 1)
    assert moved == 32
    assert model.rowCount() == COUNT + 3
    assert model.index(32, Column.TEXT).data() == top
    truth = _truth(service_with_queue)
    assert _texts(model, range(COUNT + 3)) == truth
    assert truth[-1] == "latest"


def test_refresh_after_state_changes(
    qtbot: QtBot, table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    model.set_filter(QueueFilter(states=frozenset({"queued"})))
    screen = _on_screen(table)
    shown = [model.message(r) for r in screen]
    gone = shown[1]
    assert gone is not None
    service_with_queue.cancel(gone.id)
    model.refresh(screen.start, screen.stop - 1)
    assert model.rowCount() == COUNT - 1
    truth = _truth(service_with_queue, QueueFilter(states=frozenset({"queued"})))
    assert _texts(model, range(COUNT - 1)) == truth
    assert gone.text not in truth

    model.set_filter(QueueFilter())
    service_with_queue.cancel(model.message(0).id)  # type: ignore[union-attr]
    resets = model.resets
    assert model.refresh(0, 3) is None or model.resets > resets
    assert model.index(0, Column.STATE).data() == "cancelled"


def test_refresh_with_nothing_changed_reads_only_the_screen(
    table: QTableView, service_with_queue: Service
) -> None:
    model = _model(table)
    _texts(model, range(COUNT))  # touch every page: only PAGES stay
    resets = model.resets
    assert model.refresh(0, 3) is None
    assert model.resets == resets  # no recount, no reset
    assert model.loaded_rows() <= PAGE  # the screen's page; the rest is read when needed
    assert _texts(model, range(COUNT)) == _truth(service_with_queue)


def test_view_refresh_keeps_the_selected_message_when_rows_move(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    _schedule(service, clock, 5)
    window.refresh()
    queue = window.queue
    queue.table.selectRow(2)
    chosen = queue.selected_messages()
    assert [m.text for m in chosen] == ["Reminder 2"]
    service.schedule(["+15559990000"], "first now", clock.now() + timedelta(minutes=30), "UTC")
    queue.refresh()
    assert [m.text for m in queue.selected_messages()] == ["Reminder 2"]
    assert queue.table.currentIndex().row() == 3
    assert queue.count_label.text() == "6 messages"
    queue.table.selectAll()
    assert queue.selected_count() == 6
