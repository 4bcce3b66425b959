"""Queue: every message, filtered and searched, with its history and the actions on it."""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QDate, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import State, where_it_lives
from smsdesk.core.timeparse import format_local, localize, resolve_zone
from smsdesk.engine.browse import QueueFilter
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.actions import MessageActions
from smsdesk.ui.queue_model import Column, QueueModel
from smsdesk.ui.reschedule_dialog import AskTime
from smsdesk.ui.reschedule_dialog import ask_with_dialog as ask_time_with_dialog
from smsdesk.ui.widgets import Confirm, ask_with_dialog

AskPath = Callable[[], str | None]
NO_DATE = QDate(2000, 1, 1)  # the minimum of the date filters, shown as "any"
CSV_PAGE = 1000
# Above this many selected rows the detail pane only counts them: reading every selected
# message (a Ctrl+A over a million) would stall the window.
DETAIL_LIMIT = 1000


class QueueView(QWidget):
    duplicate_requested = Signal(object)  # list[MessageView]

    def __init__(
        self,
        service: Service,
        actions: MessageActions,
        *,
        confirm: Confirm | None = None,
        ask_time: AskTime | None = None,
        ask_path: AskPath | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.message_actions = actions
        self.browser = service.browser()
        self.confirm = confirm or ask_with_dialog(self)
        self.ask_time = ask_time or ask_time_with_dialog(self)
        self.ask_path = ask_path or self._ask_path_with_dialog
        self.setObjectName("queueView")
        self.setAccessibleName("Queue")

        self.state_combo = QComboBox()
        self.state_combo.setObjectName("stateFilter")
        self.state_combo.setAccessibleName("Filter by state")
        self.state_combo.addItem("All states", "")
        for state in State:
            self.state_combo.addItem(state.value, state.value)
        self.provider_combo = QComboBox()
        self.provider_combo.setObjectName("providerFilter")
        self.provider_combo.setAccessibleName("Filter by provider")
        self.from_date = self._date_filter("fromDate", "From date")
        self.to_date = self._date_filter("toDate", "Until date")
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("searchEdit")
        self.search_edit.setAccessibleName("Search recipients and text")
        self.search_edit.setPlaceholderText("Search number or text (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)

        self.model = QueueModel(self.browser, service.settings().zone)
        self.table = QTableView()
        self.table.setObjectName("queueTable")
        self.table.setAccessibleName("Message queue")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.TEXT, QHeaderView.ResizeMode.Stretch)
        # The state and place columns fit their longest words ("rescheduling", "unknown:
        # checking with provider"), so no state is cut off at any font size.
        metrics = self.table.fontMetrics()
        pad = 2 * metrics.horizontalAdvance("M")
        state_width = max(metrics.horizontalAdvance(s.value) for s in State) + pad
        where_width = max(metrics.horizontalAdvance(where_it_lives(s)) for s in State) + pad
        for column, width in (
            (Column.SEND_TIME, 190),
            (Column.RECIPIENT, 120),
            (Column.PROVIDER, 80),
            (Column.STATE, state_width),
            (Column.WHERE, where_width),
            (Column.SEGMENTS, 70),
        ):
            self.table.setColumnWidth(column, width)

        self.detail = QTextBrowser()
        self.detail.setObjectName("detailPane")
        self.detail.setAccessibleName("Message details and history")
        self.detail.setPlaceholderText("Pick a message to see its history.")

        self.reschedule_button = self._button("rescheduleButton", "Reschedule…")
        self.cancel_button = self._button("cancelButton", "Cancel message")
        self.retry_button = self._button("retryButton", "Retry")
        self.duplicate_button = self._button("duplicateButton", "Duplicate")
        self.export_button = self._button("exportButton", "Export CSV…")
        self.count_label = QLabel()
        self.count_label.setObjectName("queueCount")
        self.count_label.setAccessibleName("Messages shown")
        self.status_label = QLabel()
        self.status_label.setObjectName("queueStatus")
        self.status_label.setAccessibleName("Last action")
        self.status_label.setWordWrap(True)

        filters = QHBoxLayout()
        filters.addWidget(self.state_combo)
        filters.addWidget(self.provider_combo)
        filters.addWidget(QLabel("From"))
        filters.addWidget(self.from_date)
        filters.addWidget(QLabel("until"))
        filters.addWidget(self.to_date)
        filters.addWidget(self.search_edit, 1)
        buttons = QHBoxLayout()
        for button in (
            self.reschedule_button,
            self.cancel_button,
            self.retry_button,
            self.duplicate_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.count_label)
        buttons.addWidget(self.export_button)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)  # one query per pause in typing, not per key
        self._search_timer.timeout.connect(self.apply_filters)
        self.search_edit.textChanged.connect(self._search_timer.start)
        for combo in (self.state_combo, self.provider_combo):
            combo.currentIndexChanged.connect(self.apply_filters)
        for edit in (self.from_date, self.to_date):
            edit.dateChanged.connect(self.apply_filters)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self.reschedule_button.clicked.connect(self.reschedule_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.duplicate_button.clicked.connect(self.duplicate_selected)
        self.export_button.clicked.connect(self.export_csv)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.cancel_selected)
        actions.finished.connect(self.status_label.setText)

        self.reload_providers()
        self._selection_changed()
        self._update_count()

    def _date_filter(self, name: str, accessible: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setCalendarPopup(True)
        edit.setMinimumDate(NO_DATE)
        edit.setSpecialValueText("any")  # the minimum date reads "any": no bound
        edit.setDisplayFormat("d MMM yyyy")
        edit.setDate(NO_DATE)
        return edit

    def _button(self, name: str, text: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.rstrip("…"))
        return button

    # -- filters --------------------------------------------------------------------------

    def reload_providers(self) -> None:
        current = self.provider_combo.currentData()
        self.provider_combo.blockSignals(True)
        self.provider_combo.clear()
        self.provider_combo.addItem("All providers", "")
        for acct in self.service.list_accounts():
            self.provider_combo.addItem(acct.name, acct.name)
        index = self.provider_combo.findData(current)
        self.provider_combo.setCurrentIndex(max(index, 0))
        self.provider_combo.blockSignals(False)

    def _day_start(self, day: QDate) -> datetime:
        zone = resolve_zone(self.service.settings().zone)
        return localize(datetime(day.year(), day.month(), day.day()), zone)

    def current_filter(self) -> QueueFilter:
        state = self.state_combo.currentData()
        provider = self.provider_combo.currentData()
        start = end = None
        if self.from_date.date() != NO_DATE:
            start = self._day_start(self.from_date.date())
        if self.to_date.date() != NO_DATE:
            # "until 3 Dec" includes the whole of 3 Dec.
            end = self._day_start(self.to_date.date().addDays(1))
        return QueueFilter(
            states=frozenset([state]) if state else frozenset(),
            providers=frozenset([provider]) if provider else frozenset(),
            start=start,
            end=end,
            search=self.search_edit.text(),
        )

    def apply_filters(self) -> None:
        try:
            flt = self.current_filter()
        except SmsdeskError as exc:
            self.status_label.setText(str(exc))
            return
        self.model.set_filter(flt)
        self._ensure_current(0)
        self._update_count()

    def _ensure_current(self, row: int) -> None:
        # A reset (or the first load) leaves no current row, and without one Ctrl+End,
        # Ctrl+Home and the arrow keys do nothing. Made current, not selected.
        if not self.table.currentIndex().isValid() and 0 <= row < self.model.rowCount():
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _update_count(self) -> None:
        total = self.model.total()
        self.count_label.setText(f"{total} message{'s' if total != 1 else ''}")

    def refresh(self) -> None:
        """Re-read what is shown, keeping the selection (called periodically and after
        actions). Cheap when nothing changed: only the rows on screen are read again."""
        self.model.set_zone(self.service.settings().zone)
        first, last = self.visible_rows()
        selected = [m.id for m in self._loaded_selection()]
        current = self.model.loaded(self.table.currentIndex().row())
        resets = self.model.resets
        top = self.model.refresh(first, last)
        if self.model.resets != resets:
            # Counted afresh (rows came, went or moved): keep the same message at the top
            # and select again what was selected, by id.
            row = top if top is not None else min(first, self.model.rowCount() - 1)
            if row >= 0:
                self.table.scrollTo(
                    self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop
                )
            first, last = self.visible_rows()
            for r in range(first, last + 1):
                self.model.message(r)  # load what is on screen, so the ids can be found
            self.select_ids(selected, current.id if current else None)
        self._ensure_current(first)
        self._update_count()
        self._selection_changed()

    def visible_rows(self) -> tuple[int, int]:
        """The first and last row on screen (0, -1 when there are none)."""
        count = self.model.rowCount()
        if count == 0:
            return 0, -1
        first = max(self.table.rowAt(0), 0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        return first, count - 1 if last < 0 else last

    def _loaded_selection(self) -> list[MessageView]:
        """Selected messages among the loaded rows (what can be selected again by id)."""
        found = []
        for top, bottom in self._spans():
            for row in range(top, bottom + 1):
                m = self.model.loaded(row)
                if m is not None:
                    found.append(m)
        return found

    def _spans(self) -> list[tuple[int, int]]:
        """The selected rows as (top, bottom) ranges: a Ctrl+A is one range, not N rows."""
        selection = self.table.selectionModel().selection()
        return [(selection.at(i).top(), selection.at(i).bottom()) for i in range(selection.count())]

    def select_ids(self, ids: list[str], current_id: str | None = None) -> None:
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection.clearSelection()
        for message_id in ids:
            row = self.model.row_of(message_id)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)
        row = self.model.row_of(current_id) if current_id else None
        if row is not None:
            selection.setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    # -- selection and details ------------------------------------------------------------

    def selected_count(self) -> int:
        return sum(bottom - top + 1 for top, bottom in self._spans())

    def selected_messages(self) -> list[MessageView]:
        """Every selected message, loading pages as needed."""
        rows = sorted({r for top, bottom in self._spans() for r in range(top, bottom + 1)})
        return [m for m in map(self.model.message, rows) if m is not None]

    def _selection_changed(self, *_: object) -> None:
        count = self.selected_count()
        if count > DETAIL_LIMIT:
            for button in (self.cancel_button, self.reschedule_button, self.duplicate_button):
                button.setEnabled(True)
            self.retry_button.setEnabled(True)  # retry takes only the failed ones
            self._show_detail(None, count)
            return
        chosen = self.selected_messages()
        states = {m.state for m in chosen}
        self.cancel_button.setEnabled(bool(chosen))
        self.reschedule_button.setEnabled(bool(chosen))
        self.retry_button.setEnabled(State.FAILED.value in states)
        self.duplicate_button.setEnabled(bool(chosen))
        self._show_detail(chosen[0] if len(chosen) == 1 else None, len(chosen))

    def _show_detail(self, message: MessageView | None, count: int) -> None:
        if message is None:
            self.detail.setHtml(f"<p>{count} messages selected.</p>" if count else "")
            return
        try:
            full = self.service.show(message.id)[0]
        except SmsdeskError as exc:
            self.detail.setPlainText(str(exc))
            return
        own = resolve_zone(full.zone)
        e = html.escape
        rows = [
            ("To", full.recipient),
            ("From", full.sender or "account default"),
            ("Send", f"{format_local(full.send_at, own)}"),
            ("State", f"{full.state} — {full.where}"),
            ("Provider", f"{full.provider} (ref {full.provider_ref or '—'})"),
            ("Segments", f"{full.segments} ({full.encoding})"),
        ]
        if full.attention or full.last_error:
            rows.append(("Problem", full.attention or full.last_error or ""))
        parts = ["<table>"]
        parts += [f"<tr><th align=left>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows]
        parts.append("</table>")
        parts.append(f"<p style='white-space: pre-wrap'>{e(full.text)}</p><h4>History</h4><ul>")
        for ev in full.events:
            change = f" ({ev.state_from or '—'} → {ev.state_to})" if ev.state_to else ""
            parts.append(
                f"<li>{e(format_local(ev.at, own))}: <b>{e(ev.kind)}</b>{e(change)} "
                f"{e(ev.detail)}</li>"
            )
        parts.append("</ul>")
        self.detail.setHtml("".join(parts))

    # -- actions --------------------------------------------------------------------------

    def cancel_selected(self) -> None:
        chosen = self.selected_messages()
        if not chosen:
            return
        count = len(chosen)
        question = (
            f"Cancel {count} message{'s' if count != 1 else ''}? "
            "A cancelled message cannot be sent again (you can duplicate it)."
        )
        if not self.confirm("Cancel messages", question):
            return
        self.status_label.setText("Cancelling…")
        self.message_actions.cancel([m.id for m in chosen])

    def reschedule_selected(self) -> None:
        chosen = self.selected_messages()
        if not chosen:
            return
        send_at = self.ask_time(chosen)
        if send_at is None:
            return
        self.status_label.setText("Rescheduling…")
        self.message_actions.reschedule([m.id for m in chosen], send_at)

    def retry_selected(self) -> None:
        failed = [m for m in self.selected_messages() if m.state == State.FAILED.value]
        if failed:
            self.message_actions.retry([m.id for m in failed])

    def duplicate_selected(self) -> None:
        chosen = self.selected_messages()
        if chosen:
            self.duplicate_requested.emit(chosen)

    def _ask_path_with_dialog(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export messages", "smsdesk-messages.csv", "CSV files (*.csv)"
        )
        return path or None

    def _export_rows(self) -> list[MessageView]:
        chosen = self.selected_messages()
        if len(chosen) > 1:
            return chosen
        # Everything the filter matches, page by page (not only the rows loaded so far).
        rows: list[MessageView] = []
        after = None
        while True:
            page = self.browser.page(self.model.filter, after=after, limit=CSV_PAGE)
            rows.extend(page)
            if len(page) < CSV_PAGE:
                return rows
            after = (page[-1].send_at, page[-1].id)

    def export_csv(self) -> None:
        path = self.ask_path()
        if not path:
            return
        rows = self._export_rows()
        zone = resolve_zone(self.service.settings().zone)
        try:
            with Path(path).open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(
                    ["id", "batch", "send_at_utc", "send_at_local", "zone", "recipient",
                     "sender", "provider", "state", "where", "segments", "encoding", "text"]
                )  # fmt: skip
                for m in rows:
                    writer.writerow(
                        [m.id, m.batch_id, m.send_at.isoformat(), format_local(m.send_at, zone),
                         m.zone, m.recipient, m.sender or "", m.provider, m.state, m.where,
                         m.segments, m.encoding, m.text]
                    )  # fmt: skip
        except OSError as exc:
            self.status_label.setText(f"Could not export: {exc}")
            return
        self.status_label.setText(f"Exported {len(rows)} messages to {path}.")
