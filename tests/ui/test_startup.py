"""Start-up: the window paints before storage is open, then fills; errors stop it cleanly.
And keeping up to date without blocking: hidden tabs wait, the status counts run elsewhere."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from smsdesk.core.clock import ManualClock
from smsdesk.engine.service import Service
from smsdesk.engine.views import Summary
from smsdesk.store.db import Database
from smsdesk.ui.app import run_gui
from smsdesk.ui.main_window import OPENING, MainWindow, Opening
from smsdesk.ui.startup import TITLE, Startup
from tests.ui.startup_setup import fresh_run, on_screen


def test_the_window_paints_without_the_storage_stack(tmp_path: Path) -> None:
    """The real start (run_gui), in a fresh interpreter (this one has imported SQLAlchemy for
    the fixtures already): what is loaded when the window first paints. Once, a dialog
    installed at start pulled in the whole storage stack and the first paint took 4× longer."""
    script = (
        "import os, sys\n"
        "from PySide6.QtCore import QEvent, QObject\n"
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'pydantic', 'alembic', 'cryptography', 'keyring')\n"
        "class FirstPaint(QObject):\n"
        "    def eventFilter(self, watched, event):\n"
        "        if event.type() == QEvent.Type.Paint and isinstance(watched, QWidget) \\\n"
        "                and watched.isWindow():\n"
        "            print(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "                         or m.startswith('smsdesk.providers')))\n"
        "            sys.stdout.flush()\n"
        "            os._exit(0)\n"
        "        return False\n"
        "app = QApplication([])\n"
        "spy = FirstPaint(); app.installEventFilter(spy)\n"
        "from smsdesk.ui.app import run_gui\n"
        "run_gui()\n"
    )
    done = fresh_run(script, tmp_path, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_what_start_up_loads_leaves_calendar_files_and_number_metadata_for_later() -> None:
    """Start-up imports every view and builds Settings' country list; none of that needs the
    iCalendar reader or the public holiday calendars (a tenth of a second each, or more) nor
    each country's number metadata (a third of a second: 245 modules)."""
    script = (
        "import sys\n"
        "import smsdesk.ui.startup, smsdesk.ui.reminders_view, smsdesk.ui.engine_control\n"
        "import smsdesk.ui.settings_view, smsdesk.engine.service\n"
        "from smsdesk.engine.settings import regions\n"
        "assert len(regions()) > 200\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('icalendar', 'holidays')))\n"
        "print(sum(m.startswith('phonenumbers.data.region_') for m in sys.modules))\n"
    )
    done = fresh_run(script, check=True)
    calendar_modules, regions_loaded = done.stdout.split("\n")[:2]
    assert calendar_modules == "[]"
    assert int(regions_loaded) < 5


def test_the_window_shows_first_and_fills_once_storage_is_open(
    qtbot: QtBot, isolated_home: Path, service: Service, clock: ManualClock
) -> None:
    service.schedule(["+15551234567"], "Checkup", clock.now() + timedelta(days=30), "UTC")
    window = on_screen(qtbot, MainWindow())
    assert all(isinstance(window.tabs.widget(i), Opening) for i in range(window.tabs.count()))
    assert window.status.text() == OPENING
    assert not window.is_attached

    startup = Startup(window, isolated_home, start_engine=False)
    with qtbot.waitSignal(window.attached, timeout=30_000):
        startup.start()
    try:
        assert window.tabs.currentWidget() is window.compose
        assert not any(isinstance(window.tabs.widget(i), Opening) for i in range(6))
        window.show_view("Queue")
        assert window.queue.model.rowCount() == 1
        qtbot.waitUntil(lambda: "Held on this computer: 1" in window.status.text())
    finally:
        window.close()
        startup.close()


def test_a_storage_error_at_start_is_shown_and_exits_non_zero(
    qtbot: QtBot, qapp: QApplication, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.open(isolated_home)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    shown: list[tuple[str, str]] = []

    def critical(parent: QWidget, title: str, message: str) -> None:
        # What the user sees at that moment: the message, over a window that cannot be used.
        assert isinstance(parent, MainWindow) and not parent.is_attached
        shown.append((title, message))

    monkeypatch.setattr(QMessageBox, "critical", critical)
    assert run_gui() == 1
    assert len(shown) == 1
    assert shown[0][0] == TITLE
    assert "newer version of smsdesk" in shown[0][1]


def test_hidden_tabs_are_not_refreshed_until_shown(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    browser = window.calendar.browser
    day_counts = browser.day_counts

    def counting(*args: Any) -> dict[date, dict[str, int]]:
        reads.append("calendar")
        return day_counts(*args)

    monkeypatch.setattr(browser, "day_counts", counting)
    assert window.tabs.currentWidget() is window.compose
    window.refresh_visible()  # what the timer and the engine's ``changed`` call
    window.refresh_visible()
    assert reads == []  # the calendar was never shown: never read
    window.show_view("Calendar")
    assert reads == ["calendar"]
    window.show_view("Compose")
    window.show_view("Calendar")
    assert reads == ["calendar"]  # nothing changed meanwhile: not read again
    window.show_view("Compose")
    window.refresh_visible()
    assert reads == ["calendar"]
    window.show_view("Calendar")
    assert reads == ["calendar", "calendar"]  # out of date since that refresh


def test_the_summary_runs_off_the_gui_thread_one_at_a_time(
    qtbot: QtBot, window: MainWindow, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    qtbot.waitUntil(lambda: window.summary is not None)  # the one attach started
    threads: list[threading.Thread] = []
    gate = threading.Event()
    summary = service.summary

    def gated() -> Summary:
        threads.append(threading.current_thread())
        gate.wait(30)
        return summary()

    monkeypatch.setattr(service, "summary", gated)
    window.refresh_status()
    qtbot.waitUntil(lambda: len(threads) == 1)
    window.refresh_status()  # while one runs: remembered, not started
    window.refresh_status()
    assert len(threads) == 1
    gate.set()
    qtbot.waitUntil(lambda: len(threads) == 2 and not window._summary_running)
    assert len(threads) == 2  # the two requests made while it ran became one more count
    assert threading.main_thread() not in threads
