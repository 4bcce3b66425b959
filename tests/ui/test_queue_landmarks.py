"""A scroll bar dragged far into the Queue lands by keyset from a landmark (the sort key of
every n-th row, read in the background after the count), so it skips a few entries, not
thousands; the rows shown and the count stay exact, before and after a change."""

# pytest-qt leaves QtBot's helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.service import Service
from smsdesk.ui.queue_model import Column, QueueModel
from smsdesk.ui.tasks import TaskRunner

COUNT = 400
EVERY = 20  # a landmark every 20 rows: a drag skips at most 10


class Skips(Browser):
    """The real browser, noting how many entries each page read skips and on which thread
    the landmarks are read."""

    def __init__(self, service: Service) -> None:
        super().__init__(service.ctx)
        self.skips: list[int] = []
        self.threads: set[int] = set()

    def page(self, flt: QueueFilter, **kw: Any) -> Any:
        self.skips.append(int(kw.get("skip", 0)))
        return super().page(flt, **kw)

    def landmarks(self, flt: QueueFilter, every: int) -> Any:
        self.threads.add(threading.get_ident())
        return super().landmarks(flt, every)


def _texts(model: QueueModel, rows: range) -> list[str]:
    return [model.index(r, Column.TEXT).data() for r in rows]


def _on_screen(table: QTableView) -> range:
    last = table.rowAt(table.viewport().height() - 1)
    return range(table.rowAt(0), (last if last >= 0 else table.model().rowCount() - 1) + 1)


def _table(qtbot: QtBot, holder: QWidget, browser: Browser) -> tuple[QTableView, QueueModel]:
    qtbot.addWidget(holder)
    runner = TaskRunner(holder)
    holder.setProperty("pending", 0)
    runner.pending_changed.connect(lambda n: holder.setProperty("pending", n))
    model = QueueModel(
        browser, "UTC", page_size=10, submit=runner.submit, survey_from=50, landmark_every=EVERY
    )
    view = QTableView(holder)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.resize(600, 200)
    holder.show()
    qtbot.waitExposed(view)
    return view, model


def test_a_far_drag_lands_from_a_landmark_exactly(
    qtbot: QtBot, service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    for i in range(COUNT):
        service.schedule(
            [f"+1555123{i:04d}"], f"Reminder {i}", clock.now() + timedelta(hours=1 + i), "UTC"
        )
    truth = [m.text for m in Browser(service.ctx).page(QueueFilter(), limit=10_000)]
    browser = Skips(service)
    holder = QWidget()  # the runner's and the table's parent, kept for the whole test
    table, model = _table(qtbot, holder, browser)
    qtbot.waitUntil(lambda: model.landmarks_ready == model.resets, timeout=10_000)
    assert browser.threads and threading.get_ident() not in browser.threads  # off the GUI thread
    bar = table.verticalScrollBar()
    for fraction in (0.5, 0.27, 0.81):
        browser.skips.clear()
        bar.setValue(int(bar.maximum() * fraction))
        shown = _on_screen(table)
        assert shown.start > 50
        assert _texts(model, shown) == truth[shown.start : shown.stop]
        assert browser.skips and max(browser.skips) <= EVERY // 2, browser.skips
    assert model.rowCount() == COUNT

    # A change: counted again, landmarks read again for the new count, still exact.
    service.schedule(["+15551239999"], "Reminder new", clock.now() + timedelta(minutes=30), "UTC")
    model.refresh(*(_on_screen(table)[0], _on_screen(table)[-1]))
    qtbot.waitUntil(lambda: model.landmarks_ready == model.resets, timeout=10_000)
    truth = ["Reminder new", *truth]
    browser.skips.clear()
    bar.setValue(bar.maximum() // 3)
    shown = _on_screen(table)
    assert _texts(model, shown) == truth[shown.start : shown.stop]
    assert max(browser.skips) <= EVERY // 2
    assert model.rowCount() == COUNT + 1


def test_landmarks_read_while_something_changed_are_not_used(
    qtbot: QtBot, service: Service, clock: ManualClock
) -> None:
    service.update_settings(quiet_mode="off")
    for i in range(120):
        service.schedule(
            [f"+1555123{i:04d}"], f"Reminder {i}", clock.now() + timedelta(hours=1 + i), "UTC"
        )

    class Changing(Skips):
        def landmarks(self, flt: QueueFilter, every: int) -> Any:
            before, keys, _after = super().landmarks(flt, every)
            return before, keys, before + 1  # as if a message changed during the walk

    browser = Changing(service)
    holder = QWidget()  # the runner's and the table's parent, kept for the whole test
    table, model = _table(qtbot, holder, browser)
    # The (discarded) answer has arrived once the runner has nothing pending.
    qtbot.waitUntil(lambda: bool(browser.threads) and holder.property("pending") == 0)
    assert model.landmarks_ready == 0
    truth = [m.text for m in Browser(service.ctx).page(QueueFilter(), limit=10_000)]
    bar = table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)  # from the nearest page instead: still exact
    shown = _on_screen(table)
    assert _texts(model, shown) == truth[shown.start : shown.stop]
    assert max(browser.skips) > EVERY // 2
