"""Phone numbers in, E.164 out: one canonical form so duplicates and providers agree."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult

from smsdesk.core.errors import InvalidInput
from smsdesk.core.phone_parse import quick_parse
from smsdesk.core.phone_validity import is_valid

_FIELD: Final = "recipients"

# What people type around digits. Letters are refused on purpose: phonenumbers would read
# them as a vanity keypad ("1-800-FLOWERS"), which is almost always a paste mistake here.
_ALLOWED = re.compile(r"\+?[0-9 \-.()/\u00a0]+")
_SEPARATORS = re.compile(r"[,;\t\r\n]+")

# NANP area code 555 is reserved for fiction; the built-in Sandbox provider sends to it.
_TEST_NATIONAL = re.compile(r"555[0-9]{7}")
SANDBOX_KIND: Final = "sandbox"  # the provider kind that sends to those numbers


def _fail(message: str) -> InvalidInput:
    return InvalidInput(message, field=_FIELD)


def _check_region(default_region: str | None) -> str | None:
    if not default_region:
        return None
    region = default_region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            f"Unknown default region '{default_region}'; use a two-letter country code like US",
            field="region",
        )
    return region


def _where(number: PhoneNumber) -> str:
    code = number.country_code or 0
    region = phonenumbers.region_code_for_country_code(code)
    return str(region) if region not in (None, "ZZ", "001") else f"+{code}"


def _refuse(text: str, number: PhoneNumber, allow_test_numbers: bool) -> None:
    """Raise the reason an invalid ``number`` is refused (a valid number is always possible,
    so this is only asked about invalid ones), unless it is an allowed test number."""
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        raise _fail(f"'{text}' does not start with a known country code")
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise _fail(f"'{text}' is too short for a phone number in {_where(number)}")
    if reason == ValidationResult.TOO_LONG:
        raise _fail(f"'{text}' is too long for a phone number in {_where(number)}")
    if reason != ValidationResult.IS_POSSIBLE:
        raise _fail(f"'{text}' has the wrong number of digits for {_where(number)}")
    is_test = number.country_code == 1 and bool(
        _TEST_NATIONAL.fullmatch(str(number.national_number))
    )
    if not (allow_test_numbers and is_test):
        raise _fail(f"'{text}' is not a valid phone number in {_where(number)}")


def normalize_number(
    raw: str, default_region: str | None = None, *, allow_test_numbers: bool = False
) -> str:
    """``raw`` as E.164 (``+14155552671``), or InvalidInput saying what is wrong with it."""
    text = raw.strip()
    if not text:
        raise _fail("A phone number is empty")
    if not _ALLOWED.fullmatch(text) or not any(ch.isdigit() for ch in text):
        raise _fail(f"'{text}' is not a phone number; use digits, e.g. +14155552671")

    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+"):
        candidate = "+" + digits
    elif digits.startswith("00"):
        # The common international prefix outside North America; without it phonenumbers
        # needs a region just to recognise "00".
        candidate = "+" + digits[2:]
    else:
        candidate = digits

    region = _check_region(default_region)
    if not candidate.startswith("+") and region is None:
        raise _fail(
            f"'{text}' has no country code; write it with one, like +44…, or set a default region"
        )
    if len(digits) > 17:  # E.164 allows 15; stop absurd pastes before parsing
        raise _fail(f"'{text}' is too long to be a phone number")

    quick = quick_parse(candidate, region)
    if quick is not None:  # valid, and read exactly as parse reads it
        return f"+{quick.country_code}{quick.national_number}"
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise _fail(f"'{text}' does not start with a known country code") from None
        if exc.error_type == NumberParseException.TOO_LONG:
            raise _fail(f"'{text}' is too long to be a phone number") from None
        raise _fail(f"'{text}' is too short to be a phone number") from None

    if not is_valid(number):
        _refuse(text, number, allow_test_numbers)
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def split_recipients(text: str) -> list[str]:
    """Split a pasted list on commas, semicolons, tabs and newlines (not spaces: numbers
    contain them), dropping blanks."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def _parse_e164(e164: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException:
        raise _fail(f"'{e164}' is not an E.164 phone number") from None


def format_for_display(e164: str) -> str:
    """International format, e.g. ``+44 20 7946 0018``."""
    return str(phonenumbers.format_number(_parse_e164(e164), PhoneNumberFormat.INTERNATIONAL))


def is_test_number(e164: str) -> bool:
    """Whether ``e164`` is one of the fictional +1 555 numbers only the Sandbox sends to."""
    return e164.startswith("+1") and bool(_TEST_NATIONAL.fullmatch(e164[2:]))


def check_for_account(e164: str, account_kind: str) -> None:
    """Refuse a fictional number for an account that would hand it to a real network.

    The contact book keeps such numbers (the Sandbox is how people try smsdesk); whether one
    may be sent to depends on the account, exactly as scheduling decides for typed numbers.
    """
    if account_kind != SANDBOX_KIND and is_test_number(e164):
        raise _fail(
            f"{format_for_display(e164)} is a fictional test number; only the Sandbox sends to it"
        )


def split_for_account(
    numbers: Sequence[str], account_kind: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """(the numbers this kind of account may send to, [(number, why not)] for the others)."""
    sendable: list[str] = []
    refused: list[tuple[str, str]] = []
    for number in numbers:
        try:
            check_for_account(number, account_kind)
        except InvalidInput as exc:
            refused.append((number, exc.message))
        else:
            sendable.append(number)
    return sendable, refused


def format_for_desk(e164: str, region: str | None) -> str:
    """How the desk writes the number: national format for its own country (``(202)
    555-0119`` in the US), international for others, E.164 when there is no region."""
    try:
        number = _parse_e164(e164)
    except InvalidInput:
        return e164  # shown as stored rather than hidden
    own = phonenumbers.country_code_for_region(region.upper()) if region else 0
    national = bool(own) and own == number.country_code
    style = PhoneNumberFormat.NATIONAL if national else PhoneNumberFormat.INTERNATIONAL
    return str(phonenumbers.format_number(number, style))


def example_number(region: str | None) -> str:
    """A mobile number of the region (E.164) that smsdesk accepts, for placeholders; the
    Sandbox's fictional number when there is no region."""
    region = (region or "").upper()
    if not region:
        return "+15550100123"
    mobile = phonenumbers.PhoneNumberType.MOBILE
    found = phonenumbers.example_number_for_type(region, mobile) or phonenumbers.example_number(
        region
    )
    if found is None:  # a region whose metadata has no example at all
        return "+15550100123"
    return str(phonenumbers.format_number(found, PhoneNumberFormat.E164))


def region_of(e164: str) -> str | None:
    """ISO 3166 region of a number, or None when it belongs to no single region."""
    region = phonenumbers.region_code_for_number(_parse_e164(e164))
    return str(region) if region and region not in ("ZZ", "001") else None
