"""Emoji and non-Latin scripts render with real glyphs (no empty boxes) through the font
fallbacks smsdesk declares; the fonts are the packages fonts.FONT_PACKAGES names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QFont, QTextLayout
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from smsdesk.ui import fonts
from smsdesk.ui.main_window import MainWindow

SAMPLES = {
    "emoji": "See you at 10 🙂👍🏽🦷",
    "Cyrillic": "Ваш прием завтра в 10:00",
    "Greek": "Το ραντεβού σας είναι αύριο",
    "Arabic": "موعدك غدا الساعة العاشرة",
    "Hebrew": "התור שלך מחר בשעה עשר",
    "Devanagari": "आपकी अपॉइंटमेंट कल है",
    "Bengali": "আপনার অ্যাপয়েন্টমেন্ট আগামীকাল",
    "Thai": "นัดของคุณพรุ่งนี้",
    "Chinese": "您的预约在明天上午十点",
    "Japanese": "ご予約は明日の十時です",
    "Korean": "예약은 내일 10시입니다",
}


@pytest.fixture
def app_font(qapp: QApplication) -> Iterator[QFont]:
    before = QApplication.font()
    fonts.apply()
    yield QApplication.font()
    QApplication.setFont(before)


def _glyph_runs(text: str, font: QFont) -> list[tuple[str, list[int]]]:
    layout = QTextLayout(text, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return [(run.rawFont().familyName(), list(run.glyphIndexes())) for run in layout.glyphRuns()]


@pytest.mark.parametrize("script", list(SAMPLES))
def test_every_script_renders_with_real_glyphs(app_font: QFont, script: str) -> None:
    runs = _glyph_runs(SAMPLES[script], app_font)
    assert runs
    missing = [family for family, glyphs in runs if 0 in glyphs]  # glyph 0 is the empty box
    assert not missing, f"{script}: no glyph in {missing}"


def test_emoji_come_from_a_colour_emoji_font(app_font: QFont) -> None:
    families = {family for family, _ in _glyph_runs("🙂", app_font)}
    assert families & {"Noto Color Emoji", "Segoe UI Emoji", "Apple Color Emoji"}


def test_the_window_declares_the_fallbacks(
    qtbot: QtBot, app_font: QFont, window: MainWindow
) -> None:
    """Every widget inherits the application's font, fallbacks included."""
    families = window.compose.message_edit.font().families()
    assert families[0] == QApplication.font().families()[0]  # the desktop's choice first
    for family in ("Noto Color Emoji", "Noto Sans CJK SC", "Noto Sans Devanagari"):
        assert family in families
    text = SAMPLES["emoji"] + " " + SAMPLES["Chinese"]
    window.compose.message_edit.setPlainText(text)
    assert window.compose.counter_label.text().startswith(f"{len(text)} characters")
