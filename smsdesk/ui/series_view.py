"""Series: recurring messages, each with its rule in words and its next occurrences (skipped
ones shown as skipped, with why), and a form to start one from a preset (daily, weekdays,
weekly on the start's day, every N weeks, monthly on its day or on its "first Monday",
yearly) or a custom RFC 5545 rule, with an end (never, after N, until a date).

Everything that reads or writes the database runs on the background helper; the next dates
shown while the form is filled in are computed there too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.series import OccurrenceView, SeriesBook, SeriesRequest
from smsdesk.engine.series import SeriesView as SeriesSummary
from smsdesk.engine.service import Service
from smsdesk.ui.reminder_import import fill
from smsdesk.ui.repeat_fields import RULE_FIELDS, RepeatFields
from smsdesk.ui.rows_table import rows_table
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import (
    Confirm,
    ask_with_dialog,
    error_label,
    qt_to_wall,
    set_zone,
    show_error,
    wall_to_qt,
    with_error,
    zone_combo,
)

NO_GROUP = "(no group)"
_DAY = timedelta(days=1)
# Which field an error belongs beside.
_START_FIELDS = {"start", "zone", "send_at"}


def occurrence_text(o: OccurrenceView) -> tuple[str, str, str]:
    """(when, status, note) as the lists show them."""
    if o.status == "skipped":
        return o.when, "skipped", o.skipped_because
    words = {"stored": "in the queue", "planned": "planned", "withdrawn": "withdrawn"}
    status = words.get(o.status, o.status)
    if o.states:
        status += f" ({', '.join(sorted(set(o.states)))})"
    return o.when, status, o.moved


class SeriesView(QWidget):
    changed = Signal()  # a series was added or changed: Queue and Calendar re-read

    def __init__(
        self, service: Service, tasks: TaskRunner, *, confirm: Confirm | None = None
    ) -> None:
        super().__init__()
        self.setObjectName("seriesView")
        self.setAccessibleName("Series")
        self.book = SeriesBook(service)
        self.service = service
        self.tasks = tasks
        self.confirm = confirm or ask_with_dialog(self)
        self.series: list[SeriesSummary] = []
        self._preview_seq = 0

        self.table = rows_table(
            "seriesTable", "Recurring messages", ["Repeats", "To", "Next", "State", "Text"]
        )
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._show_selected())
        self.occurrences = rows_table(
            "occurrencesTable", "Next occurrences of the selected series", ["When", "", "Note"]
        )
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseSeriesButton")
        self.pause_button.setAccessibleName("Pause or resume the selected series")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("End series…")
        self.cancel_button.setObjectName("cancelSeriesButton")
        self.cancel_button.setAccessibleName("End the selected series")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.status_label = QLabel()
        self.status_label.setObjectName("seriesStatus")
        self.status_label.setWordWrap(True)
        actions = QHBoxLayout()
        actions.addWidget(self.pause_button)
        actions.addWidget(self.cancel_button)
        actions.addStretch(1)

        form_box = self._build_form()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Recurring messages"))
        layout.addWidget(self.table, 2)
        layout.addLayout(actions)
        layout.addWidget(self.occurrences, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(form_box)
        self._update_presets()

    # -- the form -------------------------------------------------------------------------

    def _build_form(self) -> QGroupBox:
        self.recipients_edit = QLineEdit()
        self.recipients_edit.setObjectName("seriesRecipientsEdit")
        self.recipients_edit.setAccessibleName("Numbers")
        self.recipients_edit.setPlaceholderText("+44 7911 123456, … (or a group below)")
        self.group_combo = QComboBox()
        self.group_combo.setObjectName("seriesGroupCombo")
        self.group_combo.setAccessibleName("Group, its members as they are at each occurrence")
        self.group_combo.addItem(NO_GROUP)
        self.recipients_error = error_label("seriesRecipientsError", "Recipients error")
        self.text_edit = QPlainTextEdit()
        self.text_edit.setObjectName("seriesTextEdit")
        self.text_edit.setAccessibleName("Message text")
        self.text_edit.setTabChangesFocus(True)  # Tab moves on, as everywhere else
        self.text_edit.setFixedHeight(60)
        self.text_error = error_label("seriesTextError", "Text error")
        self.start_edit = QDateTimeEdit()
        self.start_edit.setObjectName("seriesStartEdit")
        self.start_edit.setAccessibleName("First occurrence")
        self.start_edit.setTimeZone(wall_to_qt(datetime(2000, 1, 1)).timeZone())
        self.start_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.zone_combo = zone_combo("seriesZoneCombo", "Time zone of the series")
        self.start_error = error_label("seriesStartError", "Start error")
        self.repeat = RepeatFields("series", self.update_preview)
        self.rule_error = self.repeat.rule_error
        self.preview_label = QLabel()
        self.preview_label.setObjectName("seriesPreview")
        self.preview_label.setAccessibleName("Next dates")
        self.preview_label.setWordWrap(True)
        self.add_button = QPushButton("Start series")
        self.add_button.setObjectName("addSeriesButton")
        self.add_button.setAccessibleName("Start the recurring message")
        self.add_button.clicked.connect(self.add)

        now = self.service.clock.now()
        zone = self.service.settings().zone or "UTC"
        set_zone(self.zone_combo, zone)
        local = now.astimezone(resolve_zone(zone)).replace(tzinfo=None, second=0, microsecond=0)
        start = local.replace(hour=9, minute=0)  # 09:00 today, or tomorrow if that passed
        self.start_edit.setDateTime(wall_to_qt(start if start > local else start + _DAY))
        self.repeat.until_edit.setDate(QDate(local.year + 1, local.month, 1))

        who = QHBoxLayout()
        who.addWidget(self.recipients_edit, 2)
        who.addWidget(self.group_combo, 1)
        when = QHBoxLayout()
        when.addWidget(self.start_edit)
        when.addWidget(self.zone_combo, 1)
        box = QGroupBox("New recurring message")
        form = QFormLayout(box)
        form.addRow("To", with_error(_row(who), self.recipients_error))
        form.addRow("Text", with_error(self.text_edit, self.text_error))
        form.addRow("First time", with_error(_row(when), self.start_error))
        form.addRow("Repeat", self.repeat.repeat_row())
        form.addRow("Ends", self.repeat.end_row())
        form.addRow("Skip", with_error(self.repeat.skip_row(), self.rule_error))
        form.addRow("Next dates", self.preview_label)
        form.addRow("", self.add_button)

        self.start_edit.dateTimeChanged.connect(lambda _d: self._update_presets())
        self.zone_combo.currentTextChanged.connect(lambda _t: self.update_preview())
        return box

    def _update_presets(self) -> None:
        self.repeat.set_start(qt_to_wall(self.start_edit.dateTime()))

    def rule(self) -> str:
        return self.repeat.rule()

    def request(self) -> SeriesRequest:
        """The form as a request (checked by the engine when stored)."""
        group = self.group_combo.currentText()
        numbers = tuple(n.strip() for n in self.recipients_edit.text().split(",") if n.strip())
        return SeriesRequest(
            text=self.text_edit.toPlainText(),
            rule=self.rule(),
            start=qt_to_wall(self.start_edit.dateTime()),
            zone=self.zone_combo.currentText(),
            numbers=numbers,
            group=None if group == NO_GROUP else group,
            count=self.repeat.count(),
            until=self.repeat.until(),
            holidays=self.repeat.holidays(),
            month_end=self.repeat.month_end(),
        )

    def update_preview(self) -> None:
        """The next dates the form gives, computed in the background; the newest wins."""
        if not hasattr(self, "preview_label"):
            return
        self._preview_seq += 1
        seq = self._preview_seq
        try:
            req = replace(self.request(), numbers=(), group=None)
        except SmsdeskError as exc:
            self._preview_failed(seq, exc)
            return
        self.tasks.submit(
            lambda: self.book.preview(req, 5),
            lambda found: self._preview_ready(seq, found),
            lambda exc: self._preview_failed(seq, exc),
        )

    def _preview_ready(self, seq: int, found: list[OccurrenceView]) -> None:
        if seq != self._preview_seq:
            return
        show_error(self.rule_error, "")
        show_error(self.start_error, "")
        lines = []
        for o in found:
            when, _status, note = occurrence_text(o)
            if o.status == "skipped":
                lines.append(f"{when}: skipped ({note})")
            else:
                lines.append(when + (f" ({note})" if note else ""))
        self.preview_label.setText("\n".join(lines) or "No dates: the rule gives none.")

    def _preview_failed(self, seq: int, exc: Exception) -> None:
        if seq != self._preview_seq:
            return
        self.preview_label.setText("")
        if isinstance(exc, SmsdeskError) and exc.field in _START_FIELDS:
            show_error(self.start_error, str(exc))
        elif isinstance(exc, SmsdeskError):
            show_error(self.rule_error, str(exc))

    # -- actions ---------------------------------------------------------------------------

    def add(self) -> None:
        for label in (self.recipients_error, self.text_error, self.start_error, self.rule_error):
            show_error(label, "")
        try:
            req = self.request()
        except SmsdeskError as exc:
            self._add_failed(exc)
            return
        self.add_button.setEnabled(False)
        self.tasks.submit(lambda: self.book.add(req), self._added, self._add_failed)

    def _added(self, view: SeriesSummary) -> None:
        self.add_button.setEnabled(True)
        self.text_edit.clear()
        self.recipients_edit.clear()
        self.status_label.setText(f"Started: {view.description}. Next: {view.next_when}.")
        self.changed.emit()
        self.refresh()

    def _add_failed(self, exc: Exception) -> None:
        self.add_button.setEnabled(True)
        if not isinstance(exc, SmsdeskError):
            self.status_label.setText(f"Not started: {exc}")
            return
        field = exc.field
        if field in ("recipients", "group", "contact", "provider"):
            show_error(self.recipients_error, str(exc))
        elif field == "text":
            show_error(self.text_error, str(exc))
        elif field in _START_FIELDS:
            show_error(self.start_error, str(exc))
        elif field in RULE_FIELDS:
            show_error(self.rule_error, str(exc))
        else:
            self.status_label.setText(f"Not started: {exc}")

    def selected(self) -> SeriesSummary | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.series):
            return None
        return self.series[rows[0].row()]

    def toggle_pause(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.status_label.setText("Select a series first.")
            return
        book, ident = self.book, chosen.id
        if chosen.state == "paused":
            done = f"Resumed: {chosen.description}."
            self.tasks.submit(
                lambda: book.resume(ident), lambda _r: self._acted(done), self._act_failed
            )
        else:
            done = f"Paused: {chosen.description}; its stored occurrences were cancelled."
            self.tasks.submit(
                lambda: book.pause(ident), lambda _r: self._acted(done), self._act_failed
            )

    def cancel_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.status_label.setText("Select a series first.")
            return
        question = (
            f"End the series “{chosen.description}”? Its future occurrences are cancelled; "
            "what was sent stays in the history."
        )
        if not self.confirm("End series", question):
            return
        done = f"Ended: {chosen.description}."
        self.tasks.submit(
            lambda: self.book.cancel(chosen.id), lambda _r: self._acted(done), self._act_failed
        )

    def _acted(self, text: str) -> None:
        self.status_label.setText(text)
        self.changed.emit()
        self.refresh()

    def _act_failed(self, exc: Exception) -> None:
        self.status_label.setText(f"Not done: {exc}")

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        book = self.book
        contacts = self.service.contact_book()

        def read() -> tuple[list[SeriesSummary], list[str]]:
            return book.list_series(upcoming=10), [name for name, _n in contacts.groups()]

        self.tasks.submit(read, self._loaded)

    def _loaded(self, loaded: tuple[list[SeriesSummary], list[str]]) -> None:
        series, groups = loaded
        chosen = self.selected()
        self.series = series
        fill(
            self.table,
            [(v.description, v.recipients, v.next_when or "—", v.state, v.text) for v in series],
        )
        current = self.group_combo.currentText()
        self.group_combo.clear()
        self.group_combo.addItems([NO_GROUP, *groups])
        self.group_combo.setCurrentText(current if current in groups else NO_GROUP)
        ids = [v.id for v in series]
        if chosen is not None and chosen.id in ids:
            self.table.selectRow(ids.index(chosen.id))
        elif series:
            self.table.selectRow(0)
        self._show_selected()

    def _show_selected(self) -> None:
        chosen = self.selected()
        fill(self.occurrences, [occurrence_text(o) for o in chosen.upcoming] if chosen else [])
        self.pause_button.setText("Resume" if chosen and chosen.state == "paused" else "Pause")
        active = chosen is not None and chosen.state != "cancelled"
        self.pause_button.setEnabled(active)
        self.cancel_button.setEnabled(active)


def _row(layout: QHBoxLayout) -> QWidget:
    box = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    box.setLayout(layout)
    return box
