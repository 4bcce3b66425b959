"""The Calendar's colours: a legend that says what each one means, and badges whose text is
readable (WCAG contrast of at least 4.5:1) on a dark theme as on a light one."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.ui.calendar_colours import contrast
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.queue_model import STATE_COLOURS

NO_PLACE = "+15551234567"
WCAG_AA = 4.5


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.WindowText, "#e8eaed"),
        (QPalette.ColorRole.Base, "#17181a"),
        (QPalette.ColorRole.AlternateBase, "#2a2b2e"),
        (QPalette.ColorRole.Text, "#e8eaed"),
        (QPalette.ColorRole.Button, "#2a2b2e"),
        (QPalette.ColorRole.ButtonText, "#e8eaed"),
        (QPalette.ColorRole.Highlight, "#8ab4f8"),
        (QPalette.ColorRole.HighlightedText, "#202124"),
        (QPalette.ColorRole.ToolTipBase, "#2a2b2e"),
        (QPalette.ColorRole.ToolTipText, "#e8eaed"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


@pytest.fixture
def dark(qapp: QApplication) -> Iterator[QPalette]:
    before = qapp.palette()
    palette = dark_palette()
    qapp.setPalette(palette)
    yield palette
    qapp.setPalette(before)


def several_states(service: Service, clock: ManualClock) -> None:
    """Messages queued, scheduled at the provider and cancelled, on different days."""
    tomorrow = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    service.schedule([NO_PLACE], "At provider", tomorrow, "UTC")
    Dispatcher(service.ctx).run_once()  # handed to the Sandbox, which schedules it
    service.schedule([NO_PLACE], "Held here", tomorrow + timedelta(days=5), "UTC")
    [cancelled] = service.schedule([NO_PLACE], "Off", tomorrow + timedelta(days=2), "UTC").messages
    service.cancel(cancelled.message.id)


def pixels(image: QImage, rect: QRect) -> set[str]:
    return {
        image.pixelColor(QPoint(x, y)).name()
        for x in range(rect.left(), rect.right() + 1)
        for y in range(rect.top(), rect.bottom() + 1)
    }


def test_the_legend_says_what_every_colour_means(window: MainWindow) -> None:
    window.show_view("Calendar")
    legend = window.calendar.legend
    assert legend.objectName() == "calendarLegend" and legend.isVisible()
    shown = {b.text(): b for b in legend.badges}
    assert list(shown) == ["draft or cancelled", "held on this computer", "at provider",
                           "sent or delivered", "failed or expired", "needs checking"]  # fmt: skip
    # Every state the calendar colours is in exactly one entry, under its own colour.
    covered: list[str] = []
    for badge in legend.badges:
        states = badge.property("states")
        covered += states
        colours = {STATE_COLOURS[s] for s in states}
        assert len(colours) == 1
        image = badge.grab().toImage()
        assert image.pixelColor(QPoint(image.width() // 2, 1)).name() == colours.pop()
    assert sorted(covered) == sorted(STATE_COLOURS)
    assert "queued" in shown["held on this computer"].toolTip()


def test_badges_are_readable_on_a_dark_theme(
    qtbot: QtBot, dark: QPalette, window: MainWindow, service: Service, clock: ManualClock
) -> None:
    several_states(service, clock)
    window.show_view("Calendar")
    cal = window.calendar
    month = cal.calendar
    assert month.palette().color(QPalette.ColorRole.Base).name() == "#17181a"
    image = month.grid.viewport().grab().toImage()
    ratio = image.width() / month.grid.viewport().width()  # device pixels at any scaling
    painted = {day: month.badges[day] for day in (date(2026, 12, 2), date(2026, 12, 4),
                                                  date(2026, 12, 7))}  # fmt: skip
    assert {day: bg.name() for day, (_r, _fg, bg) in painted.items()} == {
        date(2026, 12, 2): STATE_COLOURS["scheduled"],
        date(2026, 12, 4): STATE_COLOURS["cancelled"],
        date(2026, 12, 7): STATE_COLOURS["queued"],
    }
    for rect, foreground, background in painted.values():
        assert contrast(foreground, background) >= WCAG_AA
        # What is on screen is that badge: its colour, and its text in the chosen colour.
        scaled = QRect(
            round(rect.left() * ratio), round(rect.top() * ratio),
            round(rect.width() * ratio), round(rect.height() * ratio),
        )  # fmt: skip
        seen = pixels(image, scaled.adjusted(1, 1, -1, -1))
        assert background.name() in seen and foreground.name() in seen

    # The day list keeps the theme's text colour (the state is a coloured dot).
    cal.select_day(date(2026, 12, 2))
    item = cal.day_list.item(0)
    text = item.foreground().color() if item.foreground().style() != Qt.BrushStyle.NoBrush else (
        cal.day_list.palette().color(QPalette.ColorRole.Text)
    )  # fmt: skip
    base = cal.day_list.palette().color(QPalette.ColorRole.Base)
    assert contrast(text, base) >= WCAG_AA

    # The week's badges and the legend's, on the same dark theme.
    qtbot.mouseClick(cal.week_button, Qt.MouseButton.LeftButton)
    week = cal.week
    week.scrollTo(week.model().index(15, 2))
    badge = week.badge_rect(week.shown(15, 2)[0].id)
    assert badge is not None
    grabbed = week.viewport().grab().toImage()
    scale = grabbed.width() / week.viewport().width()
    inner = QRect(round(badge.left() * scale), round(badge.top() * scale),
                  round(badge.width() * scale), round(badge.height() * scale))  # fmt: skip
    seen = pixels(grabbed, inner.adjusted(2, 2, -2, -2))
    scheduled = QColor(STATE_COLOURS["scheduled"])
    assert scheduled.name() in seen
    text_colours = [QColor(c) for c in seen if contrast(QColor(c), scheduled) >= WCAG_AA]
    assert text_colours, "no text colour on the badge reads against it"
    for label in cal.legend.badges:
        shot = label.grab().toImage()
        colours = pixels(shot, shot.rect())
        background = QColor(STATE_COLOURS[label.property("states")[0]])
        assert background.name() in colours
        assert any(contrast(QColor(c), background) >= WCAG_AA for c in colours), label.text()
