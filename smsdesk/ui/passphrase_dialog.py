"""The key file's passphrase, asked in a small dialog once per session.

Keys are read off the Qt thread (they may need the keyring), so the prompt is called from a
background worker: it hands the question to the Qt thread and waits there for the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from smsdesk.engine.key_place import set_passphrase_prompt

MISMATCH = "The two passphrases differ."
EMPTY = "Type a passphrase."


class PassphraseDialog(QDialog):
    """``creating``: the key file is new, so the passphrase is typed twice."""

    def __init__(self, creating: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passphraseDialog")
        self.setWindowTitle("Key file passphrase")
        intro = QLabel(
            "No system keyring is available, so smsdesk keeps the provider API keys in its "
            "own file, encrypted with a passphrase."
            + (" Choose one; it cannot be recovered if forgotten." if creating else "")
        )
        intro.setWordWrap(True)
        self.passphrase_edit = QLineEdit()
        self.passphrase_edit.setObjectName("passphraseEdit")
        self.passphrase_edit.setAccessibleName("Passphrase")
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setObjectName("passphraseConfirmEdit")
        self.confirm_edit.setAccessibleName("Passphrase again")
        self.confirm_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_edit.setVisible(creating)
        self.error_label = QLabel()
        self.error_label.setObjectName("passphraseError")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.passphrase_edit, self.confirm_edit, self.error_label):
            layout.addWidget(widget)
        layout.addWidget(self.buttons)
        self._creating = creating

    def passphrase(self) -> str:
        return self.passphrase_edit.text()

    def _check(self) -> None:
        # A wrong passphrase for an existing file is told by the store, after this closes.
        if not self.passphrase():
            self.error_label.setText(EMPTY)
        elif self._creating and self.confirm_edit.text() != self.passphrase():
            self.error_label.setText(MISMATCH)
        else:
            self.accept()


Ask = Callable[[bool], str | None]


def ask_with_dialog(parent: QWidget | None = None) -> Ask:
    def ask(creating: bool) -> str | None:
        dialog = PassphraseDialog(creating, parent)
        try:
            return dialog.passphrase() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    return ask


class _OnQtThread(QObject):
    """Runs ``ask`` on the Qt thread for a worker thread, which waits for the answer."""

    _asked = Signal(bool)

    def __init__(self, ask: Ask) -> None:
        super().__init__()
        self._ask = ask
        self._answer: str | None = None
        self._done = threading.Event()
        app = QApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())
        self._asked.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(bool)
    def _run(self, creating: bool) -> None:
        try:
            self._answer = self._ask(creating)
        finally:
            self._done.set()

    def __call__(self, creating: bool) -> str | None:
        if threading.current_thread() is threading.main_thread():
            return self._ask(creating)
        self._done.clear()
        self._answer = None
        self._asked.emit(creating)
        self._done.wait()
        return self._answer


def install(parent: QWidget | None = None, ask: Ask | None = None) -> _OnQtThread:
    """Make the window's dialog the one asked for the key file's passphrase."""
    prompt = _OnQtThread(ask or ask_with_dialog(parent))
    set_passphrase_prompt(prompt)
    return prompt
