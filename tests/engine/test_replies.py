"""Replies without a server, over loopback HTTP to the Twilio and Infobip simulators: pulled on
an interval with back-off, stored once each (also across a real kill mid-pull), matched to the
message they answer, and acted on (STOP, START, confirmations)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.replies import (
    PULL_INTERVAL,
    PULL_LEASE,
    QUIET_INTERVAL,
    ReplyPuller,
)
from smsdesk.engine.reply_book import ReplyBook
from smsdesk.engine.reply_words import ReplyAction, action_for, keyword
from smsdesk.engine.service import Service
from smsdesk.store.models import AppointmentAnswer, Message, OptOut, ReplyPull
from tests.engine.provider_setup import add_infobip
from tests.engine.reply_setup import CLINIC, OTHER, PATIENT, TOKEN, killed_mid_pull
from tests.engine.reply_setup import appointment as _appointment
from tests.engine.reply_setup import replies as _replies
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.twilio import ACCOUNT_SID, SERVICE_SID, TwilioSimulator

SWISS = "+41793026727"
IB_NUMBER = "41790000001"  # the Infobip number patients text (digits, as Infobip writes it)


@pytest.fixture
def ib(service: Service, infobip: InfobipSimulator) -> Service:
    add_infobip(service, infobip)
    service.update_settings(quiet_mode="off")
    return service


def _message(service: Service, msg_id: str) -> Message:
    with service.ctx.db.read() as s:
        found = s.get(Message, msg_id)
    assert found is not None
    return found


def _send(service: Service, number: str, at: datetime, text: str = "Reminder") -> str:
    return service.schedule([number], text, at, "UTC").messages[0].message.id


def _asked_then_reminded(
    tw: Service, clock: ManualClock, asked: str = "C to confirm", minutes: int = 4260
) -> tuple[int, str, str]:
    """An appointment in 3 days; ``asked`` sent ``minutes`` before it (by default an hour
    from now) and the 2 h reminder. The appointment's id, then both messages'."""
    starts = clock.now() + timedelta(days=3)
    appt = _appointment(tw, PATIENT, starts)

    def reminder(text: str, before: int) -> str:
        at = starts - timedelta(minutes=before)
        return (
            tw.schedule([PATIENT], text, at, "UTC", appointment=(appt, before))
            .messages[0]
            .message.id
        )

    early = reminder(asked, minutes)
    return appt, early, reminder("See you in 2 hours", 120)


# -- the words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["STOP", "stop", " Stop. ", "STOP ALL", "unsubscribe!", "Quit", "end", "Cancel"]
)
def test_the_stop_family_opts_out_whatever_the_case_and_punctuation(text: str) -> None:
    assert action_for(text, opted_out=False, has_appointment=True) is ReplyAction.OPTED_OUT


def test_free_text_is_never_guessed_at() -> None:
    assert keyword("Yes, see you!") == "YESSEEYOU"
    for text in ("Yes, but can we make it 3pm?", "please stop by at 5", "c u soon"):
        assert action_for(text, opted_out=False, has_appointment=True) is None
    # YES confirms an appointment, and opts back in only a number that opted out.
    assert action_for("yes", opted_out=False, has_appointment=True) is ReplyAction.CONFIRMED
    assert action_for("YES", opted_out=True, has_appointment=True) is ReplyAction.OPTED_IN
    assert action_for("C", opted_out=False, has_appointment=False) is None


# -- Twilio -------------------------------------------------------------------------------------


def test_c_to_the_48h_reminder_cancels_the_2h_reminder_and_confirms(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    appt, early, late = _asked_then_reminded(tw, clock, "See you in 2 days. C to confirm", 2880)
    Dispatcher(tw.ctx).run_once()
    assert len(twilio.live()) == 2  # both held by Twilio
    clock.advance(timedelta(days=1, minutes=5))  # the 48 h reminder went out
    twilio.receive(PATIENT, CLINIC, "c")
    Dispatcher(tw.ctx).run_once()
    (reply,) = _replies(tw)
    assert (reply.action, reply.message_id, reply.appointment_id) == ("confirmed", early, appt)
    assert reply.pending is None
    assert _message(tw, late).state == "cancelled"
    assert twilio.live() == []  # cancelled at Twilio, not only here
    assert ReplyBook(tw.ctx).appointment_answers([appt]) == {appt: "confirmed"}


def test_stop_opts_out_and_nothing_more_is_handed_off_even_what_was_queued(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    first = _send(tw, PATIENT, clock.now() + timedelta(hours=1))
    held = _send(tw, PATIENT, clock.now() + timedelta(days=40))  # beyond Twilio's 35 days
    Dispatcher(tw.ctx).run_once()
    assert _message(tw, held).state == "queued"  # on this computer until inside the window
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "STOP.")
    Dispatcher(tw.ctx).run_once()
    (reply,) = _replies(tw)
    assert (reply.action, reply.message_id) == ("opted_out", first)
    with tw.ctx.db.read() as s:
        entry = s.get(OptOut, PATIENT)
    assert entry is not None and entry.source == "reply"
    clock.advance(timedelta(days=6))  # the held one comes inside the window: not handed off
    Dispatcher(tw.ctx).run_once()
    assert _message(tw, held).state == "failed"
    assert "opted out" in (_message(tw, held).last_error or "")
    assert twilio.creates_by_recipient() == {PATIENT: 1}


def test_pulls_on_an_interval_and_backs_off_on_rate_limits(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    listing = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    puller = ReplyPuller(tw.ctx)
    puller.pull_due()
    assert twilio.requests_to("GET", listing) == 1
    puller.pull_due()  # not due again before the interval
    clock.advance(PULL_INTERVAL)
    puller.pull_due()  # nothing sent from this account lately: asked hourly, not each minute
    assert twilio.requests_to("GET", listing) == 1
    assert puller.next_pull() == clock.now() - PULL_INTERVAL + QUIET_INTERVAL
    clock.set(puller.next_pull() or clock.now())
    twilio.inject(Fault.RATE_LIMIT, times=10, match=f"GET {listing}", retry_after=600)
    puller.pull_due()
    with tw.ctx.db.read() as s:
        row = s.get(ReplyPull, tw.ctx.account("Twilio").id)
    assert row is not None and row.failures == 1 and row.last_error
    # Never sooner than Twilio asked (Retry-After: 600 s), and no pull before then.
    assert row.next_at >= clock.now() + timedelta(seconds=600)
    assert puller.next_pull() == row.next_at
    before = twilio.requests_to("GET", listing)
    clock.advance(timedelta(seconds=300))
    puller.pull_due()
    assert twilio.requests_to("GET", listing) == before


@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_replies_are_stored_once_each_across_a_kill_mid_pull(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock, isolated_home: Path, point: str
) -> None:
    appt, _asked, late = _asked_then_reminded(tw, clock)
    _send(tw, OTHER, clock.now() + timedelta(hours=1))
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "C", clock.now() - timedelta(minutes=3))
    twilio.receive(OTHER, CLINIC, "Stop", clock.now() - timedelta(minutes=2))
    twilio.receive(OTHER, CLINIC, "thanks, who is this?", clock.now() - timedelta(minutes=1))

    with tw.ctx.db.read() as s:
        read_before = s.get(ReplyPull, tw.ctx.account("Twilio").id)
    assert read_before is not None and read_before.read_until is not None
    child = killed_mid_pull(isolated_home, clock.now(), point)
    # The kill landed where intended: after Twilio handed over all three, before / after
    # the one transaction that stores them, with the pull left unsettled (lease held).
    assert child.returncode == 9, child.stderr
    assert child.stdout.split() == ["3"]
    stored_at_kill = len(_replies(tw))
    assert stored_at_kill == (0 if point == "before-commit" else 3)
    with tw.ctx.db.read() as s:
        row = s.get(ReplyPull, tw.ctx.account("Twilio").id)
    assert row is not None and row.lease_owner == "dead-desk"
    assert row.read_until == read_before.read_until  # not moved by the dead pull

    puller = ReplyPuller(tw.ctx)
    puller.pull_due()  # the dead desk's lease still runs: nothing pulled yet
    assert len(_replies(tw)) == stored_at_kill
    clock.advance(PULL_LEASE)
    puller.pull_due()
    puller.pull_due()
    clock.advance(PULL_INTERVAL)
    puller.pull_due()  # read again from before the last position: nothing twice
    replies = _replies(tw)
    assert [r.text for r in replies] == ["C", "Stop", "thanks, who is this?"]
    assert [r.action for r in replies] == ["confirmed", "opted_out", None]
    assert len({r.provider_id for r in replies}) == 3
    assert all(r.pending is None for r in replies)
    assert _message(tw, late).state == "cancelled"
    assert [m.to for m in twilio.live()] == []  # the 2 h reminder cancelled at Twilio, once
    with tw.ctx.db.read() as s:
        answers = s.exec(select(AppointmentAnswer)).all()
        opt_outs = s.exec(select(OptOut)).all()
    assert [(a.appointment_id, a.status) for a in answers] == [(appt, "confirmed")]
    assert [(o.number, o.source) for o in opt_outs] == [(OTHER, "reply")]


# -- Infobip ------------------------------------------------------------------------------------


def test_infobip_inbox_replies_matched_flagged_and_each_stored_once(
    ib: Service, infobip: InfobipSimulator, clock: ManualClock
) -> None:
    starts = clock.now() + timedelta(days=2)
    appt = _appointment(ib, SWISS, starts)
    asked = (
        ib.schedule(
            [SWISS],
            "Tomorrow 10:00. C to confirm, R to reschedule",
            clock.now() + timedelta(hours=1),
            "UTC",
            appointment=(appt, 2820),
        )
        .messages[0]
        .message.id
    )
    Dispatcher(ib.ctx).run_once()
    assert infobip.inbox_pulls == 1  # the first pass asks at once
    clock.advance(timedelta(hours=2))
    infobip.receive(SWISS[1:], IB_NUMBER, "r")
    infobip.receive("41790009999", IB_NUMBER, "Who is this?")  # a number never texted
    Dispatcher(ib.ctx).run_once()
    pulls = infobip.inbox_pulls
    assert pulls == 2
    Dispatcher(ib.ctx).run_once()  # before the interval: the inbox is not asked again
    assert infobip.inbox_pulls == pulls
    clock.advance(PULL_INTERVAL)
    Dispatcher(ib.ctx).run_once()
    assert infobip.inbox_pulls == pulls + 1
    flagged, unmatched = _replies(ib)
    assert (flagged.sender, flagged.action, flagged.message_id) == (
        SWISS,
        "reschedule_requested",
        asked,
    )
    assert flagged.to == "+" + IB_NUMBER
    assert (unmatched.message_id, unmatched.appointment_id, unmatched.action) == (None, None, None)
    assert ReplyBook(ib.ctx).appointment_answers([appt]) == {appt: "reschedule_requested"}
    # START after STOP: opted back in.
    infobip.receive(SWISS[1:], IB_NUMBER, "STOP", clock.now())
    infobip.receive(SWISS[1:], IB_NUMBER, "start", clock.now() + timedelta(seconds=1))
    clock.advance(PULL_INTERVAL)
    ReplyPuller(ib.ctx).pull_due()
    assert [r.action for r in _replies(ib)][-2:] == ["opted_out", "opted_in"]
    with ib.ctx.db.read() as s:
        assert s.get(OptOut, SWISS) is None


def test_a_reply_older_than_the_match_window_answers_nothing(
    ib: Service, infobip: InfobipSimulator, clock: ManualClock
) -> None:
    _send(ib, SWISS, clock.now() + timedelta(minutes=10))
    Dispatcher(ib.ctx).run_once()
    clock.advance(timedelta(days=8))
    infobip.receive(SWISS[1:], IB_NUMBER, "C")
    ReplyPuller(ib.ctx).pull_due()
    (reply,) = _replies(ib)
    assert (reply.message_id, reply.action) == (None, None)
    # The window is the desk's setting: with 9 days, the same kind of reply is matched.
    ib.update_settings(reply_match_days=9)
    infobip.receive(SWISS[1:], IB_NUMBER, "hello?")
    clock.advance(QUIET_INTERVAL)  # nothing sent in the last 7 days: the next pull is hourly
    ReplyPuller(ib.ctx).pull_due()
    assert _replies(ib)[-1].message_id is not None


def test_a_cancel_twilio_could_not_take_is_finished_by_a_later_pass(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    _appt, _asked, late = _asked_then_reminded(tw, clock)
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "1")
    cancel = f"POST /2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
    twilio.inject(Fault.UNAVAILABLE, times=3, match=cancel)  # each of its tries
    Dispatcher(tw.ctx).run_once()
    (reply,) = _replies(tw)
    assert reply.action == "confirmed"
    assert len(twilio.live()) == 1  # the 2 h reminder is still held by Twilio
    assert twilio.pending_faults() == 0  # the cancel was asked, and refused for now
    assert reply.pending == "cancel_reminders"
    for _ in range(3):  # the engine's own retry of the cancel, then the reply's check
        clock.advance(timedelta(minutes=31))
        Dispatcher(tw.ctx).run_once()
    assert twilio.live() == []
    assert _message(tw, late).state == "cancelled"
    (reply,) = _replies(tw)
    assert reply.pending is None and "1 later reminder(s) cancelled" in reply.detail


def test_stored_once_and_acted_on_over_either_backend(
    db_ctx: AppContext, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    """The same pull twice from two desks' engines (a shared office): each reply once, STOP
    then START leaves the number opted in."""
    service = Service(db_ctx)
    service.add_account(
        "Twilio",
        "twilio",
        api_key=TOKEN,
        base_url=twilio.base_url,
        options={"account_sid": ACCOUNT_SID, "messaging_service_sid": SERVICE_SID},
        make_default=True,
    )
    at = clock.now().replace(microsecond=0)
    twilio.receive(PATIENT, CLINIC, "STOP", at - timedelta(minutes=2))
    twilio.receive(PATIENT, CLINIC, "Unstop", at - timedelta(minutes=1))
    front, back = ReplyPuller(db_ctx, "front-desk"), ReplyPuller(db_ctx, "back-office")
    assert front.pull_due().stored == 2
    clock.advance(PULL_INTERVAL)
    account = db_ctx.account("Twilio")
    listed = db_ctx.provider(account).received(at - timedelta(hours=1))  # type: ignore[attr-defined]
    assert len(listed) == 2
    assert back.store_all(account, listed) == 0  # what the other desk stored is not stored again
    assert back.pull_due().stored == 0
    assert [r.action for r in _replies(service)] == ["opted_out", "opted_in"]
    with db_ctx.db.read() as s:
        assert s.get(OptOut, PATIENT) is None


def test_an_inbox_answer_lost_on_the_way_is_said_and_the_pull_backs_off(
    ib: Service, infobip: InfobipSimulator, clock: ManualClock
) -> None:
    infobip.receive(SWISS[1:], IB_NUMBER, "C")
    infobip.inject(Fault.LOST, match="GET /sms/1/inbox/reports")  # handed out, answer lost
    puller = ReplyPuller(ib.ctx)
    report = puller.pull_due()
    assert (report.accounts, report.failed, report.stored) == (1, 1, 0)
    assert [m.pulled for m in infobip.inbox] == [True]  # Infobip handed it out: gone
    with ib.ctx.db.read() as s:
        row = s.get(ReplyPull, ib.ctx.account("Infobip").id)
    assert row is not None and "may be lost" in (row.last_error or "")
    assert row.next_at == clock.now() + 2 * PULL_INTERVAL  # backed off
    assert ReplyBook(ib.ctx).pull_problems() == {"Infobip": row.last_error}
    clock.advance(2 * PULL_INTERVAL)
    puller.pull_due()  # asked again, without repeating the lost request in the background
    with ib.ctx.db.read() as s:
        row = s.get(ReplyPull, ib.ctx.account("Infobip").id)
    assert row is not None and (row.failures, row.last_error) == (0, None)
