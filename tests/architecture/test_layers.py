"""The five layers, checked over every module's imports (DESIGN.md §2: imports point down).

Read with ``ast``, so an import inside a function or under TYPE_CHECKING counts too: a layer
that may not know another may not name it anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "smsdesk"

QT = ("PySide6", "shiboken6")
DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "psycopg", "sqlite3")

# layer -> the module prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": (
        *QT,
        "httpx",
        *DATABASE,
        "smsdesk.store",
        "smsdesk.providers",
        "smsdesk.engine",
        "smsdesk.ui",
        "smsdesk.cli",
    ),
    "store": (*QT, "httpx", "smsdesk.providers", "smsdesk.engine", "smsdesk.ui", "smsdesk.cli"),
    # The Sandbox keeps its own small sqlite3 file (it stands for a provider's servers), so
    # sqlite3 itself is allowed there; smsdesk's storage layer is not.
    "providers": (
        *QT,
        "sqlalchemy",
        "sqlmodel",
        "alembic",
        "smsdesk.store",
        "smsdesk.engine",
        "smsdesk.ui",
        "smsdesk.cli",
    ),
    "engine": (*QT, "smsdesk.ui", "smsdesk.cli"),
    "faces": ("smsdesk.providers", "smsdesk.store"),
}


def _layer(path: Path, root: Path = PACKAGE) -> str | None:
    parts = path.relative_to(root).parts
    if parts[0] in ("core", "store", "providers", "engine"):
        return parts[0]
    if parts[0] == "ui" or parts[0].startswith("cli"):
        return "faces"
    return None  # __init__, __main__: entry points, not a layer


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations(root: Path = PACKAGE) -> list[str]:
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        layer = _layer(path, root)
        if layer is None:
            continue
        for line, module in _imports(path):
            for banned in FORBIDDEN[layer]:
                if module == banned or module.startswith(banned + "."):
                    where = path.relative_to(root.parent)
                    problems.append(f"{where}:{line} ({layer}) imports {module}")
    return problems


def test_every_module_imports_only_the_layers_below_it() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("place", "statement"),
    [
        ("core/rules.py", "import sqlalchemy"),
        ("store/tables.py", "from smsdesk.engine.outbox import Dispatcher"),
        ("providers/acme.py", "from smsdesk.store import models"),
        ("ui/view.py", "from smsdesk.providers.registry import kind_info"),
        ("cli.py", "def main():\n    from smsdesk.store.paths import home_dir"),
        ("engine/loop.py", "from PySide6.QtCore import QObject"),
    ],
)
def test_the_check_reports_a_forbidden_import(tmp_path: Path, place: str, statement: str) -> None:
    """Run over a small package that breaks one rule: it must be reported, with its line."""
    root = tmp_path / "smsdesk"
    target = root / place
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{statement}\n", encoding="utf-8")
    [problem] = _violations(root)
    assert problem.startswith(f"smsdesk/{place}:")


def test_the_scan_sees_every_layer() -> None:
    seen = {_layer(p) for p in PACKAGE.rglob("*.py")} - {None}
    assert seen == set(FORBIDDEN)
