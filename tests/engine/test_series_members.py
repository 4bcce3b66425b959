"""A series to a group follows the group for the occurrences already stored ahead: a new
member gets them, a removed one no longer does (cancelled through the normal actions), each
message stored once however many processes look, and a crash half way leaves nothing."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.series import SeriesBook, SeriesRequest, fill_due, next_fill
from smsdesk.engine.series_members import follow_groups, message_key
from smsdesk.engine.service import Service
from smsdesk.store.models import Message, SeriesOccurrence
from tests.engine.provider_setup import add_telnyx
from tests.engine.series_setup import readied, released, start_child
from tests.simulators.telnyx import TelnyxSimulator

ANN = "+447911123456"
BOB = "+447911123458"
CAT = "+447911123459"


def _daily(
    text: str,
    start: datetime,
    group: str = "Staff",
    zone: str = "Europe/London",
    count: int | None = None,
) -> SeriesRequest:
    return SeriesRequest(text=text, rule="daily", start=start, zone=zone, group=group, count=count)


def _series(service: Service) -> str:
    """A daily series to group Staff (Ann alone), its 35 days stored."""
    _join(service, ANN, "Ann")
    req = _daily("Rota for the day is up.", datetime(2026, 12, 2, 9, 0))
    return SeriesBook(service).add(req).id


def _live(ctx: AppContext) -> Counter[str]:
    """Live (not cancelled) messages per recipient."""
    with ctx.db.read() as s:
        rows = s.exec(select(Message.recipient).where(col(Message.state) != "cancelled")).all()
    return Counter(rows)


def _batches(ctx: AppContext) -> set[str]:
    with ctx.db.read() as s:
        return {o.batch_id for o in s.exec(select(SeriesOccurrence)).all() if o.batch_id}


def _join(service: Service, number: str, name: str, group: str = "Staff") -> None:
    service.contact_book().add_contact(
        number=number, name=name, zone=None, fields={}, groups=[group]
    )


def test_stored_occurrences_reach_new_members_and_stop_reaching_removed_ones(
    service: Service, clock: ManualClock
) -> None:
    ctx = service.ctx
    series_id = _series(service)
    assert _live(ctx) == {ANN: 34}
    batches = _batches(ctx)

    _join(service, BOB, "Bob")
    report = fill_due(ctx)
    assert report.members.added == 34
    assert _live(ctx) == {ANN: 34, BOB: 34}
    assert _batches(ctx) == batches  # in each occurrence's own batch, not a new one
    with ctx.db.read() as s:
        bob = s.exec(select(Message).where(Message.recipient == BOB)).all()
        nominal = {o.batch_id: o.nominal for o in s.exec(select(SeriesOccurrence)).all()}
    assert {m.batch_id for m in bob} == batches
    assert all(m.id == message_key(series_id, nominal[m.batch_id], m.batch_id, BOB, 0) for m in bob)
    assert fill_due(ctx).members.added == 0  # nothing changed: nothing added again

    # Ann leaves the group: her stored future messages are cancelled; one that already
    # went out stays as it was.
    clock.advance(timedelta(days=1))
    contacts = service.contact_book()
    ann_id = contacts.by_numbers([ANN])[ANN].id
    assert ann_id is not None
    contacts.remove_from_group("Staff", [ann_id])
    report = fill_due(ctx)
    future = ctx.clock.now()
    with ctx.db.read() as s:
        ann_msgs = s.exec(select(Message).where(Message.recipient == ANN)).all()
    assert report.members.cancelled == sum(1 for m in ann_msgs if m.send_at > future)
    assert {m.state for m in ann_msgs if m.send_at > future} == {"cancelled"}
    assert {m.state for m in ann_msgs if m.send_at <= future} == {"queued"}

    # ...and back: each stored future occurrence reaches her again, once.
    contacts.add_to_group("Staff", [ann_id])
    fill_due(ctx)
    with ctx.db.read() as s:
        back = s.exec(
            select(Message).where(Message.recipient == ANN, col(Message.state) == "queued")
        ).all()
    per_batch = Counter(m.batch_id for m in back)
    assert set(per_batch.values()) == {1}
    assert len(back) == len(_batches(ctx))  # the past one kept, the future ones anew


def _child(home: Path, now: datetime, series_id: str, mode: str) -> subprocess.Popen[str]:
    return start_child("tests.engine.series_members_child", home, now, series_id, mode)


def test_two_processes_adding_a_new_member_store_each_message_once(
    db_ctx: AppContext, clock: ManualClock
) -> None:
    service = Service(db_ctx)
    series_id = _series(service)
    _join(service, BOB, "Bob")
    _join(service, CAT, "Cat")
    children = [_child(db_ctx.home, clock.now(), series_id, "race") for _ in range(2)]
    # Both planned Bob and Cat for 34 occurrences.
    assert readied(children) == [("ready", 68)] * 2
    results = released(children)
    # Each did the work: one stored them, the other found every one there already.
    assert sorted(results) == [(0, 68), (68, 0)]
    assert _live(db_ctx) == {ANN: 34, BOB: 34, CAT: 34}


def test_adding_killed_mid_transaction_leaves_nothing_and_is_redone_once(
    ctx: AppContext, clock: ManualClock
) -> None:
    service = Service(ctx)
    series_id = _series(service)
    _join(service, BOB, "Bob")
    child = _child(ctx.home, clock.now(), series_id, "die-in-store")
    out, err = child.communicate(timeout=120)
    assert out.split() == ["dying", "34"], err  # died where meant: Bob's 34 written
    assert child.returncode == 9
    assert _live(ctx) == {ANN: 34}  # the transaction died with it
    fill_due(ctx)
    fill_due(ctx)
    assert _live(ctx) == {ANN: 34, BOB: 34}


NEW_YORK = ("+12025550143", "+12025550144", "+12025550145")


def test_a_removed_members_message_held_at_telnyx_is_cancelled_there_and_a_new_one_sent(
    ctx: AppContext, telnyx: TelnyxSimulator
) -> None:
    service = add_telnyx(Service(ctx), telnyx)
    contacts = service.contact_book()
    for number in NEW_YORK[:2]:
        _join(service, number, "", "Desk")
    # 15:00 UTC is 10:00 in New York: away from quiet hours.
    SeriesBook(service).add(
        _daily("Physio session tomorrow", datetime(2026, 12, 1, 15, 0), "Desk", "UTC", count=3)
    )
    Dispatcher(ctx).run_once()
    assert len(telnyx.live()) == 6  # every occurrence held at Telnyx, for both

    gone = contacts.by_numbers([NEW_YORK[0]])[NEW_YORK[0]].id
    assert gone is not None
    contacts.remove_from_group("Desk", [gone])
    _join(service, NEW_YORK[2], "", "Desk")
    Dispatcher(ctx).run_once()
    assert Counter(m.to for m in telnyx.live()) == {NEW_YORK[1]: 3, NEW_YORK[2]: 3}
    # Each taken in by Telnyx once: the removed one's cancelled there, nothing resent.
    assert telnyx.creates_by_recipient() == {n: 3 for n in NEW_YORK}
    with ctx.db.read() as s:
        states = Counter((m.recipient, m.state) for m in s.exec(select(Message)).all())
    assert states == {
        (NEW_YORK[0], "cancelled"): 3,
        (NEW_YORK[1], "scheduled"): 3,
        (NEW_YORK[2], "scheduled"): 3,
    }


def test_a_pass_short_of_time_follows_some_groups_and_the_next_pass_is_due_at_once(
    service: Service, clock: ManualClock
) -> None:
    ctx = service.ctx
    _series(service)
    for n in range(2):  # two more series to the same group
        SeriesBook(service).add(_daily(f"Other {n}", datetime(2026, 12, 2, 10 + n)))
    assert next_fill(ctx) != clock.now()  # all stored 35 days ahead: nothing due
    _join(service, BOB, "Bob")
    first = follow_groups(ctx, budget=0)
    assert (first.series, first.left, first.added) == (1, 2, 34)
    assert next_fill(ctx) == clock.now()  # the rest is due at once
    second = follow_groups(ctx, budget=0)
    third = follow_groups(ctx, budget=0)
    assert (second.added, third.added, third.left) == (34, 34, 0)
    assert next_fill(ctx) != clock.now()
    assert _live(ctx) == {ANN: 102, BOB: 102}


def test_a_renamed_group_leaves_the_stored_occurrences_as_they_are(service: Service) -> None:
    ctx = service.ctx
    _series(service)
    service.contact_book().rename_group("Staff", "Front desk")
    report = fill_due(ctx)
    assert (report.members.cancelled, report.members.added) == (0, 0)
    assert _live(ctx) == {ANN: 34}  # not all cancelled because the name changed
