"""Who a message goes to, as the Queue and the command line show it: the contact's name and
the recipient's own time zone (the contact's, else the one its number implies)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from smsdesk.core.number_zone import guess_zone
from smsdesk.store.models import Contact

# (contact's name or None, recipient's zone or None) per number.
Facts = dict[str, tuple[str | None, str | None]]
CHUNK = 500  # numbers per query: well under every database's limit on bound values
# Built once: building the statement for each page of the Queue cost more than running it.
_CONTACTS = select(Contact.number, Contact.name, Contact.zone).where(
    col(Contact.number).in_(bindparam("numbers", expanding=True))
)


@lru_cache(maxsize=65_536)
def _zone_of_number(number: str) -> str | None:
    # ~10-30 µs a number; a page of the Queue shows the same numbers again and again.
    try:
        return guess_zone(number)
    except Exception:
        return None


def recipient_facts(s: Session, numbers: Iterable[str]) -> Facts:
    """Names and zones for ``numbers``: one indexed query for the contacts among them."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    found: dict[str, tuple[str, str | None]] = {}
    for at in range(0, len(wanted), CHUNK):
        rows = s.exec(_CONTACTS, params={"numbers": wanted[at : at + CHUNK]})
        found.update((number, (name, zone)) for number, name, zone in rows)
    facts: Facts = {}
    for number in wanted:
        name, zone = found.get(number, (None, None))
        facts[number] = (name or None, zone or _zone_of_number(number))
    return facts
