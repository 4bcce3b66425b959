"""The checks of "Check this computer" that need Qt: the display and the fonts.

The window runs them in its own process. ``smsdesk doctor`` runs them in a child process
(``python -m smsdesk.ui.doctor_checks``): a display plugin that cannot load ends the process
it is loaded in, and the command line must still print its whole report.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence

from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QRawFont

from smsdesk.engine.doctor import Finding
from smsdesk.ui.qt_libraries import FAMILIES, INSTALL, Diagnosis, family, plain_platform_errors

# Platforms that draw nothing a person can see.
UNSEEN = ("offscreen", "minimal", "minimalegl")
# Emoji people put in messages; a font with all of them shows emoji (DejaVu has a few
# smileys but none of these).
EMOJI = "\U0001f44d\U0001f389\U0001f4c5"
# The package with fonts for a writing system: (Debian/Ubuntu, Fedora, Arch).
LATIN_FONTS = ("fonts-dejavu-core", "dejavu-sans-fonts", "ttf-dejavu")
EMOJI_FONTS = ("fonts-noto-color-emoji", "google-noto-color-emoji-fonts", "noto-fonts-emoji")
CJK_FONTS = ("fonts-noto-cjk", "google-noto-sans-cjk-fonts", "noto-fonts-cjk")
CJK = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO")
SCRIPT_NAMES = {"CJK": "Chinese characters", "HANGUL": "Korean", "HIRAGANA": "Japanese"}
SCRIPT_NAMES["KATAKANA"] = "Japanese"


def _install(packages: tuple[str, str, str]) -> str:
    system = family()
    names = [system] if system in FAMILIES else list(FAMILIES)
    commands = [f"'{INSTALL[n]} {packages[FAMILIES.index(n)]}' ({n})" for n in names if n]
    return "Install a font: " + ", or ".join(commands) + "."


def _packages(script: str) -> tuple[str, str, str]:
    if script in ("LATIN", "GREEK", "CYRILLIC"):
        return LATIN_FONTS
    if script in CJK:
        return CJK_FONTS
    lower = script.lower()
    return ("fonts-noto-core", f"google-noto-sans-{lower}-fonts", "noto-fonts")


def fonts_with(text: str, families: Iterable[str] | None = None) -> list[str]:
    """The font families that draw every character of ``text`` themselves (one font file
    each: QFontMetrics would count the fonts Qt falls back to)."""
    found: dict[str, None] = {}
    for name in families if families is not None else QFontDatabase.families():
        raw = QRawFont.fromFont(QFont(name))
        if raw.isValid() and all(raw.supportsCharacter(ord(ch)) for ch in text):
            found[raw.familyName()] = None  # aliases ("Monospace") name a real family
    return list(found)


def display_findings() -> list[Finding]:
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication), "made by the caller"
    platform = app.platformName()
    screen = app.primaryScreen()
    if platform in UNSEEN:
        return [
            Finding(
                "display",
                "Display",
                False,
                f"Qt's '{platform}' platform draws no window you can see (QT_QPA_PLATFORM)",
                "Unset QT_QPA_PLATFORM and start smsdesk in a desktop session.",
            )
        ]
    if screen is None:
        return [Finding("display", "Display", False, "no screen found", "Connect a screen.")]
    size = screen.size()
    detail = f"'{platform}' platform, screen {size.width()}×{size.height()}"
    return [Finding("display", "Display", True, detail)]


def font_findings(scripts: dict[str, str], families: list[str] | None = None) -> list[Finding]:
    """Latin and emoji, and a font for each writing system of the contacts' names, among
    ``families`` (default: every font installed)."""
    families = QFontDatabase.families() if families is None else families
    found: list[Finding] = []
    wanted = [("LATIN", "A"), ("EMOJI", EMOJI)]
    wanted += [(s, ch) for s, ch in scripts.items() if s != "LATIN"]
    for script, sample in wanted:
        name = SCRIPT_NAMES.get(script, script.title())
        label = "Emoji font" if script == "EMOJI" else f"Font for {name}"
        fonts = fonts_with(sample, families)
        if fonts:
            found.append(Finding("fonts", label, True, f"{len(fonts)} font(s), e.g. {fonts[0]}"))
            continue
        packages = EMOJI_FONTS if script == "EMOJI" else _packages(script)
        who = "messages with emoji" if script == "EMOJI" else "names in this script"
        found.append(
            Finding("fonts", label, False, f"none: {who} show empty boxes", _install(packages))
        )
    return found


def qt_findings(areas: Sequence[str], scripts: dict[str, str]) -> list[Finding]:
    """The display and font lines of ``areas`` (a QGuiApplication must exist)."""
    found = display_findings() if "display" in areas else []
    return found + (font_findings(scripts) if "fonts" in areas else [])


def _report_plugin_failure(diagnosis: Diagnosis) -> None:
    line = Finding("display", "Display", False, diagnosis.what, diagnosis.fix)
    fonts = Finding("fonts", "Fonts", False, "not checked: Qt cannot start")
    print(json.dumps([line.as_dict(), fonts.as_dict()]), flush=True)


def main(argv: Sequence[str]) -> int:
    """``python -m smsdesk.ui.doctor_checks AREAS SCRIPTS_JSON``: the findings as JSON."""
    areas = argv[0].split(",") if argv else ["display", "fonts"]
    scripts = json.loads(argv[1]) if len(argv) > 1 else {}
    with plain_platform_errors(_report_plugin_failure):
        app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    findings = qt_findings(areas, scripts)
    print(json.dumps([f.as_dict() for f in findings]), flush=True)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
