"""The simulators' README names, for each behaviour, the tests that cover it: every test it
names exists (a renamed or removed test would leave the table claiming coverage it lost)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parents[1]
README = TESTS / "simulators" / "README.md"


def _named_tests() -> list[tuple[str, str]]:
    """(file name, test name) for each ``file.py::test`` or ``::test`` (same file as the one
    before it) in the table's last column."""
    named: list[tuple[str, str]] = []
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if not line.startswith("|") or len(cells) < 6:
            continue
        current = ""
        for ref in re.findall(r"`([^`]*::[^`]*)`", cells[-2]):
            file, name = ref.split("::")
            current = file or current
            named.append((current, name))
    return named


def test_every_test_the_table_names_exists() -> None:
    named = _named_tests()
    assert len(named) > 60  # the table was read, not skipped
    sources: dict[str, str] = {}  # by file name: the table names files without their folder
    for path in TESTS.rglob("test_*.py"):
        sources[path.name] = sources.get(path.name, "") + path.read_text(encoding="utf-8")
    missing = [(f, n) for f, n in named if f"def {n}(" not in sources.get(f, "")]
    assert missing == []
