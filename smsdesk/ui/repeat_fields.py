"""The repeat part of a recurring message's form, shared by the Series tab and Compose's
custom-rule dialog: a preset (daily, weekdays, weekly on the start's day, every N weeks,
monthly on its day or on its "first Monday", yearly) or a custom RFC 5545 rule, an end
(never, after N, until a date), public holidays to skip and what a month without the day
does. Widgets are named ``<prefix>PresetCombo``, ``<prefix>RuleEdit`` and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from smsdesk.core.recurrence import CLAMP, SKIP, preset_rule, rule_words
from smsdesk.ui.widgets import error_label

PRESETS = ("daily", "weekdays", "weekly", "every_n_weeks", "monthly_day", "monthly_weekday",
           "yearly", "custom")  # fmt: skip
ENDS = ("never", "after", "until")
# Which errors of the engine belong beside the repeat fields.
RULE_FIELDS = frozenset({"rule", "count", "until", "holidays", "month_end", "every"})


def preset_label(kind: str, start: datetime, every: int = 2) -> str:
    """The preset's words for this start, e.g. "Weekly on Monday", "Monthly on the first
    Monday"."""
    if kind == "custom":
        return "Custom rule (RRULE)…"
    return rule_words(preset_rule(kind, start, every))


def row_of(*widgets: QWidget, stretch: tuple[int, ...] = ()) -> QWidget:
    """Widgets side by side, as one form field."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for n, widget in enumerate(widgets):
        layout.addWidget(widget, stretch[n] if n < len(stretch) else 0)
    return box


class RepeatFields:
    """The repeat widgets and what they say. ``changed`` is called after any edit."""

    def __init__(self, prefix: str, changed: Callable[[], None], *, default: str = "weekly"):
        self._changed = changed
        self._start = datetime(2000, 1, 3, 9, 0)
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName(f"{prefix}PresetCombo")
        self.preset_combo.setAccessibleName("Repeat")
        self.every_spin = QSpinBox()
        self.every_spin.setObjectName(f"{prefix}EverySpin")
        self.every_spin.setAccessibleName("Every how many weeks")
        self.every_spin.setRange(2, 52)
        self.rule_edit = QLineEdit()
        self.rule_edit.setObjectName(f"{prefix}RuleEdit")
        self.rule_edit.setAccessibleName("Custom rule")
        self.rule_edit.setPlaceholderText("FREQ=MONTHLY;BYDAY=1MO")
        self.end_combo = QComboBox()
        self.end_combo.setObjectName(f"{prefix}EndCombo")
        self.end_combo.setAccessibleName("Ends")
        self.end_combo.addItems(["Never", "After a number of times", "On a date"])
        self.count_spin = QSpinBox()
        self.count_spin.setObjectName(f"{prefix}CountSpin")
        self.count_spin.setAccessibleName("Number of times")
        self.count_spin.setRange(1, 999)
        self.count_spin.setValue(10)
        self.until_edit = QDateEdit()
        self.until_edit.setObjectName(f"{prefix}UntilEdit")
        self.until_edit.setAccessibleName("Last date")
        self.until_edit.setDisplayFormat("yyyy-MM-dd")
        self.holidays_edit = QLineEdit()
        self.holidays_edit.setObjectName(f"{prefix}HolidaysEdit")
        self.holidays_edit.setAccessibleName("Skip public holidays of")
        self.holidays_edit.setPlaceholderText("e.g. GB or US-CA; empty: none")
        self.month_end_combo = QComboBox()
        self.month_end_combo.setObjectName(f"{prefix}MonthEndCombo")
        self.month_end_combo.setAccessibleName("A month without the day")
        self.month_end_combo.addItem("Skip that month", SKIP)
        self.month_end_combo.addItem("Use the month's last day", CLAMP)
        self.rule_error = error_label(f"{prefix}RuleError", "Repeat error")
        self._default = default

        self.every_spin.valueChanged.connect(lambda _v: self._relabel())
        self.preset_combo.currentIndexChanged.connect(lambda _i: self._rule_changed())
        self.end_combo.currentIndexChanged.connect(lambda _i: self._update_ends())
        for signal in (
            self.rule_edit.textChanged,
            self.holidays_edit.textChanged,
            self.count_spin.valueChanged,
            self.until_edit.dateChanged,
            self.month_end_combo.currentIndexChanged,
        ):
            signal.connect(lambda *_a: self._changed())
        self._update_ends()

    # -- the rows a form shows ------------------------------------------------------------

    def repeat_row(self) -> QWidget:
        return row_of(self.preset_combo, self.every_spin, self.rule_edit, stretch=(1, 0, 1))

    def end_row(self) -> QWidget:
        return row_of(
            self.end_combo, self.count_spin, self.until_edit, QWidget(), stretch=(0, 0, 0, 1)
        )

    def skip_row(self) -> QWidget:
        return row_of(self.holidays_edit, self.month_end_combo, stretch=(1, 0))

    # -- state ------------------------------------------------------------------------------

    def set_start(self, start: datetime) -> None:
        """The first occurrence (wall-clock): the presets speak of its day."""
        self._start = start
        if self.until_edit.date() < QDate(start.year, start.month, start.day):
            self.until_edit.setDate(QDate(start.year + 1, start.month, 1))
        self._relabel()

    def _relabel(self) -> None:
        current = self.preset_combo.currentData() or self._default
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for kind in PRESETS:
            label = preset_label(kind, self._start, self.every_spin.value())
            self.preset_combo.addItem(label, kind)
        self.preset_combo.setCurrentIndex(PRESETS.index(current))
        self.preset_combo.blockSignals(False)
        self._rule_changed()

    def _rule_changed(self) -> None:
        kind = self.preset_combo.currentData()
        self.every_spin.setVisible(kind == "every_n_weeks")
        self.rule_edit.setVisible(kind == "custom")
        self._changed()

    def _update_ends(self) -> None:
        end = self.end()
        self.count_spin.setVisible(end == "after")
        self.until_edit.setVisible(end == "until")
        self._changed()

    def end(self) -> str:
        return ENDS[self.end_combo.currentIndex()]

    def rule(self) -> str:
        kind = str(self.preset_combo.currentData())
        if kind == "custom":
            return self.rule_edit.text()
        return preset_rule(kind, self._start, self.every_spin.value())

    def count(self) -> int | None:
        return self.count_spin.value() if self.end() == "after" else None

    def until(self) -> date | None:
        if self.end() != "until":
            return None
        day = self.until_edit.date()
        return date(day.year(), day.month(), day.day())

    def holidays(self) -> str | None:
        return self.holidays_edit.text().strip() or None

    def month_end(self) -> str:
        return str(self.month_end_combo.currentData())
