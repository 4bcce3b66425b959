"""Fonts for every script a clinic's patients write in, and for emoji.

The window's font keeps the desktop's choice first; after it come fonts that cover what it
may not: colour emoji, Chinese/Japanese/Korean, and the Noto fonts for the other scripts.
Qt uses the first family that has a glyph, so text never shows as empty boxes where one of
these is installed. On Debian and Ubuntu they are the packages in ``FONT_PACKAGES``; Windows
and macOS ship their own emoji and CJK fonts (Segoe UI Emoji, Apple Color Emoji...).
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

FALLBACK_FAMILIES = (
    "Noto Sans",
    "DejaVu Sans",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans Bengali",
    "Noto Sans Thai",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Segoe UI",  # Windows
    "Microsoft YaHei",
    "PingFang SC",  # macOS
    "Noto Color Emoji",
    "Segoe UI Emoji",
    "Apple Color Emoji",
)
FONT_PACKAGES = ("fonts-noto-core", "fonts-noto-cjk", "fonts-noto-color-emoji")


def with_fallbacks(font: QFont) -> QFont:
    """``font`` with the fallback families after its own (each once)."""
    first = list(font.families()) or [font.family()]
    families = list(dict.fromkeys([*first, *FALLBACK_FAMILIES]))
    result = QFont(font)
    result.setFamilies(families)
    return result


def apply() -> None:
    """Declare the fallbacks on the application's font (every widget inherits it)."""
    QApplication.setFont(with_fallbacks(QApplication.font()))
