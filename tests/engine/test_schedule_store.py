"""A batch is stored as plain rows in one statement per table: every column must hold what the
ORM model would have written (its defaults included), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.plan import ScheduledBatch
from smsdesk.engine.service import Service
from smsdesk.store.models import Event, Message


def test_a_stored_batch_has_every_column_and_one_created_event(
    db_ctx: AppContext, clock: ManualClock
) -> None:
    service = Service(db_ctx)
    book = service.contact_book()
    for i in range(30):
        fields = {"clinic": ("North", "South")[i % 2]}
        book.save_contact(f"+1212555{i:04d}", name=f"Pat{i} Lee", fields=fields, groups=["Clinic"])
    # 23:30 in New York: quiet hours move every message to 08:00.
    when = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
    assert when > clock.now()
    result = service.schedule(
        [], "Hi {first_name}, {clinic} clinic.", when, "America/New_York", group="Clinic"
    )
    assert isinstance(result, ScheduledBatch)
    assert len(result.messages) == 30
    with db_ctx.db.read() as s:
        stored = {m.id: m for m in s.exec(select(Message))}
        events = list(s.exec(select(Event).order_by(col(Event.id))))
    assert sorted(stored) == sorted(m.message.id for m in result.messages)
    for shown in result.messages:
        m, v = stored[shown.message.id], shown.message
        assert (m.batch_id, m.recipient, m.text, m.send_at, m.zone, m.state, m.handling) == (
            v.batch_id, v.recipient, v.text, v.send_at, v.zone, v.state, v.handling
        )  # fmt: skip
        assert (m.segments, m.encoding, m.account_id) == (v.segments, v.encoding, v.account_id)
        n = int(m.recipient[-4:])
        assert m.text == f"Hi Pat{n}, {('North', 'South')[n % 2]} clinic."
        assert shown.note.startswith("moved from")
        # The defaults Message gives the columns scheduling does not set.
        assert (m.attempts, m.lease_generation) == (0, 0)
        unset: list[object] = [m.idempotency_key, m.provider_ref, m.provider_group, m.attention]
        unset += [m.last_error, m.lease_owner, m.lease_expires_at, m.next_sync_at]
        unset += [m.intent_send_at, m.appointment_id, m.reminder_offset_minutes]
        assert unset == [None] * 11
        assert m.due_at is not None and m.due_at <= m.send_at
        assert m.created_at == m.updated_at == clock.now()
    assert [e.message_id for e in events] == [m.message.id for m in result.messages]
    assert {(e.kind, e.state_from, e.state_to) for e in events} == {("created", None, "queued")}
    assert all(e.detail.startswith("to be sent ") and "quiet hours" in e.detail for e in events)
