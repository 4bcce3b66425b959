"""The banner above the views that says a newer smsdesk is installed or released.

Installed: an upgrade put a new version beside the running one (engine/installed.py); the
banner offers "Restart now", which closes this window and starts the installed version once
this process has ended (it holds the one-window-per-data-folder socket until then).
Released: the project's release feed names a newer version (engine/updates.py, at most once a
day, off in Settings); the banner links to it. Every look runs off the Qt thread.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QCheckBox, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from smsdesk.engine.installed import (
    WINDOW_LOOKS_EVERY_S,
    InstallWatch,
    NewerInstalled,
    fresh_environment,
    program_dir,
    restart_command,
)
from smsdesk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from smsdesk.engine.updates import Release

FEED_LOOKS_EVERY_MS = 60 * 60 * 1000  # asks hourly; the feed itself is read at most daily


def start_after_exit(newer: NewerInstalled) -> None:
    """Start the installed version when this process ends, detached from it: by then this
    window has let go of its single-instance socket, so the new one opens a window instead
    of handing over to this one."""
    import subprocess  # here: not worth its import before the window's first paint

    def start() -> None:
        subprocess.Popen(
            restart_command(newer, []),
            env=fresh_environment(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    atexit.register(start)


class UpdateNotice(QFrame):
    quit_for_restart = Signal()  # the user chose "Restart now": the window closes for good

    def __init__(
        self,
        tasks: TaskRunner,
        home: Path,
        *,
        running_dir: Path | None = None,
        feed_url: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        restart: Callable[[NewerInstalled], None] = start_after_exit,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("updateNotice")
        self.setAccessibleName("A newer smsdesk")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.tasks = tasks
        self.home = home
        # None: the project's feed, but only from a build made to be installed; a source
        # checkout (development, tests) is updated with git and never looks.
        self.feed_url = feed_url
        self._default_feed = feed_url is None and program_dir() is not None
        self._now = now
        self._restart = restart
        # Interval 0: the timer below already spaces the looks.
        self.watch = InstallWatch(running_dir or program_dir(), 0, time.monotonic)
        self.installed: NewerInstalled | None = None
        self.released: Release | None = None
        self._looking_installed = False
        self._looking_feed = False

        self.text = QLabel(self)
        self.text.setObjectName("updateNoticeText")
        self.text.setAccessibleName("About the newer version")
        self.text.setWordWrap(True)
        self.restart_button = QPushButton("Restart now", self)
        self.restart_button.setObjectName("updateRestartButton")
        self.restart_button.setAccessibleName("Restart smsdesk into the newer version")
        self.download_button = QPushButton("Download page", self)
        self.download_button.setObjectName("updateDownloadButton")
        self.download_button.setAccessibleName("Open the newer version's download page")
        self.dismiss_button = QPushButton("Not now", self)
        self.dismiss_button.setObjectName("updateDismissButton")
        self.dismiss_button.setAccessibleName("Hide this notice")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.text, 1)
        for button in (self.restart_button, self.download_button, self.dismiss_button):
            row.addWidget(button)
        self.restart_button.clicked.connect(self.restart_now)
        self.download_button.clicked.connect(self.open_download)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()

        self._installed_timer = QTimer(self)
        self._installed_timer.setInterval(WINDOW_LOOKS_EVERY_S * 1000)
        self._installed_timer.timeout.connect(self.look_installed)
        self._feed_timer = QTimer(self)
        self._feed_timer.setInterval(FEED_LOOKS_EVERY_MS)
        self._feed_timer.timeout.connect(self.look_released)

    def start(self) -> None:
        """Look now, then on the timers (the window calls this once it is up)."""
        self.look_installed()
        self.look_released()
        self._installed_timer.start()
        self._feed_timer.start()

    # -- looking (off the Qt thread) ------------------------------------------------------

    def look_installed(self) -> None:
        if self._looking_installed or self.installed is not None or self.watch.running_dir is None:
            return  # (None: not an installed build, nothing to compare)
        self._looking_installed = True
        self.tasks.submit(self.watch.check, self._installed_found, self._look_failed_installed)

    def look_released(self) -> None:
        if self._looking_feed or (self.feed_url is None and not self._default_feed):
            return
        self._looking_feed = True
        home, now, url = self.home, self._now(), self.feed_url

        def work() -> Release | None:
            from smsdesk.engine import updates

            return updates.look_if_due(home, now, url or updates.FEED_URL)

        self.tasks.submit(work, self._released_found, self._look_failed_feed)

    def _installed_found(self, newer: NewerInstalled | None) -> None:
        self._looking_installed = False
        if newer is not None:
            self.installed = newer
            self._installed_timer.stop()  # it stays installed: no need to look again
            self._show()

    def _released_found(self, release: Release | None) -> None:
        self._looking_feed = False
        if release is not None:
            self.released = release
            self._show()

    def _look_failed_installed(self, _exc: Exception) -> None:
        self._looking_installed = False

    def _look_failed_feed(self, _exc: Exception) -> None:
        self._looking_feed = False

    # -- showing --------------------------------------------------------------------------

    def _show(self) -> None:
        if self.installed is not None:
            self.text.setText(
                f"A newer version of smsdesk ({self.installed.installed}) is installed on this "
                f"computer; this window still runs {self.installed.running}. "
                "Restart to use the new one: messages waiting here are kept."
            )
        elif self.released is not None:
            self.text.setText(
                f"smsdesk {self.released.version} is available, with security fixes. "
                "Ask whoever looks after this computer to install it."
            )
        self.restart_button.setVisible(self.installed is not None)
        self.download_button.setVisible(self.installed is None and self.released is not None)
        self.show()

    def restart_now(self) -> None:
        if self.installed is None:
            return
        self._restart(self.installed)
        self.quit_for_restart.emit()

    def open_download(self) -> None:
        if self.released is not None:
            QDesktopServices.openUrl(QUrl(self.released.url))


def update_check_box(home: Path, parent: QWidget | None = None) -> QCheckBox:
    """Settings: whether this computer looks for a newer smsdesk (held on this computer)."""
    from smsdesk.engine import updates

    box = QCheckBox("Look for a newer smsdesk once a day (sends nothing about you)", parent)
    box.setObjectName("updateCheckBox")
    box.setAccessibleName("Look for a newer smsdesk once a day")
    box.setToolTip(
        "Once a day smsdesk reads a small file from the project's website to see whether a "
        "newer version is out. Nothing about you, this computer or your messages is sent."
    )
    box.setChecked(updates.read_prefs(home).enabled)
    box.toggled.connect(lambda on: updates.set_enabled(home, on))
    return box
