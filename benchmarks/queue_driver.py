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
    from smsdesk.engine.browse import Browser, QueueFilter
    from smsdesk.engine.context import AppContext
    from smsdesk.engine.service import Service
    from smsdesk.ui.actions import MessageActions
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
    out["rows_after_open"] = view.model.rowCount()

    fetches = []
    for _ in range(FETCHES):  # what scrolling down does: one keyset page per fetchMore
        t = time.perf_counter()
        view.model.fetchMore()
        fetches.append(time.perf_counter() - t)
    out["page_fetch_median"] = median(fetches)
    out["page_fetch_max"] = max(fetches)

    rows = view.model.rowCount()
    t = time.perf_counter()
    view.table.scrollToBottom()  # Ctrl+End
    app.processEvents()
    out["ctrl_end"] = time.perf_counter() - t
    out["ctrl_end_rows_gained"] = view.model.rowCount() - rows
    out["total_rows"] = view.model.total()
    browser = Browser(ctx)
    t = time.perf_counter()
    browser.page(QueueFilter(), limit=200, descending=True)  # what a true "last row" needs
    out["last_page_query"] = time.perf_counter() - t

    for state in STATES:
        index = view.state_combo.findData(state)
        t = time.perf_counter()
        view.state_combo.setCurrentIndex(index)  # apply_filters: new first page + count
        app.processEvents()
        out[f"filter_{state}"] = time.perf_counter() - t
        out[f"filter_{state}_rows"] = view.model.rowCount()
    view.state_combo.setCurrentIndex(0)
    app.processEvents()

    t = time.perf_counter()
    view.refresh()  # what the window does every 5 s on the GUI thread
    out["periodic_refresh"] = time.perf_counter() - t
    t = time.perf_counter()
    service.summary()  # the status bar's part of the same periodic refresh
    out["status_summary"] = time.perf_counter() - t

    out["rss_mb"] = current_rss_mb()
    # Memory per loaded row, to project scrolling all the way down.
    loaded = view.model.rowCount()
    before = current_rss_mb()
    for _ in range(25):
        view.model.fetchMore()
    gained = view.model.rowCount() - loaded
    out["mb_per_1000_rows"] = (current_rss_mb() - before) / max(gained, 1) * 1000
    out["peak_rss_mb"] = peak_rss_mb()
    view.close()

    from smsdesk.ui.main_window import MainWindow

    window = MainWindow(service)
    refreshes = []
    for _ in range(3):  # the whole window's periodic refresh (every 5 s, on the GUI thread)
        t = time.perf_counter()
        window.refresh()
        refreshes.append(time.perf_counter() - t)
    out["window_refresh"] = median(refreshes)
    window.close()
    ctx.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main()), flush=True)
    # PySide6 may crash while the interpreter tears the widgets down; the figures are out.
    os._exit(0)
