"""The common case of ``phonenumbers.parse``, for digits we have already cleaned, at a fraction of
its cost.

``parse`` accepts anything a person can type (letters, extensions, "tel:" links, other
scripts' digits) and spends most of its time on that generality; it was the largest part of a
large import's time. Our callers hand it bare digits, optionally led by '+'. For those, the
result is plain when the number needs none of parse's rarer steps: no international dialling
prefix to strip, no country code written without its '+', no national-prefix rewrite rule, no
leading zero kept as part of the number. ``quick_parse`` handles exactly that case and only
when the result is a valid number; anything else returns None and goes through ``parse``. The
tests compare it with ``parse`` for every region.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber

from smsdesk.core.phone_validity import is_valid

_MAX_NATIONAL_DIGITS = 17  # phonenumbers' longest national significant number


@lru_cache(maxsize=1024)
def _pattern(regex: str | None) -> re.Pattern[str] | None:
    return re.compile(regex) if regex else None


@lru_cache(maxsize=512)
def _home_metadata(code: int) -> PhoneMetadata | None:
    """The metadata parse uses for a number written with '+code': its main region's."""
    region = phonenumbers.region_code_for_country_code(code)
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        return PhoneMetadata.metadata_for_nongeo_region(code)
    return PhoneMetadata.metadata_for_region(region)


def _split_country_code(digits: str) -> tuple[int, str]:
    # Country codes are prefix-free and never start with 0 (as in phonenumbers).
    if not digits or digits[0] == "0":
        return 0, digits
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return 0, digits


def quick_parse(candidate: str, region: str | None) -> PhoneNumber | None:
    """What ``phonenumbers.parse(candidate, region)`` returns, when that is a valid number
    reached by the plain path; None when ``parse`` must decide. ``candidate`` is ASCII digits,
    optionally led by '+'; ``region`` an upper-case region code or None."""
    if candidate.startswith("+"):
        code, national = _split_country_code(candidate[1:])
        if code == 0:
            return None
        meta = _home_metadata(code)
        if meta is None:
            return None
        prefix = _pattern(meta.national_prefix_for_parsing)
        if prefix is not None and prefix.match(national):
            return None  # parse may strip a national prefix written after the country code
    else:
        meta = PhoneMetadata.metadata_for_region(region) if region else None
        if meta is None:
            return None
        idd = _pattern(meta.international_prefix)
        if (idd is not None and idd.match(candidate)) or candidate.startswith(
            str(meta.country_code)
        ):
            return None  # dialled as from abroad, or perhaps a country code without its '+'
        code, national = meta.country_code or 0, candidate
        prefix = _pattern(meta.national_prefix_for_parsing)
        found = prefix.match(national) if prefix is not None else None
        if found is not None:
            if meta.national_prefix_transform_rule:
                return None
            # parse strips the prefix whenever what remains is a possible number, as a
            # valid one (checked below) is.
            national = national[found.end() :]
    if not national or national[0] == "0" or len(national) > _MAX_NATIONAL_DIGITS:
        return None  # leading zeros are part of some numbers (Italy): parse knows how
    number = PhoneNumber(country_code=code, national_number=int(national))
    return number if is_valid(number) else None
