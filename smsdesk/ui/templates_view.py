"""Templates: saved message texts with merge fields. Each is shown with the live segment
counter, its worst-case length after merging (with the longest value each field has among
the contacts) and the STOP-word warning, while it is typed.

Beside the text, what replies to its messages mean and get back (template_reply_fields).

"Use in Compose" emits ``use_template_requested(text)``; the window decides what Compose does.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.segments import count_segments
from smsdesk.core.templates import lint, parse_template, render
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.template_replies import DEFAULT_RULES
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.template_reply_fields import ReplyRulesFields
from smsdesk.ui.widgets import Confirm, ask_with_dialog, error_label, show_error, with_error

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
WARNING_STYLE = "color: #9a6700;"
# The longest number E.164 allows, for {number} when no contact has one yet.
LONGEST_NUMBER = "+" + "0" * 15


def counter_text(text: str) -> str:
    info = count_segments(text)
    plural = "s" if info.segments != 1 else ""
    return (
        f"{info.characters} characters · {info.segments} segment{plural} · {info.encoding} · "
        f"{info.remaining} left in this segment"
    )


def worst_case_text(text: str, longest: dict[str, str]) -> str:
    """The template merged with the longest value each field has among the contacts."""
    try:
        template = parse_template(text)
    except InvalidInput:
        return ""
    if not template.fields:
        return "No merge fields: every recipient gets this text as it is."
    values: dict[str, object] = {"number": LONGEST_NUMBER, **longest}
    try:
        merged = render(template, values)
    except InvalidInput:
        missing = [f for f in template.fields if not values.get(f) and not values.get(f.lower())]
        named = ", ".join("{" + f + "}" for f in missing)
        return (
            f"Longest after merging: cannot tell; no contact has a value for {named}. "
            "Add a fallback like {" + (missing[0] if missing else "name") + "|there}."
        )
    info = count_segments(merged)
    plural = "s" if info.segments != 1 else ""
    return (
        f"Longest after merging: {info.characters} characters · {info.segments} "
        f"segment{plural} · {info.encoding} (with the longest value each field has among "
        "your contacts)"
    )


class TemplatesView(QWidget):
    use_template_requested = Signal(str)  # the template's text, for Compose
    changed = Signal()  # a template was saved or deleted: Compose re-reads its list

    def __init__(
        self,
        book: ContactBook,
        tasks: TaskRunner,
        *,
        confirm: Confirm | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.book = book
        self.tasks = tasks
        self.confirm = confirm or ask_with_dialog(self)
        self.longest: dict[str, str] = {}
        # The longest values come from a pass over every contact: done once, and again only
        # after the contacts changed.
        self._scan_needed = True
        self._scanning = False
        self.setObjectName("templatesView")
        self.setAccessibleName("Templates")

        self.list = QListWidget()
        self.list.setObjectName("templatesList")
        self.list.setAccessibleName("Saved templates")
        self.new_button = self._button("newTemplateButton", "New template")
        self.delete_button = self._button("deleteTemplateButton", "Delete…")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("templateNameEdit")
        self.name_edit.setAccessibleName("Template name")
        self.name_edit.setPlaceholderText("e.g. Appointment reminder")
        self.text_edit = QPlainTextEdit()
        self.text_edit.setObjectName("templateTextEdit")
        self.text_edit.setAccessibleName("Template text")
        self.text_edit.setTabChangesFocus(True)  # Tab moves on, as everywhere else
        self.text_edit.setPlaceholderText(
            "Hi {first_name|there}, see you {starts_at:%a %d %b at %H:%M|soon}. Reply 1 to confirm."
        )
        self.counter_label = QLabel()
        self.counter_label.setObjectName("templateCounter")
        self.counter_label.setAccessibleName("Characters and segments")
        self.worst_label = QLabel()
        self.worst_label.setObjectName("templateWorstCase")
        self.worst_label.setAccessibleName("Longest after merging")
        self.worst_label.setWordWrap(True)
        self.lint_label = QLabel()
        self.lint_label.setObjectName("templateLint")
        self.lint_label.setAccessibleName("Warnings")
        self.lint_label.setWordWrap(True)
        self.lint_label.setStyleSheet(WARNING_STYLE)
        self.lint_label.hide()
        self.name_error = error_label("templateNameError", "Template name error")
        self.text_error = error_label("templateTextError", "Template text error")
        self.reply_fields = ReplyRulesFields()
        self.save_button = self._button("saveTemplateButton", "Save template")
        self.use_button = self._button("useTemplateButton", "Use in Compose")
        self.status_label = QLabel()
        self.status_label.setObjectName("templateStatus")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        ll.addLayout(row)
        right = QWidget()
        form = QFormLayout(right)
        form.addRow("Name", with_error(self.name_edit, self.name_error))
        text_box = with_error(self.text_edit, self.text_error)
        text_layout = text_box.layout()
        assert text_layout is not None
        for label in (self.counter_label, self.worst_label, self.lint_label):
            text_layout.addWidget(label)
        form.addRow("Text", text_box)
        form.addRow(self.reply_fields)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        form.addRow("", buttons)
        form.addRow(self.status_label)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.list.currentItemChanged.connect(lambda _c, _p: self._show_selected())
        self.text_edit.textChanged.connect(self._text_changed)
        self.new_button.clicked.connect(self.new_template)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete_selected)
        self.use_button.clicked.connect(self._use)
        self._text_changed()
        self._update_buttons()

    @staticmethod
    def _button(name: str, text: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text)
        return button

    def refresh(self) -> None:
        current = self.selected_name()
        self.list.blockSignals(True)
        self.list.clear()
        for template in self.book.templates():
            item = QListWidgetItem(template.name)
            item.setData(NAME_ROLE, template.name)
            item.setToolTip(template.text)
            self.list.addItem(item)
        if current:
            self._select(current)  # signals still blocked: what is being edited stays
        self.list.blockSignals(False)
        self._update_buttons()
        if self._scan_needed and not self._scanning:
            # In the background; the worst case is worked out again when it is done.
            self._scan_needed, self._scanning = False, True
            self.tasks.submit(self.book.longest_values, self._longest_ready, self._scan_failed)

    def contacts_changed(self) -> None:
        """Contacts were added or changed: read the longest values again when shown."""
        self._scan_needed = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        # Templates may have been saved from the command line meanwhile.
        super().showEvent(event)
        self.refresh()

    def _longest_ready(self, longest: dict[str, str]) -> None:
        self._scanning = False
        self.longest = longest
        self._text_changed()

    def _scan_failed(self, exc: Exception) -> None:
        self._scanning = False
        self._scan_needed = True
        self.worst_label.setText(f"Longest after merging: contacts could not be read ({exc}).")
        self.worst_label.show()

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        value = item.data(NAME_ROLE) if item is not None else None
        return value if isinstance(value, str) else None

    def _select(self, name: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(NAME_ROLE) == name:
                self.list.setCurrentRow(row)
                return

    def _update_buttons(self) -> None:
        self.delete_button.setEnabled(self.selected_name() is not None)
        self.use_button.setEnabled(bool(self.text_edit.toPlainText().strip()))

    def _show_selected(self) -> None:
        name = self.selected_name()
        self._update_buttons()
        if name is None:
            return
        try:
            template = self.book.template(name)
        except SmsdeskError as exc:
            self.status_label.setText(str(exc))
            return
        self.name_edit.setText(template.name)
        self.text_edit.setPlainText(template.text)
        self.reply_fields.set_rules(template.replies)
        self.status_label.setText("")

    def _text_changed(self) -> None:
        text = self.text_edit.toPlainText()
        self.counter_label.setText(counter_text(text))
        try:
            parse_template(text)
        except InvalidInput as exc:
            show_error(self.text_error, f"Merge fields: {exc.message}")
        else:
            show_error(self.text_error, "")
        self.worst_label.setText(worst_case_text(text, self.longest))
        self.worst_label.setVisible(bool(self.worst_label.text()))
        warnings = lint(text)
        self.lint_label.setText("\n".join(f"Warning: {w}" for w in warnings))
        self.lint_label.setVisible(bool(warnings))
        self._update_buttons()

    def new_template(self) -> None:
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self._update_buttons()
        self.name_edit.clear()
        self.text_edit.clear()
        self.reply_fields.set_rules(DEFAULT_RULES)
        show_error(self.name_error, "")
        self.status_label.setText("")
        self.name_edit.setFocus()

    def save(self) -> None:
        show_error(self.name_error, "")
        name = self.name_edit.text().strip()
        text = self.text_edit.toPlainText()
        if not text.strip():
            show_error(self.text_error, "Type the template's text.")
            return
        rules = self.reply_fields.rules()  # None: its error is shown beside the field
        if rules is None:
            return
        renamed_from = self.selected_name()
        try:
            view = self.book.save_template(name, text, rules)
        except SmsdeskError as exc:
            label = self.name_error if exc.field == "name" else self.text_error
            show_error(label, str(exc))
            return
        if renamed_from and renamed_from != view.name:
            # Editing the name of a selected template renames it rather than copying it.
            try:
                self.book.delete_template(renamed_from)
            except SmsdeskError as exc:
                self.status_label.setText(str(exc))
        self.refresh()
        self._select(view.name)
        self.status_label.setText(f"Saved “{view.name}”.")
        self.changed.emit()

    def delete_selected(self) -> None:
        name = self.selected_name()
        if name is None or not self.confirm("Delete template", f"Delete the template “{name}”?"):
            return
        try:
            self.book.delete_template(name)
        except SmsdeskError as exc:
            self.status_label.setText(str(exc))
            return
        self.new_template()
        self.refresh()
        self.status_label.setText(f"Deleted “{name}”.")
        self.changed.emit()

    def _use(self) -> None:
        text = self.text_edit.toPlainText()
        if text.strip():
            self.use_template_requested.emit(text)
