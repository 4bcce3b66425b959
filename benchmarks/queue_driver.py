"""Child process of the Queue scenario: the real QueueView over a large database.

    python -m benchmarks.queue_driver        (SMSDESK_HOME names the database's folder)

Prints one JSON object of timings in seconds and memory in MiB. It runs in its own process so
that the memory figure is the window's alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget

from benchmarks.common import current_rss_mb, median, peak_rss_mb

FETCHES = 20
STATES = ("failed", "queued", "delivered")


class Painted(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.at is None and event.type() == QEvent.Type.Paint and isinstance(watched, QWidget):
            self.at = time.perf_counter()
        return False


def main() -> dict[str, Any]:
    app = QApplication(sys.argv[:1])
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from smsdesk.engine.browse import Browser, QueueFilter
    from smsdesk.engine.context import AppContext
    from smsdesk.engine.service import Service
    from smsdesk.ui.actions import MessageActions
    from smsdesk.ui.queue_model import Column
    from smsdesk.ui.queue_view import QueueView
    from smsdesk.ui.tasks import TaskRunner

    ctx = AppContext.open()
    service = Service(ctx)
    holder = QWidget()
    actions = MessageActions(service, TaskRunner(holder), holder)
    out: dict[str, Any] = {"rss_before_mb": current_rss_mb()}

    spy = Painted()
    app.installEventFilter(spy)
    started = time.perf_counter()
    view = QueueView(service, actions)
    view.resize(1100, 700)
    view.show()
    while spy.at is None:
        app.processEvents()
    out["open"] = spy.at - started
    app.removeEventFilter(spy)
    model, table = view.model, view.table
    out["total_rows"] = model.rowCount()

    # Every page the model reads goes through Browser.page: time each one.
    pages: list[float] = []
    page = model._browser.page

    def timed_page(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return page(*args, **kwargs)
        finally:
            pages.append(time.perf_counter() - t)

    model._browser.page = timed_page  # type: ignore[method-assign]

    def settle() -> float:
        t = time.perf_counter()
        table.viewport().repaint()  # paint now: the rows shown are the rows read
        app.processEvents()
        return time.perf_counter() - t

    table.setFocus()
    table.setCurrentIndex(model.index(0, 0))
    bar = table.verticalScrollBar()
    scrolls = []
    for _ in range(FETCHES):  # scrolling down a page of rows at a time
        bar.setValue(bar.value() + 200)
        scrolls.append(settle())
    out["page_fetch_median"] = median(pages)
    out["page_fetch_max"] = max(pages)
    out["scroll_step_max"] = max(scrolls)

    def last_shown() -> int:
        return table.rowAt(table.viewport().height() - 1)

    t = time.perf_counter()
    QTest.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    out["ctrl_end"] = time.perf_counter() - t + settle()
    out["ctrl_end_row"] = table.currentIndex().row()
    out["ctrl_end_last_shown"] = last_shown()
    [newest] = Browser(ctx).page(QueueFilter(), limit=1, descending=True)
    shown = model.index(model.rowCount() - 1, Column.TEXT).data(Qt.ItemDataRole.UserRole + 1)
    out["ctrl_end_is_newest"] = shown == newest.id
    t = time.perf_counter()
    QTest.keyClick(table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    out["ctrl_home"] = time.perf_counter() - t + settle()
    out["ctrl_home_row"] = table.currentIndex().row()
    # The landmarks a far drag lands from are read in the background after the count: were
    # they there by now (else the drags below skip from the nearest page read)?
    out["landmarks_ready"] = model.landmarks_ready == model.resets
    for fraction in (0.5, 0.25, 0.75):  # scroll bar dragged far: rows skipped from an anchor
        t = time.perf_counter()
        bar.setValue(int(bar.maximum() * fraction))
        out[f"drag_{int(fraction * 100)}"] = time.perf_counter() - t + settle()
    QTest.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    settle()
    for _ in range(100):  # and back up from the end, a screen at a time
        QTest.keyClick(table, Qt.Key.Key_PageUp)
        settle()
    out["rows_held"] = model.loaded_rows()
    out["rss_after_jumps_mb"] = current_rss_mb()
    out["page_fetch_max_all"] = max(pages)

    browser = Browser(ctx)
    for state in STATES:
        index = view.state_combo.findData(state)
        pages.clear()
        t = time.perf_counter()
        view.state_combo.setCurrentIndex(index)  # apply_filters: count, then the first page
        settle()
        out[f"filter_{state}"] = time.perf_counter() - t
        out[f"filter_{state}_page"] = max(pages)
        t = time.perf_counter()
        browser.count(QueueFilter(states=frozenset({state})))
        out[f"filter_{state}_count"] = time.perf_counter() - t
        out[f"filter_{state}_rows"] = model.rowCount()
        pages.clear()
        QTest.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        settle()
        out[f"filter_{state}_end_page"] = max(pages, default=0.0)
    view.state_combo.setCurrentIndex(0)
    settle()

    bar.setValue(bar.maximum() // 2)
    settle()
    refreshes = []
    for _ in range(5):
        t = time.perf_counter()
        view.refresh()  # what the window does every 5 s on the GUI thread: nothing changed
        refreshes.append(time.perf_counter() - t)
    out["periodic_refresh"] = median(refreshes)
    # The refreshes above come right after a recount, while the landmarks of that count are
    # read in the background (one walk over the index, competing for the interpreter): the
    # same refresh once they are in.
    out["landmarks_ready_at_refresh"] = model.landmarks_ready == model.resets
    walk_started = time.perf_counter()
    while model.landmarks_ready != model.resets and time.perf_counter() - walk_started < 30:
        app.processEvents()
    refreshes = []
    for _ in range(5):
        t = time.perf_counter()
        view.refresh()
        refreshes.append(time.perf_counter() - t)
    out["periodic_refresh_settled"] = median(refreshes)
    for where, value in (("middle", bar.maximum() // 2), ("end", bar.maximum())):
        bar.setValue(value)
        settle()
        model._mark = -1  # as if an event was recorded: count again, find the top row again
        t = time.perf_counter()
        view.refresh()
        out[f"refresh_after_change_{where}"] = time.perf_counter() - t
    t = time.perf_counter()
    service.summary()  # the status bar's part of the same periodic refresh
    out["status_summary"] = time.perf_counter() - t

    out["rss_mb"] = current_rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    view.close()

    from smsdesk.ui.main_window import MainWindow

    window = MainWindow(service)
    window.show_view("Queue")
    window.refresh()  # loads the Queue, as showing it does
    refreshes = []
    for _ in range(3):  # the window's periodic refresh (every 5 s): the GUI thread's part
        t = time.perf_counter()
        window.refresh_visible()  # the shown tab; the status bar counts in a worker
        refreshes.append(time.perf_counter() - t)
        window.status_tasks.wait()
    out["window_refresh"] = median(refreshes)
    window.close()
    ctx.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main()), flush=True)
    # PySide6 may crash while the interpreter tears the widgets down; the figures are out.
    os._exit(0)
