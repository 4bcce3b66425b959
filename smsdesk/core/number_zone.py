"""The time zone a valid number implies, as phonenumbers answers it: kept apart from the CSV
import so that start-up's first page (store/first_page.py) can guess the zones of the
numbers it shows without loading the import's modules."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumber
from phonenumbers.timezone import (
    UNKNOWN_TIMEZONE,
    _country_level_time_zones_for_number,
    time_zones_for_geographical_number,
)


def _from_e164(e164: str) -> PhoneNumber:
    # Cheaper than phonenumbers.parse; safe because the number was validated already and
    # country codes are prefix-free.
    size = next(
        n for n in (1, 2, 3) if int(e164[1 : 1 + n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    )
    national = e164[1 + size :]
    zeros = len(national) - len(national.lstrip("0"))
    return PhoneNumber(
        country_code=int(e164[1 : 1 + size]),
        national_number=int(national),
        italian_leading_zero=True if zeros else None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )


# phonenumbers looks time zones up by at most this many leading digits (its
# TIMEZONE_LONGEST_PREFIX), so every number sharing them shares both candidate lists.
_ZONE_PREFIX_DIGITS: Final = 9


@lru_cache(maxsize=16384)
def _candidate_zones(prefix: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(geographic, country-level) zones for numbers starting with ``prefix``."""
    number = _from_e164(prefix)
    return time_zones_for_geographical_number(number), _country_level_time_zones_for_number(number)


def guess_zone(e164: str) -> str | None:
    """The number's time zone when phonenumbers names exactly one, else None.

    Same answer as ``phonenumbers.timezone.time_zones_for_number``, but the lists are
    cached by prefix and the costly number-type check is only made when the geographic and
    country-level lists differ and one of them would be an answer.
    """
    geographic, country = _candidate_zones(e164[: 1 + _ZONE_PREFIX_DIGITS])
    if geographic == country:
        zones = geographic
    elif len(geographic) != 1 and len(country) != 1:
        return None
    else:
        zones = geographic if _is_geographic(e164) else country
    return zones[0] if len(zones) == 1 and zones[0] != UNKNOWN_TIMEZONE else None


@lru_cache(maxsize=65536)
def _is_geographic(e164: str) -> bool:
    number = _from_e164(e164)
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:  # pragma: no cover - validated before
        return False
    return bool(phonenumbers.is_number_type_geographical(kind, number.country_code or 0))
