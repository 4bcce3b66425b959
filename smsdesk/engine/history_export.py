"""The one message-history export: the same columns, written by the same CSV writer (cells a
spreadsheet would run as a formula written as text), whether from the window's Queue
("Export CSV") or from ``smsdesk history export``."""

from __future__ import annotations

from collections.abc import Iterable

from smsdesk.core.contacts_csv import write_contacts_csv
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.views import MessageView

COLUMNS = [
    "id", "batch", "recipient", "sender", "send_at_utc", "send_at_local", "zone",
    "provider", "provider_ref", "state", "where", "last_error", "segments", "encoding",
    "text",
]  # fmt: skip


def history_row(m: MessageView) -> dict[str, str]:
    """One message as a row. ``send_at_local`` is in the message's own zone (``zone``), the
    one its time was given in, so the file reads the same whoever exports it."""
    return {
        "id": m.id,
        "batch": m.batch_id,
        "recipient": m.recipient,
        "sender": m.sender or "",
        "send_at_utc": m.send_at.isoformat(),
        "send_at_local": format_local(m.send_at, resolve_zone(m.zone)),
        "zone": m.zone,
        "provider": m.provider,
        "provider_ref": m.provider_ref or "",
        "state": m.state,
        "where": m.where,
        "last_error": m.last_error or "",
        "segments": str(m.segments),
        "encoding": m.encoding,
        "text": m.text,
    }


def history_csv(messages: Iterable[MessageView]) -> str:
    return write_contacts_csv((history_row(m) for m in messages), COLUMNS)
