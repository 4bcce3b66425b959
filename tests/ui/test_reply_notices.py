"""New replies in the window: a tray notice once per pull that brought some (naming the
contact for one, a count otherwise), clicking it opens Replies; a template's automatic answer
shown beside the reply as sent; what a STOP cancelled at the provider said in full. Over the
loopback Twilio simulator, with the engine's own pulls."""

# pytest-qt ships no type hints for its qtbot methods.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.replies import PULL_INTERVAL, ReplyPuller
from smsdesk.engine.service import Service
from smsdesk.engine.template_replies import ReplyRules
from smsdesk.store.models import ReplyPull
from smsdesk.ui.main_window import TITLES, MainWindow
from smsdesk.ui.replies_view import RepliesView
from tests.engine.reply_setup import (
    CLINIC,
    OTHER,
    PATIENT,
    appointment,
    remind,
    texted,
    twilio_serving,
)
from tests.simulators.twilio import TwilioSimulator

NO_TRAY_HOST = "QPlatformNativeInterface::systemTrayWindowChanged"
NO_RAISE = "This plugin does not support raise"  # offscreen: bringing the window up
TEMPLATE = "Hi {first_name}, see you {appt_time:%A}. Reply C to confirm"
THANKS = "Thanks {first_name}, see you {appt_time:%A}."


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[TwilioSimulator]:
    yield from twilio_serving(clock)


@pytest.fixture
def tw(service: Service, twilio: TwilioSimulator, clock: ManualClock) -> Service:
    return texted(service, twilio, clock, [PATIENT, OTHER], "See you soon")


def _window(qtbot: QtBot, service: Service) -> MainWindow:
    window = MainWindow(service, refresh_ms=60_000, tray_available=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _pull(service: Service, clock: ManualClock) -> None:
    clock.advance(PULL_INTERVAL)
    assert ReplyPuller(service.ctx).pull_due().accounts == 1


def _replies_view(window: MainWindow) -> RepliesView:
    window.show_view("Replies")
    return window.replies


@pytest.mark.qt_log_ignore(NO_TRAY_HOST, NO_RAISE)
def test_a_notice_per_pull_names_the_contact_or_counts_and_opens_replies(
    qtbot: QtBot, tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    twilio.receive(PATIENT, CLINIC, "old news", clock.now() - timedelta(minutes=5))
    _pull(tw, clock)  # stored before the window opened: the tab's count, no notice
    window = _window(qtbot, tw)
    tray = window.tray
    assert tray is not None
    shown: list[tuple[str, str]] = []
    tray.showMessage = lambda title, text, *_a: shown.append((title, text))  # type: ignore[method-assign]
    view = window.replies
    view.update_unread()  # what its timer does
    assert shown == []

    twilio.receive(PATIENT, CLINIC, "Running 5 min late", clock.now())
    _pull(tw, clock)
    view.update_unread()
    view.update_unread()  # once per pull, not once per look
    assert shown == [("Reply from Ada Lovelace", "Running 5 min late")]

    # A pull under way (another desk holds its lease): announced when it has ended.
    twilio.receive(OTHER, CLINIC, "who is this", clock.now())
    twilio.receive(PATIENT, CLINIC, "and parking?", clock.now())
    _pull(tw, clock)
    account = tw.ctx.account("Twilio").id
    with tw.ctx.db.write() as s:
        row = s.get(ReplyPull, account)
        assert row is not None
        row.lease_owner, row.lease_expires_at = "other-desk", clock.now() + timedelta(minutes=1)
        s.add(row)
    view.update_unread()
    assert len(shown) == 1
    clock.advance(timedelta(minutes=2))  # its lease has run out
    view.update_unread()
    assert shown[1] == ("2 new replies", "2 new replies from 2 people. Click to open Replies.")

    window.show_view("Compose")
    tray.messageClicked.emit()  # what the desktop sends when the notice is clicked
    assert window.tabs.currentIndex() == TITLES.index("Replies")
    # A failed-message notice clicked brings the window back, and does not switch views.
    window.show_view("Compose")
    tray.notify("smsdesk: message failed", "1 message failed.", QSystemTrayIcon.MessageIcon.Warning)
    tray.messageClicked.emit()
    assert window.tabs.currentIndex() == TITLES.index("Compose")


@pytest.mark.qt_log_ignore(NO_TRAY_HOST)
def test_the_automatic_answer_and_what_a_stop_cancelled_are_shown(
    qtbot: QtBot, tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    tw.contact_book().save_template("Visit", TEMPLATE, ReplyRules(confirmed_answer=THANKS))
    starts = clock.now().replace(microsecond=0) + timedelta(days=3)
    appt = appointment(tw, PATIENT, starts, name="Ada Lovelace")
    remind(tw, PATIENT, TEMPLATE, clock.now() + timedelta(minutes=20), appt, 4300)
    tw.schedule([OTHER], "Your results are in", clock.now() + timedelta(days=2), "UTC")
    Dispatcher(tw.ctx).run_once()  # both handed to Twilio
    clock.advance(timedelta(hours=1))
    twilio.receive(PATIENT, CLINIC, "C", clock.now())
    twilio.receive(OTHER, CLINIC, "stop", clock.now())
    clock.advance(PULL_INTERVAL)
    Dispatcher(tw.ctx).run_once()  # pulls, cancels at Twilio, queues the answer
    Dispatcher(tw.ctx).run_once()  # hands the answer off
    clock.advance(timedelta(minutes=1))
    Dispatcher(tw.ctx).run_once()  # its status: sent
    window = _window(qtbot, tw)
    view = _replies_view(window)
    weekday = starts.strftime("%A")
    confirmed = view.tree.findItems("C", Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 3)
    assert len(confirmed) == 1
    assert confirmed[0].text(4) == "Confirmed"
    assert confirmed[0].text(5) in {
        f"Thanks Ada, see you {weekday}. (sent)",
        f"Thanks Ada, see you {weekday}. (delivered)",
    }
    stop = view.tree.findItems("stop", Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 3)
    assert len(stop) == 1 and stop[0].text(5) == ""
    rect = view.tree.visualItemRect(stop[0])
    qtbot.mouseClick(view.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    detail = view.detail_label.text()
    assert detail.startswith("Opted out: opted out: nothing more is handed off")
    assert "cancelled at the provider: 1 message (" in detail
    assert twilio.live() == []
