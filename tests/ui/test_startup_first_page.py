"""Start-up shows the Queue's first page before the storage stack is loaded: exactly what the
real Queue shows once storage is open (rows, order, every cell), handed over with the user's
selection and scroll position; and when only storage can read the file (PostgreSQL, a
damaged file, a migration due) the window opens the normal way."""

# pytest-qt leaves QtBot's key and mouse helpers unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock, SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import encryption, raw_connection
from smsdesk.store.first_page import RECENT_FAILURES
from smsdesk.store.models import Message
from smsdesk.ui.compose_draft import ComposeDraft
from smsdesk.ui.first_page_model import FirstPageView
from smsdesk.ui.main_window import TITLES, MainWindow, Opening
from smsdesk.ui.queue_view import RECENT_FAILURES as QUEUE_RECENT_FAILURES
from smsdesk.ui.startup import FirstPageAhead, Startup
from tests.store.damage import damage_header, sound_home
from tests.ui.startup_setup import fresh_run, on_screen

QUEUE = TITLES.index("Queue")
WAIT_MS = 60_000
ROLES = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.TextAlignmentRole,
)
IN_SCOPE = 130  # more than the first page (100 rows)


def _cells(model: QAbstractItemModel, rows: int) -> list[list[tuple[Any, ...]]]:
    """Every cell of the first ``rows`` rows in every role the Queue answers."""
    found = []
    for row in range(rows):
        cells = []
        for column in range(model.columnCount()):
            index = model.index(row, column)
            values = []
            for role in ROLES:
                value = index.data(role)
                values.append(value.color().name() if isinstance(value, QBrush) else value)
            cells.append(tuple(values))
        found.append(cells)
    return found


def _fill(ctx: AppContext, service: Service, clock: ManualClock) -> None:
    """The default scope's edges: every state in it and out of it, failures just inside and
    just outside "recent", a contact's name and zone, numbers in other zones than the desk's,
    several lines of text, two providers' worth of names, ties on the send time."""
    service.update_settings(zone="America/New_York")
    service.contact_book().add_contact(
        number="+15551230001", name="Ann Lee", zone="Europe/London", fields={}, groups=[]
    )
    numbers = ["+15551230001", "+15551230002", "+41791140478", "+61412345678", "+15551230003"]
    soon = clock.now() + timedelta(hours=1)
    for i in range(IN_SCOPE + 6):  # six of them leave the scope below
        text = f"Reminder {i}" + ("\nSecond line" if i % 3 == 0 else "")
        when = soon + timedelta(minutes=7 * (i % 50))  # ties: the id decides
        service.schedule([numbers[i % len(numbers)]], text, when, "Europe/Zurich")
    ids = [m.id for m in service.list_messages(limit=None)]
    # Start-up opens storage on the system clock: "recent" is measured from it, hours away
    # from every edge.
    past = SystemClock().now() - RECENT_FAILURES
    with ctx.db.write() as s:
        for n, message_id in enumerate(ids[:12]):
            m = s.get(Message, message_id)
            assert m is not None
            if n < 4:  # failed, recently: needs attention
                m.state, m.last_error = "failed", "Carrier rejected"
                m.send_at = past + timedelta(hours=n + 1)
            elif n < 6:  # failed before "recent": only under "All messages"
                m.state, m.last_error = "failed", "Old failure"
                m.send_at = past - timedelta(hours=n)
            elif n < 8:
                m.state = "delivered"
            elif n < 10:
                m.state, m.attention = "unknown", "Checking with the provider"
            else:
                m.state = "cancelled"


def test_the_scope_read_ahead_is_the_queues_scope() -> None:
    # The states are core.lifecycle's for both; the week of failures is the Queue's own.
    assert RECENT_FAILURES == QUEUE_RECENT_FAILURES


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_the_first_page_is_what_the_queue_shows_and_the_queue_keeps_the_users_place(
    qtbot: QtBot,
    isolated_home: Path,
    ctx: AppContext,
    service: Service,
    clock: ManualClock,
    encrypted: bool,
) -> None:
    _fill(ctx, service, clock)
    path = isolated_home / "smsdesk.db"
    ctx.close()
    if raw_connection.is_encrypted(path) != encrypted:
        (encryption.encrypt if encrypted else encryption.decrypt)(path)
    assert raw_connection.is_encrypted(path) == encrypted

    window = MainWindow(refresh_ms=600_000)  # refreshed by the test alone
    qtbot.addWidget(window)
    window.resize(1000, 500)  # fewer rows on screen than the first page: it scrolls
    window.show()
    qtbot.waitExposed(window)
    window.show_view("Queue")
    seen: dict[str, Any] = {}

    def user_reads_and_picks() -> None:
        """While storage opens: the first page is on screen; the user clicks a row, pages
        down, and Ctrl+clicks another row."""
        preview = window.tabs.widget(QUEUE)
        assert isinstance(preview, FirstPageView)
        assert window.tabs.currentWidget() is preview and not window.is_attached
        table = preview.table
        qtbot.waitExposed(table)
        seen["cells"] = _cells(preview.model, preview.model.rowCount())
        seen["total"] = preview.total
        qtbot.mouseClick(
            table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=table.visualRect(preview.model.index(1, 0)).center(),
        )
        qtbot.keyClick(table, Qt.Key.Key_PageDown)
        top = table.rowAt(0)
        assert top > 0  # it scrolled
        qtbot.mouseClick(
            table.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.ControlModifier,
            pos=table.visualRect(preview.model.index(top + 1, 0)).center(),
        )
        seen["top"] = top
        seen["selected"] = preview.selected_ids()
        seen["current"] = preview.current_id()
        assert len(seen["selected"]) == 2

    startup = Startup(
        window,
        isolated_home,
        start_engine=False,
        first_page=FirstPageAhead(isolated_home),  # the system clock, as storage's
        before_open=user_reads_and_picks,
    )
    with qtbot.waitSignal(window.attached, timeout=WAIT_MS):
        startup.start()
    try:
        assert seen, "the first page was never shown"
        assert seen["total"] == IN_SCOPE
        assert len(seen["cells"]) == 100
        queue = window.queue
        assert window.tabs.currentWidget() is queue
        assert queue.model.rowCount() == IN_SCOPE
        # Every cell of the first page, as the real Queue shows it.
        assert _cells(queue.model, 100) == seen["cells"]
        shown = [c[0][0] for c in seen["cells"]]
        assert any("there)" in t for t in shown)  # the recipient's own time was worked out
        recipients = {row[1][0] for row in seen["cells"]}
        assert "+15551230001 (Ann Lee)" in recipients
        states = {row[4][0] for row in seen["cells"]}
        assert states == {"failed", "queued", "unknown"}
        # The user's place: the same messages selected, the same current one, the same top.
        rows = sorted({i.row() for i in queue.table.selectionModel().selectedRows()})
        assert [queue.model.message(r).id for r in rows] == seen["selected"]  # type: ignore[union-attr]
        current = queue.table.currentIndex()
        assert queue.model.message(current.row()).id == seen["current"]  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: queue.table.isVisible())
        assert queue.table.rowAt(0) == seen["top"]
    finally:
        window.close()
        startup.close()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_the_first_page_paints_before_the_storage_stack_is_loaded(
    isolated_home: Path, ctx: AppContext, service: Service, clock: ManualClock, encrypted: bool
) -> None:
    """The real start (run_gui) in a fresh interpreter: when the first page's rows first
    paint, which modules are loaded. An encrypted file needs the keyring for its key, and
    SQLCipher; neither needs SQLAlchemy."""
    service.schedule(["+15551230001"], "Checkup", clock.now() + timedelta(days=2), "UTC")
    path = isolated_home / "smsdesk.db"
    ctx.close()
    if raw_connection.is_encrypted(path) != encrypted:
        (encryption.encrypt if encrypted else encryption.decrypt)(path)
    script = (
        "import os, sys\n"
        "from PySide6.QtCore import QEvent, QObject, QTimer\n"
        "from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'pydantic', 'alembic', 'keyring', 'sqlcipher3')\n"
        "class Spy(QObject):\n"
        "    def eventFilter(self, watched, event):\n"
        "        if event.type() != QEvent.Type.Paint or not isinstance(watched, QWidget):\n"
        "            return False\n"
        "        if watched.isWindow() and hasattr(watched, 'show_view'):\n"
        "            watched.show_view('Queue')\n"
        "        table = watched.parentWidget()\n"
        "        if isinstance(table, QAbstractItemView) and watched is table.viewport() \\\n"
        "                and table.objectName() == 'queueFirstPageTable' \\\n"
        "                and table.model().rowCount() > 0:\n"
        "            print(table.model().index(0, 2).data())\n"
        "            print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0]\n"
        "                          in heavy or m.startswith('smsdesk.providers')}))\n"
        "            sys.stdout.flush()\n"
        "            os._exit(0)\n"
        "        return False\n"
        "import faulthandler; faulthandler.enable()\n"
        "app = QApplication([])\n"
        "spy = Spy(); app.installEventFilter(spy)\n"
        "QTimer.singleShot(45_000, lambda: (print('never painted'), os._exit(3)))\n"
        "from smsdesk.ui.app import run_gui\n"
        "run_gui()\n"
    )
    done = fresh_run(script, isolated_home)
    assert done.returncode == 0, done.stdout + done.stderr
    text, modules = done.stdout.strip().splitlines()
    assert text == "Checkup"  # the spy stopped at the first page's rows, not elsewhere
    assert modules == str(["keyring", "sqlcipher3"] if encrypted else [])


@pytest.fixture
def shell(qtbot: QtBot) -> Iterator[MainWindow]:
    window = on_screen(qtbot, MainWindow(refresh_ms=600_000))  # refreshed by the test alone
    window.show_view("Queue")
    yield window
    window.close()


def _open_normally(qtbot: QtBot, window: MainWindow, home: Path, clock: ManualClock) -> None:
    ahead = FirstPageAhead(home, clock)
    assert ahead.result() is None
    startup = Startup(window, home, start_engine=False, first_page=ahead)
    try:
        with qtbot.waitSignal(window.attached, timeout=WAIT_MS):
            startup.start()
        assert window.tabs.currentWidget() is window.queue
        assert window.queue.model.rowCount() == 1
        qtbot.waitUntil(lambda: window.summary is not None, timeout=WAIT_MS)  # its last read
    finally:
        window.close()  # before its database goes (PostgreSQL's is dropped after the test)
        startup.close()


def test_a_database_on_postgresql_opens_the_normal_way(
    qtbot: QtBot,
    shell: MainWindow,
    isolated_home: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.pg import fresh_database

    with fresh_database(monkeypatch):
        ctx = AppContext.open(isolated_home, clock=clock)
        Service(ctx).schedule(["+15551230001"], "Hi", clock.now() + timedelta(days=1), "UTC")
        ctx.close()
        _open_normally(qtbot, shell, isolated_home, clock)


def test_a_database_due_a_migration_opens_the_normal_way(
    qtbot: QtBot, shell: MainWindow, isolated_home: Path, clock: ManualClock
) -> None:
    from alembic import command

    from smsdesk.store.migrate import alembic_config
    from smsdesk.store.revisions import shipped

    ctx = AppContext.open(isolated_home, clock=clock)
    Service(ctx).schedule(["+15551230001"], "Hi", clock.now() + timedelta(days=1), "UTC")
    cfg = alembic_config()
    with ctx.db.engine.begin() as conn:  # the file as the previous release left it
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, sorted(shipped()[0])[-2])
    ctx.close()
    _open_normally(qtbot, shell, isolated_home, clock)  # migrated, then shown


def test_a_file_sqlite_cannot_read_opens_the_normal_way_to_the_recovery_dialog(
    qtbot: QtBot, shell: MainWindow, isolated_home: Path
) -> None:
    from tests.conftest import START

    path = sound_home(isolated_home, START)
    damage_header(path)
    ahead = FirstPageAhead(isolated_home)
    assert ahead.result() is None
    startup = Startup(shell, isolated_home, start_engine=False, first_page=ahead)
    try:
        startup.start()
        qtbot.waitUntil(
            lambda: shell.findChild(QDialog, "recoveryDialog") is not None, timeout=WAIT_MS
        )
        assert isinstance(shell.tabs.widget(QUEUE), Opening)  # no rows were made up
    finally:
        startup.close()


def test_compose_can_be_typed_in_before_storage_opens_and_keeps_what_was_typed(
    qtbot: QtBot, isolated_home: Path
) -> None:
    window = MainWindow(refresh_ms=600_000)
    qtbot.addWidget(window)
    startup = Startup(window, isolated_home, start_engine=False, compose_draft=True)
    window.show()
    qtbot.waitExposed(window)
    try:
        draft = window.tabs.currentWidget()
        assert isinstance(draft, ComposeDraft) and not window.is_attached
        # Schedule says why it waits rather than doing nothing when clicked.
        assert not draft.schedule_button.isEnabled()
        assert "opening" in draft.schedule_button.text()
        qtbot.mouseClick(draft.recipients_edit.viewport(), Qt.MouseButton.LeftButton)
        qtbot.keyClicks(draft.recipients_edit, "+15551230001")
        qtbot.mouseClick(draft.message_edit.viewport(), Qt.MouseButton.LeftButton)
        qtbot.keyClicks(draft.message_edit, "Dr. Patel is running late")
        qtbot.keyClick(draft.message_edit, Qt.Key.Key_Home)  # the cursor is not at the end

        with qtbot.waitSignal(window.attached, timeout=WAIT_MS):
            startup.start()
        compose = window.compose
        assert window.tabs.currentWidget() is compose
        assert compose.recipients_edit.toPlainText() == "+15551230001"
        assert compose.message_edit.toPlainText() == "Dr. Patel is running late"
        assert window.focusWidget() is compose.message_edit
        assert compose.message_edit.textCursor().position() == 0
        qtbot.keyClicks(compose.message_edit, "Today: ")  # typing goes on where it was
        assert compose.message_edit.toPlainText() == "Today: Dr. Patel is running late"
        assert compose.schedule_button.isEnabled()
    finally:
        window.close()
        startup.close()


def test_a_selection_made_before_leaving_the_queue_is_kept_once_the_file_is_known_sound(
    qtbot: QtBot, isolated_home: Path, ctx: AppContext, service: Service, clock: ManualClock
) -> None:
    """The user picks a message on the first page and goes to Compose: the real Queue takes
    the selection over once the damage check has passed (it reads the Queue to find it)."""
    _fill(ctx, service, clock)
    ctx.close()
    window = on_screen(qtbot, MainWindow(refresh_ms=600_000))  # refreshed by the test alone
    window.show_view("Queue")
    picked: list[str] = []

    def user_picks_and_leaves() -> None:
        preview = window.tabs.widget(QUEUE)
        assert isinstance(preview, FirstPageView)
        table = preview.table
        qtbot.mouseClick(
            table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=table.visualRect(preview.model.index(2, 0)).center(),
        )
        picked.extend(preview.selected_ids())
        bar = window.tabs.tabBar()
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
        assert window.tabs.currentIndex() == 0

    startup = Startup(
        window,
        isolated_home,
        start_engine=False,
        first_page=FirstPageAhead(isolated_home),
        before_open=user_picks_and_leaves,
    )
    with qtbot.waitSignal(window.attached, timeout=WAIT_MS):
        startup.start()
    try:
        assert len(picked) == 1
        queue = window.queue

        def selected() -> list[str]:
            rows = sorted({i.row() for i in queue.table.selectionModel().selectedRows()})
            return [m.id for r in rows if (m := queue.model.loaded(r)) is not None]

        qtbot.waitUntil(lambda: selected() == picked, timeout=WAIT_MS)
        bar = window.tabs.tabBar()
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(QUEUE).center())
        assert window.tabs.currentWidget() is queue and selected() == picked
    finally:
        window.close()
        startup.close()
