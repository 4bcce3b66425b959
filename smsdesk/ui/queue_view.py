"""Queue: every message, filtered and searched, with its history and the actions on it."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QDate,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.core.lifecycle import NOT_SENT, UPCOMING, State
from smsdesk.core.time_display import when_text
from smsdesk.core.timeparse import day_start, format_local, resolve_zone
from smsdesk.engine.browse import Cursor, QueueFilter, cursor_of
from smsdesk.engine.history_export import history_csv
from smsdesk.engine.service import Service
from smsdesk.engine.views import MessageView
from smsdesk.ui.actions import MessageActions, can_cancel, can_reschedule, can_retry
from smsdesk.ui.date_filter import DateFilterEdit
from smsdesk.ui.queue_batches import BatchTreeModel
from smsdesk.ui.queue_cells import queue_table
from smsdesk.ui.queue_model import SERIES_MARK, Column, QueueModel, recipient_text
from smsdesk.ui.reschedule_dialog import AskTime
from smsdesk.ui.reschedule_dialog import ask_with_dialog as ask_time_with_dialog
from smsdesk.ui.widgets import Confirm, ask_with_dialog

AskPath = Callable[[], str | None]
NO_DATE = QDate(2000, 1, 1)  # the minimum of the date filters, shown as "any"
CSV_PAGE = 1000
# Above this many selected rows the detail pane only counts them: reading every selected
# message (a Ctrl+A over a million) would stall the window.
DETAIL_LIMIT = 1000
# A refresh that counts afresh selects the same messages again by id for spans up to this
# many rows (read page by page); a longer span (a Ctrl+A) is kept as the range between its
# first and last message.
KEEP_BY_ID = DETAIL_LIMIT
KEEP_SPANS = 20  # more separate spans than this (Ctrl+clicks): only the loaded ones are kept
# "Needs attention" includes what failed (or expired) this recently; older failures are
# under "All messages".
RECENT_FAILURES = timedelta(days=7)
# A selected span kept across a recount: its first and last sort keys, its ids (None: too
# many to read), and its first row, last row and the row count before the recount.
Kept = tuple[Cursor, Cursor, set[str] | None, int, int, int]


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
        # The Queue opens on what still matters; "All messages" is one click away.
        self.upcoming_button = self._button("scopeUpcoming", "Upcoming and needs attention")
        self.all_button = self._button("scopeAll", "All messages")
        self.scope = QButtonGroup(self)
        for button in (self.upcoming_button, self.all_button):
            button.setCheckable(True)
            self.scope.addButton(button)
        self.upcoming_button.setChecked(True)
        self.group_button = self._button("groupBatchesButton", "Group by batch")
        self.group_button.setCheckable(True)

        self.model = QueueModel(
            self.browser,
            service.settings().zone,
            flt=self._scope_filter(QueueFilter()),
            submit=actions.tasks.submit,  # landmarks for scroll-bar drags, read off this thread
        )
        self.table = queue_table("queueTable", "Message queue", self.model)
        # A header click sorts by that column (a keyset over an index: fast at any size).
        self.table.setSortingEnabled(True)

        # Grouped by batch: a tree of batches, each expanding to its messages (read when
        # first shown, so the flat list's start-up cost is unchanged).
        self.batch_model: BatchTreeModel | None = None
        self.batch_tree = QTreeView()
        self.batch_tree.setObjectName("batchTree")
        self.batch_tree.setAccessibleName("Batches and their messages")
        self.batch_tree.setUniformRowHeights(True)
        self.batch_tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.lists = QStackedWidget()
        self.lists.addWidget(self.table)
        self.lists.addWidget(self.batch_tree)

        self.detail = QTextBrowser()
        self.detail.setObjectName("messageDetail")
        self.detail.setAccessibleName("Message details and history")
        self.detail.setPlaceholderText("Pick a message to see its history.")
        # What the pane shows (message id, page): a refresh that changes nothing leaves it,
        # and the reader's place in it, alone.
        self._detail_shown: tuple[str | None, str] = (None, "")
        # The row and zone the detail was last read for (None: read it on the next change).
        self._detail_read: tuple[MessageView, str | None] | None = None
        self._reselecting = False

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

        # Two rows: the window must fit an 800-pixel-wide screen (1400 at 150 %).
        scope = QHBoxLayout()
        scope.addWidget(self.upcoming_button)
        scope.addWidget(self.all_button)
        scope.addWidget(self.group_button)
        scope.addWidget(self.search_edit, 1)
        filters = QHBoxLayout()
        filters.addWidget(self.state_combo)
        filters.addWidget(self.provider_combo)
        filters.addWidget(QLabel("From"))
        filters.addWidget(self.from_date)
        filters.addWidget(QLabel("until"))
        filters.addWidget(self.to_date)
        filters.addStretch(1)
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
        splitter.addWidget(self.lists)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(scope)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)  # one query per pause in typing, not per key
        self._search_timer.timeout.connect(self.apply_filters)
        self.search_edit.textChanged.connect(self._search_timer.start)
        self.scope.buttonClicked.connect(lambda _b: self.apply_filters())
        self.group_button.toggled.connect(self._group_toggled)
        self.state_combo.currentIndexChanged.connect(self._state_chosen)
        self.provider_combo.currentIndexChanged.connect(self.apply_filters)
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
        edit = DateFilterEdit()  # Tab can leave it while it reads "any"
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
        # The day's first instant: midnight may be skipped or doubled by a clock change.
        zone = resolve_zone(self.service.settings().zone)
        return day_start(date(day.year(), day.month(), day.day()), zone)

    def _group_toggled(self, grouped: bool) -> None:
        if grouped:
            if self.batch_model is None:
                self.batch_model = BatchTreeModel(self.browser, self.service.settings().zone)
                self.batch_tree.setModel(self.batch_model)
                self.batch_tree.setColumnWidth(Column.SEND_TIME, 260)
                self.batch_tree.selectionModel().currentChanged.connect(self._batch_row_chosen)
            else:
                self.batch_model.reload(self.service.settings().zone)
            self.lists.setCurrentWidget(self.batch_tree)
        else:
            self.lists.setCurrentWidget(self.table)
        for widget in (self.state_combo, self.provider_combo, self.from_date, self.to_date):
            widget.setEnabled(not grouped)  # batches are listed whole, newest first
        self._enable_for(set(), 0)
        self._set_detail(None, "")

    def _batch_row_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        model = self.batch_model
        message = model.message(current) if model is not None else None
        self._show_detail(message, 1 if message else 0)

    def _state_chosen(self) -> None:
        # Asking for one state means every message in it, not only the upcoming ones.
        if self.state_combo.currentData() and self.upcoming_button.isChecked():
            self.all_button.setChecked(True)
        self.apply_filters()

    def _scope_filter(self, flt: QueueFilter) -> QueueFilter:
        since = None
        if self.upcoming_button.isChecked():
            since = self.service.clock.now() - RECENT_FAILURES
        return QueueFilter(
            states=flt.states,
            providers=flt.providers,
            start=flt.start,
            end=flt.end,
            search=flt.search,
            attention_since=since,
            sort=flt.sort,
            descending=flt.descending,
        )

    def current_filter(self) -> QueueFilter:
        state = self.state_combo.currentData()
        provider = self.provider_combo.currentData()
        start = end = None
        if self.from_date.date() != NO_DATE:
            start = self._day_start(self.from_date.date())
        if self.to_date.date() != NO_DATE:
            # "until 3 Dec" includes the whole of 3 Dec.
            end = self._day_start(self.to_date.date().addDays(1))
        shown = self.model.filter
        return self._scope_filter(
            QueueFilter(
                states=frozenset([state]) if state else frozenset(),
                providers=frozenset([provider]) if provider else frozenset(),
                start=start,
                end=end,
                search=self.search_edit.text(),
                sort=shown.sort,  # the header's order stays
                descending=shown.descending,
            )
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
        # Read only when the rows will be counted afresh (the selection is lost then).
        stale = self.model.stale()
        kept = self._kept_selection() if stale else []
        if stale:
            self._detail_read = None  # its history may have grown: read it again
        current = self.model.loaded(self.table.currentIndex().row())
        resets = self.model.resets
        # The reset and the reselection pass through "nothing selected": the detail pane is
        # written once, at the end, not emptied and rebuilt (which loses the reader's place).
        self._reselecting = True
        try:
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
                self._reselect(kept, current.id if current else None)
        finally:
            self._reselecting = False
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

    def _kept_selection(self) -> list[Kept] | list[str]:
        """What is selected, in a form that survives a recount: per span, the sort keys of
        its first and last message and (spans up to KEEP_BY_ID rows) the ids in it."""
        spans = self._spans()
        if len(spans) > KEEP_SPANS:
            return [m.id for m in self._loaded_selection()]
        flt, total = self.model.filter, self.model.rowCount()
        kept: list[Kept] = []
        for top, bottom in spans:
            first, last = self.model.message(top), self.model.message(bottom)
            if first is None or last is None:
                continue
            ids = None
            if bottom - top < KEEP_BY_ID:
                rows = (self.model.message(r) for r in range(top, bottom + 1))
                ids = {m.id for m in rows if m is not None}
            kept.append((cursor_of(flt, first), cursor_of(flt, last), ids, top, bottom, total))
        return kept

    def _reselect(
        self,
        kept: list[Kept] | list[str],
        current_id: str | None,
    ) -> None:
        if not kept or isinstance(kept[0], str):
            self.select_ids([k for k in kept if isinstance(k, str)], current_id)
            return
        flt, total = self.model.filter, self.model.rowCount()
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection.clearSelection()
        for entry in kept:
            if isinstance(entry, str):
                continue
            first_key, last_key, ids, old_top, old_bottom, old_total = entry
            top = self._position(first_key, old_top > old_total // 2)
            # Rows up to and including the last key: those before it, and it if it is there.
            bottom = self._position(last_key, old_bottom > old_total // 2) - 1
            if ids is None:
                after = self.model.message(bottom + 1)
                if after is not None and cursor_of(flt, after) == last_key:
                    bottom += 1
                runs = [(top, min(bottom, total - 1))]
            else:
                bottom = min(bottom + 1, total - 1)
                runs = _runs(
                    r
                    for r in range(top, bottom + 1)
                    if (m := self.model.message(r)) is not None and m.id in ids
                )
            for a, b in runs:
                if 0 <= a <= b:
                    selection.select(
                        QItemSelection(self.model.index(a, 0), self.model.index(b, 0)), flags
                    )
        row = self.model.row_of(current_id) if current_id else None
        if row is not None:
            selection.setCurrentIndex(
                self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def _position(self, key: Cursor, near_end: bool) -> int:
        """The row of ``key`` (or where it would be): a count from the nearer end."""
        flt, total = self.model.filter, self.model.rowCount()
        return self.browser.position(flt, key, total=total if near_end else None)

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
        if self._reselecting:
            return  # refresh() calls again once the selection is back
        count = self.selected_count()
        if count > DETAIL_LIMIT:
            # Too many to read: the states the filter admits decide (flags unknown: maybe).
            flt = self.model.filter
            states = set(flt.states or (UPCOMING | NOT_SENT if flt.attention_since else State))
            kinds = {(str(state), True) for state in states}
            self._enable_for(kinds, count)
            self._show_detail(None, count)
            return
        chosen = self.selected_messages()
        self._enable_for({(m.state, bool(m.attention)) for m in chosen}, len(chosen))
        self._show_detail(chosen[0] if len(chosen) == 1 else None, len(chosen))

    def _enable_for(self, kinds: set[tuple[str, bool]], count: int) -> None:
        """Each action enabled only when it applies to one of the selected (state, flagged)."""
        self.cancel_button.setEnabled(any(can_cancel(*k) for k in kinds))
        self.reschedule_button.setEnabled(any(can_reschedule(*k) for k in kinds))
        self.retry_button.setEnabled(any(can_retry(*k) for k in kinds))
        self.duplicate_button.setEnabled(count > 0)

    def _show_detail(self, message: MessageView | None, count: int) -> None:
        if message is None:
            self._set_detail(None, f"<p>{count} messages selected.</p>" if count else "")
            return
        # A refresh with no event recorded (the watermark did not move) and the same row
        # shows the same page: the history is read again only when it may have grown.
        zone = self.model.zone_name
        if self._detail_read == (message, zone):
            return
        try:
            full = self.service.show(message.id)[0]
        except SmsdeskError as exc:
            self._set_detail(None, f"<p>{html.escape(str(exc))}</p>")
            return
        # The series comes with the row (read with its page); show() reads the history.
        full = replace(full, series=message.series)
        self._set_detail(full.id, detail_page(full, zone))
        self._detail_read = (message, zone)

    def _set_detail(self, message_id: str | None, page: str) -> None:
        if message_id is None:
            self._detail_read = None  # no message's page now: the next one is read
        if (message_id, page) == self._detail_shown:
            return  # unchanged: the scroll position and any text selection stay
        bar = self.detail.verticalScrollBar()
        place = bar.value() if message_id and message_id == self._detail_shown[0] else 0
        self.detail.setHtml(page)
        self._detail_shown = (message_id, page)
        if place:
            bar.setValue(place)  # the same message with more history: stay where reading

    # -- actions --------------------------------------------------------------------------

    def cancel_selected(self) -> None:
        selected = self.selected_messages()
        chosen = [m for m in selected if can_cancel(m.state, bool(m.attention))]
        if not chosen:
            return
        count = len(chosen)
        left = len(selected) - count
        question = (
            f"Cancel {count} message{'s' if count != 1 else ''}? "
            + (
                f"({left} of those selected cannot be cancelled and stay as they are.) "
                if left
                else ""
            )
            + "A cancelled message cannot be sent again (you can duplicate it)."
        )
        if not self.confirm("Cancel messages", question):
            return
        self.status_label.setText("Cancelling…")
        self.message_actions.cancel([m.id for m in chosen])

    def reschedule_selected(self) -> None:
        chosen = [m for m in self.selected_messages() if can_reschedule(m.state)]
        if not chosen:
            return
        send_at = self.ask_time(chosen)
        if send_at is None:
            return
        self.status_label.setText("Rescheduling…")
        self.message_actions.reschedule([m.id for m in chosen], send_at)

    def retry_selected(self) -> None:
        failed = [m for m in self.selected_messages() if can_retry(m.state, bool(m.attention))]
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
        # Everything the filter matches, page by page (not only the rows loaded so far).
        rows: list[MessageView] = []
        after = None
        while True:
            page = self.browser.page(self.model.filter, after=after, limit=CSV_PAGE)
            rows.extend(page)
            if len(page) < CSV_PAGE:
                return rows
            after = cursor_of(self.model.filter, page[-1])

    def export_csv(self) -> None:
        """The selected messages (else all the filter matches) to a CSV file, read and written
        in the background; cells a spreadsheet would run as a formula are written as text."""
        path = self.ask_path()
        if not path:
            return
        chosen = self.selected_messages()
        zone = resolve_zone(self.service.settings().zone)

        def work() -> int:
            rows = chosen if len(chosen) > 1 else self._export_rows()
            Path(path).write_text(_export_text(rows, zone), encoding="utf-8", newline="")
            return len(rows)

        self.status_label.setText("Exporting…")
        self.message_actions.tasks.submit(
            work,
            lambda count: self.status_label.setText(f"Exported {count} messages to {path}."),
            lambda exc: self.status_label.setText(f"Could not export: {exc}"),
        )


def _runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Ascending row numbers as (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


def detail_page(full: MessageView, zone: str | None = None) -> str:
    """The detail pane's page for one message: its facts, why it failed, its history; every
    time in ``zone`` (the desk's), the recipient's own beside the send time where it differs."""
    desk = resolve_zone(zone)
    own = resolve_zone(full.zone)
    place = resolve_zone(full.recipient_zone) if full.recipient_zone else None
    e = html.escape
    rows = [
        ("To", recipient_text(full)),
        ("From", full.sender or "account default"),
        ("Send", when_text(full.send_at, desk, place)),
        ("State", f"{full.state} — {full.where}"),
        ("Provider", f"{full.provider} (ref {full.provider_ref or '—'})"),
        ("Segments", f"{full.segments} ({full.encoding})"),
        *([("Repeats", f"{SERIES_MARK} {full.series}")] if full.series else []),
    ]
    if own.key != desk.key:
        rows.insert(3, ("Entered as", format_local(full.send_at, own)))
    reason = failure_reason(full)
    if reason is not None:
        rows.append((f"Why it {full.state}", reason))
    if full.attention or (full.last_error and reason is None):
        rows.append(("Problem", full.attention or full.last_error or ""))
    parts = ["<table cellspacing=0 cellpadding=1>"]
    parts += [
        f"<tr><th align=left style='padding-right: 12px'>{e(k)}</th><td>{e(v)}</td></tr>"
        for k, v in rows
    ]
    parts.append("</table>")
    parts.append(f"<p style='white-space: pre-wrap'>{e(full.text)}</p><h4>History</h4><ul>")
    for ev in full.events:
        change = f" ({ev.state_from or '—'} → {ev.state_to})" if ev.state_to else ""
        parts.append(
            f"<li>{e(format_local(ev.at, desk))}: <b>{e(ev.kind)}</b>{e(change)} "
            f"{e(ev.detail)}</li>"
        )
    parts.append("</ul>")
    return "".join(parts)


def failure_reason(m: MessageView) -> str | None:
    """Why a failed (or expired) message did not go out; None for any other state."""
    if m.state not in (State.FAILED.value, State.EXPIRED.value):
        return None
    return m.last_error or "no reason was recorded"


def _export_text(rows: Sequence[MessageView], zone: ZoneInfo) -> str:
    """The export as CSV text: the one history format (engine/history_export.py), the same
    columns as ``smsdesk history export``, formula cells escaped."""
    return history_csv(rows)
