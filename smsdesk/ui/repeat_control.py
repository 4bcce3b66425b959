"""Compose's Repeat control: "Does not repeat" (Compose schedules one batch, as ever), a
preset that speaks of the chosen time ("Weekly on Monday", "Monthly on the first Monday"),
or "Custom…", a dialog with the Series tab's own fields (any rule, an end, holidays to skip,
what a month without the day does). With a repeat chosen, the engine's series outline (how
often, how many, the first and last time, what quiet hours move) is handed to Compose's
plan (``outlined``), and Schedule starts a series instead.

The outline and the storing are worked out on the background helper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.recurrence import SKIP, preset_rule
from smsdesk.engine.series import SeriesBook, SeriesRequest
from smsdesk.engine.series import SeriesView as StartedSeries
from smsdesk.engine.series_outline import SeriesOutline, outline_headline
from smsdesk.engine.service import Service
from smsdesk.ui.repeat_fields import RepeatFields, preset_label, row_of
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import error_label, qt_to_wall, show_error, with_error

NONE, CUSTOM = "none", "custom"
CHOICES = (NONE, "daily", "weekdays", "weekly", "every_n_weeks", "monthly_day",
           "monthly_weekday", "yearly", CUSTOM)  # fmt: skip
# Errors about the series that belong beside Compose's own fields.
_AS_COMPOSE = {"start": "send_at", "group": "recipients", "contact": "recipients"}


@dataclass(frozen=True)
class CustomRule:
    rule: str
    count: int | None = None
    until: date | None = None
    holidays: str | None = None
    month_end: str = SKIP


class CustomRepeatDialog(QDialog):
    """The custom rule: the Series tab's repeat fields, checked before it closes."""

    def __init__(self, book: SeriesBook, tasks: TaskRunner, base: SeriesRequest, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("customRepeatDialog")
        self.setWindowTitle("Custom repeat")
        self.book, self.tasks, self.base = book, tasks, base
        self.chosen: CustomRule | None = None
        self.fields = RepeatFields("customRepeat", lambda: None, default=CUSTOM)
        self.fields.set_start(base.start.replace(tzinfo=None))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setObjectName("customRepeatOk")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName(
            "customRepeatCancel"
        )
        self.buttons.accepted.connect(self.check)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Repeat", self.fields.repeat_row())
        form.addRow("Ends", self.fields.end_row())
        form.addRow("Skip", with_error(self.fields.skip_row(), self.fields.rule_error))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def rule(self) -> CustomRule:
        f = self.fields
        return CustomRule(f.rule(), f.count(), f.until(), f.holidays(), f.month_end())

    def check(self) -> None:
        """OK: the rule is read by the engine first; a bad one is said beside it."""
        show_error(self.fields.rule_error, "")
        try:
            chosen = self.rule()
        except SmsdeskError as exc:
            show_error(self.fields.rule_error, str(exc))
            return
        req = _with_rule(self.base, chosen)
        self.buttons.setEnabled(False)
        self.tasks.submit(
            lambda: self.book.preview(req, 1), lambda _o: self._checked(chosen), self._refused
        )

    def _checked(self, chosen: CustomRule) -> None:
        self.buttons.setEnabled(True)
        self.chosen = chosen
        self.accept()

    def _refused(self, exc: Exception) -> None:
        self.buttons.setEnabled(True)
        show_error(self.fields.rule_error, str(exc))


def _with_rule(req: SeriesRequest, rule: CustomRule) -> SeriesRequest:
    return replace(
        req,
        rule=rule.rule,
        count=rule.count,
        until=rule.until,
        holidays=rule.holidays,
        month_end=rule.month_end,
    )


class RepeatControl(QWidget):
    started = Signal(object, object)  # the series (engine SeriesView) and its outline
    failed = Signal(object)  # the exception; a SmsdeskError names its field in Compose's terms
    outlined = Signal(object)  # the SeriesOutline of the form as it is; None: no repeat

    def __init__(
        self,
        service: Service,
        tasks: TaskRunner,
        when: QDateTimeEdit,
        zone: QComboBox,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.book = SeriesBook(service)
        self.tasks = tasks
        self.when, self.zone = when, zone
        self.custom: CustomRule | None = None
        self.dialog: CustomRepeatDialog | None = None
        self._index = 0  # the choice before "Custom…" was picked
        self._seq = 0  # newer edits make older outlines stale
        # Compose's form as a request (recipients too: quiet hours are theirs), or None
        # while it cannot be read.
        self.form: Callable[[], dict[str, Any] | None] = lambda: None
        self.outline: SeriesOutline | None = None
        self.combo = QComboBox()
        self.combo.setObjectName("repeatCombo")
        self.combo.setAccessibleName("Repeat")
        self.error = error_label("repeatError", "Repeat error")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(row_of(self.combo, QWidget(), stretch=(0, 1)))
        layout.addWidget(self.error)
        self._relabel()
        self.combo.currentIndexChanged.connect(self._chosen)
        when.dateTimeChanged.connect(lambda _d: self._relabel())
        zone.currentTextChanged.connect(lambda _t: self.update_outline())

    # -- the choice -----------------------------------------------------------------------

    def start(self) -> datetime:
        return qt_to_wall(self.when.dateTime())

    def choice(self) -> str:
        return str(self.combo.currentData() or NONE)

    def repeats(self) -> bool:
        return self.choice() != NONE

    def reset(self) -> None:
        self.custom = None
        self.combo.setCurrentIndex(0)

    def _relabel(self) -> None:
        start = self.start()
        current = self.choice()
        self.combo.blockSignals(True)
        self.combo.clear()
        for kind in CHOICES:
            label = {NONE: "Does not repeat", CUSTOM: "Custom…"}.get(kind)
            self.combo.addItem(label or preset_label(kind, start, 2), kind)
        self.combo.setCurrentIndex(CHOICES.index(current))
        self.combo.blockSignals(False)
        self.update_outline()

    def _chosen(self, index: int) -> None:
        if self.choice() == CUSTOM:
            self._ask_custom()
            return
        self._index = index
        self.custom = None
        self.update_outline()

    def _ask_custom(self) -> None:
        dialog = CustomRepeatDialog(self.book, self.tasks, self._base(), self)
        self.dialog = dialog

        def answered(result: int) -> None:
            self.dialog = None
            dialog.deleteLater()
            if result == int(QDialog.DialogCode.Accepted) and dialog.chosen is not None:
                self.custom = dialog.chosen
                self._index = CHOICES.index(CUSTOM)
            elif self.custom is None:
                self.combo.setCurrentIndex(self._index)  # cancelled: as it was
            self.update_outline()

        dialog.finished.connect(answered)
        dialog.open()

    def _base(self, request: dict[str, Any] | None = None) -> SeriesRequest:
        """The series Compose's form gives (its rule from this control)."""
        kind = self.choice()
        start = self.start()
        if request is None:
            base = SeriesRequest(text="", rule="daily", start=start, zone=self.zone.currentText())
        else:
            base = SeriesRequest(
                text=request["text"],
                rule="daily",
                start=request["send_at"],
                zone=request["zone"],
                numbers=tuple(request["recipients"]),
                group=request["group"],
                account=request["account"],
                sender=request["sender"],
            )
        if kind == CUSTOM and self.custom is not None:
            return _with_rule(base, self.custom)
        if kind in (NONE, CUSTOM):
            return base
        return replace(base, rule=preset_rule(kind, start, 2))

    # -- what it will do ------------------------------------------------------------------

    def series_request(self, request: dict[str, Any] | None) -> SeriesRequest:
        """The series Compose's form (``request``; None: its time alone) and this control
        give; InvalidInput for a rule that cannot be."""
        return self._base(request)

    def update_outline(self) -> None:
        """The outline of the chosen repeat, worked out in the background, to ``outlined``."""
        self._seq += 1
        seq = self._seq
        show_error(self.error, "")
        if not self.repeats() or (self.choice() == CUSTOM and self.custom is None):
            self._outlined(seq, None)
            return
        try:
            req = self._base(self.form())
        except SmsdeskError as exc:
            self._outline_failed(seq, exc)
            return
        book = self.book
        self.tasks.submit(
            lambda: book.outline(req),
            lambda outline: self._outlined(seq, outline),
            lambda e: self._outline_failed(seq, e),
        )

    def _outlined(self, seq: int, outline: SeriesOutline | None) -> None:
        if seq == self._seq:
            self.outline = outline
            self.outlined.emit(outline)

    def _outline_failed(self, seq: int, exc: Exception) -> None:
        if seq == self._seq:
            self._outlined(seq, None)
            show_error(self.error, str(exc))

    # -- Schedule -------------------------------------------------------------------------

    def schedule(self, request: dict[str, Any]) -> None:
        """Start the series Compose's form and this control give; ``started`` or
        ``failed`` says how it went."""
        show_error(self.error, "")
        if request.get("recipient_local"):
            self._failed(
                InvalidInput(
                    "A repeating message goes at one time for everyone; untick 'each "
                    "recipient's own time zone' or choose Does not repeat.",
                    field="rule",
                )
            )
            return
        req = self._base(request)
        book = self.book

        def work() -> tuple[StartedSeries, SeriesOutline]:
            view = book.add(req)
            return view, book.outline_of(view.id)

        self.tasks.submit(work, lambda done: self.started.emit(*done), self._failed)

    def _failed(self, exc: Exception) -> None:
        """Compose places the error: beside this control (``error``) for the rule's fields."""
        if isinstance(exc, InvalidInput) and exc.field in _AS_COMPOSE:
            exc = InvalidInput(exc.message, field=_AS_COMPOSE[exc.field])
        self.failed.emit(exc)


def started_text(view: StartedSeries, outline: SeriesOutline) -> str:
    """What Compose says once a series is stored: the outline it was stored with."""
    return f"Scheduled a recurring message to {view.recipients}: {outline_headline(outline)}"
