"""An unexpected error is written to the log file in the data folder (numbers redacted, as
in provider errors) and shown in a dialog that points to that file."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from smsdesk.core import log_file
from smsdesk.ui.crash_dialog import CrashHandler
from smsdesk.ui.main_window import MainWindow


@pytest.fixture
def log_path(isolated_home: Path) -> Iterator[Path]:
    path = log_file.install(isolated_home)
    yield path
    log_file.uninstall(isolated_home)


def _raise() -> None:
    raise RuntimeError("lookup failed for +15551234567")


@pytest.mark.logs_errors
@pytest.mark.qt_no_exception_capture  # the hook under test is the one that catches it
def test_an_unexpected_error_in_the_window_is_logged_and_shown(
    qtbot: QtBot, window: MainWindow, log_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handler = CrashHandler(log_path, window)
    handler.install()
    try:
        button = QPushButton("Broken", window)
        button.setObjectName("brokenButton")
        button.clicked.connect(_raise)  # a slot with a bug, as Qt calls it
        button.show()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible())
    finally:
        handler.uninstall()
    dialog = handler.dialog
    assert dialog is not None
    assert str(log_path) in dialog.path_label.text()
    assert log_path.parent == window.service.ctx.home / "logs"
    assert dialog.summary_label.text() == "RuntimeError: lookup failed for +155…67"
    assert "+15551234567" not in dialog.details.toPlainText()
    assert "_raise" in dialog.details.toPlainText()  # the traceback, for whoever supports it
    written = log_path.read_text(encoding="utf-8")
    assert "ERROR smsdesk.crash: Unexpected error" in written
    assert "Traceback" in written and "RuntimeError: lookup failed for +155…67" in written
    assert "+15551234567" not in written
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == ["smsdesk.crash"]
    # A second error while the dialog is open joins it instead of stacking another window.
    handler(RuntimeError, RuntimeError("again"), None)
    assert handler.dialog is dialog and "again" in dialog.details.toPlainText()


def test_the_log_file_rotates_and_keeps_three_old_files(tmp_path: Path) -> None:
    home = tmp_path / "data"
    path = log_file.install(home, max_bytes=2_000)
    try:
        logger = logging.getLogger("smsdesk.engine.test")
        for n in range(200):
            logger.info("handed off message %d to +4477009%05d", n, n)
    finally:
        log_file.uninstall(home)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["smsdesk.log", "smsdesk.log.1", "smsdesk.log.2", "smsdesk.log.3"]
    assert all(p.stat().st_size <= 2_200 for p in path.parent.iterdir())
    newest = path.read_text(encoding="utf-8")
    assert "handed off message 199 to +447…99" in newest
    assert "+447700900199" not in newest


def test_installing_twice_writes_each_line_once(tmp_path: Path) -> None:
    home = tmp_path / "data"
    path = log_file.install(home)
    log_file.install(home)
    try:
        logging.getLogger("smsdesk.test").warning("once")
    finally:
        log_file.uninstall(home)
    assert path.read_text(encoding="utf-8").count("once") == 1
