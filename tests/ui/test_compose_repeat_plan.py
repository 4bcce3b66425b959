"""With a Repeat set, Compose's plan line tells the whole repetition before Schedule: how
often, how many, the first and last send time (the recipient's with the desk's beside it),
and the occurrences quiet hours move; the summary step counts the occurrences; and
``smsdesk series show`` says the same sentence, from the same engine outline."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QPushButton, QSpinBox, QWidget
from pytestqt.exceptions import TimeoutError as QtTimeout
from pytestqt.qtbot import QtBot

from smsdesk.engine.series import SeriesBook
from smsdesk.engine.service import Service
from smsdesk.ui.compose import ComposeView
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.schedule_summary import ScheduleSummaryDialog
from tests.cli_runner import Cli
from tests.ui.test_schedule_plan import NEW_YORK, pick_time, pick_zone

W = TypeVar("W", bound=QWidget)
HANDED = "The first time: Sandbox will schedule it; it goes out even if this computer is off."
MOVED = "moved from 23:30 to 08:00 next day (quiet hours 21:00–08:00 in America/New_York)"


def _child(parent: QWidget, kind: type[W], name: str) -> W:
    found = parent.findChild(kind, name)
    assert isinstance(found, kind), name
    return found


def _weekly_times(qtbot: QtBot, window: MainWindow, times: int) -> None:
    """Repeat → Custom…: the weekly preset, ending after ``times``, by keys and clicks."""
    repeat = _child(window, QComboBox, "repeatCombo")
    repeat.setFocus()
    qtbot.keyClick(repeat, Qt.Key.Key_End)  # "Custom…"
    dialog = _child(window, QDialog, "customRepeatDialog")
    qtbot.waitUntil(dialog.isVisible)
    preset = _child(dialog, QComboBox, "customRepeatPresetCombo")
    preset.setFocus()
    qtbot.keyClick(preset, Qt.Key.Key_Home)  # Daily
    qtbot.keyClick(preset, Qt.Key.Key_Down)  # Every weekday
    qtbot.keyClick(preset, Qt.Key.Key_Down)  # Weekly on <the start's day>
    assert preset.currentText().startswith("Weekly on ")
    ends = _child(dialog, QComboBox, "customRepeatEndCombo")
    ends.setFocus()
    qtbot.keyClick(ends, Qt.Key.Key_Down)  # after a number of times
    count = _child(dialog, QSpinBox, "customRepeatCountSpin")
    count.setFocus()
    count.selectAll()
    qtbot.keyClicks(count, str(times))
    qtbot.mouseClick(_child(dialog, QPushButton, "customRepeatOk"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.compose.repeat.dialog is None)
    assert repeat.currentText() == "Custom…"


def _plan_line(qtbot: QtBot, window: MainWindow, expected: str) -> str:
    """The plan line once it reads ``expected`` (the outline and the first time's plan are
    worked out apart), or what it read after 5 s."""
    label = window.compose.handling_label
    with contextlib.suppress(QtTimeout):
        qtbot.waitUntil(lambda: label.text() == expected, timeout=5000)
    return label.text()


def _will(cli: Cli, series_id: str) -> list[str]:
    shown = cli("series", "show", series_id)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("  will: "))
    details = [line[4:] for line in lines[at + 1 :] if line.startswith("    ")]
    return [lines[at].removeprefix("  will: "), *details]


def test_weekly_five_times_names_the_count_and_the_last_date_before_schedule(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli
) -> None:
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, "+15551234567")
    qtbot.keyClicks(compose.message_edit, "Team meeting at 10")
    _weekly_times(qtbot, window, 5)

    outline = (
        "Weekly on Tuesday at 10:00, 5 times: first Tue 1 Dec 2026 10:00 UTC, "
        "last Tue 29 Dec 2026 10:00 UTC."
    )
    assert _plan_line(qtbot, window, f"{outline} {HANDED}") == f"{outline} {HANDED}"
    assert service.list_messages() == []  # said before anything is stored

    # An ordinary weekly message to one person: Schedule stores it at once.
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    result = compose.result_label
    qtbot.waitUntil(lambda: result.text().startswith("Scheduled a recurring"), timeout=5000)
    assert result.text() == f"Scheduled a recurring message to +15551234567: {outline}"
    # What the engine stored is what the line said: five Tuesdays, the last on 29 Dec.
    sent = sorted(m.send_at for m in service.list_messages())
    assert sent == [datetime(2026, 12, day, 10, 0, tzinfo=UTC) for day in (1, 8, 15, 22, 29)]

    [series] = SeriesBook(service).list_series()
    assert _will(cli, series.id) == [outline]


def _weekly_in_new_york_at_2330(qtbot: QtBot, window: MainWindow) -> ComposeView:
    """Typed as a receptionist would: a New York number, 23:30 New York time, weekly, 5 times
    (inside the default quiet hours, 21:00–08:00 there)."""
    compose = window.compose
    qtbot.keyClicks(compose.recipients_edit, NEW_YORK)
    qtbot.keyClicks(compose.message_edit, "Clinic notes for the week")
    pick_zone(qtbot, compose, "America/New_York")
    pick_time(qtbot, compose, "23", "30")
    _weekly_times(qtbot, window, 5)
    return compose


def test_quiet_hours_moves_are_marked_in_the_plan_and_the_summary_step(
    qtbot: QtBot, window: MainWindow, service: Service, cli: Cli
) -> None:
    compose = _weekly_in_new_york_at_2330(qtbot, window)

    def at(day: int) -> str:
        return f"Wed {day} Dec 2026 08:00 EST (Wed {day} Dec 2026 13:00 UTC here)"

    outline = (
        f"Weekly on Tuesday at 23:30 America/New_York, 5 times: first {at(2)}, "
        f"last {at(30)} — each {MOVED}."
    )
    assert _plan_line(qtbot, window, f"{outline} {HANDED}") == f"{outline} {HANDED}"
    moved = [f"{at(day)} — {MOVED}" for day in (2, 9, 16, 23, 30)]
    assert compose.plan_view.lines() == moved
    assert compose.plan_view.details.isVisible()
    assert service.list_messages() == []

    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compose.summary_dialog is not None, timeout=5000)
    dialog = compose.summary_dialog
    assert isinstance(dialog, ScheduleSummaryDialog)
    assert dialog.objectName() == "scheduleSummaryDialog"
    qtbot.waitUntil(dialog.isVisible)
    values = {title: label.text() for title, label in dialog.values.items()}
    assert values["Occurrences"] == "5 sent"
    assert values["First send"] == at(2)
    assert values["Last send"] == at(30)
    assert values["Quiet hours"] == "5 occurrences moved"
    assert values["Messages each time"] == "1"
    assert service.list_messages() == []  # nothing stored while it asks
    qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: compose.result_label.text().startswith("Scheduled a"), timeout=5000)
    sent = sorted(m.send_at for m in service.list_messages())
    assert sent == [datetime(2026, 12, day, 13, 0, tzinfo=UTC) for day in (2, 9, 16, 23, 30)]
    [series] = SeriesBook(service).list_series()
    assert _will(cli, series.id) == [outline, *moved]


def test_back_from_the_summary_stores_no_series(
    qtbot: QtBot, window: MainWindow, service: Service
) -> None:
    compose = _weekly_in_new_york_at_2330(qtbot, window)
    label = compose.handling_label
    qtbot.waitUntil(lambda: "each moved" in label.text() and "first time" in label.text())
    qtbot.mouseClick(compose.schedule_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compose.summary_dialog is not None, timeout=5000)
    dialog = compose.summary_dialog
    assert dialog is not None
    qtbot.mouseClick(dialog.back_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compose.summary_dialog is None)
    assert compose.result_label.text() == "Not scheduled; nothing was stored."
    assert SeriesBook(service).list_series() == []
    assert service.list_messages() == []
