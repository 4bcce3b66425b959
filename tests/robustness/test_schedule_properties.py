"""Property-based: ``Service.schedule`` with random recipients, text and time either raises
InvalidInput and stores nothing, or stores exactly one message per distinct valid recipient."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection

GOOD = ["+15551234567", "+1 555 123 4567", "(555) 765-4321", "+15557654321", "+1-555-200-0001"]
recipient = st.one_of(st.sampled_from(GOOD), st.text(max_size=20), st.from_regex(r"\+?\d{3,16}"))
text = st.one_of(st.text(max_size=300), st.sampled_from(["Hi", "Reminder: 10:00 ✓", "a\x00b"]))
offset = st.integers(min_value=-3 * 24 * 60, max_value=400 * 24 * 60)  # minutes from now


def _counts(home: Path) -> tuple[int, int, int]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("batch", "message", "event")
        )
    finally:
        conn.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(recipients=st.lists(recipient, max_size=6), body=text, minutes=offset)
def test_schedule_stores_all_or_nothing(
    service: Service,
    clock: ManualClock,
    isolated_home: Path,
    recipients: list[str],
    body: str,
    minutes: int,
) -> None:
    before = _counts(isolated_home)
    send_at = clock.now() + timedelta(minutes=minutes)
    try:
        result = service.schedule(recipients, body, send_at, "UTC")
    except InvalidInput as exc:
        assert str(exc) and "\n" not in exc.message
        assert _counts(isolated_home) == before
        return
    distinct = set(service.normalize_recipients(recipients, None))
    stored = [m.message.recipient for m in result.messages]
    assert len(stored) == len(set(stored))
    assert set(stored) | {n for n, _ in result.skipped} == distinct
    batches, messages, events = _counts(isolated_home)
    assert (batches, messages) == (before[0] + 1, before[1] + len(stored))
    assert events == before[2] + len(stored)
    for m in result.messages:
        assert m.message.text == body and m.message.state == "queued"
