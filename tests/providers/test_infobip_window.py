"""Quiet hours travel with a hand-off to Infobip as the recipient's deliveryTimeWindow (in
UTC), so Infobip itself holds a message out of their night even when it is released late;
over loopback to the simulator, which holds messages to the window it was given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.lifecycle import State
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.infobip import InfobipProvider
from smsdesk.store.models import Message
from tests.simulators.infobip import InfobipSimulator

KEY = "ib-key-5f0c9e21d7"
ZURICH, TOKYO_CONTACT = "+41793026727", "+41793026834"
NEW_YORK = "+12125550123"
ALL_DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
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
    service.add_account("Infobip", "infobip", api_key=KEY, base_url=sim.base_url, make_default=True)
    return service


def _infobip(ctx: AppContext) -> InfobipProvider:
    provider = ctx.provider(ctx.account("Infobip"))
    assert isinstance(provider, InfobipProvider)
    return provider


def _hand_off(svc: Service, ctx: AppContext, clock: ManualClock) -> list[Message]:
    # 2026-12-01 10:00 UTC: 11:00 in Zurich, 19:00 in Tokyo, inside both days' allowed hours.
    result = svc.schedule([ZURICH, TOKYO_CONTACT], "Your appointment", clock.now() + HOUR, "UTC")
    assert Dispatcher(ctx).run_once().handed_off == 2
    with ctx.db.read() as s:
        found = [s.get(Message, m.message.id) for m in result.messages]
    assert all(m is not None and m.state == "scheduled" for m in found)
    return [m for m in found if m is not None]


def test_hand_off_carries_each_recipients_allowed_hours(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    svc.update_settings(quiet_hours="21:00-08:00", quiet_mode="move")
    svc.contact_book().save_contact(TOKYO_CONTACT, name="Kenji", zone="Asia/Tokyo")
    zurich, tokyo = _hand_off(svc, ctx, clock)
    # 08:00-21:00 Zurich (CET, UTC+1) is 07:00-20:00 UTC.
    assert sim.message(zurich.idempotency_key or "").window == {
        "days": ALL_DAYS,
        "from": {"hour": 7, "minute": 0},
        "to": {"hour": 20, "minute": 0},
    }
    # 08:00-21:00 Tokyo (UTC+9) is 23:00-12:00 UTC: the part after midnight (the longer one)
    # is the window, so no part of it reaches into the night there.
    assert sim.message(tokyo.idempotency_key or "").window == {
        "days": ALL_DAYS,
        "from": {"hour": 0, "minute": 0},
        "to": {"hour": 12, "minute": 0},
    }
    # Different windows are different contents: each its own bulk of one messages[] entry.
    assert [len(body["messages"]) for body in sim.bodies] == [1, 1]
    assert zurich.provider_group != tokyo.provider_group

    # Paused at Infobip and resumed after the Zurich evening: Infobip holds the Zurich
    # message to the next morning's window, while Tokyo's (in its window) goes out.
    infobip = _infobip(ctx)
    infobip.pause(zurich.provider_ref or "")
    clock.advance(timedelta(hours=11))  # 20:00 UTC: 21:00 in Zurich, 05:00 in Tokyo
    infobip.resume(zurich.provider_ref or "")
    ref = zurich.provider_ref or ""
    assert _state_of(infobip, ref) is not State.DELIVERED
    clock.advance(timedelta(hours=11, minutes=1))  # 07:01 UTC: 08:01 in Zurich
    assert _state_of(infobip, ref) is State.DELIVERED


def _state_of(infobip: InfobipProvider, ref: str) -> State | None:
    return next((r.state for r in infobip.fetch_status([ref]) if r.ref == ref), None)


def test_no_window_when_quiet_hours_are_off(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    svc.update_settings(quiet_mode="off")
    zurich, tokyo = _hand_off(svc, ctx, clock)
    for msg in (zurich, tokyo):
        assert sim.message(msg.idempotency_key or "").window is None
    [body] = sim.bodies  # same text, no window: one bulk
    assert all("deliveryTimeWindow" not in (e.get("options") or {}) for e in body["messages"])


def test_an_evening_message_gets_the_stretch_of_its_own_send_time(
    svc: Service, ctx: AppContext, clock: ManualClock, sim: InfobipSimulator
) -> None:
    # 08:00-21:00 in New York (UTC-5) is 13:00-02:00 UTC, across UTC midnight. A reminder due
    # at 20:30 there (01:30 UTC) gets 00:00-02:00 UTC, not the longer 13:00-23:59, which
    # would make Infobip hold it until the next morning.
    svc.update_settings(quiet_hours="21:00-08:00", quiet_mode="move")
    svc.contact_book().save_contact(NEW_YORK, name="Ada", zone="America/New_York")
    at = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    [planned] = svc.schedule([NEW_YORK], "See you tomorrow", at, "UTC").messages
    assert Dispatcher(ctx).run_once().handed_off == 1
    with ctx.db.read() as s:
        msg = s.get(Message, planned.message.id)
    assert msg is not None and msg.send_at == at  # not moved: inside their allowed hours
    assert sim.message(msg.idempotency_key or "").window == {
        "days": ALL_DAYS,
        "from": {"hour": 0, "minute": 0},
        "to": {"hour": 2, "minute": 0},
    }
    clock.set(at + timedelta(minutes=1))
    assert _state_of(_infobip(ctx), msg.provider_ref or "") is State.DELIVERED
