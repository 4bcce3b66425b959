"""The summary step before a batch is stored: what it is, what it costs, when it goes.

Shown for 10 or more recipients, when quiet hours move any message, or when the text is
longer than one segment (see ``SchedulePlan.needs_summary``); a single ordinary message is
scheduled without it. Opened window-modal and answered by its own buttons.
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

SHOWN_LINES = 200


class ScheduleSummaryDialog(QDialog):
    def __init__(self, plan: SchedulePlan, parent: QWidget | None = None, note: str = "") -> None:
        super().__init__(parent)
        self.plan = plan
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
        headline = QLabel(plan_headline(plan))
        headline.setObjectName("summaryHeadline")
        headline.setWordWrap(True)
        layout.addWidget(headline)

        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for title, value in summary_lines(plan):
            label = QLabel(value)
            label.setObjectName("summary" + title.replace(" ", ""))
            label.setAccessibleName(title)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{title}:", label)
            self.values[title] = label
        layout.addLayout(form)

        lines = plan_details(plan, SHOWN_LINES)
        self.details = QListWidget()
        self.details.setObjectName("summaryDetails")
        self.details.setAccessibleName("Recipients whose time or handling differs")
        self.details.addItems(lines)
        self.details.setVisible(bool(lines))
        layout.addWidget(self.details)

        count = len(plan.messages)
        self.schedule_button = QPushButton(f"Schedule {count} message{'s' if count != 1 else ''}")
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
