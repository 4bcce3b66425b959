"""The Replies view over replies the engine pulled from the loopback Twilio: conversations per
contact (name, number, the message answered, the reply, its action), the unread count on the
tab, search, filter by action, mark as handled and "Reply…" to Compose — driven by clicks and
keys on the real widgets."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.replies import ReplyPuller
from smsdesk.engine.service import Service
from smsdesk.ui.main_window import TITLES, MainWindow
from smsdesk.ui.replies_view import RepliesView
from tests.engine.reply_setup import (
    PATIENT,
    add_twilio,
    appointment,
    texted,
    twilio_serving,
)
from tests.simulators.twilio import POOL, TwilioSimulator

STRANGER = "+12025550188"
ASKED = "See you Tuesday 10:00"
# A popup (the combo box's list, Compose's recipient completer) on the offscreen platform.
OFFSCREEN_POPUP = ("This plugin does not support raise", "does not support grabbing the keyboard")


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioSimulator]:
    yield from twilio_serving(clock)


@pytest.fixture
def replied(service: Service, twilio: TwilioSimulator, clock: ManualClock) -> Service:
    texted(service, twilio, clock, [PATIENT], ASKED)
    at = clock.now().replace(microsecond=0)
    twilio.receive(PATIENT, POOL[0], "STOP", at - timedelta(minutes=2))
    twilio.receive(STRANGER, POOL[0], "Who is this?", at - timedelta(minutes=1))
    ReplyPuller(service.ctx).pull_due()
    return service


def _open(window: MainWindow) -> RepliesView:
    window.show_view("Replies")
    view = window.replies
    assert view.isVisible() and view.objectName() == "repliesView"
    return view


def _rows(view: RepliesView) -> list[tuple[str, ...]]:
    tree = view.tree
    rows = []
    for i in range(tree.topLevelItemCount()):
        person = tree.topLevelItem(i)
        assert person is not None
        for j in range(person.childCount()):
            child = person.child(j)
            assert child is not None
            rows.append((person.text(0), person.text(1), *(child.text(c) for c in (2, 3, 4))))
    return rows


def _click(qtbot: QtBot, view: RepliesView, item: QTreeWidgetItem) -> None:
    rect = view.tree.visualItemRect(item)
    qtbot.mouseClick(view.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _reply_item(view: RepliesView, text: str) -> QTreeWidgetItem:
    found = view.tree.findItems(text, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 3)
    assert len(found) == 1
    return found[0]


def _tab(window: MainWindow) -> str:
    return window.tabs.tabText(TITLES.index("Replies"))


@pytest.mark.qt_log_ignore(*OFFSCREEN_POPUP)
def test_conversations_filter_search_handle_and_reply(
    qtbot: QtBot, replied: Service, window: MainWindow
) -> None:
    view = _open(window)
    assert _tab(window) == "Replies (2)"
    assert sorted(_rows(view)) == [
        ("Ada Lovelace", PATIENT, ASKED, "STOP", "Opted out"),
        (
            "Not a contact",
            STRANGER,
            "(no message of ours to this number in the last days)",
            "Who is this?",
            "—",
        ),
    ]
    # Filter by action, with the keyboard on the real combo box.
    view.action_filter.setFocus()
    qtbot.keyClicks(view.action_filter, "Opted out")
    assert [r[3] for r in _rows(view)] == ["STOP"]
    qtbot.keyClick(view.action_filter, Qt.Key.Key_Home)  # back to "Every reply"
    assert view.action_filter.currentText() == "Every reply"
    assert len(_rows(view)) == 2
    # Search.
    qtbot.keyClicks(view.search_edit, "who is")
    assert [r[1] for r in _rows(view)] == [STRANGER]
    view.search_edit.clear()
    # Mark the stranger's reply as handled: the tab's count goes down, the row stays.
    assert not view.handled_button.isEnabled()
    _click(qtbot, view, _reply_item(view, "Who is this?"))
    qtbot.mouseClick(view.handled_button, Qt.MouseButton.LeftButton)
    assert _tab(window) == "Replies (1)"
    qtbot.mouseClick(view.unread_only, Qt.MouseButton.LeftButton)
    assert [r[3] for r in _rows(view)] == ["STOP"]
    # "Reply…" opens Compose to that number.
    _click(qtbot, view, _reply_item(view, "STOP"))
    qtbot.mouseClick(view.reply_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentIndex() == TITLES.index("Compose")
    assert window.compose.recipients_edit.toPlainText() == PATIENT


def test_the_tab_says_nothing_when_every_reply_is_handled(
    qtbot: QtBot, replied: Service, window: MainWindow
) -> None:
    view = _open(window)
    for i in range(view.tree.topLevelItemCount()):
        person = view.tree.topLevelItem(i)
        assert person is not None
        _click(qtbot, view, person)  # a contact: every one of its replies
        qtbot.mouseClick(view.handled_button, Qt.MouseButton.LeftButton)
    assert _tab(window) == "Replies"
    assert not any(view.tree.topLevelItem(i).font(0).bold() for i in range(2))  # type: ignore[union-attr]


def test_a_confirmed_appointment_shows_confirmed_in_reminders(
    qtbot: QtBot, service: Service, twilio: TwilioSimulator, clock: ManualClock, window: MainWindow
) -> None:
    add_twilio(service, twilio)
    starts = clock.now() + timedelta(days=3)
    appt_id = appointment(service, PATIENT, starts, name="Ada Lovelace")
    service.schedule(
        [PATIENT],
        "C to confirm",
        clock.now() + timedelta(hours=1),
        "UTC",
        appointment=(appt_id, 4260),
    )
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, POOL[0], "c", clock.now().replace(microsecond=0))
    Dispatcher(service.ctx).run_once()
    window.show_view("Reminders")
    view = window.reminders
    qtbot.waitUntil(lambda: not view.loading and len(view.appointments) == 1)
    model = view.table.model()
    assert str(model.index(0, 0).data()).endswith("(confirmed)")
    replies = _open(window)
    assert _rows(replies) == [("Ada Lovelace", PATIENT, "C to confirm", "c", "Confirmed")]
