"""Personalised texts to Infobip: each distinct text is its own bulk (one ``messages[]``
entry), the only bulk Infobip documents as reschedulable and cancellable as a whole, so a
cancel or move of one recipient's text never reaches another's. The simulator refuses
changes to a bulk of several entries, as Infobip said in 2017."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.store.models import Message
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
ANN, BOB, CAT = "+41793026727", "+41793026834", "+41793026835"
HOUR = timedelta(hours=1)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(clock, api_key=KEY)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def svc(ctx: AppContext, sim: InfobipSimulator) -> Service:
    service = Service(ctx)
    service.update_settings(quiet_mode="off")  # one content per text, not per window
    service.add_account("Infobip", "infobip", api_key=KEY, base_url=sim.base_url, make_default=True)
    book = service.contact_book()
    for number, name in ((ANN, "Ann"), (BOB, "Bob"), (CAT, "Bob")):
        book.save_contact(number, name=name)
    return service


def _rows(ctx: AppContext, ids: list[str]) -> list[Message]:
    with ctx.db.read() as s:
        rows = [s.get(Message, i) for i in ids]
    return [r for r in rows if r is not None]


def _handed_off(svc: Service, ctx: AppContext, clock: ManualClock) -> list[Message]:
    result = svc.schedule(
        [ANN, BOB, CAT], "Hi {first_name}, see you soon", clock.now() + HOUR, "UTC"
    )
    ids = [m.message.id for m in result.messages]
    assert Dispatcher(ctx).run_once().handed_off == 3
    rows = _rows(ctx, ids)
    assert [r.state for r in rows] == ["scheduled"] * 3
    return rows


def test_each_distinct_text_is_its_own_bulk_of_one_entry(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ann, bob, cat = _handed_off(svc, ctx, clock)
    assert [len(b["messages"]) for b in sim.bodies] == [1, 1]
    texts = sorted(b["messages"][0]["content"]["text"] for b in sim.bodies)
    assert texts == ["Hi Ann, see you soon", "Hi Bob, see you soon"]
    # The same text (two contacts named Bob) shares one bulk; Ann's is another.
    assert bob.provider_group == cat.provider_group != ann.provider_group


def test_cancelling_one_personalised_text_leaves_the_others_scheduled(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ann, bob, cat = _handed_off(svc, ctx, clock)
    [result] = svc.cancel(ann.id)
    assert result.ok, result.detail
    assert [r.state for r in _rows(ctx, [ann.id, bob.id, cat.id])] == [
        "cancelled",
        "scheduled",
        "scheduled",
    ]
    assert sim.bulk_status(ann.provider_group or "") == "CANCELED"
    assert sim.bulk_status(bob.provider_group or "") == "PENDING"


def test_moving_one_personalised_text_moves_only_its_bulk(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    ann, bob, _cat = _handed_off(svc, ctx, clock)
    later = clock.now() + 3 * HOUR
    results = svc.reschedule(ann.id, later)
    assert all(r.ok for r in results), [r.detail for r in results]
    assert sim.bulks[ann.provider_group or ""].send_at == later
    assert sim.bulks[bob.provider_group or ""].send_at == clock.now() + HOUR


def test_an_account_may_trade_cancellable_units_for_fewer_requests(
    ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    service = Service(ctx)
    service.update_settings(quiet_mode="off")
    with pytest.raises(InvalidInput, match="several_texts_per_bulk is yes or no"):
        service.add_account(
            "Infobip", "infobip", api_key=KEY, base_url=sim.base_url,
            options={"several_texts_per_bulk": "maybe"},
        )  # fmt: skip
    service.add_account(
        "Infobip", "infobip", api_key=KEY, base_url=sim.base_url,
        options={"several_texts_per_bulk": "yes"}, make_default=True,
    )  # fmt: skip
    for number, name in ((ANN, "Ann"), (BOB, "Bob")):
        service.contact_book().save_contact(number, name=name)
    result = service.schedule([ANN, BOB], "Hi {first_name}", clock.now() + HOUR, "UTC")
    ids = [m.message.id for m in result.messages]
    assert Dispatcher(ctx).run_once().handed_off == 2
    [body] = sim.bodies  # one request, two texts
    assert len(body["messages"]) == 2
    # Infobip (as it said in 2017) refuses to change such a bulk: the user is told, and
    # nothing changes on either side.
    [refused] = service.cancel(ids[0])
    assert not refused.ok and "several messages" in refused.detail
    assert [r.state for r in _rows(ctx, ids)] == ["scheduled", "scheduled"]
    [ann] = _rows(ctx, ids[:1])
    assert sim.bulk_status(ann.provider_group or "") == "PENDING"
