"""The Backups dialog: what to do about a damaged database, and backups by hand.

Shown by start-up when the database is damaged (restore the last good backup, or salvage
what can be read; nothing is written to the damaged file meanwhile), and from the status
bar's "Backups" button (back up now, or go back to the newest backup). Restoring and
salvaging run in the background; afterwards smsdesk opens the recovered database afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from smsdesk.core.errors import SmsdeskError
from smsdesk.engine.backups import Backups, BackupView, Recovered
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.widgets import error_label

TITLE = "smsdesk: backups"


def _when(at: datetime) -> str:
    return at.astimezone().strftime("%d %b %Y %H:%M")


class RecoveryDialog(QDialog):
    """``problems``: the damage found (the dialog then offers recovery); None: by hand."""

    recovered = Signal(object)  # Recovered: the database was replaced; reopen it
    restart = Signal()  # the user asked to open the recovered database

    def __init__(
        self,
        backups: Backups,
        tasks: TaskRunner,
        *,
        problems: list[str] | None = None,
        before_replace: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.backups = backups
        self.tasks = tasks
        self.damaged = problems is not None
        self.problems = list(problems or [])
        self._before_replace = before_replace
        self._confirming = False
        self.outcome: Recovered | None = None
        self.setObjectName("recoveryDialog")
        self.setWindowTitle("smsdesk: the database is damaged" if self.damaged else TITLE)

        self.text = QLabel()
        self.text.setObjectName("recoveryText")
        self.text.setWordWrap(True)
        self.report = QLabel()
        self.report.setObjectName("recoveryResult")
        self.report.setWordWrap(True)
        self.report.setVisible(False)

        self.restore_button = QPushButton()
        self.restore_button.setObjectName("restoreButton")
        self.salvage_button = QPushButton("Salvage what can still be read")
        self.salvage_button.setObjectName("salvageButton")
        self.salvage_button.setVisible(self.damaged)
        self.backup_button = QPushButton("Back up now")
        self.backup_button.setObjectName("backupButton")
        self.backup_button.setVisible(not self.damaged)
        self.restart_button = QPushButton("Open smsdesk again")
        self.restart_button.setObjectName("restartButton")
        self.restart_button.setVisible(False)
        self.close_button = QPushButton("Quit smsdesk" if self.damaged else "Close")
        self.close_button.setObjectName("closeButton")

        self.restore_button.clicked.connect(self._restore)
        self.salvage_button.clicked.connect(self._salvage)
        self.backup_button.clicked.connect(self._backup_now)
        self.restart_button.clicked.connect(self._restart)
        self.close_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        for b in (self.restore_button, self.salvage_button, self.backup_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.restart_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.report)
        layout.addLayout(buttons)

        self.newest: BackupView | None = backups.newest()
        self._describe()

    def _describe(self) -> None:
        newest = self.newest
        if newest is not None:
            self.restore_button.setText(f"Restore the backup of {_when(newest.taken_at)}")
        else:
            self.restore_button.setText("No backup to restore")
        self.restore_button.setEnabled(newest is not None)
        if self.damaged:
            first = self.problems[0] if self.problems else "unknown damage"
            self.text.setText(
                f"The database on this computer is damaged ({first}). Nothing more is "
                "written to it. Restore the last good backup (changes since it are lost), or "
                "salvage what can still be read into a new database (you will see what was "
                "lost). The damaged file is kept either way."
            )
        else:
            latest = f"The latest is from {_when(newest.taken_at)}." if newest else "None yet."
            self.text.setText(
                f"smsdesk backs the database up each day and keeps the last week. {latest}"
            )

    # -- actions ------------------------------------------------------------------------------

    def _busy(self, what: str) -> None:
        for b in (self.restore_button, self.salvage_button, self.backup_button):
            b.setEnabled(False)
        self.report.setText(what)
        self.report.setVisible(True)

    def _restore(self) -> None:
        newest = self.newest
        if newest is None:
            return
        if not self.damaged and not self._confirming:
            # Going back drops every change since the backup: ask once more, beside it.
            self._confirming = True
            self.restore_button.setText("Yes, go back (later changes are dropped)")
            self.report.setText(
                f"Everything scheduled or changed since {_when(newest.taken_at)} will be lost."
            )
            self.report.setVisible(True)
            return
        self._replace("Restoring…", lambda: self.backups.restore(force=not self.damaged))

    def _salvage(self) -> None:
        self._replace("Salvaging what can be read… this can take a while.", self.backups.salvage)

    def _replace(self, busy: str, work: Callable[[], Recovered]) -> None:
        if self._before_replace is not None:
            self._before_replace()  # e.g. stop sending: nothing may write to the old file
        self._busy(busy)
        self.tasks.submit(work, self._on_recovered, self._on_failed)

    def _backup_now(self) -> None:
        self._busy("Backing up…")
        self.tasks.submit(self.backups.backup_now, self._on_backed_up, self._on_failed)

    # -- outcomes -----------------------------------------------------------------------------

    def _on_recovered(self, done: Recovered) -> None:
        self.outcome = done
        lines = list(done.lines) if done.how == "restored" else ["Salvaged:", *done.lines]
        if done.how == "salvaged" and done.complete:
            lines.append("Nothing was lost.")
        if done.set_aside:
            lines.append(f"The old file is kept as {done.set_aside}.")
        if done.report_file:
            lines.append(f"What was lost is also written to {done.report_file}.")
        self.report.setText("\n".join(lines))
        self.report.setVisible(True)
        for b in (self.restore_button, self.salvage_button, self.backup_button):
            b.setVisible(False)
        self.close_button.setVisible(False)
        self.restart_button.setVisible(True)
        self.restart_button.setDefault(True)
        self.recovered.emit(done)

    def _on_backed_up(self, made: BackupView) -> None:
        self.newest = made
        self._confirming = False
        self._describe()
        self.backup_button.setEnabled(True)
        self.report.setText(f"Backed up to {made.path}.")

    def _on_failed(self, exc: Exception) -> None:
        self._confirming = False
        self.report.setText(str(exc) if isinstance(exc, SmsdeskError) else f"Failed: {exc}")
        self.report.setVisible(True)
        self._describe()
        self.salvage_button.setEnabled(True)
        self.backup_button.setEnabled(True)

    def _restart(self) -> None:
        self.restart.emit()
        self.accept()


class KeyMissingDialog(QDialog):
    """The database is encrypted and this computer's keyring has no key that opens it. Not
    damage: nothing is restored or salvaged over it. The recovery code written down when
    encryption was turned on puts the key back; then smsdesk opens the database again."""

    restart = Signal()

    def __init__(self, backups: Backups, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backups = backups
        self.tasks = tasks
        self.setObjectName("keyMissingDialog")
        self.setWindowTitle("smsdesk: the database key is missing")
        text = QLabel(
            "The database is encrypted and its key is not in this computer's keyring (a new "
            "computer or user account, or a keyring that was reset). The file is not damaged "
            "and is left exactly as it is. Type the recovery code that was written down when "
            "encryption was turned on to put the key back."
        )
        text.setObjectName("keyMissingText")
        text.setWordWrap(True)
        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("recoveryCodeEdit")
        self.code_edit.setAccessibleName("Recovery code")
        self.code_edit.setPlaceholderText("16 groups of four characters, 0-9 and a-f")
        self.code_error = error_label("recoveryCodeError", "Recovery code error")
        self.code_error.setWordWrap(True)
        self.put_back_button = QPushButton("Put the key back")
        self.put_back_button.setObjectName("putKeyBackButton")
        self.close_button = QPushButton("Quit smsdesk")
        self.close_button.setObjectName("closeButton")
        self.put_back_button.clicked.connect(self._put_back)
        self.code_edit.returnPressed.connect(self._put_back)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.put_back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.code_edit)
        layout.addWidget(self.code_error)
        layout.addLayout(buttons)

    def _put_back(self) -> None:
        code = self.code_edit.text()
        self.code_error.clear()
        self.put_back_button.setEnabled(False)
        self.tasks.submit(lambda: self.backups.restore_key(code), self._done, self._failed)

    def _done(self, _: object) -> None:
        self.restart.emit()
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self.put_back_button.setEnabled(True)
        self.code_error.setText(str(exc) if isinstance(exc, SmsdeskError) else f"Failed: {exc}")
