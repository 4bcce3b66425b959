"""Small pieces the views share: error labels beside fields, a confirmation hook, zones."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from functools import cache

from PySide6.QtCore import QDate, QDateTime, QTime, QTimeZone
from PySide6.QtWidgets import QComboBox, QLabel, QMessageBox, QVBoxLayout, QWidget

# (title, question) -> the user's answer. Views take one so tests answer without a dialog.
Confirm = Callable[[str, str], bool]

ERROR_STYLE = "color: #c0392b;"


def ask_with_dialog(parent: QWidget) -> Confirm:
    def confirm(title: str, question: str) -> bool:
        answer = QMessageBox.question(parent, title, question)
        return answer == QMessageBox.StandardButton.Yes

    return confirm


def error_label(name: str, accessible: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def show_error(label: QLabel, message: str) -> None:
    label.setText(message)
    label.setVisible(bool(message))


def with_error(widget: QWidget, error: QLabel) -> QWidget:
    """The field with its error right below it, so the message sits beside what is wrong."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget)
    layout.addWidget(error)
    return box


@cache
def zone_names() -> tuple[str, ...]:
    # Only Area/City names: the legacy aliases (EST5EDT, US/Eastern...) just add noise.
    names = {n for n in zoneinfo.available_timezones() if re.fullmatch(r"[A-Z][^/]+/.+", n)}
    return ("UTC", *sorted(names))


def zone_combo(name: str, accessible: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setAccessibleName(accessible)
    combo.setEditable(True)  # typing "Lon" finds Europe/London through the completer
    combo.addItems(list(zone_names()))
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    return combo


def set_zone(combo: QComboBox, zone: str) -> None:
    index = combo.findText(zone)
    if index < 0:
        combo.addItem(zone)
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def wall_to_qt(wall: datetime) -> QDateTime:
    """A naive wall time as a QDateTime in UTC, so Qt never applies the system's DST rules to
    what is really a wall time in the zone picked beside it."""
    return QDateTime(
        QDate(wall.year, wall.month, wall.day), QTime(wall.hour, wall.minute), QTimeZone.utc()
    )


def qt_to_wall(value: QDateTime) -> datetime:
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute())
