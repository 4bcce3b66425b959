"""What start-up reads and paints before storage is open loads no part of the storage stack.

The Queue's first page is read and shown (store/first_page.py, engine/first_page.py,
ui/first_page_model.py, ui/queue_cells.py), and Compose can be typed in (ui/compose_draft.py),
before SQLAlchemy, sqlmodel, pydantic and alembic
are imported: they alone take several times as long as painting a window. Checked here over
every import those modules can reach, in functions too (only ``TYPE_CHECKING`` blocks are
left out); tests/ui/test_startup_first_page.py checks the same in a real start.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PAINT = (
    "smsdesk.store.first_page",
    "smsdesk.engine.first_page",
    "smsdesk.ui.first_page_model",
    "smsdesk.ui.queue_cells",
    "smsdesk.ui.compose_draft",
)
STORAGE_STACK = ("sqlalchemy", "sqlmodel", "pydantic", "alembic")


def _file(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[str]:
    """Every module ``tree`` imports (a ``from a import b`` names a and a.b), outside
    ``if TYPE_CHECKING:`` blocks."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for other in node.orelse:
                visit(other)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def reachable(entries: tuple[str, ...], root: Path = ROOT) -> dict[str, str]:
    """Every module reachable from ``entries``: module -> the smsdesk module importing it."""
    seen: dict[str, str] = {entry: "(start)" for entry in entries}
    todo = list(entries)
    while todo:
        module = todo.pop()
        path = _file(module, root)
        if path is None:
            continue
        for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            # A package's __init__ runs first: smsdesk.a.b loads smsdesk.a too.
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                if prefix in seen:
                    continue
                if prefix.startswith("smsdesk") and _file(prefix, root) is None:
                    continue  # a name imported from a module, not a module
                seen[prefix] = module
                if prefix.startswith("smsdesk"):
                    todo.append(prefix)
    return seen


def test_nothing_shown_before_storage_opens_reaches_the_storage_stack() -> None:
    found = reachable(FIRST_PAINT)
    assert "smsdesk.core.number_zone" in found  # the walk follows imports in functions
    assert "smsdesk.core.contacts_csv" not in found  # the zone guess alone, not the import
    heavy = {module: by for module, by in found.items() if module.split(".")[0] in STORAGE_STACK}
    assert heavy == {}


def test_the_walk_reports_an_import_of_the_storage_stack(tmp_path: Path) -> None:
    """A small package in which the first page reaches SQLAlchemy through a function's import
    two modules away, and a TYPE_CHECKING import that does not count."""
    package = tmp_path / "smsdesk"
    (package / "store").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "store" / "__init__.py").write_text("")
    (package / "store" / "first_page.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import sqlmodel\n"
        "def read():\n    from smsdesk.store import helper\n"
    )
    (package / "store" / "helper.py").write_text("import sqlalchemy.orm\n")
    found = reachable(("smsdesk.store.first_page",), tmp_path)
    assert found["sqlalchemy"] == "smsdesk.store.helper"
    assert "sqlmodel" not in found
