"""The summary step before a batch is stored: what it is, what it costs, when it goes.

Shown for 10 or more recipients, when quiet hours move any message, or when the text is
longer than one segment (see ``SchedulePlan.needs_summary``); a single ordinary message is
scheduled without it. Opened window-modal and answered by its own buttons.

For a repeating message (an ``outline``): how often, how many occurrences, the first and
last send time and what quiet hours move, from the series outline; the plan's rows that
hold for each occurrence (recipients, messages, segments, price) say so.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.engine.plan import SchedulePlan, plan_details, plan_headline, summary_lines
from smsdesk.engine.series_outline import (
    SeriesOutline,
    outline_details,
    outline_headline,
    outline_rows,
)

SHOWN_LINES = 200
# The plan's rows that hold for every occurrence of a repeat (the rest are the first's).
EACH_TIME = {"Messages", "Segments", "Price"}


def rows_of(plan: SchedulePlan, outline: SeriesOutline | None) -> list[tuple[str, str]]:
    if outline is None:
        return summary_lines(plan)
    rows = [
        (f"{title} each time" if title in EACH_TIME else title, value)
        for title, value in summary_lines(plan)
        if title in EACH_TIME or title in ("Recipients", "Not sent")
    ]
    return rows + outline_rows(outline)


class ScheduleSummaryDialog(QDialog):
    def __init__(
        self,
        plan: SchedulePlan,
        parent: QWidget | None = None,
        note: str = "",
        outline: SeriesOutline | None = None,
    ) -> None:
        super().__init__(parent)
        self.plan, self.outline = plan, outline
        self.setObjectName("scheduleSummaryDialog")
        self.setWindowTitle("Schedule these messages?")
        self.setAccessibleName("Schedule summary")
        self.setWindowModality(Qt.WindowModality.WindowModal)

        layout = QVBoxLayout(self)
        if note:
            changed = QLabel(note)
            changed.setObjectName("summaryNote")
            changed.setWordWrap(True)
            changed.setStyleSheet("color: #9a6700;")
            layout.addWidget(changed)
        headline = QLabel(plan_headline(plan) if outline is None else outline_headline(outline))
        headline.setObjectName("summaryHeadline")
        headline.setWordWrap(True)
        layout.addWidget(headline)

        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for title, value in rows_of(plan, outline):
            label = QLabel(value)
            label.setObjectName("summary" + title.replace(" ", ""))
            label.setAccessibleName(title)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{title}:", label)
            self.values[title] = label
        layout.addLayout(form)

        lines = plan_details(plan, SHOWN_LINES)
        if outline is not None:
            lines = outline_details(outline, SHOWN_LINES) + lines
        self.details = QListWidget()
        self.details.setObjectName("summaryDetails")
        self.details.setAccessibleName("Recipients whose time or handling differs")
        self.details.addItems(lines)
        self.details.setVisible(bool(lines))
        layout.addWidget(self.details)

        count = len(plan.messages)
        self.schedule_button = QPushButton(
            f"Schedule {count} message{'s' if count != 1 else ''}"
            if outline is None
            else "Start the recurring message"
        )
        self.schedule_button.setObjectName("summaryScheduleButton")
        self.schedule_button.setAccessibleName(self.schedule_button.text())
        self.schedule_button.setDefault(True)
        self.back_button = QPushButton("Back to editing")
        self.back_button.setObjectName("summaryBackButton")
        self.back_button.setAccessibleName("Back to editing")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.schedule_button)
        layout.addLayout(buttons)
        self.schedule_button.clicked.connect(self.accept)
        self.back_button.clicked.connect(self.reject)
