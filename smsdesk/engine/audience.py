"""Who gets what, when: merge fields per recipient, recipient-local send times, quiet hours and
opt-outs, worked out before anything is stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy import select as core_select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.phone_zones import time_zones_of
from smsdesk.core.quiet_hours import QuietHours, adjust
from smsdesk.core.templates import parse_template, render
from smsdesk.core.timeparse import format_local, localize, resolve_zone
from smsdesk.engine.contacts import ContactBook
from smsdesk.store.models import Contact
from smsdesk.store.settings import Settings


class ContactFacts(Protocol):
    """What planning reads of a contact (a ``Contact`` row has it)."""

    @property
    def name(self) -> str: ...
    @property
    def zone(self) -> str | None: ...
    @property
    def fields_json(self) -> str: ...


class _Facts(NamedTuple):
    name: str
    zone: str | None
    fields_json: str


_CONTACTS: Table = Contact.metadata.tables["contact"]
_IN_CHUNK = 500  # numbers per IN (...): under any SQLite build's limit of bound parameters


def contact_facts(book: ContactBook, numbers: Sequence[str]) -> dict[str, ContactFacts]:
    """The contacts saved under ``numbers``, as plain rows: loading 10,000 ORM objects cost
    more than the rest of a plan's reads."""
    c = _CONTACTS.c
    found: dict[str, ContactFacts] = {}
    with book.ctx.db.read() as s:
        for start in range(0, len(numbers), _IN_CHUNK):
            chunk = numbers[start : start + _IN_CHUNK]
            query = core_select(c.number, c.name, c.zone, c.fields_json).where(c.number.in_(chunk))
            for number, name, zone, fields_json in s.execute(query):
                found[number] = _Facts(name, zone, fields_json)
    return found


@dataclass(frozen=True)
class Planned:
    number: str
    text: str
    send_at: datetime
    zone: str  # the zone this message's time is shown in
    note: str = ""  # e.g. why its time was moved
    place: str | None = None  # the recipient's own zone; None: the number has no place
    name: str = ""  # the contact's name, when the number is in the contact book


@dataclass(frozen=True)
class Audience:
    planned: list[Planned]
    skipped: list[tuple[str, str]]  # (number, why): opted out


def quiet_hours_of(settings: Settings) -> QuietHours | None:
    if settings.quiet_mode == "off":
        return None
    try:
        return QuietHours(
            time.fromisoformat(settings.quiet_start), time.fromisoformat(settings.quiet_end)
        )
    except ValueError as exc:
        raise InvalidInput(f"Quiet hours in settings are not valid: {exc}", field="quiet") from None


@lru_cache(maxsize=65_536)
def _zones_of(number: str) -> tuple[str, ...]:
    # The window plans the same recipients again on every edit: each is looked up once.
    return time_zones_of(number)


def recipient_zone(
    number: str, contact: ContactFacts | None, fallback: ZoneInfo
) -> ZoneInfo | None:
    """The recipient's zone: the contact's, else the one its number implies (the sender's
    when that is among the number's zones, or when the country spans several), or None when
    the number belongs to no place at all (fictional or non-geographic numbers)."""
    if contact is not None and contact.zone:
        return resolve_zone(contact.zone)
    zones = _zones_of(number)
    if not zones or zones == ("Etc/Unknown",):
        return None
    if fallback.key in zones or len(zones) > 1:
        return fallback
    return resolve_zone(zones[0])


def respect_quiet_hours(
    settings: Settings,
    quiet: QuietHours | None,
    number: str,
    at: datetime,
    zone: ZoneInfo | None,
) -> tuple[datetime, str]:
    """``at`` moved out of the recipient's quiet hours (with why), or refused, by setting.
    A number that belongs to no place (``zone`` None) has no quiet hours to respect."""
    if quiet is None or zone is None:
        return at, ""
    moved = adjust(quiet, at, zone)
    if not moved.moved:
        return at, ""
    if settings.quiet_mode == "refuse":
        raise InvalidInput(
            f"{format_local(at, zone)} is inside quiet hours for {number} "
            f"({settings.quiet_start}–{settings.quiet_end} their time).",
            field="send_at",
        )
    return moved.adjusted, moved.reason


@lru_cache(maxsize=4096)
def _fields(fields_json: str) -> dict[str, Any]:
    # Contacts of one import share a few shapes of fields; read each text once. The dict is
    # only ever copied from, never changed.
    fields = json.loads(fields_json or "{}")
    return {k: v for k, v in fields.items() if v not in (None, "")}


def values_for(number: str, contact: ContactFacts | None) -> dict[str, object]:
    """What merge fields can use for one recipient."""
    values: dict[str, object] = {"number": number}
    if contact is not None:
        values.update(_fields(contact.fields_json))
        if contact.name:
            values["name"] = contact.name
            values.setdefault("first_name", contact.name.split()[0])
    return values


def plan_audience(
    book: ContactBook,
    settings: Settings,
    numbers: Sequence[str],
    text: str,
    send_at: datetime,
    tz: ZoneInfo,
    *,
    recipient_local: bool = False,
    extra_values: dict[str, dict[str, object]] | None = None,
) -> Audience:
    """One Planned per recipient that may be messaged; opted-out numbers are skipped."""
    opted = book.opted_out(numbers)
    skipped = [
        (n, f"opted out on {format_local(opted[n].at, tz)} ({opted[n].source})")
        for n in numbers
        if n in opted
    ]
    allowed = [n for n in numbers if n not in opted]
    if not allowed:
        first = skipped[0] if skipped else ("", "")
        raise InvalidInput(
            f"Nobody left to send to: {first[0]} has {first[1]}"
            + (f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""),
            field="recipients",
        )
    template = parse_template(text)
    contacts = contact_facts(book, allowed)
    quiet = quiet_hours_of(settings)
    wall = send_at.astimezone(tz).replace(tzinfo=None)
    planned: list[Planned] = []
    for number in allowed:
        contact = contacts.get(number)
        body = text
        if template.fields:
            values = values_for(number, contact)
            values.update((extra_values or {}).get(number, {}))
            try:
                body = render(template, values)
            except InvalidInput as exc:
                raise InvalidInput(f"For {number}: {exc.message}", field="text") from None
        place = recipient_zone(number, contact, tz)
        zone = place or tz
        at = send_at
        if recipient_local and zone.key != tz.key:
            try:
                at = localize(wall, zone)
            except InvalidInput as exc:
                raise InvalidInput(
                    f"For {number} in {zone.key}: {exc.message}", field="send_at"
                ) from None
        at, note = respect_quiet_hours(settings, quiet, number, at, place)
        planned.append(
            Planned(
                number,
                body,
                at,
                zone.key if recipient_local else tz.key,
                note,
                place.key if place is not None else None,
                contact.name if contact is not None and contact.name else "",
            )
        )
    return Audience(planned, skipped)
