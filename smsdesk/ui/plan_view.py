"""Compose's "what will happen": the engine's schedule plan, shown before Schedule.

A headline (how many, when, where they will live) and one line per recipient whose time or
handling differs from it, then the refused ones with why. The same lines the command line
prints, from the same plan object.

With a Repeat chosen, the headline is the series outline instead (how often, how many, the
first and last time, the occurrences quiet hours move), as ``smsdesk series`` prints it,
followed by how the first time is handled.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from smsdesk.engine.plan import SchedulePlan, plan_details, plan_headline
from smsdesk.engine.series_outline import SeriesOutline, outline_details, outline_headline

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
        self.outline: SeriesOutline | None = None
        self._hint = ""

    def show_plan(self, plan: SchedulePlan) -> None:
        self.plan = plan
        self._render()

    def show_hint(self, text: str) -> None:
        """Why there is no plan yet (e.g. "Add a recipient"), in a quiet colour."""
        self.plan = None
        self._hint = text
        self._render()

    def show_outline(self, outline: SeriesOutline | None) -> None:
        """The repetition the Repeat control gives; None: it does not repeat."""
        self.outline = outline
        self._render()

    def _render(self) -> None:
        plan, outline = self.plan, self.outline
        lines: list[str] = []
        if outline is not None:
            text = outline_headline(outline)
            first = plan.first if plan is not None else None
            after = f"The first time: {first.handling}" if first is not None else self._hint
            text = f"{text} {after}" if after else text
            lines = outline_details(outline, SHOWN_LINES)
        elif plan is not None:
            text = plan_headline(plan)
        else:
            text = self._hint
        if plan is not None:
            lines += plan_details(plan, SHOWN_LINES)
        self.headline.setStyleSheet(HINT_STYLE if plan is None and outline is None else "")
        self.headline.setText(text)
        self.details.clear()
        self.details.addItems(lines[:SHOWN_LINES])
        self.details.setVisible(bool(lines))

    def lines(self) -> list[str]:
        return [self.details.item(i).text() for i in range(self.details.count())]
