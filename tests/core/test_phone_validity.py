"""Our validity check must give phonenumbers' own answer, for every country code."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberType

from smsdesk.core.phone_validity import is_valid


def _examples() -> list[PhoneNumber]:
    found: list[PhoneNumber] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(example)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(example)
    return found


def _random(seed: int, per_code: int) -> list[PhoneNumber]:
    rng = random.Random(seed)
    numbers: list[PhoneNumber] = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(per_code):
            length = rng.randint(4, 14)
            national = rng.randrange(10 ** (length - 1), 10**length)
            numbers.append(PhoneNumber(country_code=code, national_number=national))
    return numbers


def test_every_example_number_of_every_region_and_type_agrees() -> None:
    examples = _examples()
    assert len(examples) > 1000
    # The examples are valid by construction (Italian and other leading zeros included).
    assert [n for n in examples if is_valid(n) != phonenumbers.is_valid_number(n)] == []
    assert sum(map(is_valid, examples)) == len(examples)


def test_example_numbers_one_digit_off_agree() -> None:
    """Near misses: the last digit dropped or doubled lands on every length boundary."""
    near: list[PhoneNumber] = []
    for n in _examples():
        digits = str(n.national_number)
        for changed in (digits[:-1], digits + digits[-1]):
            if changed:
                near.append(PhoneNumber(country_code=n.country_code, national_number=int(changed)))
    assert [n for n in near if is_valid(n) != phonenumbers.is_valid_number(n)] == []


@pytest.mark.parametrize("seed", [1, 2])
def test_random_numbers_for_every_country_code_agree(seed: int) -> None:
    numbers = _random(seed, 150)
    assert [n for n in numbers if is_valid(n) != phonenumbers.is_valid_number(n)] == []
    assert any(is_valid(n) for n in numbers)


def test_shared_country_codes_follow_the_leading_digits() -> None:
    """+44 7624 is the Isle of Man, not Great Britain; +1 264 is Anguilla."""
    isle_of_man = phonenumbers.parse("+447624123456")
    anguilla = phonenumbers.parse("+12642351234")
    for number in (isle_of_man, anguilla):
        assert is_valid(number) == phonenumbers.is_valid_number(number)
    assert is_valid(PhoneNumber(country_code=999, national_number=1234567)) is False
