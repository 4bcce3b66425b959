"""Opt-outs in the window: the list with where each came from, search, add with a reason,
remove after confirming, and the command line seeing the same list."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import queries
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.optouts_view import OptOutsView
from tests.cli_runner import Cli
from tests.ui.conftest import Answers


def _view(window: MainWindow) -> OptOutsView:
    window.show_view("Opt-outs")
    view = window.opt_outs
    assert view.isVisible() and view.objectName() == "optOutsView"
    return view


def _rows(view: OptOutsView) -> list[tuple[str, ...]]:
    table = view.table
    return [
        tuple(table.item(r, c).text() for c in range(table.columnCount()))  # type: ignore[union-attr]
        for r in range(table.rowCount())
        if not table.isRowHidden(r)
    ]


def _click_row(qtbot: QtBot, view: OptOutsView, number: str) -> None:
    table = view.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == number)  # type: ignore[union-attr]
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_add_an_opt_out_with_a_reason_then_remove_it_after_confirming(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli, answers: Answers
) -> None:
    view = _view(window)
    assert view.count_label.text() == "0 numbers opted out"
    qtbot.keyClicks(view.number_edit, "+44 7911 123456")
    qtbot.keyClicks(view.reason_edit, "asked at the desk")
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)

    assert view.status_label.text() == "+447911123456 will not be messaged.", (
        view.number_error.text()
    )
    [row] = _rows(view)
    assert row[0] == "+447911123456"
    assert (row[3], row[4]) == ("Typed by staff", "asked at the desk")
    listed = cli("optout", "list", "--json").json()
    assert [(e["number"], e["source"]) for e in listed] == [
        ("+447911123456", "manual: asked at the desk")
    ]

    answers.confirm = False
    _click_row(qtbot, view, "+447911123456")
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert answers.asked == 1
    assert len(cli("optout", "list", "--json").json()) == 1  # said no: kept

    answers.confirm = True
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert answers.asked == 2
    assert cli("optout", "list", "--json").json() == []
    assert _rows(view) == []
    assert view.status_label.text() == "+447911123456 may be messaged again."


def test_a_bad_number_is_refused_beside_the_field(
    qtbot: QtBot, window: MainWindow, cli: Cli
) -> None:
    view = _view(window)
    qtbot.keyClicks(view.number_edit, "12ab")
    qtbot.keyClick(view.number_edit, Qt.Key.Key_Return)
    assert view.number_error.isVisible() and view.number_error.text()
    assert cli("optout", "list", "--json").json() == []
    assert view.number_edit.text() == "12ab"  # kept to be corrected


def test_sources_are_told_apart_and_search_finds_by_digits_or_words(
    qtbot: QtBot, window: MainWindow, service: Service, ctx: AppContext
) -> None:
    book = service.contact_book()
    book.opt_out("+15555550101", "manual")
    book.opt_out("+15555550102", "replied STOP")
    with ctx.db.write() as s:  # as the engine records a provider's report
        queries.record_opt_out(
            s, "+15555550103", service.clock.now(), "Sandbox: recipient opted out"
        )
    view = _view(window)
    view.refresh()
    sources = {row[0]: (row[3], row[4]) for row in _rows(view)}
    assert sources == {
        "+15555550101": ("Typed by staff", ""),
        "+15555550102": ("Reply", "replied STOP"),
        "+15555550103": ("Provider report (Sandbox)", "recipient opted out"),
    }
    qtbot.keyClicks(view.search_edit, "555 0102")
    assert [r[0] for r in _rows(view)] == ["+15555550102"]
    view.search_edit.clear()
    qtbot.keyClicks(view.search_edit, "provider")
    assert [r[0] for r in _rows(view)] == ["+15555550103"]


def test_an_opt_out_recorded_elsewhere_shows_when_the_view_is_shown_again(
    qtbot: QtBot, window: MainWindow, cli: Cli
) -> None:
    view = _view(window)
    assert _rows(view) == []
    window.show_view("Queue")
    assert cli("optout", "add", "+15555550104", "--source", "replied STOP").code == 0
    window.show_view("Opt-outs")
    assert [(r[0], r[3]) for r in _rows(view)] == [("+15555550104", "Reply")]
