"""The window's banner: a newer version installed (Restart now) or released (the download
page), looked for off the Qt thread; Settings turns the daily look off."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QCheckBox
from pytestqt.qtbot import QtBot

from smsdesk.engine import updates
from smsdesk.engine.installed import NewerInstalled
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import MainWindow
from smsdesk.ui.settings_view import SettingsView
from smsdesk.ui.tasks import TaskRunner
from smsdesk.ui.update_notice import UpdateNotice
from tests.packaging.feed_server import Feed, serve_feed
from tests.packaging.install_tree import add_version, point_current


@pytest.fixture
def feed() -> Iterator[Feed]:
    with serve_feed() as served:
        yield served


def test_the_window_offers_a_restart_into_the_installed_version(
    qtbot: QtBot,
    service: Service,
    tmp_path: Path,
    feed: Feed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "opt" / "smsdesk"
    old = add_version(root, "0.1.0", tmp_path / "started.log")
    add_version(root, "0.1.1", tmp_path / "started.log")
    point_current(root, "0.1.1")  # upgraded while the window was open
    monkeypatch.setenv("SMSDESK_PROGRAM_DIR", str(old))  # the window runs from 0.1.0
    window = MainWindow(service, refresh_ms=60_000, state_folder=tmp_path)
    qtbot.addWidget(window)
    notice = window.update_notice
    notice.feed_url = feed.url  # the project's feed, here on loopback
    restarts: list[NewerInstalled] = []
    notice._restart = restarts.append  # the real one starts a process when this one ends
    window.show()
    qtbot.waitExposed(window)
    assert not notice.isVisible()
    notice.start()
    qtbot.waitUntil(lambda: notice.isVisible() and notice.installed is not None)
    qtbot.waitUntil(lambda: window.tasks.pending == 0)
    assert "(0.1.1) is installed" in notice.text.text() and "0.1.0" in notice.text.text()
    assert notice.restart_button.isVisible()
    assert not notice.download_button.isVisible()  # installed beats released
    with qtbot.waitSignal(window.quit_requested):
        qtbot.mouseClick(notice.restart_button, Qt.MouseButton.LeftButton)
    assert restarts == [
        NewerInstalled(running="0.1.0", installed="0.1.1", launcher=root / "current" / "smsdesk")
    ]
    assert not window.isVisible()


def test_a_released_version_links_to_its_page(
    qtbot: QtBot, tmp_path: Path, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    tasks = TaskRunner()
    notice = UpdateNotice(tasks, tmp_path, feed_url=feed.url)
    qtbot.addWidget(notice)
    notice.start()
    qtbot.waitUntil(lambda: notice.released is not None)
    notice.show()  # as part of the window it is shown with it
    assert "smsdesk 99.0.0 is available" in notice.text.text()
    assert notice.download_button.isVisible() and not notice.restart_button.isVisible()
    qtbot.mouseClick(notice.download_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl("https://example.org/releases/v99.0.0").toString()]
    qtbot.mouseClick(notice.dismiss_button, Qt.MouseButton.LeftButton)
    assert not notice.isVisible()
    assert len(feed.requests) == 1
    notice.look_released()  # the hourly timer: the feed is read once a day
    qtbot.waitUntil(lambda: tasks.pending == 0)
    assert len(feed.requests) == 1


def test_settings_turns_the_daily_look_off(
    qtbot: QtBot, service: Service, isolated_home: Path, feed: Feed
) -> None:
    view = SettingsView(service, TaskRunner())
    qtbot.addWidget(view)
    view.show()
    box = view.findChild(QCheckBox, "updateCheckBox")
    assert box is not None and box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not box.isChecked()
    assert updates.read_prefs(isolated_home).enabled is False  # held on this computer
    tasks = TaskRunner()
    notice = UpdateNotice(tasks, isolated_home, feed_url=feed.url)
    qtbot.addWidget(notice)
    notice.start()
    qtbot.waitUntil(lambda: tasks.pending == 0)
    assert feed.requests == [] and notice.released is None and not notice.isVisible()


def test_a_source_checkout_looks_for_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    tasks = TaskRunner()
    submitted: list[object] = []

    def record(work: object, *_callbacks: object) -> int:
        submitted.append(work)
        return 0

    tasks.submit = record  # type: ignore[method-assign,assignment]  # what is asked, not run
    notice = UpdateNotice(tasks, tmp_path)
    qtbot.addWidget(notice)
    notice.start()
    assert submitted == []  # neither the feed nor an install tree: it is updated with git
