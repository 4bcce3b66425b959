"""Editing a series whose occurrences a provider already holds (loopback simulators): the
held ones are withdrawn at the provider through the intent-logged actions and the new
times are handed off once each."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.series import SeriesBook, SeriesRequest
from smsdesk.engine.service import Service
from smsdesk.store.models import Message
from tests.engine.provider_setup import add_infobip, add_telnyx
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.telnyx import TelnyxSimulator

SWISS = ("+41793026727", "+41793026834")
NEW_YORK = "+12025550143"


def _series(numbers: tuple[str, ...], hour: int) -> SeriesRequest:
    return SeriesRequest(
        text="Physio session tomorrow",
        rule="daily",
        start=datetime(2026, 12, 1, hour, 0),
        zone="UTC",
        numbers=numbers,
        count=3,
    )


def _messages(ctx: AppContext) -> list[Message]:
    with ctx.db.read() as s:
        return list(s.exec(select(Message).order_by(col(Message.send_at))).all())


def test_editing_a_series_held_in_infobip_bulks(
    db_ctx: AppContext, infobip: InfobipSimulator
) -> None:
    book = SeriesBook(add_infobip(Service(db_ctx), infobip))
    view = book.add(_series(SWISS, 14))
    Dispatcher(db_ctx).run_once()
    held = _messages(db_ctx)
    assert len(held) == 6 and {m.state for m in held} == {"scheduled"}
    bulks = {m.provider_group for m in held}
    assert len(bulks) == 3  # one bulk per occurrence
    book.edit(view.id, _series(SWISS, 15))
    assert {infobip.bulk_status(str(b)) for b in bulks} == {"CANCELED"}
    Dispatcher(db_ctx).run_once()
    msgs = _messages(db_ctx)
    live = [m for m in msgs if m.state == "scheduled"]
    assert sorted({m.send_at for m in live}) == [
        datetime(2026, 12, d, 15, 0, tzinfo=UTC) for d in (1, 2, 3)
    ]
    assert len(live) == 6
    assert {m.state for m in msgs if m.send_at.hour == 14} == {"cancelled"}
    # Every message was taken in by Infobip once: nothing resent.
    assert set(infobip.creates_by_key().values()) == {1}
    assert len(infobip.creates_by_key()) == 12


def test_editing_a_series_held_at_telnyx(
    ctx: AppContext, telnyx: TelnyxSimulator, clock: ManualClock
) -> None:
    book = SeriesBook(add_telnyx(Service(ctx), telnyx))
    # 15:00 UTC is 10:00 in New York: away from quiet hours.
    view = book.add(_series((NEW_YORK,), 15))
    Dispatcher(ctx).run_once()
    assert [m.state for m in _messages(ctx)] == ["scheduled"] * 3
    assert len(telnyx.live()) == 3
    book.edit(view.id, _series((NEW_YORK,), 16))
    assert telnyx.live() == []  # withdrawn at Telnyx
    Dispatcher(ctx).run_once()
    assert sorted(m.send_at for m in telnyx.live()) == [
        datetime(2026, 12, d, 16, 0, tzinfo=UTC) for d in (1, 2, 3)
    ]
    assert telnyx.creates_by_recipient() == {NEW_YORK: 6}  # 3 withdrawn, 3 anew
    states = [(m.send_at.hour, m.state) for m in _messages(ctx)]
    assert sorted(states) == [(15, "cancelled")] * 3 + [(16, "scheduled")] * 3
