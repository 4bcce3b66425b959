"""``list`` and ``show`` present times as the window does: in the desk's zone, with the
recipient's own time beside it where it differs, and the contact's name beside the number."""

from __future__ import annotations

from datetime import UTC, datetime

from smsdesk.engine.service import Service
from tests.cli_runner import Cli

NEW_YORK = "+12125550123"
SHOWN = "Tue 1 Dec 2026 15:00 UTC (10:00 EST there)"


def _one(service: Service) -> str:
    service.contact_book().add_contact(
        number=NEW_YORK, name="Ann Lee", zone=None, fields={}, groups=[]
    )
    at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    result = service.schedule([NEW_YORK], "Your appointment", at, "America/New_York")
    return result.messages[0].message.id


def test_list_shows_the_desk_time_the_recipient_time_and_the_name(
    cli: Cli, service: Service
) -> None:
    message_id = _one(service)
    run = cli("list")
    assert run.code == 0, run.err
    header, row = run.out.splitlines()
    assert header.split()[:5] == ["ID", "SEND", "TIME", "RECIPIENT", "NAME"]
    assert row.startswith(message_id) and SHOWN in row
    assert f"{NEW_YORK}  Ann Lee" in row


def test_show_uses_the_same_time_and_its_history_is_in_the_desk_zone(
    cli: Cli, service: Service
) -> None:
    message_id = _one(service)
    run = cli("show", message_id)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert SHOWN in lines[0]
    assert "  entered as: Tue 1 Dec 2026 10:00 EST" in lines
    # Created at the test clock's 09:00 UTC: in the desk's zone, not as raw ISO text.
    assert any(line.startswith("  Tue 1 Dec 2026 09:00 UTC  created") for line in lines)
