"""Per template: its confirmation words decide what a reply to its reminders means, and its
automatic answers go back once per reply (an ordinary outbox message stored with the reply,
also across a real kill), never to an opted-out number, never for STOP, START or free text.
Over loopback HTTP to the Twilio simulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.auto_answers import answer_id
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.replies import PULL_INTERVAL, PULL_LEASE, ReplyPuller
from smsdesk.engine.reply_book import ReplyBook
from smsdesk.engine.service import Service
from smsdesk.engine.template_replies import DEFAULT_RULES, ReplyRules, check_rules
from smsdesk.store.models import Setting
from tests.engine.reply_setup import (
    CLINIC,
    OTHER,
    PATIENT,
    add_twilio,
    appointment,
    history,
    killed_mid_pull,
    message,
    messages_to,
    remind,
    replies,
)
from tests.simulators.twilio import TwilioSimulator

OK_TEMPLATE = (
    "Hi {first_name}, your visit is {appt_time:%A %H:%M}. Reply OK to confirm, MOVE to change"
)
OK_RULES = ReplyRules(("OK",), ("MOVE",), "Thanks {first_name}, see you {appt_time:%A}.", "")


def _reminded(tw: Service, clock: ManualClock, number: str, text: str) -> tuple[int, str]:
    """An appointment in 3 days, its reminder sent an hour from now."""
    starts = clock.now().replace(microsecond=0) + timedelta(days=3)
    appt = appointment(tw, number, starts)
    sent = remind(tw, number, text, clock.now() + timedelta(hours=1), appt, 4260)
    return appt, sent


# -- the words ----------------------------------------------------------------------------------


def test_rules_as_typed_are_checked_field_by_field() -> None:
    rules = check_rules(" ok , Yes!", "move", "  Thanks {first_name}  ", "")
    assert rules == ReplyRules(("OK", "YES"), ("MOVE",), "Thanks {first_name}", "")
    for typed, field in [
        (("STOP", "R", "", ""), "confirm_words"),
        (("C", "start", "", ""), "reschedule_words"),
        (("C, R", "R", "", ""), "reschedule_words"),
        (("?!", "R", "", ""), "confirm_words"),
        (("C", "R", "See you {time}", ""), "confirmed_answer"),
        (("C", "R", "", "Call us {"), "reschedule_answer"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            check_rules(*typed)
        assert caught.value.field == field, typed


def test_a_templates_words_decide_what_replies_to_its_reminders_mean(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    book = tw.contact_book()
    book.save_template("Visit", OK_TEMPLATE, OK_RULES)
    assert book.template("Visit").replies == OK_RULES
    ok_appt, ok_sent = _reminded(tw, clock, PATIENT, OK_TEMPLATE)
    plain_appt, plain_sent = _reminded(tw, clock, OTHER, "Your visit is in 3 days. C to confirm")
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "c", clock.now() - timedelta(minutes=2))  # not its word
    twilio.receive(OTHER, CLINIC, "C", clock.now() - timedelta(minutes=1))  # the defaults
    twilio.receive(PATIENT, CLINIC, "ok!", clock.now())
    ReplyPuller(tw.ctx).pull_due()
    c, other, ok = replies(tw)
    assert (c.message_id, c.action) == (ok_sent, None)  # free text for this template
    assert (other.message_id, other.action) == (plain_sent, "confirmed")
    assert (ok.message_id, ok.action) == (ok_sent, "confirmed")
    answers = ReplyBook(tw.ctx).appointment_answers([ok_appt, plain_appt])
    assert answers == {ok_appt: "confirmed", plain_appt: "confirmed"}


def test_rules_are_stored_with_the_template_and_removed_with_it(tw: Service) -> None:
    book = tw.contact_book()
    book.save_template("Visit", OK_TEMPLATE, OK_RULES)
    book.save_template("Visit", OK_TEMPLATE + ".")  # the text alone: the rules are kept
    assert book.template("Visit").replies == OK_RULES
    book.save_template("Visit", OK_TEMPLATE, DEFAULT_RULES)  # the defaults take no row
    with tw.ctx.db.read() as s:
        assert s.get(Setting, "template.1.replies") is None
    book.save_template("Visit", OK_TEMPLATE, OK_RULES)
    book.delete_template("Visit")
    with tw.ctx.db.read() as s:
        assert s.get(Setting, "template.1.replies") is None
    book.save_template("Visit", OK_TEMPLATE)  # a new template of the same name starts afresh
    assert book.template("Visit").replies == DEFAULT_RULES


# -- automatic answers ----------------------------------------------------------------------


def test_an_automatic_answer_goes_once_per_reply_and_is_shown_as_sent(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    tw.contact_book().save_template("Visit", OK_TEMPLATE, OK_RULES)
    appt, sent = _reminded(tw, clock, PATIENT, OK_TEMPLATE)
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "OK", clock.now() - timedelta(minutes=3))
    twilio.receive(PATIENT, CLINIC, "move", clock.now() - timedelta(minutes=2))  # no answer set
    twilio.receive(PATIENT, CLINIC, "Can I bring my son?", clock.now() - timedelta(minutes=1))
    Dispatcher(tw.ctx).run_once()  # pulls, and queues the answer with the reply
    ok, move, free = replies(tw)
    assert (ok.action, move.action, free.action) == ("confirmed", "reschedule_requested", None)
    assert ok.id is not None
    answer = message(tw, answer_id(ok.id))
    weekday = (clock.now() + timedelta(days=3)).strftime("%A")
    assert answer is not None and answer.text == f"Thanks Ada, see you {weekday}."
    assert answer.appointment_id is None  # not a reminder: confirming cancels no answer
    assert [m.id for m in messages_to(tw, PATIENT) if "auto-answer" in m.id] == [answer.id]
    assert "answered automatically" in ok.detail
    # The replies after it still answer the reminder, not the "thanks".
    assert move.message_id == sent and free.message_id == sent
    Dispatcher(tw.ctx).run_once()  # hands the answer off
    clock.advance(timedelta(minutes=1))
    Dispatcher(tw.ctx).run_once()
    assert twilio.creates_by_recipient()[PATIENT] == 2  # the reminder, and the answer once
    # Read again (the listing overlaps) and by a second desk: no second answer.
    clock.advance(PULL_INTERVAL)
    ReplyPuller(tw.ctx, "back-office").pull_due()
    account = tw.ctx.account("Twilio")
    listed = tw.ctx.provider(account).received(clock.now() - timedelta(hours=3))  # type: ignore[attr-defined]
    assert ReplyPuller(tw.ctx, "front-desk").store_all(account, listed) == 0
    assert [m.id for m in messages_to(tw, PATIENT) if "auto-answer" in m.id] == [answer.id]
    shown = {r.text: r for r in ReplyBook(tw.ctx).replies()}
    assert shown["OK"].answer == answer.text
    assert shown["OK"].answer_state in ("sent", "delivered")
    assert shown["move"].answer == "" and shown["Can I bring my son?"].answer == ""
    assert appt in ReplyBook(tw.ctx).appointment_answers([appt])


def test_no_automatic_answer_to_an_opted_out_number_nor_to_stop(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    tw.contact_book().save_template("Visit", OK_TEMPLATE, OK_RULES)
    _reminded(tw, clock, PATIENT, OK_TEMPLATE)
    _reminded(tw, clock, OTHER, OK_TEMPLATE)
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    tw.contact_book().opt_out(PATIENT)
    twilio.receive(PATIENT, CLINIC, "OK", clock.now() - timedelta(minutes=1))
    twilio.receive(OTHER, CLINIC, "STOP", clock.now())
    ReplyPuller(tw.ctx).pull_due()
    ok, stop = replies(tw)
    assert ok.action == "confirmed" and "no automatic answer: the number has opted out" in ok.detail
    assert stop.action == "opted_out"
    assert [
        m for m in messages_to(tw, PATIENT) + messages_to(tw, OTHER) if "auto-answer" in m.id
    ] == []


@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_the_answer_is_stored_with_its_reply_across_a_kill(
    tw: Service, twilio: TwilioSimulator, clock: ManualClock, isolated_home: Path, point: str
) -> None:
    tw.contact_book().save_template("Visit", OK_TEMPLATE, OK_RULES)
    _reminded(tw, clock, PATIENT, OK_TEMPLATE)
    Dispatcher(tw.ctx).run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "OK", clock.now() - timedelta(minutes=1))
    child = killed_mid_pull(isolated_home, clock.now(), point)
    # The kill landed where intended: Twilio handed the reply over; the process died
    # before / right after the one transaction storing the reply with its answer.
    assert child.returncode == 9, child.stderr
    assert child.stdout.split() == ["1"]
    answers = [m for m in messages_to(tw, PATIENT) if "auto-answer" in m.id]
    assert (len(replies(tw)), len(answers)) == ((0, 0) if point == "before-commit" else (1, 1))
    clock.advance(PULL_LEASE)
    Dispatcher(tw.ctx).run_once()  # pulls again (the dead lease ran out), hands off the answer
    clock.advance(PULL_INTERVAL)
    Dispatcher(tw.ctx).run_once()
    (reply,) = replies(tw)
    assert reply.id is not None
    answers = [m for m in messages_to(tw, PATIENT) if "auto-answer" in m.id]
    assert [m.id for m in answers] == [answer_id(reply.id)]
    assert twilio.creates_by_recipient()[PATIENT] == 2  # the reminder and one answer
    assert history(tw, answers[0].id)[0][0] == "created"


def test_two_desks_store_one_reply_and_one_answer_on_either_backend(
    db_ctx: AppContext, twilio: TwilioSimulator, clock: ManualClock
) -> None:
    """A shared office (PostgreSQL too): both desks pull and store the same reply; one
    answer is queued with it and handed off once; the template's words come from the
    database both desks read."""
    service = add_twilio(Service(db_ctx), twilio)
    service.contact_book().save_template("Visit", OK_TEMPLATE, OK_RULES)
    _reminded(service, clock, PATIENT, OK_TEMPLATE)
    Dispatcher(db_ctx, owner="front-desk").run_once()
    clock.advance(timedelta(hours=2))
    twilio.receive(PATIENT, CLINIC, "Ok", clock.now() - timedelta(minutes=1))
    front, back = ReplyPuller(db_ctx, "front-desk"), ReplyPuller(db_ctx, "back-office")
    assert front.pull_due().stored == 1
    account = db_ctx.account("Twilio")
    listed = db_ctx.provider(account).received(clock.now() - timedelta(hours=1))  # type: ignore[attr-defined]
    assert back.store_all(account, listed) == 0
    (reply,) = replies(service)
    assert reply.action == "confirmed" and reply.id is not None
    Dispatcher(db_ctx, owner="front-desk").run_once()
    Dispatcher(db_ctx, owner="back-office").run_once()
    answers = [m for m in messages_to(service, PATIENT) if "auto-answer" in m.id]
    assert [m.id for m in answers] == [answer_id(reply.id)]
    assert answers[0].state in ("sent", "delivered", "scheduled")
    assert twilio.creates_by_recipient()[PATIENT] == 2  # the reminder and one answer
