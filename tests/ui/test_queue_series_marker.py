"""The Queue marks a message that is an occurrence of a series (↻), names the series in the
text's tooltip and in the detail pane, and reads the series for a whole page in one query."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot
from sqlalchemy import event

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.series import SeriesBook, SeriesRequest
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import Column

LABEL = "Weekly on Monday: Rota for the week is up."


def _series(service: Service) -> None:
    SeriesBook(service).add(
        SeriesRequest(
            text="Rota for the week is up.",
            rule="FREQ=WEEKLY;BYDAY=MO",
            start=datetime(2026, 12, 7, 8, 30),
            zone="Europe/London",
            numbers=("+447911123456",),
        )
    )


def test_an_occurrence_is_marked_and_its_series_named(
    qtbot: QtBot, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    _series(service)
    service.schedule(["+447911123458"], "Just once", clock.now() + timedelta(hours=2), "UTC")
    window.queue.refresh()
    model = window.queue.model
    texts = [model.index(r, Column.TEXT).data() for r in range(model.rowCount())]
    assert texts[0] == "Just once"  # an ordinary message: no mark
    occurrences = [r for r, t in enumerate(texts) if t == "↻ Rota for the week is up."]
    assert len(occurrences) == 5 == model.rowCount() - 1  # five Mondays stored ahead
    tip = model.index(occurrences[0], Column.TEXT).data(Qt.ItemDataRole.ToolTipRole)
    assert LABEL in tip and tip.startswith("Rota for the week is up.")
    assert model.index(0, Column.TEXT).data(Qt.ItemDataRole.ToolTipRole) == "Just once"

    table = window.queue.table
    rect = table.visualRect(model.index(occurrences[0], Column.RECIPIENT))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    detail = window.findChild(QTextBrowser, "messageDetail")
    assert detail is not None
    qtbot.waitUntil(lambda: "Repeats" in detail.toPlainText())
    assert LABEL in detail.toPlainText()


def test_the_series_of_a_page_is_one_query(service: Service, clock: ManualClock) -> None:
    _series(service)
    for i in range(3):
        service.schedule([f"+44791112350{i}"], f"Once {i}", clock.now() + timedelta(hours=1), "UTC")
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    engine = service.ctx.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = Browser(service.ctx).page(QueueFilter(), limit=100)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [m.series for m in page].count(LABEL) == 5
    assert [m.series for m in page].count(None) == 3
    assert sum("series_occurrence" in s for s in statements) == 1
