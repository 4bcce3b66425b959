"""Reminders view: importing appointments through the preview dialog with real clicks and
keys, over the real database and scheduling."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.reminder_import import ReminderImportDialog
from tests.reminder_files import ANN, EARLY, Event, clinic, ics
from tests.ui.conftest import Answers

LEFT = Qt.MouseButton.LeftButton
W = TypeVar("W", bound=QWidget)


def _cells(table: QTableView) -> list[list[str]]:
    model = table.model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _stored(home: Path) -> list[tuple[str, str, int]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return conn.execute(
            "SELECT recipient, send_at, reminder_offset_minutes FROM message "
            "WHERE appointment_id IS NOT NULL ORDER BY recipient, send_at"
        ).fetchall()
    finally:
        conn.close()


def _open(qtbot: QtBot, window: MainWindow, answers: Answers, path: Path) -> ReminderImportDialog:
    answers.path = str(path)
    window.show_view("Reminders")
    view = window.reminders
    assert view.objectName() == "remindersView"
    qtbot.mouseClick(_child(view, QPushButton, "importRemindersButton"), LEFT)
    qtbot.waitUntil(lambda: view.import_dialog is not None and view.import_dialog.isVisible())
    dialog = view.import_dialog
    assert dialog is not None
    _settled(qtbot, dialog)
    return dialog


def _settled(qtbot: QtBot, dialog: ReminderImportDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.planning and not dialog._timer.isActive())


def _child(parent: QWidget, kind: type[W], name: str) -> W:
    widget = parent.findChild(kind, name)
    assert widget is not None, name
    return widget


@pytest.fixture
def clinic_desk(service: Service) -> Service:
    service.update_settings(default_region="GB", zone="Europe/London")
    ContactBook(service.ctx).opt_out(ANN, "replied STOP")
    return service


def test_import_an_ics_with_an_opted_out_patient_and_one_400_days_ahead(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    clinic_desk: Service,
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    path = tmp_path / "riverside.ics"
    path.write_bytes(clinic())
    dialog = _open(qtbot, window, answers, path)

    summary = _child(dialog, QLabel, "reminderPreviewSummary").text()
    assert summary.startswith("3 appointments: 9 reminders will be created")
    problems = _cells(_child(dialog, QTableView, "problemsTable"))
    assert [(row[1], row[2]) for row in problems] == [
        ("Ann Lee", "refused"),
        ("Far Future", "refused"),
    ]
    assert "has opted out (replied STOP" in problems[0][3]
    assert "more than a year ahead" in problems[1][3]
    assert len(_cells(_child(dialog, QTableView, "createTable"))) == 9
    assert _stored(isolated_home) == []  # the preview wrote nothing

    qtbot.mouseClick(_child(dialog, QPushButton, "reminderImportButton"), LEFT)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    view = window.reminders
    assert view.status_label.text().startswith("Reminders: 9 created, 0 moved, 0 cancelled")
    assert [row[1:] for row in _cells(view.problems_table)] == [
        ["Ann Lee", problems[0][3]],
        ["Far Future", problems[1][3]],
    ]
    assert view.problems_table.isVisible()
    qtbot.waitUntil(lambda: not view.loading and len(view.appointments) == 3)
    rows = _cells(_child(view, QTableView, "appointmentsTable"))
    assert [r[1] for r in rows] == ["Jane Doe", "John Smith", "Early Bird"]
    assert rows[0][2] == "07911 123456"  # the desk's own country: national format
    assert rows[0][4].startswith("7d Thu 3 Dec 2026 10:00 GMT (held on this computer) · 2d")
    assert len(_stored(isolated_home)) == 9


def test_a_us_csv_date_and_choosing_the_date_order(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    service: Service,
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    service.update_settings(default_region="US", zone="America/New_York")
    path = tmp_path / "front-desk.csv"
    path.write_bytes(b"Patient,Mobile,Date,Time\nMaria Garcia,(202) 555-0119,12/03/2026,11:30\n")
    dialog = _open(qtbot, window, answers, path)

    order = _child(dialog, QComboBox, "dateOrderCombo")
    assert order.currentText() == "Month first (12/31/2026)"  # the desk is in the US
    assert _child(dialog, QComboBox, "reminderMap_number").currentText() == "Mobile"
    assert _child(dialog, QComboBox, "reminderMap_name").currentText() == "Patient"
    created = _cells(_child(dialog, QTableView, "createTable"))
    assert [(r[0], r[1], r[2]) for r in created] == [
        ("Maria Garcia", "Thu 3 Dec 2026 11:30 EST", "2d"),
        ("Maria Garcia", "Thu 3 Dec 2026 11:30 EST", "2h"),
    ]  # 7 days before is already past: listed as too late
    assert [r[2] for r in _cells(_child(dialog, QTableView, "problemsTable"))] == [
        "7d reminder too late"
    ]

    # Read day first, the same cell is 12 March 2026: past, so nothing can be created.
    order.setFocus()
    qtbot.keyClicks(order, "Day")
    _settled(qtbot, dialog)
    assert order.currentText() == "Day first (31/12/2026)"
    assert _cells(_child(dialog, QTableView, "createTable")) == []
    assert not _child(dialog, QPushButton, "reminderImportButton").isEnabled()

    qtbot.keyClick(order, Qt.Key.Key_Down)  # back to month first
    _settled(qtbot, dialog)
    assert order.currentText() == "Month first (12/31/2026)"
    qtbot.mouseClick(_child(dialog, QPushButton, "reminderImportButton"), LEFT)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    # 2 hours before 11:30 EST on 3 December is 14:30 UTC.
    assert _stored(isolated_home) == [
        ("+12025550119", "2026-12-01 16:30:00.000000", 2880),
        ("+12025550119", "2026-12-03 14:30:00.000000", 120),
    ]


def test_a_2_hour_reminder_for_a_0730_appointment_with_default_quiet_hours(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    clinic_desk: Service,
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    path = tmp_path / "early.ics"
    path.write_bytes(ics(Event("e1", "Early Bird", EARLY, datetime(2026, 12, 14, 7, 30))))
    dialog = _open(qtbot, window, answers, path)
    for code in ("7d", "2d"):  # only the 2-hour reminder
        box = _child(dialog, QCheckBox, f"offset_{code}")
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_Space)
        _settled(qtbot, dialog)
    created = _cells(_child(dialog, QTableView, "createTable"))
    assert [(r[2], r[3]) for r in created] == [("2h", "Sun 13 Dec 2026 20:59 GMT")]
    assert created[0][4].startswith("moved earlier from 05:30")  # not 08:00, after it

    qtbot.mouseClick(_child(dialog, QPushButton, "reminderImportButton"), LEFT)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert _stored(isolated_home) == [(EARLY, "2026-12-13 20:59:00.000000", 120)]


def test_too_late_for_the_evening_before_is_listed_as_not_possible(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    clinic_desk: Service,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    clock.set(datetime(2026, 12, 13, 22, 0, tzinfo=UTC))
    path = tmp_path / "early.ics"
    path.write_bytes(ics(Event("e1", "Early Bird", EARLY, datetime(2026, 12, 14, 7, 30))))
    dialog = _open(qtbot, window, answers, path)
    problems = _cells(_child(dialog, QTableView, "problemsTable"))
    assert [r[2] for r in problems] == [
        "7d reminder too late",
        "2d reminder too late",
        "2h reminder not possible",
    ]
    assert not _child(dialog, QPushButton, "reminderImportButton").isEnabled()


def test_other_column_names_are_chosen_in_the_mapping_and_bad_offsets_shown_beside(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    clinic_desk: Service,
    tmp_path: Path,
) -> None:
    path = tmp_path / "termine.csv"
    path.write_bytes(b"Kunde;Handy;Termin\nJane Doe;07911 123456;2026-12-05 10:00\n")
    dialog = _open(qtbot, window, answers, path)
    error = _child(dialog, QLabel, "reminderMappingError")
    assert error.isVisible() and "Kunde, Handy, Termin" in error.text()
    number = _child(dialog, QComboBox, "reminderMap_number")
    assert number.isEnabled()
    assert [number.itemText(i) for i in range(number.count())] == [
        "(none)",
        "Kunde",
        "Handy",
        "Termin",
    ]
    for name, column in (("number", "Handy"), ("start", "Termin"), ("name", "Kunde")):
        combo = _child(dialog, QComboBox, f"reminderMap_{name}")
        combo.setFocus()
        qtbot.keyClicks(combo, column)
        _settled(qtbot, dialog)
    assert not error.isVisible()
    created = _cells(_child(dialog, QTableView, "createTable"))
    assert [(r[0], r[2]) for r in created] == [("Jane Doe", "2d"), ("Jane Doe", "2h")]

    extra = _child(dialog, QLineEdit, "offsetsExtra")
    qtbot.keyClicks(extra, "soon")
    _settled(qtbot, dialog)
    offsets_error = _child(dialog, QLabel, "offsetsError")
    assert offsets_error.isVisible() and "'soon' is not a reminder time" in offsets_error.text()
    assert not _child(dialog, QPushButton, "reminderImportButton").isEnabled()


def test_reimport_shows_moves_and_cancels_before_anything_changes(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    clinic_desk: Service,
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    path = tmp_path / "riverside.ics"
    path.write_bytes(clinic())
    dialog = _open(qtbot, window, answers, path)
    qtbot.mouseClick(_child(dialog, QPushButton, "reminderImportButton"), LEFT)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    before = _stored(isolated_home)

    # The updated export: Jane later the same day, John gone, the others as they were.
    text = clinic(jane_at=datetime(2026, 12, 10, 16, 0)).decode()
    start = text.index("BEGIN:VEVENT\r\nUID:a2")
    text = text[:start] + text[text.index("END:VEVENT", start) + len("END:VEVENT\r\n") :]
    path.write_text(text, newline="")
    second = _open(qtbot, window, answers, path)
    assert second is not dialog
    changes = _cells(_child(second, QTableView, "changesTable"))
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in changes] == [
        ("Move", "Jane Doe", "7d", "Thu 3 Dec 2026 10:00 GMT", "Thu 3 Dec 2026 16:00 GMT"),
        ("Move", "Jane Doe", "2d", "Tue 8 Dec 2026 10:00 GMT", "Tue 8 Dec 2026 16:00 GMT"),
        ("Move", "Jane Doe", "2h", "Thu 10 Dec 2026 08:00 GMT", "Thu 10 Dec 2026 14:00 GMT"),
        ("Cancel", "John Smith", "7d", "Fri 4 Dec 2026 15:00 GMT", "cancelled"),
        ("Cancel", "John Smith", "2d", "Wed 9 Dec 2026 15:00 GMT", "cancelled"),
        ("Cancel", "John Smith", "2h", "Fri 11 Dec 2026 13:00 GMT", "cancelled"),
    ]
    assert _stored(isolated_home) == before  # shown, not done

    qtbot.mouseClick(_child(second, QPushButton, "reminderImportButton"), LEFT)
    qtbot.waitUntil(lambda: not second.isVisible())
    assert window.reminders.status_label.text().startswith(
        "Reminders: 0 created, 3 moved, 3 cancelled, 3 unchanged"
    )
    assert len(_stored(isolated_home)) == 9  # moved in place, nothing duplicated


def test_a_saved_template_is_chosen_for_the_reminders(
    qtbot: QtBot,
    window: MainWindow,
    answers: Answers,
    clinic_desk: Service,
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    ContactBook(clinic_desk.ctx).save_template(
        "Clinic reminder", "Dear {first_name|patient}, see you at {appt_time:%H:%M}."
    )
    path = tmp_path / "one.ics"
    path.write_bytes(ics(Event("t1", "Jane Doe", "+447911123456", datetime(2026, 12, 10, 10, 0))))
    dialog = _open(qtbot, window, answers, path)
    combo = _child(dialog, QComboBox, "reminderTemplateCombo")
    combo.setFocus()
    qtbot.keyClicks(combo, "Clinic")
    _settled(qtbot, dialog)
    text = _child(dialog, QPlainTextEdit, "reminderTextEdit").toPlainText()
    assert text.startswith("Dear {first_name|patient}")
    qtbot.mouseClick(_child(dialog, QPushButton, "reminderImportButton"), LEFT)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    conn = raw_connection.connect(isolated_home / "smsdesk.db")
    try:
        texts = {row[0] for row in conn.execute("SELECT text FROM message")}
    finally:
        conn.close()
    assert texts == {"Dear Jane, see you at 10:00."}
