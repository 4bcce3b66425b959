"""Recurring series in the engine: occurrences stored ahead as ordinary messages, once each,
through the normal scheduling, kept filled by the dispatcher's pass."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput, NotFound
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.series import (
    HORIZON,
    SeriesBook,
    fill_due,
    next_fill,
)
from smsdesk.engine.service import Service
from smsdesk.store.models import Message, SeriesOccurrence
from tests.engine.series_setup import ANN, readied, released, start_child
from tests.engine.series_setup import series_request as _req

BOB = "+447911123458"


def _messages(ctx: AppContext) -> list[Message]:
    with ctx.db.read() as s:
        return list(s.exec(select(Message).order_by(col(Message.send_at))).all())


def _occurrences(ctx: AppContext) -> list[SeriesOccurrence]:
    with ctx.db.read() as s:
        return list(s.exec(select(SeriesOccurrence).order_by(col(SeriesOccurrence.nominal))).all())


def test_a_series_stores_its_next_occurrences_as_queued_messages(service: Service) -> None:
    view = SeriesBook(service).add(_req())
    msgs = _messages(service.ctx)
    # 1 Dec 2026 + 35 days: Mondays 7, 14, 21, 28 Dec and 4 Jan.
    assert [m.send_at.date() for m in msgs] == [
        date(2026, 12, 7),
        date(2026, 12, 14),
        date(2026, 12, 21),
        date(2026, 12, 28),
        date(2027, 1, 4),
    ]
    assert {m.send_at.time().isoformat() for m in msgs} == {"08:30:00"}  # GMT in winter
    assert {m.state for m in msgs} == {"queued"}
    assert {m.recipient for m in msgs} == {ANN}
    assert len({m.batch_id for m in msgs}) == 5  # one batch per occurrence
    assert [o.batch_id for o in _occurrences(service.ctx)] == [m.batch_id for m in msgs]
    assert view.next_at == datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    assert [o.status for o in view.upcoming[:6]] == ["stored"] * 5 + ["planned"]


def test_wall_clock_holds_across_the_clock_change(service: Service, clock: ManualClock) -> None:
    clock.set(datetime(2027, 3, 20, 12, 0, tzinfo=UTC))
    SeriesBook(service).add(_req(start=datetime(2027, 3, 22, 9, 0)))
    got = [m.send_at for m in _messages(service.ctx)][:3]
    assert got == [
        datetime(2027, 3, 22, 9, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
        datetime(2027, 4, 5, 8, 0, tzinfo=UTC),
    ]


def test_an_occurrence_in_a_dst_gap_is_moved_and_says_so(
    service: Service, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 3, 26, 12, 0, tzinfo=UTC))
    service.update_settings(quiet_mode="off")  # 01:30 is in the default quiet hours
    SeriesBook(service).add(_req(rule="daily", start=datetime(2027, 3, 27, 1, 30), count=3))
    assert [m.send_at for m in _messages(service.ctx)] == [
        datetime(2027, 3, 27, 1, 30, tzinfo=UTC),
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),  # 02:00 BST: the first minute after
        datetime(2027, 3, 29, 0, 30, tzinfo=UTC),
    ]
    moved = [o.detail for o in _occurrences(service.ctx)]
    assert moved[0] == moved[2] == ""
    assert "01:30 does not exist on 2027-03-28" in moved[1]


def test_quiet_hours_apply_to_each_occurrence(service: Service) -> None:
    SeriesBook(service).add(_req(rule="daily", start=_at(2, 7), count=2))
    # 07:00 is in the default quiet hours (21:00-08:00): each moves to 08:00.
    assert [m.send_at for m in _messages(service.ctx)] == [
        datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
    ]


def test_public_holidays_are_stored_as_skipped_with_why(service: Service) -> None:
    book = SeriesBook(service)
    view = book.add(
        _req(rule="FREQ=WEEKLY;BYDAY=FR", start=datetime(2026, 12, 4, 10, 0), holidays="GB")
    )
    occs = {o.nominal[:10]: o for o in _occurrences(service.ctx)}
    assert occs["2026-12-25"].status == "skipped"
    assert "Christmas Day" in occs["2026-12-25"].detail
    assert occs["2027-01-01"].status == "skipped"
    assert occs["2026-12-25"].batch_id is None
    assert [m.send_at.date().isoformat() for m in _messages(service.ctx)] == [
        "2026-12-04",
        "2026-12-11",
        "2026-12-18",
    ]
    shown = {o.nominal[:10]: o.skipped_because for o in book.show(view.id).upcoming}
    assert "Christmas Day" in shown["2026-12-25"]


def test_the_dispatcher_pass_keeps_the_window_filled(fctx: AppContext, clock: ManualClock) -> None:
    service = Service(fctx)
    SeriesBook(service).add(_req())
    dispatcher = Dispatcher(fctx)
    assert dispatcher.next_wake() <= clock.now() + HORIZON
    filled_at = next_fill(fctx)
    assert filled_at is not None
    clock.set(filled_at + timedelta(days=7))
    report = dispatcher.run_once()
    msgs = _messages(fctx)
    assert msgs[-1].send_at.date() == date(2027, 1, 11)  # one week more
    assert len(msgs) == len({m.send_at for m in msgs}) == 6
    assert report.handed_off >= 1
    # A second pass stores nothing more.
    dispatcher.run_once()
    assert len(_messages(fctx)) == 6


def test_a_group_is_resolved_at_each_occurrence(service: Service, clock: ManualClock) -> None:
    contacts = service.contact_book()
    contacts.add_contact(number=ANN, name="Ann", zone=None, fields={}, groups=["Staff"])
    SeriesBook(service).add(_req(numbers=(), group="Staff", rule="daily", start=_at(2, 9)))
    first = _messages(service.ctx)
    assert {m.recipient for m in first} == {ANN}
    contacts.add_contact(number=BOB, name="Bob", zone=None, fields={}, groups=["Staff"])
    clock.advance(timedelta(days=3))
    fill_due(service.ctx)
    later = [m for m in _messages(service.ctx) if m.send_at > first[-1].send_at]
    assert later, "the pass stored new occurrences"
    assert {m.recipient for m in later} == {ANN, BOB}
    assert {m.recipient for m in first} == {ANN}  # stored ones are not changed


def test_a_contact_is_followed_to_its_new_number_and_its_removal_is_said(
    service: Service, clock: ManualClock
) -> None:
    book = service.contact_book()
    ann = book.add_contact(number=ANN, name="Ann", zone=None, fields={}, groups=[])
    series = SeriesBook(service)
    view = series.add(_req(numbers=(), contact_id=ann.id, rule="daily", start=_at(2, 9)))
    assert view.recipients == "Ann"
    assert {m.recipient for m in _messages(service.ctx)} == {ANN}
    book.update_contact(ann.id, number=BOB, name="Ann", zone=None, fields={}, groups=[])
    clock.advance(timedelta(days=2))
    fill_due(service.ctx)
    assert _messages(service.ctx)[-1].recipient == BOB  # her new number
    book.delete_contacts([ann.id])
    clock.advance(timedelta(days=2))
    fill_due(service.ctx)
    newest = _occurrences(service.ctx)[-1]
    assert (newest.status, newest.detail) == ("skipped", "That contact no longer exists.")


def test_opt_outs_apply_per_occurrence(service: Service, clock: ManualClock) -> None:
    book = service.contact_book()
    SeriesBook(service).add(_req(numbers=(ANN, BOB), rule="daily", start=_at(2, 9), count=40))
    assert {m.recipient for m in _messages(service.ctx)} == {ANN, BOB}
    book.opt_out(BOB, "replied STOP")
    book.opt_out(ANN, "replied STOP")
    clock.advance(timedelta(days=2))
    fill_due(service.ctx)
    newest = _occurrences(service.ctx)[-1]
    assert newest.status == "skipped"
    assert "opted out" in newest.detail


def test_cancel_cancels_future_occurrences_and_keeps_history(
    fctx: AppContext, clock: ManualClock
) -> None:
    service = Service(fctx)
    book = SeriesBook(service)
    view = book.add(_req(rule="daily", start=_at(1, 10)))
    Dispatcher(fctx).run_once()  # the Sandbox now holds them (at provider)
    clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    Dispatcher(fctx).run_once()  # 1-3 Dec went out
    outcome = book.cancel(view.id)
    msgs = _messages(fctx)
    past = [m for m in msgs if m.send_at < clock.now()]
    future = [m for m in msgs if m.send_at >= clock.now()]
    assert len(past) == 3 and {m.state for m in past} <= {"sent", "delivered"}
    assert future and {m.state for m in future} == {"cancelled"}
    assert outcome.withdrawn == len(future) and outcome.kept == ()
    clock.advance(timedelta(days=10))
    Dispatcher(fctx).run_once()
    assert len(_messages(fctx)) == len(msgs)  # nothing new after the cancel
    shown = book.show(view.id)
    assert shown.state == "cancelled" and shown.next_at is None
    assert sum(1 for o in shown.history if o.status == "stored") == 3
    with pytest.raises(InvalidInput, match="cancelled already"):
        book.cancel(view.id)


def test_pause_then_resume_stores_each_occurrence_once(
    service: Service, clock: ManualClock
) -> None:
    book = SeriesBook(service)
    view = book.add(_req(rule="daily", start=_at(2, 9)))
    stored = len(_messages(service.ctx))
    paused = book.pause(view.id)
    assert paused.withdrawn == stored
    fill_due(service.ctx)  # a paused series is not filled
    assert all(m.state == "cancelled" for m in _messages(service.ctx))
    clock.advance(timedelta(days=5, hours=1))
    book.resume(view.id)
    live = [m for m in _messages(service.ctx) if m.state == "queued"]
    assert live[0].send_at.date() == date(2026, 12, 7)  # 2-6 Dec fell in the pause
    assert len(live) == len({m.send_at for m in live})
    fill_due(service.ctx)
    assert len([m for m in _messages(service.ctx) if m.state == "queued"]) == len(live)
    # The withdrawn occurrences that came back were stored anew under the same key.
    again = [o for o in _occurrences(service.ctx) if o.nominal.startswith("2026-12-07")]
    assert len(again) == 1 and again[0].status == "stored"


def test_skipping_one_date(service: Service) -> None:
    book = SeriesBook(service)
    view = book.add(_req())
    outcome = book.skip(view.id, date(2026, 12, 14))
    assert outcome.withdrawn == 1
    states = {m.send_at.date(): m.state for m in _messages(service.ctx)}
    assert states[date(2026, 12, 14)] == "cancelled"
    assert states[date(2026, 12, 21)] == "queued"
    shown = {o.nominal[:10]: o for o in book.show(view.id).upcoming}
    assert shown["2026-12-14"].status == "skipped"
    assert shown["2026-12-14"].skipped_because == "skipped on request"


def test_editing_the_whole_series_replans_the_future(service: Service) -> None:
    book = SeriesBook(service)
    view = book.add(_req())
    book.edit(view.id, _req(start=datetime(2026, 12, 8, 9, 0), rule="FREQ=WEEKLY;BYDAY=TU"))
    msgs = _messages(service.ctx)
    queued = [m.send_at for m in msgs if m.state == "queued"]
    assert queued[0] == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    assert {d.weekday() for d in queued} == {1}
    assert {m.send_at.weekday() for m in msgs if m.state == "cancelled"} == {0}


def test_this_and_following_splits_the_series(service: Service) -> None:
    book = SeriesBook(service)
    physio = book.add(_req(text="Physio tomorrow", count=10))  # Mondays from 7 Dec
    following = book.following_request(physio.id, date(2026, 12, 21))
    assert following.start == datetime(2026, 12, 21, 8, 30) and following.count == 8
    new = book.split(
        physio.id,
        date(2026, 12, 21),
        replace(following, start=datetime(2026, 12, 22, 10, 0), rule="FREQ=WEEKLY;BYDAY=TU"),
    )
    msgs = _messages(service.ctx)
    queued = [m.send_at for m in msgs if m.state == "queued"]
    assert queued == [
        datetime(2026, 12, 7, 8, 30, tzinfo=UTC),  # the old part: 7 and 14 Dec
        datetime(2026, 12, 14, 8, 30, tzinfo=UTC),
        datetime(2026, 12, 22, 10, 0, tzinfo=UTC),  # the new part, Tuesdays
        datetime(2026, 12, 29, 10, 0, tzinfo=UTC),
    ]
    assert {m.send_at.day for m in msgs if m.state == "cancelled"} == {21, 28, 4}
    old = book.show(physio.id)
    assert "until 2026-12-14" in old.description and old.state == "active"
    assert "8 times" in new.description
    # The old part stores nothing more.
    assert [o.status for o in old.upcoming] == ["stored", "stored"]


def test_a_pass_fills_for_a_limited_time_and_the_next_goes_on(
    service: Service, clock: ManualClock
) -> None:
    book = SeriesBook(service)
    for day in (2, 3, 4):
        book.add(_req(start=_at(day, 9)), fill=False)
    first = fill_due(service.ctx, budget=0)  # time is up after the first series
    assert (first.series, first.left, first.stored) == (1, 2, 5)
    assert next_fill(service.ctx) == clock.now()  # the rest is due at once
    assert Dispatcher(service.ctx).next_wake() == clock.now()
    second = fill_due(service.ctx)
    assert (second.series, second.left, second.stored) == (2, 0, 10)
    assert next_fill(service.ctx) == clock.now() + timedelta(days=1)


def test_invalid_series_store_nothing(service: Service) -> None:
    book = SeriesBook(service)
    with pytest.raises(InvalidInput, match="in the past"):
        book.add(_req(start=datetime(2026, 11, 30, 9, 0)))
    with pytest.raises(InvalidInput):
        book.add(_req(rule="FREQ=SOMETIMES"))
    with pytest.raises(NotFound):
        book.add(_req(numbers=(), group="Nobody"))
    with pytest.raises(InvalidInput, match="holiday calendar"):
        book.add(_req(holidays="ZZ"))
    with pytest.raises(InvalidInput) as bad_sender:
        book.add(_req(sender="Front desk of the clinic"))  # over 11 letters
    assert bad_sender.value.field == "sender"
    with pytest.raises(InvalidInput, match="at least one recipient"):
        book.add(_req(numbers=()))
    assert book.list_series() == []
    assert _messages(service.ctx) == []


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0)


def _child(home: Path, now: datetime, series_id: str, mode: str) -> subprocess.Popen[str]:
    return start_child("tests.engine.series_child", home, now, series_id, mode)


def _count(ctx: AppContext) -> tuple[int, int, int]:
    with ctx.db.read() as s:
        msgs = s.exec(select(func.count()).select_from(Message)).one()
        occs = s.exec(select(func.count()).select_from(SeriesOccurrence)).one()
        distinct = s.exec(select(func.count(func.distinct(Message.send_at)))).one()
    return msgs, occs, distinct


def test_two_processes_filling_at_once_store_each_occurrence_once(
    db_ctx: AppContext, clock: ManualClock
) -> None:
    view = SeriesBook(Service(db_ctx)).add(_req(rule="daily", start=_at(2, 9)), fill=False)
    children = [_child(db_ctx.home, clock.now(), view.id, "race") for _ in range(2)]
    words, planned = zip(*readied(children), strict=True)
    assert words == ("ready", "ready")
    assert planned == (34, 34)  # both planned every occurrence before either stored
    results = released(children)
    # Each did the work: one stored all, the other found every one taken (or they split).
    assert sum(s for s, _t in results) == 34
    assert all(s + t == 34 for s, t in results), results
    assert _count(db_ctx) == (34, 34, 34)


def test_a_fill_killed_mid_transaction_leaves_nothing_and_is_redone_once(
    ctx: AppContext, clock: ManualClock
) -> None:
    view = SeriesBook(Service(ctx)).add(_req(rule="daily", start=_at(2, 9)), fill=False)
    child = _child(ctx.home, clock.now(), view.id, "die-in-store")
    out, err = child.communicate(timeout=120)
    assert out.split() == ["dying", "34"], err  # died where meant: 34 occurrences written
    assert child.returncode == 9
    assert _count(ctx) == (0, 0, 0)  # the transaction died with it
    fill_due(ctx)
    assert _count(ctx) == (34, 34, 34)
    fill_due(ctx)
    assert _count(ctx) == (34, 34, 34)
