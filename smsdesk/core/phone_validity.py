"""Whether a parsed number is valid: phonenumbers' own answer, at a third of the cost.

``phonenumbers.is_valid_number`` finds the number's region by working out its type, then works
the type out again for that region, and for a mobile number (what text messages go to) it tries
up to ten other patterns before the mobile one. Validity only needs "the number fits the
region's general pattern and some type", so this tries mobile first, stops at the first fit and
does it once. The answers are phonenumbers' own: the tests compare them with
``is_valid_number`` on numbers from every country code. It is most of a large import's time.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberDesc

# (possible lengths, or empty for "any"; the compiled national number pattern)
_Desc = tuple[frozenset[int], re.Pattern[str]]


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _fits(desc: _Desc, national: str) -> bool:
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@lru_cache(maxsize=512)
def _rules(region: str, country_code: int) -> tuple[_Desc | None, tuple[_Desc, ...]] | None:
    """(general description, the type descriptions, mobile first) of one region."""
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        meta = PhoneMetadata.metadata_for_nongeo_region(country_code)
    else:
        meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    kinds = (
        meta.mobile,
        meta.fixed_line,
        meta.premium_rate,
        meta.toll_free,
        meta.shared_cost,
        meta.voip,
        meta.personal_number,
        meta.pager,
        meta.uan,
        meta.voicemail,
    )
    return _desc(meta.general_desc), tuple(d for d in map(_desc, kinds) if d is not None)


def _valid_in(region: str, country_code: int, national: str) -> bool:
    rules = _rules(region, country_code)
    if rules is None:
        return False
    general, kinds = rules
    # An empty general description fits nothing (phonenumbers: UNKNOWN type).
    if general is None or not _fits(general, national):
        return False
    return any(_fits(kind, national) for kind in kinds)


@lru_cache(maxsize=512)
def _leading_digits(region: str) -> re.Pattern[str] | None:
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.leading_digits is None:
        return None
    return re.compile(meta.leading_digits)


def is_valid(number: PhoneNumber) -> bool:
    """Same answer as ``phonenumbers.is_valid_number(number)``."""
    code = number.country_code or 0
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return False
    national = phonenumbers.national_significant_number(number)
    if len(regions) == 1:
        return _valid_in(regions[0], code, national)
    # Several regions share the code (+1, +44, +7, …): the number belongs to the first whose
    # leading digits it starts with, or else to the first it is valid in (phonenumbers' order).
    for region in regions:
        leading = _leading_digits(region)
        if leading is not None:
            if leading.match(national):
                return _valid_in(region, code, national)
        elif _valid_in(region, code, national):
            return True
    return False
