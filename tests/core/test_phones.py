from __future__ import annotations

import pytest

from smsdesk.core.errors import InvalidInput
from smsdesk.core.phones import (
    format_for_display,
    normalize_number,
    region_of,
    split_recipients,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155552671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+1.415.555.2671", "+14155552671"),
        ("  +44 20 7946 0018 ", "+442079460018"),
        ("+44 (0)20 7946 0018", "+442079460018"),
        ("+49 30 901820", "+4930901820"),
        ("+49 (30) 901-820", "+4930901820"),
        ("+91 98765 43210", "+919876543210"),
        ("0044 20 7946 0018", "+442079460018"),
        ("00 49 30 901820", "+4930901820"),
    ],
)
def test_international_numbers(raw: str, expected: str) -> None:
    assert normalize_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("030 901820", "DE", "+4930901820"),
        ("030 901820", "de", "+4930901820"),
        ("98765 43210", "IN", "+919876543210"),
        # An explicit country code wins over the default region.
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("0044 20 7946 0018", "DE", "+442079460018"),
    ],
)
def test_national_numbers_with_region(raw: str, region: str, expected: str) -> None:
    assert normalize_number(raw, region) == expected


def _error(raw: str, region: str | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        normalize_number(raw, region)
    assert caught.value.field == "recipients"
    assert "\n" not in str(caught.value)
    return caught.value


def test_national_number_without_region_says_so() -> None:
    error = _error("020 7946 0018")
    assert "'020 7946 0018' has no country code" in str(error)
    assert "default region" in str(error)


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty(raw: str) -> None:
    assert "empty" in str(_error(raw))


@pytest.mark.parametrize(
    "raw", ["hello", "1-800-FLOWERS", "+44 20 7946 0018 ext 2", "---", "+", "1+2"]
)
def test_garbage(raw: str) -> None:
    error = _error(raw, "US")
    assert f"'{raw.strip()}'" in str(error)
    assert "not a phone number" in str(error)


@pytest.mark.parametrize(("raw", "region"), [("+1 415", None), ("123", "US"), ("+44 20", None)])
def test_too_short(raw: str, region: str | None) -> None:
    assert "too short" in str(_error(raw, region))


@pytest.mark.parametrize("raw", ["+44 20 7946 0018 0018", "+1 415 555 2671 2671 2671 2671"])
def test_too_long(raw: str) -> None:
    assert "too long" in str(_error(raw))


def test_unknown_country_code() -> None:
    assert "country code" in str(_error("+999 1234567"))


@pytest.mark.parametrize("raw", ["+44 1234 567", "+1 200 555 0100"])
def test_possible_but_invalid(raw: str) -> None:
    assert f"'{raw}' is not a valid phone number" in str(_error(raw))


def test_unknown_default_region() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_number("555 0100", "XX")
    assert caught.value.field == "region"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 555 010 0123", "+15550100123"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("001 555 999 0000", "+15559990000"),
    ],
)
def test_fictional_555_numbers_need_the_flag(raw: str, expected: str) -> None:
    assert "not a valid phone number" in str(_error(raw))
    assert normalize_number(raw, allow_test_numbers=True) == expected
    assert normalize_number(raw.removeprefix("+1 "), "US", allow_test_numbers=True) == expected


@pytest.mark.parametrize("raw", ["+1 555 010 012", "+1 555 010 01234", "+61 555 010 012"])
def test_flag_only_covers_possible_nanp_555_numbers(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_number(raw, allow_test_numbers=True)


def test_flag_keeps_real_numbers_working() -> None:
    assert normalize_number("+44 20 7946 0018", allow_test_numbers=True) == "+442079460018"


def test_split_recipients() -> None:
    pasted = "+1 415 555 2671, +44 20 7946 0018;\n\n 030 901820\t+91 98765 43210\r\n,;"
    assert split_recipients(pasted) == [
        "+1 415 555 2671",
        "+44 20 7946 0018",
        "030 901820",
        "+91 98765 43210",
    ]
    assert split_recipients("") == []
    assert split_recipients(" , ;\n") == []


def test_format_and_region() -> None:
    assert format_for_display("+14155552671") == "+1 415-555-2671"
    assert format_for_display("+442079460018") == "+44 20 7946 0018"
    assert region_of("+14155552671") == "US"
    assert region_of("+442079460018") == "GB"
    assert region_of("+4930901820") == "DE"
    assert region_of("+919876543210") == "IN"
    assert region_of("+15551234567") is None
    with pytest.raises(InvalidInput):
        region_of("not a number")
