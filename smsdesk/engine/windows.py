"""The hours a provider may deliver each handed-off message in: the recipient's quiet hours,
given to a provider that can hold a message to them (Infobip's deliveryTimeWindow), so the
provider itself keeps it out of their night even when it is released late (paused, moved)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy import select as core_select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.audience import contact_facts, quiet_hours_of, recipient_zone
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.providers.base import MIN_DELIVERY_WINDOW, DeliveryWindow
from smsdesk.store.models import Message
from smsdesk.store.queries import Claimed

log = logging.getLogger(__name__)

_MESSAGES: Table = Message.metadata.tables["message"]
_IN_CHUNK = 500  # ids per IN (...): under any SQLite build's limit of bound parameters


def delivery_windows(
    ctx: AppContext, items: Sequence[tuple[Claimed, datetime | None]]
) -> dict[str, DeliveryWindow]:
    """Message id -> the UTC window of the recipient's allowed hours around its send time
    (``window_for``); absent when quiet hours are off, when the number belongs to no place,
    or when no window fits. The recipient's zone is the one scheduling used: the contact's,
    else the number's, else the zone the time was entered in."""
    try:
        quiet = quiet_hours_of(ctx.settings)
    except InvalidInput as exc:  # saved settings are checked; a hand-off never fails on them
        log.warning("no delivery windows: %s", exc)
        return {}
    if quiet is None or not items:
        return {}
    entered = _entered_zones(ctx, [msg.id for msg, _ in items])
    contacts = contact_facts(ContactBook(ctx), sorted({msg.recipient for msg, _ in items}))
    now = ctx.clock.now()
    windows: dict[str, DeliveryWindow] = {}
    for msg, send_at in items:
        fallback = resolve_zone(entered.get(msg.id) or ctx.settings.zone)
        zone: ZoneInfo | None = recipient_zone(msg.recipient, contacts.get(msg.recipient), fallback)
        if zone is None:
            continue
        # Allowed from the end of quiet hours until their start.
        window = window_for(quiet.end, quiet.start, zone, send_at or now)
        if window is not None:
            windows[msg.id] = window
    return windows


def window_for(opens: time, closes: time, zone: ZoneInfo, at: datetime) -> DeliveryWindow | None:
    """The UTC window for a message due ``at``. A window is one stretch of one UTC day, so
    allowed hours that cross UTC midnight give two candidates: the one ``at`` falls in (so a
    message due on time is never held back to the next day), or none when that stretch is
    shorter than the hour a window needs (the send time itself is already out of quiet
    hours). A message due inside quiet hours gets the longer stretch of its day."""
    local_day = at.astimezone(zone).date()
    for day in (local_day, local_day - timedelta(days=1)):
        start, end = _allowed_utc(opens, closes, zone, day)
        if start <= at < end:
            midnight = datetime.combine(start.date() + timedelta(days=1), time(0), UTC)
            if end <= midnight:
                return _window(start, end)
            return _window(start, midnight) if at < midnight else _window(midnight, end)
    return DeliveryWindow.allowed(opens, closes, zone, local_day)


def _allowed_utc(opens: time, closes: time, zone: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, opens, zone)
    end = datetime.combine(day + timedelta(days=1) if closes <= opens else day, closes, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _window(start: datetime, end: datetime) -> DeliveryWindow | None:
    if end - start < MIN_DELIVERY_WINDOW:
        return None
    # "hour ... maximum: 23", "minute ... maximum: 59": midnight as the end is 23:59.
    closing = time(23, 59) if end.time() == time(0) else end.time().replace(second=0)
    try:
        return DeliveryWindow(start.time().replace(second=0, microsecond=0), closing)
    except ValueError:
        return None


def _entered_zones(ctx: AppContext, ids: Sequence[str]) -> dict[str, str]:
    m = _MESSAGES.c
    found: dict[str, str] = {}
    with ctx.db.read() as s:
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            for msg_id, zone in s.execute(core_select(m.id, m.zone).where(m.id.in_(chunk))):
                found[msg_id] = zone
    return found
