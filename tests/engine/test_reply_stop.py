"""A STOP cancels what a provider already holds for that number, through the ordinary cancel:
the intent is committed before the request, a lost answer is finished by reconciliation (never
resent), a refusal is flagged for the user; the reply's history says what was cancelled.
Over loopback HTTP to the Twilio simulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.reply_cancels import CANCEL_AT_PROVIDER
from smsdesk.engine.service import Service
from tests.engine.provider_setup import add_infobip
from tests.engine.reply_setup import (
    CLINIC,
    OTHER,
    PATIENT,
    history,
    killed_mid_pull,
    message,
    replies,
)
from tests.simulators.base import Fault
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.twilio import ACCOUNT_SID, TwilioSimulator

CANCEL = f"POST /2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"


def _send(tw: Service, number: str, ahead: timedelta, text: str = "Reminder") -> str:
    return tw.schedule([number], text, tw.clock.now() + ahead, "UTC").messages[0].message.id


def _answered_and_held(tw: Service) -> str:
    """A message an hour ahead (the one a reply answers) and another 3 days ahead, both
    handed to Twilio; the id of the one 3 days ahead."""
    _send(tw, PATIENT, timedelta(hours=1))
    at_twilio = _send(tw, PATIENT, timedelta(days=3))
    Dispatcher(tw.ctx).run_once()
    return at_twilio


def _held_by_twilio(twilio: TwilioSimulator) -> list[str]:
    return sorted(m.to for m in twilio.live())


def test_stop_cancels_what_twilio_holds_for_the_number_and_says_so(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    _send(tw, PATIENT, timedelta(hours=1))  # the message the STOP answers
    at_twilio = _send(tw, PATIENT, timedelta(days=3))
    held_here = _send(tw, PATIENT, timedelta(days=40))  # beyond Twilio's 35 days
    other = _send(tw, OTHER, timedelta(days=3))
    Dispatcher(tw.ctx).run_once()
    assert _held_by_twilio(twilio) == sorted([OTHER, PATIENT, PATIENT])
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "Stop")
    Dispatcher(tw.ctx).run_once()  # pulls the STOP, then cancels at Twilio
    (reply,) = replies(tw)
    assert reply.action == "opted_out" and reply.pending is None
    assert _held_by_twilio(twilio) == [OTHER]  # the patient's is gone, the other stays
    cancelled = message(tw, at_twilio)
    assert cancelled is not None and cancelled.state == "cancelled"
    assert "1 waiting on this computer will not be sent" in reply.detail
    assert "cancelled at the provider: 1 message (" in reply.detail
    kinds = [kind for kind, _detail in history(tw, at_twilio)]
    # The intent before the request, the outcome after it, then why.
    assert kinds[-3:] == ["cancelling", "cancelled", "reply"]
    assert "replied “Stop”" in history(tw, at_twilio)[-1][1]
    still = message(tw, other)
    assert still is not None and still.state == "scheduled"
    queued = message(tw, held_here)
    assert queued is not None and queued.state == "queued"  # dropped at its hand-off


def test_a_cancel_whose_answer_was_lost_is_finished_and_nothing_is_resent(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    at_twilio = _answered_and_held(tw)
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "UNSUBSCRIBE")
    # Twilio cancels it; no answer to it (nor to the client's quick repeats) arrives.
    twilio.inject(Fault.LOST, times=10, match=CANCEL)
    Dispatcher(tw.ctx).run_once()
    (reply,) = replies(tw)
    assert twilio.pending_faults() < 10  # the cancel was asked
    assert _held_by_twilio(twilio) == []
    waiting = message(tw, at_twilio)
    assert waiting is not None and waiting.state == "cancelling"  # not known here yet
    assert reply.pending == CANCEL_AT_PROVIDER
    clock.advance(timedelta(minutes=1))
    Dispatcher(tw.ctx).run_once()  # reconciliation asks Twilio, then the reply settles
    done = message(tw, at_twilio)
    assert done is not None and done.state == "cancelled" and done.attention is None
    (reply,) = replies(tw)
    assert reply.pending is None and "cancelled at the provider: 1 message" in reply.detail
    assert twilio.creates_by_recipient() == {PATIENT: 2}  # nothing sent again


def test_a_cancel_twilio_refuses_is_flagged_for_the_user(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    at_twilio = _answered_and_held(tw)
    ref = message(tw, at_twilio)
    assert ref is not None and ref.provider_ref
    twilio.force_status(ref.provider_ref, "sending")  # too late to cancel: Twilio refuses
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "stop")
    Dispatcher(tw.ctx).run_once()
    flagged = message(tw, at_twilio)
    assert flagged is not None and flagged.state == "sent"  # as Twilio then told
    assert flagged.attention and "refused to cancel" in flagged.attention
    assert [k for k, _d in history(tw, at_twilio)][-4:] == [
        "cancelling",
        "refused",
        "flagged",
        "status",
    ]
    (reply,) = replies(tw)
    assert reply.pending is None
    assert "1 the provider would not cancel (see its history)" in reply.detail
    requests = twilio.requests_to(
        "POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{ref.provider_ref}.json"
    )
    clock.advance(timedelta(minutes=5))
    Dispatcher(tw.ctx).run_once()  # flagged: no longer the reply's to ask again
    assert (
        twilio.requests_to(
            "POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{ref.provider_ref}.json"
        )
        == requests
    )


def test_a_later_start_leaves_what_came_after_it_alone(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    _send(tw, PATIENT, timedelta(hours=1))
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "STOP", clock.now() - timedelta(minutes=2))
    twilio.receive(PATIENT, CLINIC, "START", clock.now() - timedelta(minutes=1))
    Dispatcher(tw.ctx).run_once()
    after = _send(tw, PATIENT, timedelta(days=2))  # written after opting back in
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(minutes=5))
    Dispatcher(tw.ctx).run_once()
    kept = message(tw, after)
    assert kept is not None and kept.state == "scheduled"
    assert _held_by_twilio(twilio) == [PATIENT]
    assert [r.action for r in replies(tw)] == ["opted_out", "opted_in"]
    assert all(r.pending is None for r in replies(tw))


def test_a_stop_stored_by_a_desk_that_died_is_cancelled_once_by_the_next(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock, isolated_home: Path
) -> None:
    at_twilio = _answered_and_held(tw)
    ref = message(tw, at_twilio)
    assert ref is not None and ref.provider_ref
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "STOP", clock.now() - timedelta(minutes=1))
    child = killed_mid_pull(isolated_home, clock.now(), "after-commit")
    # The kill landed where intended: the STOP stored with its pending cancel, nothing
    # asked of Twilio yet.
    assert child.returncode == 9, child.stderr
    assert child.stdout.split() == ["1"]
    (reply,) = replies(tw)
    assert reply.pending == CANCEL_AT_PROVIDER
    assert _held_by_twilio(twilio) == [PATIENT]
    cancel_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{ref.provider_ref}.json"
    assert twilio.requests_to("POST", cancel_path) == 0
    Dispatcher(tw.ctx).run_once()  # another desk: finishes what the stored reply asks
    Dispatcher(tw.ctx).run_once()
    assert _held_by_twilio(twilio) == []
    assert twilio.requests_to("POST", cancel_path) == 1  # asked once
    (reply,) = replies(tw)
    assert reply.pending is None and "cancelled at the provider: 1 message" in reply.detail


SWISS = "+41793026727"
IB_NUMBER = "41790000001"


def test_a_stop_from_infobips_inbox_cancels_the_bulk_infobip_holds(
    service: Service, infobip: InfobipSimulator, clock: ManualClock
) -> None:
    add_infobip(service, infobip)
    service.update_settings(quiet_mode="off")
    _send(service, SWISS, timedelta(hours=1))
    later = _send(service, SWISS, timedelta(days=3))
    Dispatcher(service.ctx).run_once()
    held = message(service, later)
    assert held is not None and held.state == "scheduled" and held.provider_group
    assert infobip.bulk_status(held.provider_group) == "PENDING"
    clock.advance(timedelta(hours=2))
    infobip.receive(SWISS[1:], IB_NUMBER, "Stop")
    clock.advance(timedelta(minutes=1))
    Dispatcher(service.ctx).run_once()
    (reply,) = replies(service)
    assert reply.action == "opted_out" and reply.pending is None
    assert infobip.bulk_status(held.provider_group) == "CANCELED"
    done = message(service, later)
    assert done is not None and done.state == "cancelled"
    assert "cancelled at the provider: 1 message (" in reply.detail
