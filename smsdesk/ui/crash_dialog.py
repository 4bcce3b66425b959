"""Unexpected errors: written to the log file (with the traceback, numbers redacted) and
shown in a dialog that says where that file is, instead of a traceback on a terminal nobody
watches. Exceptions raised in Qt slots and event handlers reach ``sys.excepthook`` too
(PySide routes them there), so one hook covers both."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.redaction import redact_numbers

log = logging.getLogger("smsdesk.crash")

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class CrashDialog(QDialog):
    def __init__(self, summary: str, details: str, log_file: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("smsdesk: something went wrong")
        self.log_file = log_file
        heading = QLabel(
            "smsdesk hit an error it did not expect. Your scheduled messages are safe: they "
            "are stored before anything is sent. If this happens again, send the log file "
            "below to whoever supports smsdesk."
        )
        heading.setWordWrap(True)
        self.summary_label = QLabel(summary)
        self.summary_label.setObjectName("crashSummary")
        self.summary_label.setWordWrap(True)
        self.path_label = QLabel(f"Log file: {log_file}")
        self.path_label.setObjectName("crashLogPath")
        self.path_label.setWordWrap(True)
        self.path_label.setAccessibleName("Log file")
        self.details = QPlainTextEdit(details)
        self.details.setObjectName("crashDetails")
        self.details.setAccessibleName("Error details")
        self.details.setReadOnly(True)
        self.open_button = QPushButton("Open log folder")
        self.open_button.setObjectName("openLogFolderButton")
        self.open_button.clicked.connect(self.open_folder)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setObjectName("copyCrashButton")
        self.copy_button.clicked.connect(self.copy_details)
        close = QPushButton("Close")
        close.setObjectName("closeCrashButton")
        close.setDefault(True)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.path_label)
        layout.addWidget(self.details, 1)
        layout.addLayout(buttons)
        self.resize(600, 400)

    def open_folder(self) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_file.parent)))

    def copy_details(self) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(f"{self.summary_label.text()}\n\n{self.details.toPlainText()}")


class CrashHandler:
    """Installed as ``sys.excepthook``: logs, then shows one dialog at a time."""

    def __init__(self, log_file: Path, parent: QWidget | None = None) -> None:
        self.log_file = log_file
        self.parent = parent
        self.dialog: CrashDialog | None = None
        self._previous: ExceptHook | None = None

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self

    def uninstall(self) -> None:
        if sys.excepthook is self and self._previous is not None:
            sys.excepthook = self._previous

    def __call__(
        self,
        kind: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            if self._previous is not None:
                self._previous(kind, exc, tb)
            return
        log.error("Unexpected error", exc_info=(kind, exc, tb))
        if threading.current_thread() is not threading.main_thread():
            return  # widgets belong to the GUI thread; the log has it
        summary = redact_numbers(f"{kind.__name__}: {exc}")
        details = redact_numbers("".join(traceback.format_exception(kind, exc, tb)))
        if self.dialog is not None and self.dialog.isVisible():
            # One dialog: a burst of the same error adds to it instead of stacking windows.
            self.dialog.details.appendPlainText("\n" + details)
            return
        self.dialog = CrashDialog(summary, details, self.log_file, self.parent)
        self.dialog.open()
