"""Compose's contact-book parts: the merge preview under the counter, and the Group and
Templates combos.

The preview shows what the first recipients will actually get, which recipient would be
refused for a missing value, the worst-case segment count after merging (what the cost
depends on) and lint warnings, so problems show while typing rather than at Schedule.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.phones import normalize_number, split_recipients
from smsdesk.core.segments import count_segments
from smsdesk.core.templates import Template, lint, parse_template, render_all, worst_case
from smsdesk.engine.audience import values_for
from smsdesk.engine.contacts import ContactBook
from smsdesk.ui.widgets import ERROR_STYLE

SHOWN = 5  # recipients previewed one by one; the rest only count towards the worst case
WARNING_STYLE = "color: #9a6700;"
NOTE_STYLE = "color: #566573;"


def recipient_numbers(
    book: ContactBook, recipients: str, region: str | None, group: str | None
) -> list[str]:
    """The numbers a schedule would reach, in order: typed ones (invalid ones are left to
    the recipients check) then the group's members."""
    numbers: list[str] = []
    for raw in split_recipients(recipients):
        try:
            numbers.append(normalize_number(raw, region, allow_test_numbers=True))
        except InvalidInput:
            continue
    if group:
        # A group deleted meanwhile adds nobody; Schedule says so.
        with contextlib.suppress(SmsdeskError):
            numbers += book.group_numbers(group)
    return list(dict.fromkeys(numbers))


class MergePreview(QWidget):
    """Lines of text under the message counter; hidden when there is nothing to say."""

    def __init__(self, book: ContactBook, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.setObjectName("mergePreview")
        self.setAccessibleName("Merge preview")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.setSpacing(1)
        self._labels: list[QLabel] = []
        # Contact values for the last recipient list: typing in the text reuses them.
        self._values_for: tuple[str, ...] = ()
        self._values: list[dict[str, object]] = []
        self._names: list[str] = []
        self._opted_out = 0
        self.hide()

    def invalidate(self) -> None:
        """Contacts changed: read their values again next time."""
        self._values_for = ()

    def lines(self) -> list[str]:
        return [label.text() for label in self._labels]

    def _add(self, text: str, name: str, style: str = "") -> None:
        label = QLabel(text)
        label.setObjectName(name)
        label.setAccessibleName(text)
        label.setWordWrap(True)
        label.setStyleSheet(style)
        self._layout.addWidget(label)
        self._labels.append(label)

    def _clear(self) -> None:
        for label in self._labels:
            self._layout.removeWidget(label)
            label.deleteLater()
        self._labels = []

    def _load(self, numbers: Sequence[str]) -> None:
        key = tuple(numbers)
        if key == self._values_for:
            return
        opted = self.book.opted_out(numbers)
        allowed = [n for n in numbers if n not in opted]
        contacts = self.book.by_numbers(allowed)
        self._values = [values_for(n, contacts.get(n)) for n in allowed]
        self._names = [str(v.get("name", "")) for v in self._values]
        self._opted_out = len(numbers) - len(allowed)
        self._values_for = key

    def update_preview(self, text: str, numbers: Sequence[str]) -> None:
        self._clear()
        try:
            template = parse_template(text)
        except InvalidInput as exc:
            self._add(f"Merge fields: {exc.message}", "mergeError", ERROR_STYLE)
            template = None
        if template is not None and template.fields:
            self._preview(template, numbers)
        for warning in lint(text):
            self._add(f"Warning: {warning}", "lintWarning", WARNING_STYLE)
        self.setVisible(bool(self._labels))

    def _preview(self, template: Template, numbers: Sequence[str]) -> None:
        if not numbers:
            self._add("Add recipients to see each one's message.", "mergeNote", NOTE_STYLE)
            return
        self._load(numbers)
        results = render_all(template, self._values)
        worst, worst_text = worst_case(template, self._values)
        if worst:
            encoding = count_segments(worst_text).encoding
            self._add(
                f"Longest after merging: {worst} segment{'s' if worst != 1 else ''} ({encoding})",
                "mergeWorstCase",
            )
        shown = zip(self._values[:SHOWN], self._names, results, strict=False)
        for values, name, result in shown:
            who = f"{values['number']} ({name})" if name else str(values["number"])
            if isinstance(result, InvalidInput):
                self._add(f"{who}: {result.message}", "mergeError", ERROR_STYLE)
            else:
                self._add(f"{who}: {result}", "mergeLine")
        rest = results[SHOWN:]
        if rest:
            failing = sum(isinstance(r, InvalidInput) for r in rest)
            more = f"… and {len(rest)} more"
            if failing:
                more += f", {failing} of them with a missing value (Schedule refuses those)"
            self._add(more, "mergeMore", ERROR_STYLE if failing else NOTE_STYLE)
        if self._opted_out:
            self._add(
                f"{self._opted_out} opted out; they will be skipped.", "mergeNote", NOTE_STYLE
            )


def fill_groups(combo: QComboBox, book: ContactBook) -> None:
    """ "(no group)" then each group with its size; the current pick is kept if it still
    exists."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem("(no group)", None)
    for name, count in book.groups():
        combo.addItem(f"{name} ({count})", name)
    index = combo.findData(current) if current else 0
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)


def fill_templates(combo: QComboBox, book: ContactBook) -> None:
    """A prompt first (so picking inserts and the prompt comes back), then each template."""
    combo.blockSignals(True)
    combo.clear()
    templates = book.templates()
    combo.addItem("Insert a template…" if templates else "No saved templates", None)
    for template in templates:
        combo.addItem(template.name, template.text)
        combo.setItemData(combo.count() - 1, template.text, Qt.ItemDataRole.ToolTipRole)
    combo.setEnabled(bool(templates))
    combo.setCurrentIndex(0)
    combo.blockSignals(False)
