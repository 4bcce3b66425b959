"""One message-history export: the Queue's "Export CSV…" in the window and
``smsdesk history export`` write the same columns, the same cells, through one writer."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.history_export import COLUMNS
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from tests.cli_runner import Cli
from tests.ui.conftest import Answers


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_the_window_and_the_command_line_export_the_same_file(
    qtbot: QtBot,
    window: MainWindow,
    service: Service,
    clock: ManualClock,
    answers: Answers,
    cli: Cli,
    tmp_path: Path,
) -> None:
    when = clock.now() + timedelta(hours=3)
    service.schedule(["+14155550100"], "=cmd|' /C calc'!A0", when, "America/New_York")
    service.schedule(["+447911123456", "+447911123457"], "See you at 10", when, "Europe/London")
    window.refresh()
    answers.path = str(tmp_path / "window.csv")
    qtbot.mouseClick(window.queue.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.tasks.pending == 0)
    from_cli = tmp_path / "cli.csv"
    assert cli("history", "export", str(from_cli)).code == 0

    columns, rows = _read(Path(answers.path))
    cli_columns, cli_rows = _read(from_cli)
    assert columns == cli_columns == COLUMNS
    assert sorted(rows, key=lambda r: r["id"]) == sorted(cli_rows, key=lambda r: r["id"])
    texts = {r["text"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in texts  # a formula cell written as text, both ways
    local = {r["recipient"]: r["send_at_local"] for r in rows}
    assert "EST" in local["+14155550100"] and "GMT" in local["+447911123456"]
