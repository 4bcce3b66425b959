"""The time zones a number belongs to: phonenumbers' own answer, at a fraction of its cost.

``phonenumbers.timezone.time_zones_for_number`` works the number's type out in full (up to
eleven patterns, after finding its region the same way) only to ask whether that type is tied
to a place; then it looks the zones up by prefix. Planning a batch does that for every
recipient, and it was most of a first plan's time. Here the type is narrowed only as far as
that question needs (special services first, as phonenumbers orders them; then fixed line;
then mobile), with patterns compiled once. Numbers the quick reading cannot take (invalid,
leading zeros, a national prefix) go through phonenumbers itself. The tests compare the answers with
phonenumbers' for the example numbers of every region and type, and for random numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc
from phonenumbers.timezone import time_zones_for_number
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from smsdesk.core.phone_parse import (
    _MAX_NATIONAL_DIGITS,
    _home_metadata,
    _pattern,
    _split_country_code,
)

UNKNOWN_ZONE = "Etc/Unknown"
_UNKNOWN = (UNKNOWN_ZONE,)
_GEO_MOBILE = frozenset(phonenumbers.phonenumberutil._GEO_MOBILE_COUNTRIES)

# (possible lengths, or empty for "any"; the compiled national number pattern)
_Desc = tuple[frozenset[int], re.Pattern[str]]


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None  # phonenumbers: an empty pattern matches nothing
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _fits(desc: _Desc | None, national: str) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


class _Rules:
    """One region's patterns, in the order phonenumbers tries them to tell a number's type."""

    def __init__(self, meta: PhoneMetadata) -> None:
        self.general = _desc(meta.general_desc)
        specials = (
            meta.premium_rate,
            meta.toll_free,
            meta.shared_cost,
            meta.voip,
            meta.personal_number,
            meta.pager,
            meta.uan,
            meta.voicemail,
        )
        self.specials = tuple(d for d in map(_desc, specials) if d is not None)
        self.fixed_line = _desc(meta.fixed_line)
        self.mobile = _desc(meta.mobile)
        self.same_mobile_and_fixed = bool(meta.same_mobile_and_fixed_line_pattern)
        self.leading = re.compile(meta.leading_digits) if meta.leading_digits else None

    def kind(self, national: str, country_code: int) -> str:
        """ "unknown" (invalid), "place" (a type tied to a place) or "country"."""
        if not _fits(self.general, national):
            return "unknown"
        if any(_fits(d, national) for d in self.specials):
            return "country"
        if _fits(self.fixed_line, national):
            return "place"  # fixed line, or fixed line or mobile
        if not self.same_mobile_and_fixed and _fits(self.mobile, national):
            return "place" if country_code in _GEO_MOBILE else "country"
        return "unknown"


@lru_cache(maxsize=512)
def _rules(region: str, country_code: int) -> _Rules | None:
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        meta = PhoneMetadata.metadata_for_nongeo_region(country_code)
    else:
        meta = PhoneMetadata.metadata_for_region(region)
    return _Rules(meta) if meta is not None else None


def _kind(country_code: int, national: str) -> str:
    """phonenumbers' number_type, narrowed to what the zone lookup asks of it."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return "unknown"
    if len(regions) == 1:
        rules = _rules(regions[0], country_code)
        return rules.kind(national, country_code) if rules is not None else "unknown"
    # A shared code: the first region whose leading digits the number starts with, or else
    # the first it is valid in (phonenumbers' order).
    for region in regions:
        rules = _rules(region, country_code)
        if rules is None:
            continue
        if rules.leading is not None:
            if rules.leading.match(national):
                return rules.kind(national, country_code)
        elif (found := rules.kind(national, country_code)) != "unknown":
            return found
    return "unknown"


def _by_prefix(digits: str, longest: int) -> tuple[str, ...] | None:
    for size in range(min(longest, len(digits)), 0, -1):
        zones = TIMEZONE_DATA.get(digits[:size])
        if zones is not None:
            return tuple(zones)
    return None


def _plain(e164: str) -> tuple[int, str] | None:
    """(country code, national number) when ``parse`` reads ``e164`` the plain way (see
    phone_parse.quick_parse, whose validity check ``_kind`` makes here); else None."""
    if not (e164.startswith("+") and e164[1:].isdigit()):
        return None
    code, national = _split_country_code(e164[1:])
    if code == 0 or not national or national[0] == "0" or len(national) > _MAX_NATIONAL_DIGITS:
        return None
    meta = _home_metadata(code)
    if meta is None:
        return None
    prefix = _pattern(meta.national_prefix_for_parsing)
    if prefix is not None and prefix.match(national):
        return None
    return code, national


def time_zones_of(e164: str) -> tuple[str, ...]:
    """Same answer as ``time_zones_for_number(phonenumbers.parse(e164))``."""
    plain = _plain(e164)
    kind = _kind(*plain) if plain is not None else "unknown"
    if plain is None or kind == "unknown":  # invalid, or read another way: phonenumbers decides
        return tuple(time_zones_for_number(phonenumbers.parse(e164)))
    code, national = plain
    if kind == "place":
        return _by_prefix(f"{code}{national}", TIMEZONE_LONGEST_PREFIX) or _UNKNOWN
    # phonenumbers' country-level lookup, as it slices: the code, then (for a three-digit
    # code) its first two digits.
    cc = str(code)
    for size in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(cc[: 1 + size])
        if zones is not None:
            return tuple(zones)
    return _UNKNOWN
