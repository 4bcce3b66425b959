"""Compose's "what will happen": the engine's schedule plan, shown before Schedule.

A headline (how many, when, where they will live) and one line per recipient whose time or
handling differs from it, then the refused ones with why. The same lines the command line
prints, from the same plan object.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from smsdesk.engine.plan import SchedulePlan, plan_details, plan_headline

SHOWN_LINES = 200  # a list of thousands is not read; the summary step counts them
HINT_STYLE = "color: #566573;"


class PlanView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planView")
        self.setAccessibleName("What will happen")
        self.headline = QLabel()
        # The name earlier versions and tests know this line by.
        self.headline.setObjectName("handlingLabel")
        self.headline.setAccessibleName("How it will be handled")
        self.headline.setWordWrap(True)
        self.details = QListWidget()
        self.details.setObjectName("planList")
        self.details.setAccessibleName("Recipients whose time or handling differs")
        self.details.setMaximumHeight(96)
        self.details.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.details)
        self.plan: SchedulePlan | None = None

    def show_plan(self, plan: SchedulePlan) -> None:
        self.plan = plan
        self.headline.setStyleSheet("")
        self.headline.setText(plan_headline(plan))
        lines = plan_details(plan, SHOWN_LINES)
        self.details.clear()
        self.details.addItems(lines)
        self.details.setVisible(bool(lines))

    def show_hint(self, text: str) -> None:
        """Why there is no plan yet (e.g. "Add a recipient"), in a quiet colour."""
        self.plan = None
        self.headline.setStyleSheet(HINT_STYLE)
        self.headline.setText(text)
        self.details.clear()
        self.details.hide()

    def lines(self) -> list[str]:
        return [self.details.item(i).text() for i in range(self.details.count())]
