from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.csv_numbers import (
    ADDED_PLUS,
    EXPANDED_SCIENTIFIC,
    REMOVED_APOSTROPHE,
    REMOVED_DECIMAL,
    RESTORED_ZERO,
    RepairedNumber,
    repair_number,
)
from smsdesk.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+447911123456", "GB", "+447911123456"),
        ("+44 (0)7911 123-456", "GB", "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("0044 7911 123456", None, "+447911123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        # "1" is the US trunk prefix: a normal way to write a national number, not damage.
        ("1 415 555 2671", "US", "+14155552671"),
        ("14155552671", "US", "+14155552671"),
    ],
)
def test_numbers_that_are_fine_need_no_repair(raw: str, region: str | None, expected: str) -> None:
    assert repair_number(raw, region) == RepairedNumber(expected, ())


@pytest.mark.parametrize(
    ("raw", "region", "expected", "repairs"),
    [
        ("447911123456", None, "+447911123456", (ADDED_PLUS,)),
        ("447911123456", "GB", "+447911123456", (ADDED_PLUS,)),
        ("14155552671", "GB", "+14155552671", (ADDED_PLUS,)),
        ("33612345678", "GB", "+33612345678", (ADDED_PLUS,)),
        ("7911123456", "GB", "+447911123456", (RESTORED_ZERO,)),
        ("30901820", "DE", "+4930901820", (RESTORED_ZERO,)),
        ("447911123456.0", None, "+447911123456", (REMOVED_DECIMAL, ADDED_PLUS)),
        ("+447911123456.0", None, "+447911123456", (REMOVED_DECIMAL,)),
        ("7911123456,0", "GB", "+447911123456", (REMOVED_DECIMAL, RESTORED_ZERO)),
        ("4.47911123456E+11", None, "+447911123456", (EXPANDED_SCIENTIFIC, ADDED_PLUS)),
        ("4.47911123456e11", "GB", "+447911123456", (EXPANDED_SCIENTIFIC, ADDED_PLUS)),
        ("4,47911123456E+11", None, "+447911123456", (EXPANDED_SCIENTIFIC, ADDED_PLUS)),
        # Trailing zeros written out in the mantissa are real digits, not padding.
        ("4.41234567890E+11", "GB", "+441234567890", (EXPANDED_SCIENTIFIC, ADDED_PLUS)),
        ("7.911123456E+9", "GB", "+447911123456", (EXPANDED_SCIENTIFIC, RESTORED_ZERO)),
        ("'07911 123456", "GB", "+447911123456", (REMOVED_APOSTROPHE,)),
        ("'+44 7911 123456", None, "+447911123456", (REMOVED_APOSTROPHE,)),
    ],
)
def test_spreadsheet_damage_is_repaired_and_named(
    raw: str, region: str | None, expected: str, repairs: tuple[str, ...]
) -> None:
    assert repair_number(raw, region) == RepairedNumber(expected, repairs)


def _refusal(raw: str, region: str | None = "GB") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        repair_number(raw, region)
    assert "\n" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("raw", ["4.41E+11", "4,41E+11", "4.4791112345E+11", "7.9E+9"])
def test_lost_digits_are_refused_never_guessed(raw: str) -> None:
    error = _refusal(raw)
    assert error.field == "number"
    assert str(error) == (
        f"'{raw}' was stored in scientific notation and its last digits are lost; "
        "export the column as text"
    )


def test_a_lost_plus_or_a_lost_zero_that_cannot_be_told_apart_is_refused() -> None:
    # German national numbers vary in length: "0491 5123456789" and "+49 1512 3456789" both
    # exist, and a spreadsheet that dropped the 0 or the + leaves the same digits.
    error = _refusal("4915123456789", "DE")
    assert str(error) == (
        "'4915123456789' could be +4915123456789 (a lost +) or +494915123456789 "
        "(a lost leading 0); write it with the + or the 0"
    )


def test_scientific_notation_of_a_fraction_is_refused() -> None:
    assert "fraction" in str(_refusal("4.47911123456789E+11"))


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "GB", "A phone number is empty"),
        ("12345", "GB", "'12345' is too short for a phone number in GB"),
        ("call me", "GB", "'call me' is not a phone number"),
        ("7911123456", None, "has no country code"),
        ("+7911123456", "GB", "too short for a phone number in RU"),
    ],
)
def test_other_problems_keep_the_reason_from_normalize(
    raw: str, region: str | None, reason: str
) -> None:
    error = _refusal(raw, region)
    assert reason in str(error)
    assert error.field == "number"


def test_an_unknown_default_region_is_a_setting_error() -> None:
    assert _refusal("07911 123456", "XX").field == "region"


# Every 07400 number with six more digits is a valid UK mobile (checked against phonenumbers).
uk_mobiles = st.integers(min_value=0, max_value=999_999).map(lambda n: f"447400{n:06d}")


@given(uk_mobiles)
def test_repairing_a_clean_number_changes_nothing(digits: str) -> None:
    assert repair_number("+" + digits, "GB") == RepairedNumber("+" + digits, ())
    assert repair_number("+" + digits, None) == RepairedNumber("+" + digits, ())


@given(uk_mobiles)
def test_float_and_full_precision_scientific_columns_come_back_exactly(digits: str) -> None:
    as_float = str(float(digits))  # what pandas or a float column writes: "447911123456.0"
    scientific = f"{int(digits):.11E}"  # all 12 digits kept
    assert repair_number(as_float, None).number == "+" + digits
    assert repair_number(scientific, None).number == "+" + digits


@given(uk_mobiles, st.integers(min_value=1, max_value=9))
def test_short_scientific_notation_is_always_refused(digits: str, kept: int) -> None:
    # Fewer significant digits than the number has: whatever they were, they are gone.
    with pytest.raises(InvalidInput, match="last digits are lost"):
        repair_number(f"{int(digits):.{kept}E}", "GB")
