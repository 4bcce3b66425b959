"""Compose: recipients, sender, text with a live segment counter, when, and Schedule.

Everything is validated by the service; the view only pre-checks as the user types (numbers,
segments) and places each error from ``InvalidInput.field`` beside the field it belongs to.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.phones import SANDBOX_KIND, normalize_number, split_recipients
from smsdesk.core.segments import count_segments, gsm_replacements, replace_with_gsm
from smsdesk.core.text_checks import bidi_warning
from smsdesk.core.timeparse import localize, resolve_zone
from smsdesk.engine.plan import (
    PlanChanged,
    ScheduledBatch,
    SchedulePlan,
    plan_details,
    plan_headline,
)
from smsdesk.engine.scheduling import MAX_AHEAD, MAX_SEGMENTS
from smsdesk.engine.series import SeriesView as SeriesSummary
from smsdesk.engine.series_outline import SeriesOutline
from smsdesk.engine.service import Service
from smsdesk.engine.undo import UndoOutcome
from smsdesk.engine.views import BatchResult, DraftView, MessageView, PreviewView
from smsdesk.ui.merge_preview import MergePreview, fill_groups, fill_templates, recipient_numbers
from smsdesk.ui.plan_view import PlanView
from smsdesk.ui.recipient_completer import RecipientCompleter
from smsdesk.ui.repeat_control import RepeatControl, started_text
from smsdesk.ui.repeat_fields import RULE_FIELDS
from smsdesk.ui.schedule_summary import ScheduleSummaryDialog
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.undo_bar import UndoBar
from smsdesk.ui.widgets import (
    error_label,
    qt_to_wall,
    set_zone,
    show_error,
    wall_to_qt,
    with_error,
    zone_combo,
)

AUTOSAVE_MS = 1500
MERGE_PREVIEW_MS = 200  # the preview reads contacts: once typing pauses, not per key
PLAN_MS = 250  # the plan reads contacts and settings: once typing pauses, not per key
# Up to this many typed recipients (and no group) the plan and the store run on the Qt
# thread (a few milliseconds); more go to the background helper.
SYNC_RECIPIENTS = 50
RESULT_LINES = 5
# Example numbers smsdesk accepts for the account's kind: the Sandbox sends only to the
# fictional +1 555 range, real providers only to real numbering plans.
EXAMPLES = {
    SANDBOX_KIND: "+15551234567, +15557654321",
    "": "+12025550119, +12125550123",
}
# The same separators as core.phones.split_recipients, as spans, so bad entries can be marked.
_RECIPIENT = re.compile(r"[^,;\t\r\n]+")


SHOWN_CHARACTERS = 12  # a pasted paragraph in another script would fill the window


def _char_list(chars: list[str] | tuple[str, ...]) -> str:
    """The characters, spaced; invisible ones by code; a long list cut with a count."""
    shown = " ".join(
        f"U+{ord(ch):04X}" if ch.isspace() or not ch.isprintable() else ch
        for ch in chars[:SHOWN_CHARACTERS]
    )
    more = len(chars) - SHOWN_CHARACTERS
    return f"{shown} … and {more} more" if more > 0 else shown


def _utf16_len(text: str) -> int:
    # Qt positions count UTF-16 units: an emoji takes two.
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


class Ucs2Highlighter(QSyntaxHighlighter):
    """Marks the characters that force the whole message into UCS-2 (fewer per segment)."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__(editor.document())
        self._format = QTextCharFormat()
        self._format.setBackground(QColor("#f9e79f"))
        # Dark text on the light mark: readable on a dark or high-contrast theme too.
        self._format.setForeground(QColor("#1a1a1a"))
        self._format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        self._format.setUnderlineColor(QColor("#b9770e"))

    def highlightBlock(self, text: str) -> None:
        culprits = set(count_segments(text).ucs2_culprits)
        pos = 0
        for ch in text:
            size = _utf16_len(ch)
            if ch in culprits:
                self.setFormat(pos, size, self._format)
            pos += size


def next_full_hour(now: datetime, zone: str) -> datetime:
    """The default send time: the next full hour as a wall time in ``zone``."""
    local = now.astimezone(resolve_zone(zone)) + timedelta(hours=1)
    return local.replace(minute=0, second=0, microsecond=0, tzinfo=None)


class ComposeView(QWidget):
    scheduled = Signal(object)  # BatchResult
    draft_saved = Signal(object)  # DraftView
    undone = Signal(object)  # UndoOutcome

    def __init__(self, service: Service, tasks: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.setObjectName("composeView")
        self.setAccessibleName("Compose")
        self._draft_id: str | None = None
        self._loading = False
        self._region: str | None = None

        self.recipients_edit = QPlainTextEdit()
        self.recipients_edit.setObjectName("recipientsEdit")
        self.recipients_edit.setAccessibleName("Recipients")
        self.recipients_edit.setFixedHeight(64)
        self.recipients_edit.setTabChangesFocus(True)
        self.recipients_status = QLabel()
        self.recipients_status.setObjectName("recipientsStatus")
        self.recipients_status.setAccessibleName("Recipients check")
        self.recipients_error = error_label("recipientsError", "Recipients error")
        self.book = service.contact_book()
        self.group_combo = QComboBox()
        self.group_combo.setObjectName("groupCombo")
        self.group_combo.setAccessibleName("Also send to group")

        self.account_combo = QComboBox()
        self.account_combo.setObjectName("accountCombo")
        self.account_combo.setAccessibleName("Provider account")
        self.provider_error = error_label("providerError", "Provider error")
        self.sender_edit = QLineEdit()
        self.sender_edit.setObjectName("senderEdit")
        self.sender_edit.setAccessibleName("Sender")
        self.sender_edit.setPlaceholderText("the account's default sender")
        self.sender_error = error_label("senderError", "Sender error")

        self.message_edit = QPlainTextEdit()
        self.message_edit.setObjectName("messageEdit")
        self.message_edit.setAccessibleName("Message text")
        self.message_edit.setPlaceholderText("Your message")
        self.message_edit.setTabChangesFocus(True)
        self._highlighter = Ucs2Highlighter(self.message_edit)
        self.templates_combo = QComboBox()
        self.templates_combo.setObjectName("templatesCombo")
        self.templates_combo.setAccessibleName("Insert a saved template")
        self.merge_preview = MergePreview(self.book)
        self.counter_label = QLabel()
        self.counter_label.setObjectName("counterLabel")
        self.counter_label.setAccessibleName("Characters and segments")
        self.culprits_label = QLabel()
        self.culprits_label.setObjectName("culpritsLabel")
        self.culprits_label.setAccessibleName("Characters forcing UCS-2")
        self.culprits_label.setWordWrap(True)
        self.replace_button = QPushButton("Replace with GSM characters")
        self.replace_button.setObjectName("replaceGsmButton")
        self.replace_button.setAccessibleName("Replace with GSM characters")
        self.replace_button.hide()
        # Culprits with no GSM equivalent: the button leaves them, and says so beforehand.
        self.unreplaceable_label = QLabel()
        self.unreplaceable_label.setObjectName("unreplaceableLabel")
        self.unreplaceable_label.setAccessibleName("Characters that cannot be replaced")
        self.unreplaceable_label.setWordWrap(True)
        self.unreplaceable_label.hide()
        # As soon as the text is longer than the provider takes, not only when scheduling.
        self.length_warning = QLabel()
        self.length_warning.setObjectName("lengthWarning")
        self.length_warning.setAccessibleName("Message too long")
        self.length_warning.setWordWrap(True)
        self.length_warning.setStyleSheet("color: #c0392b;")
        self.length_warning.hide()
        # Direction overrides (U+202E…) make the text read differently than it is stored.
        self.bidi_warning = QLabel()
        self.bidi_warning.setObjectName("bidiWarning")
        self.bidi_warning.setAccessibleName("Direction override warning")
        self.bidi_warning.setWordWrap(True)
        self.bidi_warning.setStyleSheet("color: #c0392b;")
        self.bidi_warning.hide()
        self.text_error = error_label("textError", "Message error")

        self.send_at_edit = QDateTimeEdit()
        self.send_at_edit.setObjectName("sendAtEdit")
        self.send_at_edit.setAccessibleName("Send date and time")
        self.send_at_edit.setCalendarPopup(True)
        self.send_at_edit.setTimeZone(wall_to_qt(datetime(2000, 1, 1)).timeZone())
        self.send_at_edit.setDisplayFormat("ddd d MMM yyyy  HH:mm")
        self.zone_combo = zone_combo("zoneCombo", "Time zone")
        self.send_at_error = error_label("sendAtError", "Send time error")
        self.zone_error = error_label("zoneError", "Time zone error")
        self.recipient_local_check = QCheckBox(
            "Send at this time in each recipient's own time zone"
        )
        self.recipient_local_check.setObjectName("recipientLocalCheck")
        self.recipient_local_check.setAccessibleName(
            "Send at this time in each recipient's own time zone"
        )
        self.plan_view = PlanView()
        self.handling_label = self.plan_view.headline
        # Does not repeat, or a series: Schedule then starts it (see repeat_control).
        self.repeat = RepeatControl(service, tasks, self.send_at_edit, self.zone_combo)
        self.repeat.started.connect(self._series_started)
        self.repeat.failed.connect(self._schedule_failed)
        # The plan line tells the whole repetition, worked out for these recipients.
        self.repeat.form = self._form
        self.repeat.outlined.connect(self.plan_view.show_outline)

        self.preview_button = QPushButton("Preview")
        self.preview_button.setObjectName("previewButton")
        self.preview_button.setAccessibleName("Preview")
        self.save_draft_button = QPushButton("Save draft")
        self.save_draft_button.setObjectName("saveDraftButton")
        self.save_draft_button.setAccessibleName("Save draft")
        self.schedule_button = QPushButton("Schedule")
        self.schedule_button.setObjectName("scheduleButton")
        self.schedule_button.setAccessibleName("Schedule")
        self.schedule_button.setToolTip("Schedule (Ctrl+Enter)")
        self.schedule_button.setDefault(True)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("previewLabel")
        self.preview_label.setAccessibleName("Preview result")
        self.preview_label.setWordWrap(True)
        self.result_label = QLabel()
        self.result_label.setObjectName("resultLabel")
        self.result_label.setAccessibleName("Result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.undo_bar = UndoBar(service, tasks)
        self.undo_button = self.undo_bar.button
        self.summary_dialog: ScheduleSummaryDialog | None = None
        self.completer = RecipientCompleter(self.recipients_edit, self.book, tasks)
        self._busy = False  # a schedule is being planned or stored: one at a time
        self._plan_generation = 0  # newer edits make older background plans stale
        self._plan_running = False
        self._group_sizes: dict[str, int] = {}

        self._build_layout()

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.merge_timer = QTimer(self)
        self.merge_timer.setSingleShot(True)
        self.merge_timer.setInterval(MERGE_PREVIEW_MS)
        self.merge_timer.timeout.connect(self.update_merge_preview)
        self.plan_timer = QTimer(self)
        self.plan_timer.setSingleShot(True)
        self.plan_timer.setInterval(PLAN_MS)
        self.plan_timer.timeout.connect(self.update_plan)

        self.recipients_edit.textChanged.connect(self._recipients_changed)
        self.message_edit.textChanged.connect(self._text_changed)
        self.sender_edit.textChanged.connect(self._edited)
        self.sender_edit.textChanged.connect(self.schedule_plan_update)
        self.recipient_local_check.toggled.connect(self.schedule_plan_update)
        self.undo_bar.undone.connect(self._undone)
        self.account_combo.currentIndexChanged.connect(self._account_changed)
        self.send_at_edit.dateTimeChanged.connect(self._when_changed)
        self.zone_combo.currentTextChanged.connect(self._when_changed)
        self.replace_button.clicked.connect(self.replace_culprits)
        self.group_combo.currentIndexChanged.connect(self._group_changed)
        self.templates_combo.activated.connect(self._insert_template)
        self.preview_button.clicked.connect(self.preview)
        self.save_draft_button.clicked.connect(self.save_draft)
        self.schedule_button.clicked.connect(self.schedule)
        # Text editors take Ctrl+Return as a line break before any shortcut sees it.
        self.recipients_edit.installEventFilter(self)
        self.message_edit.installEventFilter(self)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.schedule)

        # Groups and templates are read when the view is shown (showEvent), not here too.
        self.reload_accounts()
        self.new_message()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.schedule()
            return True
        return super().eventFilter(watched, event)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        recipients = QWidget()
        rl = QVBoxLayout(recipients)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.recipients_edit)
        rl.addWidget(self.recipients_status)
        rl.addWidget(self.recipients_error)
        group_row = QHBoxLayout()
        group_row.addWidget(QLabel("and group"))
        group_row.addWidget(self.group_combo, 1)
        group_row.addStretch(2)
        rl.addLayout(group_row)
        # Only the message editor takes spare height; the other rows stay compact.
        recipients.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        form.addRow("&To", recipients)
        sender_row = QWidget()
        sl = QHBoxLayout(sender_row)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(with_error(self.account_combo, self.provider_error), 1)
        sl.addWidget(QLabel("Sender"))
        sl.addWidget(with_error(self.sender_edit, self.sender_error), 1)
        form.addRow("&Provider", sender_row)
        message = QWidget()
        ml = QVBoxLayout(message)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.message_edit, 1)
        counter_row = QHBoxLayout()
        counter_row.addWidget(self.counter_label)
        counter_row.addStretch(1)
        counter_row.addWidget(self.replace_button)
        counter_row.addWidget(self.templates_combo)
        ml.addLayout(counter_row)
        ml.addWidget(self.culprits_label)
        ml.addWidget(self.unreplaceable_label)
        ml.addWidget(self.length_warning)
        ml.addWidget(self.bidi_warning)
        ml.addWidget(self.merge_preview)
        ml.addWidget(self.text_error)
        form.addRow("&Message", message)
        when = QWidget()
        wl = QHBoxLayout(when)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(with_error(self.send_at_edit, self.send_at_error), 1)
        wl.addWidget(with_error(self.zone_combo, self.zone_error), 1)
        form.addRow("&When", when)
        form.addRow("&Repeat", self.repeat)
        form.addRow("", self.recipient_local_check)
        form.addRow("", self.plan_view)
        for label, buddy in (
            ("&To", self.recipients_edit),
            ("&Provider", self.account_combo),
            ("&Message", self.message_edit),
            ("&When", self.send_at_edit),
        ):
            for row in range(form.rowCount()):
                item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                widget = item.widget() if item is not None else None
                if isinstance(widget, QLabel) and widget.text() == label:
                    widget.setBuddy(buddy)
                    # Qt sizes "&To" as the kerned "To" but draws the underlined "T" and
                    # the "o" unkerned, cutting the "o" ("Tc"): leave a space's room.
                    spare = widget.fontMetrics().horizontalAdvance(" ")
                    widget.setMinimumWidth(widget.sizeHint().width() + spare)

        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.save_draft_button)
        buttons.addStretch(1)
        buttons.addWidget(self.schedule_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form, 1)
        layout.addWidget(self.preview_label)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)
        layout.addWidget(self.undo_bar)

    # -- state ----------------------------------------------------------------------------

    @property
    def draft_id(self) -> str | None:
        return self._draft_id

    def reload_accounts(self) -> None:
        """Re-read accounts and settings (after Settings changed them)."""
        current = self.account_combo.currentText()
        self._region = self.service.settings().default_region
        self._kinds: dict[str, str] = {}
        self.account_combo.blockSignals(True)
        self.account_combo.clear()
        default = ""
        for acct in self.service.list_accounts():
            self._kinds[acct.name] = acct.kind
            self.account_combo.addItem(acct.name)
            if acct.is_default:
                default = acct.name
        pick = current if current in self._kinds else default
        if pick:
            self.account_combo.setCurrentText(pick)
        self.account_combo.blockSignals(False)
        self._account_changed()

    def _account_changed(self) -> None:
        """Which numbers are accepted depends on the account: the examples and the
        recipients check follow it."""
        kind = self._kinds.get(self.account_combo.currentText(), "")
        info = count_segments(self.message_edit.toPlainText())
        self._check_length(info.segments, info.characters, info.encoding)
        example = EXAMPLES.get(kind, EXAMPLES[""])
        self.recipients_edit.setPlaceholderText(
            f"{example} … or a contact's name (paste a list: commas, semicolons or new lines)"
        )
        self._recipients_changed()
        self._when_changed()

    def reload_book(self) -> None:
        """Re-read groups and saved templates (after an import, or when Compose is shown)."""
        fill_groups(self.group_combo, self.book)
        self._group_sizes = dict(self.book.groups())
        fill_templates(self.templates_combo, self.book)
        self.merge_preview.invalidate()
        self.schedule_merge_preview()

    def showEvent(self, event: QShowEvent) -> None:
        # Templates and groups may have been added from the command line meanwhile.
        self.reload_book()
        super().showEvent(event)

    def group(self) -> str | None:
        data = self.group_combo.currentData()
        return data if isinstance(data, str) else None

    def user_zone(self) -> str:
        return resolve_zone(self.service.settings().zone).key

    def new_message(self) -> None:
        """An empty form (Ctrl+N): defaults are the next full hour in the user's zone."""
        self._fill(recipients="", text="", sender="", account=None, send_at=None, zone=None)
        self._draft_id = None
        self.group_combo.setCurrentIndex(0)
        self.recipient_local_check.setChecked(False)
        self.result_label.clear()
        self.recipients_edit.setFocus()

    def _fill(
        self,
        *,
        recipients: str,
        text: str,
        sender: str | None,
        account: str | None,
        send_at: datetime | None,
        zone: str | None,
    ) -> None:
        self._loading = True  # filling the form is not typing: no autosave
        try:
            self.autosave_timer.stop()
            self._clear_errors()
            self.preview_label.clear()
            self.recipients_edit.setPlainText(recipients)
            self.message_edit.setPlainText(text)
            self.sender_edit.setText(sender or "")
            if account and self.account_combo.findText(account) >= 0:
                self.account_combo.setCurrentText(account)
            zone = zone or self.user_zone()
            set_zone(self.zone_combo, zone)
            now = self.service.clock.now()
            if send_at is None or send_at < now:
                wall = next_full_hour(now, zone)
            else:
                wall = send_at.astimezone(resolve_zone(zone)).replace(tzinfo=None)
            self.send_at_edit.setDateTime(wall_to_qt(wall))
        finally:
            self._loading = False
        self._when_changed()

    def load_draft(self, draft: DraftView) -> None:
        self._fill(
            recipients=draft.recipients,
            text=draft.text,
            sender=draft.sender,
            account=draft.account_name,
            send_at=draft.send_at,
            zone=draft.zone,
        )
        self._draft_id = draft.id
        self.result_label.setText("Resumed a draft; it keeps saving itself as you type.")

    def duplicate(self, messages: list[MessageView]) -> None:
        """A new message with the same text and recipients (Queue's Duplicate)."""
        if not messages:
            return
        first = messages[0]
        recipients = ", ".join(dict.fromkeys(m.recipient for m in messages))
        self._fill(
            recipients=recipients,
            text=first.text,
            sender=first.sender,
            account=first.provider,
            send_at=None,
            zone=first.zone,
        )
        self._draft_id = None
        self.result_label.setText("Copied into a new message; pick a time and schedule it.")

    # -- live checks ----------------------------------------------------------------------

    def _edited(self) -> None:
        if not self._loading:
            self.autosave_timer.start()

    def _recipients_changed(self) -> None:
        text = self.recipients_edit.toPlainText()
        kind = self._kinds.get(self.account_combo.currentText(), "")
        selections: list[QTextEdit.ExtraSelection] = []
        valid: set[str] = set()
        problems: list[str] = []
        marker = QTextCharFormat()
        marker.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        marker.setUnderlineColor(QColor("#c0392b"))
        marker.setBackground(QColor("#fadbd8"))
        for match in _RECIPIENT.finditer(text):
            raw = match.group()
            if not raw.strip():
                continue
            # Mark the entry itself, not the spaces around it.
            lead = len(raw) - len(raw.lstrip())
            begin, end = match.start() + lead, match.start() + len(raw.rstrip())
            try:
                valid.add(normalize_number(raw, self._region, allow_test_numbers=kind == "sandbox"))
            except InvalidInput as exc:
                problems.append(exc.message)
                sel = QTextEdit.ExtraSelection()
                cursor = self.recipients_edit.textCursor()
                cursor.setPosition(_utf16_len(text[:begin]))
                cursor.setPosition(_utf16_len(text[:end]), cursor.MoveMode.KeepAnchor)
                sel.cursor = cursor
                sel.format = marker
                selections.append(sel)
        self.recipients_edit.setExtraSelections(selections)
        if not text.strip():
            status = ""
        elif problems:
            status = f"{len(valid)} valid, {len(problems)} not valid — {problems[0]}"
        else:
            status = f"{len(valid)} recipient{'s' if len(valid) != 1 else ''}"
        self.recipients_status.setText(status)
        self.recipients_status.setStyleSheet("color: #c0392b;" if problems else "")
        if not problems:
            show_error(self.recipients_error, "")
        self.schedule_merge_preview()
        self.schedule_plan_update()
        self._edited()

    def _group_changed(self) -> None:
        show_error(self.recipients_error, "")
        self.schedule_merge_preview()
        self.schedule_plan_update()

    def _text_changed(self) -> None:
        text = self.message_edit.toPlainText()
        info = count_segments(text)
        plural = "s" if info.segments != 1 else ""
        self.counter_label.setText(
            f"{info.characters} characters · {info.segments} segment{plural} · "
            f"{info.encoding} · {info.remaining} left in this segment"
        )
        if info.ucs2_culprits:
            shown = _char_list(info.ucs2_culprits)
            self.culprits_label.setText(
                f"These characters switch the message to UCS-2 (70 per segment instead of "
                f"160): {shown}"
            )
        else:
            self.culprits_label.clear()
        # Hidden when empty, so the merge preview sits right under the counter.
        self.culprits_label.setVisible(bool(info.ucs2_culprits))
        table = gsm_replacements(text)
        self.replace_button.setVisible(bool(table))
        left = [ch for ch in info.ucs2_culprits if ch not in table]
        if table:
            pairs = ", ".join(f"{k} → {v or '(nothing)'}" for k, v in list(table.items())[:4])
            self.replace_button.setToolTip(f"Replace {pairs}")
        if left:
            shown_left = _char_list(left)
            self.unreplaceable_label.setText(
                f"No GSM equivalent, so “Replace with GSM characters” leaves these and the "
                f"message stays UCS-2: {shown_left}"
            )
        self.unreplaceable_label.setVisible(bool(left))
        self._check_length(info.segments, info.characters, info.encoding)
        bidi = bidi_warning(text)
        self.bidi_warning.setText(bidi or "")
        self.bidi_warning.setVisible(bidi is not None)
        show_error(self.text_error, "")
        self.schedule_merge_preview()
        self.schedule_plan_update()
        self._edited()

    def _check_length(self, segments: int, characters: int, encoding: str) -> None:
        too_long = segments > MAX_SEGMENTS
        if too_long:
            account = self.account_combo.currentText()
            by = f"{account}'s provider" if account else "the provider"
            self.length_warning.setText(
                f"Too long to send: {segments} segments ({characters} characters, {encoding}); "
                f"{by} accepts at most {MAX_SEGMENTS}. Shorten the message."
            )
        self.length_warning.setVisible(too_long)

    def schedule_merge_preview(self) -> None:
        self.merge_timer.start()

    def update_merge_preview(self) -> None:
        self.merge_timer.stop()
        numbers = recipient_numbers(
            self.book, self.recipients_edit.toPlainText(), self._region, self.group()
        )
        self.merge_preview.update_preview(self.message_edit.toPlainText(), numbers)

    def _insert_template(self, index: int) -> None:
        text = self.templates_combo.itemData(index)
        self.templates_combo.setCurrentIndex(0)  # back to the prompt, ready for another
        if isinstance(text, str):
            # Through the cursor, so Ctrl+Z takes it out again.
            self.message_edit.textCursor().insertText(text)
            self.message_edit.setFocus()

    def replace_culprits(self) -> None:
        cursor = self.message_edit.textCursor()
        cursor.select(cursor.SelectionType.Document)
        # Through the cursor, so Ctrl+Z brings the original characters back.
        cursor.insertText(replace_with_gsm(self.message_edit.toPlainText()))

    def _when_changed(self) -> None:
        if self._loading:
            return
        show_error(self.send_at_error, "")
        show_error(self.zone_error, "")
        try:
            send_at, zone = self.send_at()
            if self.plan_view.plan is None:
                # Nobody to plan for yet: what any message at this time would get.
                self.plan_view.show_hint(
                    self.service.describe_handling(send_at, zone, self.account_combo.currentText())
                )
        except InvalidInput as exc:
            self.plan_view.show_hint("")
            self._show_error(exc)
        except SmsdeskError as exc:
            self.plan_view.show_hint(str(exc))
        self.schedule_plan_update()
        self._edited()

    # -- the plan: what will happen -------------------------------------------------------

    def _request(self) -> dict[str, Any]:
        """What Schedule would be asked, from the form; InvalidInput for a time the zone
        skips or repeats."""
        send_at, zone = self.send_at()
        return {
            "recipients": split_recipients(self.recipients_edit.toPlainText()),
            "text": self.message_edit.toPlainText(),
            "send_at": send_at,
            "zone": zone,
            "account": self.account_combo.currentText() or None,
            "sender": self.sender_edit.text().strip() or None,
            "group": self.group(),
            "recipient_local": self.recipient_local_check.isChecked(),
        }

    def _form(self) -> dict[str, Any] | None:
        """The request, or None while the time cannot be read (said beside it)."""
        try:
            return self._request()
        except InvalidInput:
            return None

    def _request_size(self, request: dict[str, Any]) -> int:
        """How many recipients a request may reach; a group not counted yet is large."""
        group = request["group"]
        extra = self._group_sizes.get(group, SYNC_RECIPIENTS + 1) if group else 0
        return len(request["recipients"]) + extra

    def schedule_plan_update(self) -> None:
        if not self._loading:
            self._plan_generation += 1
            self.plan_timer.start()

    def update_plan(self) -> None:
        """Work out what Schedule would do now and show it (off the Qt thread when the
        batch is large; an answer overtaken by newer edits is dropped)."""
        self.plan_timer.stop()
        if self.repeat.repeats():
            self.repeat.update_outline()  # the recipients' quiet hours move its times
        try:
            request = self._request()
        except InvalidInput:
            return  # shown beside the time already
        if not request["recipients"] and not request["group"]:
            self.plan_view.plan = None
            self._when_changed_hint(request)
            return
        generation = self._plan_generation
        if self._request_size(request) <= SYNC_RECIPIENTS:
            try:
                plan = self.service.scheduling.plan(**request)
            except SmsdeskError as exc:
                self._plan_failed(generation, exc)
            else:
                self._plan_ready(generation, plan)
            return
        if self._plan_running:
            self.plan_timer.start()  # one at a time; plan again once this one is back
            return
        self._plan_running = True
        self.plan_view.show_hint("Working out what will happen…")
        self.tasks.submit(
            lambda: self.service.scheduling.plan(**request),
            lambda plan: self._plan_ready(generation, plan),
            lambda exc: self._plan_failed(generation, exc),
        )

    def _when_changed_hint(self, request: dict[str, Any]) -> None:
        try:
            self.plan_view.show_hint(
                self.service.describe_handling(
                    request["send_at"], request["zone"], request["account"]
                )
            )
        except SmsdeskError as exc:
            self.plan_view.show_hint("")
            self._show_error(exc)

    def _plan_ready(self, generation: int, plan: SchedulePlan) -> None:
        self._plan_running = False
        if generation == self._plan_generation:
            self.plan_view.show_plan(plan)

    def _plan_failed(self, generation: int, exc: Exception) -> None:
        self._plan_running = False
        if generation != self._plan_generation:
            return
        if isinstance(exc, SmsdeskError) and exc.field in ("send_at", "zone"):
            self.plan_view.show_hint("")
            self._show_error(exc)
        else:
            # Still being written (an unknown merge field, a sender being typed): a quiet
            # note here; Schedule puts it beside its field.
            self.plan_view.show_hint(f"Not ready to schedule: {exc}")

    def send_at(self) -> tuple[datetime, str]:
        """The picked wall time read in the picked zone; refuses times DST skips or repeats."""
        zone = resolve_zone(self.zone_combo.currentText())
        return localize(qt_to_wall(self.send_at_edit.dateTime()), zone), zone.key

    # -- errors ---------------------------------------------------------------------------

    def _error_labels(self) -> dict[str, QLabel]:
        return {
            "recipients": self.recipients_error,
            "text": self.text_error,
            "send_at": self.send_at_error,
            "zone": self.zone_error,
            "sender": self.sender_error,
            "provider": self.provider_error,
            **dict.fromkeys(RULE_FIELDS, self.repeat.error),
        }

    def _clear_errors(self) -> None:
        for label in self._error_labels().values():
            show_error(label, "")

    def _show_error(self, exc: SmsdeskError) -> None:
        label = self._error_labels().get(exc.field)
        if label is None:
            self.result_label.setText(str(exc))
            self.result_label.setStyleSheet("color: #c0392b;")
        else:
            show_error(label, str(exc))

    # -- actions --------------------------------------------------------------------------

    def schedule(self) -> None:
        """Plan, ask (the summary step) when the plan calls for it, then store exactly the
        plan that was shown. One keystroke for a single ordinary message."""
        if self._busy:
            return
        self._clear_errors()
        self.result_label.clear()
        self.result_label.setStyleSheet("")
        try:
            request = self._request()
        except SmsdeskError as exc:
            self._show_error(exc)
            return
        if self.repeat.repeats():
            self._plan_series(request)
            return
        if self._request_size(request) <= SYNC_RECIPIENTS:
            try:
                plan = self.service.scheduling.plan(**request)
            except SmsdeskError as exc:
                self._show_error(exc)
                return
            self._planned(request, plan)
            return
        self._set_busy(True, "Working out what will happen…")
        self.tasks.submit(
            lambda: self.service.scheduling.plan(**request),
            lambda plan: self._planned(request, plan),
            self._schedule_failed,
        )

    def _plan_series(self, request: dict[str, Any]) -> None:
        """A repeat: its first time planned as any message is, and the whole repetition
        outlined, both before anything is stored (in the background: the outline reads
        every occurrence of the rule)."""
        if request["recipient_local"]:
            self.repeat.schedule(request)  # refused beside the Repeat control
            return
        if request["send_at"] - self.service.clock.now() > MAX_AHEAD:
            # No single message may start over a year ahead, so there is no first-time plan:
            # the series is checked and stored as it stands.
            self._set_busy(True, "Starting the recurring message…")
            self.repeat.schedule(request)
            return
        try:
            series = self.repeat.series_request(request)
        except SmsdeskError as exc:
            self._show_error(exc)
            return
        book, scheduling = self.repeat.book, self.service.scheduling
        self._set_busy(True, "Working out what will happen…")

        def work() -> tuple[SchedulePlan, SeriesOutline]:
            return scheduling.plan(**request), book.outline(series)

        self.tasks.submit(
            work,
            lambda done: self._planned(request, done[0], outline=done[1]),
            self._schedule_failed,
        )

    def _set_busy(self, busy: bool, note: str = "") -> None:
        self._busy = busy
        self.schedule_button.setEnabled(not busy)
        if note:
            self.result_label.setStyleSheet("")
            self.result_label.setText(note)

    def _planned(
        self,
        request: dict[str, Any],
        plan: SchedulePlan,
        note: str = "",
        outline: SeriesOutline | None = None,
    ) -> None:
        self._set_busy(False)
        self.result_label.clear()
        self.plan_view.show_plan(plan)
        if outline is not None:
            self.plan_view.show_outline(outline)
        problem = plan.refusal_error()
        if problem is not None:
            self._show_error(problem)
            return
        if not request["text"].strip():
            show_error(self.text_error, "The message is empty.")
            return
        moves = outline is not None and bool(outline.moved or outline.skipped)
        if plan.needs_summary or note or moves:
            self._ask(request, plan, note, outline)
        else:
            self._store(request, plan, outline)

    def _ask(
        self,
        request: dict[str, Any],
        plan: SchedulePlan,
        note: str,
        outline: SeriesOutline | None = None,
    ) -> None:
        """The summary step: window-modal, answered by its own buttons."""
        dialog = ScheduleSummaryDialog(plan, self, note, outline)
        self.summary_dialog = dialog
        self._set_busy(True)

        def answered(result: int) -> None:
            self.summary_dialog = None
            dialog.deleteLater()
            self._set_busy(False)
            if result == int(ScheduleSummaryDialog.DialogCode.Accepted):
                self._store(request, plan, outline)
            else:
                self.result_label.setText("Not scheduled; nothing was stored.")

        dialog.finished.connect(answered)
        dialog.open()

    def _store(
        self, request: dict[str, Any], plan: SchedulePlan, outline: SeriesOutline | None = None
    ) -> None:
        """Store what the plan says; if planning again now gives another outcome, nothing
        is stored and the summary shows the new plan. With an outline: start the series."""
        if outline is not None:
            self._set_busy(True, "Starting the recurring message…")
            self.repeat.schedule(request)
            return
        if len(plan.messages) <= SYNC_RECIPIENTS:
            try:
                result = self.service.schedule(**request, expected=plan)
            except SmsdeskError as exc:
                self._schedule_failed(exc, request)
                return
            self._scheduled(result)
            return
        self._set_busy(True, f"Storing {len(plan.messages):,} messages…")
        self.tasks.submit(
            lambda: self.service.schedule(**request, expected=plan),
            self._scheduled,
            lambda exc: self._schedule_failed(exc, request),
        )

    def _schedule_failed(self, exc: Exception, request: dict[str, Any] | None = None) -> None:
        self._set_busy(False)
        self.result_label.clear()
        if isinstance(exc, PlanChanged) and request is not None:
            self._planned(request, exc.plan, exc.message)
        elif isinstance(exc, SmsdeskError):
            self._show_error(exc)
        else:
            self.result_label.setText(f"Not scheduled: {exc}")
            self.result_label.setStyleSheet("color: #c0392b;")

    def _scheduled(self, result: BatchResult) -> None:
        self._set_busy(False)
        if self._draft_id is not None:
            # Already deleted from the Drafts list means nothing is left to tidy.
            with contextlib.suppress(SmsdeskError):
                self.service.delete_draft(self._draft_id)
        self.new_message()
        self.result_label.setText(self.describe_result(result))
        plan = result.plan if isinstance(result, ScheduledBatch) else None
        if plan is not None and plan.messages:
            self.undo_bar.offer(result.batch_id, len(plan.messages))
        self.scheduled.emit(result)

    def _series_started(self, series: SeriesSummary, outline: SeriesOutline) -> None:
        self._set_busy(False)
        self.new_message()
        self.repeat.reset()
        self.result_label.setText(started_text(series, outline))
        self.scheduled.emit(series)

    @staticmethod
    def describe_result(result: BatchResult) -> str:
        """What was stored, in the words of the plan it was stored from."""
        plan = result.plan if isinstance(result, ScheduledBatch) else None
        if plan is None:
            count = len(result.messages)
            return f"Scheduled {count} message{'s' if count != 1 else ''}."
        lines = [f"Scheduled {plan_headline(plan)}", *plan_details(plan, RESULT_LINES)]
        return "\n".join(lines)

    def _undone(self, outcome: UndoOutcome) -> None:
        self.result_label.setStyleSheet("" if outcome.ok else "color: #c0392b;")
        self.result_label.setText(outcome.text)
        self.undone.emit(outcome)

    def _draft_send_at(self) -> datetime | None:
        try:
            return self.send_at()[0]
        except InvalidInput:
            return None  # a draft may hold a time that is not valid yet

    def autosave(self) -> None:
        """Save the work in progress as a draft (debounced: after a pause in typing)."""
        if not (self.recipients_edit.toPlainText().strip() or self.message_edit.toPlainText()):
            return
        self.save_draft(quiet=True)

    def save_draft(self, quiet: bool = False) -> None:
        self.autosave_timer.stop()
        try:
            draft = self.service.save_draft(
                draft_id=self._draft_id,
                recipients=self.recipients_edit.toPlainText(),
                text=self.message_edit.toPlainText(),
                sender=self.sender_edit.text().strip() or None,
                account_name=self.account_combo.currentText() or None,
                send_at=self._draft_send_at(),
                zone=self.zone_combo.currentText() or None,
            )
        except SmsdeskError as exc:
            if exc.field == "id":  # deleted from the Drafts list meanwhile: start a new one
                self._draft_id = None
                if not quiet:
                    self.save_draft()
                return
            self._show_error(exc)
            return
        self._draft_id = draft.id
        if not quiet:
            self.result_label.setStyleSheet("")
            self.result_label.setText("Draft saved.")
        self.draft_saved.emit(draft)

    def preview(self) -> None:
        text = self.message_edit.toPlainText()
        account = self.account_combo.currentText() or None
        self.preview_button.setEnabled(False)
        self.preview_label.setText("Asking for a preview…")
        # The provider's own preview is a network call: off the Qt thread.
        self.tasks.submit(
            lambda: self.service.preview(text, account), self._preview_done, self._preview_failed
        )

    def _preview_done(self, preview: PreviewView) -> None:
        self.preview_button.setEnabled(True)
        line = (
            f"Preview ({preview.provider}): {preview.characters} characters, "
            f"{preview.segments} segment{'s' if preview.segments != 1 else ''}, "
            f"{preview.encoding}."
        )
        if preview.server:
            note = preview.server.get("note")
            line += f" The provider counts {preview.server.get('segments')} segment(s)."
            if note:
                line += f" {note}"
        else:
            line += " (counted here; this provider has no preview of its own)"
        self.preview_label.setText(line)

    def _preview_failed(self, exc: Exception) -> None:
        self.preview_button.setEnabled(True)
        self.preview_label.setText(f"Preview failed: {exc}")
