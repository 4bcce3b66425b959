"""The service façade: drafts, preview, validation that changes nothing, settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput, NotFound
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service


def test_drafts_are_created_updated_listed_and_deleted(
    service: Service, clock: ManualClock
) -> None:
    first = service.save_draft(recipients="+15551234567", text="Hel")
    clock.advance(timedelta(seconds=5))
    updated = service.save_draft(
        draft_id=first.id,
        recipients="+15551234567",
        text="Hello",
        send_at=clock.now() + timedelta(days=1),
        zone="Europe/Paris",
    )
    assert updated.id == first.id and updated.text == "Hello"
    clock.advance(timedelta(seconds=5))
    second = service.save_draft(text="Another")
    assert [d.id for d in service.list_drafts()] == [second.id, first.id]  # newest first
    assert service.get_draft(first.id).zone == "Europe/Paris"
    service.delete_draft(first.id)
    assert [d.id for d in service.list_drafts()] == [second.id]
    with pytest.raises(NotFound):
        service.get_draft(first.id)
    with pytest.raises(NotFound):
        service.save_draft(draft_id="d-missing", text="x")


def test_drafts_survive_a_restart(isolated_home: Path, clock: ManualClock) -> None:
    ctx = AppContext.open(isolated_home, clock=clock)
    draft = Service(ctx).save_draft(text="Half-written reminder")
    ctx.close()
    reopened = AppContext.open(isolated_home, clock=clock)
    assert Service(reopened).get_draft(draft.id).text == "Half-written reminder"
    reopened.close()


def test_preview_is_local_for_the_sandbox(service: Service) -> None:
    p = service.preview("€" * 81)
    assert (p.encoding, p.units, p.segments, p.server) == ("GSM-7", 162, 2, None)


def test_recipients_are_normalised_and_deduplicated(service: Service, clock: ManualClock) -> None:
    result = service.schedule(
        ["+1 (555) 123-4567", "+15551234567", "001 555 765 4321"],
        "hi",
        clock.now() + timedelta(hours=1),
        "UTC",
    )
    assert [m.message.recipient for m in result.messages] == ["+15551234567", "+15557654321"]


def test_default_region_reads_national_numbers(isolated_home: Path, clock: ManualClock) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    # A settings file from before settings moved into the database: imported at open.
    (isolated_home / "settings.json").write_text('{"default_region": "GB"}')
    ctx = AppContext.open(isolated_home, clock=clock)
    result = Service(ctx).schedule(
        ["07911 123456"], "hi", clock.now() + timedelta(hours=1), "Europe/London"
    )
    assert result.messages[0].message.recipient == "+447911123456"
    ctx.close()


def test_one_bad_recipient_stores_nothing(service: Service, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput, match=r"\(and 1 more invalid\)") as info:
        service.schedule(
            ["+15551234567", "12", "abc"], "hi", clock.now() + timedelta(hours=1), "UTC"
        )
    assert info.value.field == "recipients"
    assert service.list_messages() == []


def test_real_providers_would_not_accept_fictional_numbers(service: Service) -> None:
    # Only the Sandbox takes +1 555 numbers; validation for others uses phonenumbers as is.
    account = service.ctx.account(None).model_copy(update={"kind": "infobip"})
    with pytest.raises(InvalidInput):
        service.scheduling.normalize_recipients(["+15551234567"], account)


def test_the_handling_sentence(service: Service, clock: ManualClock) -> None:
    assert service.describe_handling(clock.now() + timedelta(hours=3), "UTC") == (
        "Sandbox will schedule it; it goes out even if this computer is off."
    )
    soon = service.describe_handling(clock.now() + timedelta(seconds=30), "UTC")
    assert soon.startswith("Held on this computer and sent through Sandbox at ")


def test_summary_counts_where_messages_live(service: Service, clock: ManualClock) -> None:
    service.schedule(["+15551234567"], "hi", clock.now() + timedelta(hours=3), "UTC")
    summary = service.summary()
    assert (summary.held_here, summary.at_provider, summary.needs_attention) == (1, 0, 0)
    assert summary.next_hand_off == clock.now()
