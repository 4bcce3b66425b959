"""Our zone lookup must give phonenumbers' own answer, for every region and number type."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

from smsdesk.core.phone_zones import time_zones_of


def _e164(n: PhoneNumber) -> str:
    return str(phonenumbers.format_number(n, PhoneNumberFormat.E164))


def _theirs(e164: str) -> tuple[str, ...]:
    return tuple(time_zones_for_number(phonenumbers.parse(e164)))


def _examples() -> list[str]:
    found: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(_e164(example))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(_e164(example))
    return found


def test_every_example_number_of_every_region_and_type_agrees() -> None:
    examples = _examples()
    assert len(examples) > 1000
    assert [n for n in examples if time_zones_of(n) != _theirs(n)] == []
    # The answers differ by type: both lookups (a place's prefix, the country's) are used.
    mobile = phonenumbers.example_number_for_type("US", PhoneNumberType.MOBILE)
    toll_free = phonenumbers.example_number_for_type("US", PhoneNumberType.TOLL_FREE)
    assert mobile is not None and toll_free is not None
    us_mobile, us_toll_free = _e164(mobile), _e164(toll_free)
    assert len(time_zones_of(us_mobile)) == 1
    assert len(time_zones_of(us_toll_free)) > 1


def test_example_numbers_with_other_endings_agree() -> None:
    """Neighbours of every example: other last digits, one digit fewer or more."""
    near: list[str] = []
    for n in _examples():
        digits = n[1:]
        near += [f"+{digits[:-1]}{d}" for d in "0369"]
        near += [f"+{digits[:-1]}", f"+{digits}{digits[-1]}"]
    assert [n for n in near if time_zones_of(n) != _theirs(n)] == []


@pytest.mark.parametrize("seed", [1, 2])
def test_random_numbers_for_every_country_code_agree(seed: int) -> None:
    rng = random.Random(seed)
    numbers = [
        f"+{code}{rng.randrange(10 ** (length - 1), 10**length)}"
        for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
        for length in (rng.randint(4, 14) for _ in range(100))
    ]
    assert [n for n in numbers if time_zones_of(n) != _theirs(n)] == []
    assert any(time_zones_of(n) != ("Etc/Unknown",) for n in numbers)


def test_places_and_fictional_numbers() -> None:
    assert time_zones_of("+12125550123") == _theirs("+12125550123")  # fictional 555
    # A mobile is tied to a place in some countries only: the UK's get the country's zones.
    assert time_zones_of("+447624123456") == _theirs("+447624123456")
    assert "Europe/London" in time_zones_of("+447400123456")
    assert time_zones_of("+12125550199") == _theirs("+12125550199")
    assert time_zones_of("+390612345678") == _theirs("+390612345678")  # Italy's leading 0
