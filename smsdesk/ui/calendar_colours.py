"""The Calendar's colours: state badges whose text stays readable on any theme, and the legend
that says what each colour means."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from smsdesk.ui.queue_model import STATE_COLOURS

# Marks an occurrence of a series (stored, or planned from its rule).
SERIES_MARK = "↻"
CONFIRMED_MARK = "✓"

# What a colour means, in the words the window uses elsewhere (keyed by its first state).
MEANINGS = {
    "draft": "draft or cancelled",
    "queued": "held on this computer",
    "scheduled": "at provider",
    "sent": "sent or delivered",
    "failed": "failed or expired",
    "unknown": "needs checking",
}


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour: QColor) -> float:
    """WCAG relative luminance."""
    r, g, b = (_channel(c) for c in (colour.redF(), colour.greenF(), colour.blueF()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 to 21; 4.5 is the minimum for normal text."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (at least 4.58:1 for any
    colour), so a badge is readable whatever the theme around it."""
    black, white = QColor("#000000"), QColor("#ffffff")
    return black if contrast(black, background) >= contrast(white, background) else white


def state_colour(state: str) -> QColor:
    return QColor(STATE_COLOURS.get(state, "#7f8c8d"))


def state_icon(state: str, size: int = 12) -> QIcon:
    """A dot in the state's colour, for lists whose text keeps the theme's own colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(state_colour(state))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


def legend_entries() -> list[tuple[str, list[str], str]]:
    """(colour, its states, meaning) for each colour the calendar paints, from the very map
    the painting uses, so the legend cannot disagree with the badges."""
    by_colour: dict[str, list[str]] = {}
    for state, colour in STATE_COLOURS.items():
        by_colour.setdefault(colour, []).append(state)
    entries = []
    for colour, states in by_colour.items():
        meaning = next((MEANINGS[s] for s in states if s in MEANINGS), states[0])
        entries.append((colour, states, meaning))
    return entries


class Legend(QWidget):
    """One badge per colour, reading what it means; the tooltip lists its states."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("calendarLegend")
        self.setAccessibleName("Colour legend")
        # Three to a row: the legend never makes the window wider than the month needs.
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(2)
        self.badges: list[QLabel] = []
        for n, (colour, states, meaning) in enumerate(legend_entries()):
            badge = QLabel(meaning)
            badge.setObjectName(f"legend_{states[0]}")
            badge.setAccessibleName(f"{meaning}: {', '.join(states)}")
            badge.setToolTip("States: " + ", ".join(s.replace("_", " ") for s in states))
            background = QColor(colour)
            badge.setStyleSheet(
                f"QLabel {{ background: {background.name()}; color: {text_on(background).name()};"
                " border-radius: 3px; padding: 1px 6px; }"
            )
            badge.setProperty("states", states)
            layout.addWidget(badge, n // 3, n % 3)
            self.badges.append(badge)
        self.marks = QLabel(
            f"{SERIES_MARK} occurrence of a series (dashed: planned, not stored yet) · "
            f"{CONFIRMED_MARK} appointment confirmed"
        )
        self.marks.setObjectName("legendMarks")
        self.marks.setWordWrap(True)
        layout.addWidget(self.marks, layout.rowCount(), 0, 1, 3)
        layout.setColumnStretch(3, 1)
