"""The tray icon (the app's own icon, with Show and Quit), its notice of new replies (clicking
it opens Replies), and the question asked when the window is closed while messages are still
held on this computer: they only go out while smsdesk runs, so the user chooses between
keeping it running in the tray and quitting."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from smsdesk.ui import autostart
from smsdesk.ui.app_icon import app_icon

if TYPE_CHECKING:
    from smsdesk.engine.reply_book import ReplyView


def reply_notice(replies: Sequence[ReplyView]) -> tuple[str, str]:
    """The notice's title and text: the contact (else the number) and the reply when one
    came, how many otherwise."""
    if len(replies) == 1:
        (reply,) = replies
        who = reply.name or reply.sender
        return f"Reply from {who}", reply.text if len(reply.text) <= 120 else reply.text[:119] + "…"
    people = len({r.sender for r in replies})
    among = (
        f" from {people} people" if people > 1 else f" from {replies[0].name or replies[0].sender}"
    )
    return (
        f"{len(replies)} new replies",
        f"{len(replies)} new replies{among}. Click to open Replies.",
    )


class Tray(QSystemTrayIcon):
    """Show and Quit in its menu; a click brings the window back. A click on the notice of
    new replies asks for the Replies view (``replies_clicked``)."""

    replies_clicked = Signal()

    def __init__(
        self, window: QWidget, show: Callable[[], None], quit_app: Callable[[], None]
    ) -> None:
        super().__init__(app_icon(), window)
        self.setToolTip("smsdesk")
        self.menu = QMenu(window)
        self.menu.setObjectName("trayMenu")
        self.show_action = self.menu.addAction("Show smsdesk")
        self.show_action.triggered.connect(show)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit smsdesk")
        self.quit_action.triggered.connect(quit_app)
        self.setContextMenu(self.menu)
        self.activated.connect(lambda reason: self._activated(reason, show))
        # The notice last shown: one about replies opens Replies when clicked; another (a
        # failed message) only brings the window back.
        self.last_notice = ""
        self.messageClicked.connect(self._notice_clicked)
        self._show = show

    def notify_replies(self, replies: Sequence[ReplyView]) -> None:
        if not replies:
            return
        title, text = reply_notice(replies)
        self.last_notice = "replies"
        self.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information)

    def notify(self, title: str, text: str, icon: QSystemTrayIcon.MessageIcon) -> None:
        """Any other notice (a failed message)."""
        self.last_notice = ""
        self.showMessage(title, text, icon)

    def _notice_clicked(self) -> None:
        self._show()
        if self.last_notice == "replies":
            self.replies_clicked.emit()

    def _activated(
        self, reason: QSystemTrayIcon.ActivationReason, show: Callable[[], None]
    ) -> None:
        if reason != QSystemTrayIcon.ActivationReason.Context:  # right-click opens the menu
            show()


KEEP, QUIT, CANCEL = "keep", "quit", "cancel"


class KeepSendingDialog(QDialog):
    """Closing with messages held here: keep sending from the tray, quit, or stay."""

    def __init__(self, held: int, *, tray: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keepSendingDialog")
        self.setWindowTitle("Keep sending?")
        self.setMinimumWidth(420)  # the question reads as sentences, not a narrow column
        self.choice = CANCEL
        plural = "message is" if held == 1 else "messages are"
        text = QLabel(
            f"{held} {plural} held on this computer. They only go out while smsdesk runs."
            + (
                " Keep smsdesk running in the tray to send them on time."
                if tray
                else " This desktop has no tray: if you quit, they wait until smsdesk is "
                "started again."
            )
        )
        text.setObjectName("keepSendingText")
        text.setWordWrap(True)
        self.login_check = QCheckBox("Start smsdesk when I log in")
        self.login_check.setObjectName("startAtLoginCheck")
        self.login_check.setAccessibleName("Start smsdesk when I log in")
        self.login_check.setChecked(autostart.is_enabled())
        self.login_note = QLabel("" if autostart.supported() else autostart.MANUAL)
        self.login_note.setObjectName("startAtLoginNote")
        self.login_note.setWordWrap(True)
        self.login_note.setVisible(not autostart.supported())
        self.login_check.setEnabled(autostart.supported())
        self.login_error = QLabel()
        self.login_error.setObjectName("startAtLoginError")
        self.login_error.setWordWrap(True)
        self.login_error.hide()

        self.keep_button = QPushButton("Keep sending in the tray")
        self.keep_button.setObjectName("keepInTrayButton")
        self.keep_button.setVisible(tray)
        self.quit_button = QPushButton("Quit")
        self.quit_button.setObjectName("quitButton")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelCloseButton")
        self.keep_button.clicked.connect(lambda: self._choose(KEEP))
        self.quit_button.clicked.connect(lambda: self._choose(QUIT))
        self.cancel_button.clicked.connect(self.reject)
        (self.keep_button if tray else self.cancel_button).setDefault(True)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.keep_button, self.quit_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.login_check)
        layout.addWidget(self.login_note)
        layout.addWidget(self.login_error)
        layout.addLayout(buttons)

    def _choose(self, choice: str) -> None:
        if not self._apply_login_choice():
            return  # the reason is shown; the user may untick and choose again
        self.choice = choice
        self.accept()

    def _apply_login_choice(self) -> bool:
        if not autostart.supported() or self.login_check.isChecked() == autostart.is_enabled():
            return True
        try:
            if self.login_check.isChecked():
                autostart.enable()
            else:
                autostart.disable()
        except OSError as exc:
            self.login_error.setText(f"Could not set up starting at login: {exc.strerror or exc}")
            self.login_error.show()
            return False
        return True
