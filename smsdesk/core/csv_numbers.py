"""Phone numbers that a spreadsheet has damaged, repaired only when the repair is certain.

Spreadsheets store a phone column as numbers unless told otherwise, which loses the '+'
and the leading 0, adds ".0", or switches to scientific notation ("4.41E+11"). Each repair
is named in plain words so an import preview can show what was changed; anything that
would need a guess (digits lost to scientific notation) is refused instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Final

import phonenumbers

from smsdesk.core.errors import InvalidInput
from smsdesk.core.phones import normalize_number

_FIELD: Final = "number"

ADDED_PLUS: Final = "added the missing +"
RESTORED_ZERO: Final = "restored the leading 0"
REMOVED_DECIMAL: Final = "removed the trailing .0 of a number column"
EXPANDED_SCIENTIFIC: Final = "expanded scientific notation"
REMOVED_APOSTROPHE: Final = "removed the spreadsheet's leading apostrophe"

# Excel's "text cell" marker; typographic quotes appear when the value went through Word.
_APOSTROPHES: Final = "'’‘"
_FLOAT_TAIL = re.compile(r"(?P<digits>\+?[0-9]+)[.,]0+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_SCIENTIFIC = re.compile(r"\+?(?P<int>[0-9]+)(?:[.,](?P<frac>[0-9]*))?[eE]\+?(?P<exp>[0-9]{1,2})")


@dataclass(frozen=True)
class RepairedNumber:
    number: str  # E.164
    repairs: tuple[str, ...]  # human words, e.g. "added the missing +"


def _fail(message: str) -> InvalidInput:
    return InvalidInput(message, field=_FIELD)


def _expand_scientific(text: str, match: re.Match[str]) -> str:
    """The digits of "4.41234567890E+11", refusing when the mantissa is too short to hold
    them: the missing digits were replaced by zeros and cannot be recovered."""
    mantissa = match["int"] + "." + (match["frac"] or "0")
    try:
        value = Decimal(mantissa).scaleb(int(match["exp"]))
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        raise _fail(f"'{text}' is not a phone number") from None
    significant = (match["int"] + (match["frac"] or "")).lstrip("0")
    if value != value.to_integral_value():
        raise _fail(f"'{text}' is a fraction, not a phone number")
    digits = str(int(value))
    if len(significant) < len(digits):
        raise _fail(
            f"'{text}' was stored in scientific notation and its last digits are lost; "
            "export the column as text"
        )
    return digits


@lru_cache(maxsize=256)
def _national_prefix(region: str | None) -> str:
    if not region:
        return ""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.strip().upper())
    return str(metadata.national_prefix or "") if metadata is not None else ""


def _try(text: str, region: str | None, allow_test_numbers: bool = False) -> str | None:
    try:
        return normalize_number(text, region, allow_test_numbers=allow_test_numbers)
    except InvalidInput:
        return None


def _classify(digits: str, e164: str, region: str | None) -> tuple[str, ...]:
    """What phonenumbers silently did to bare digits: read them as international (a lost
    '+') or as a national number missing its 0. A normal trunk prefix is not a repair."""
    prefix = _national_prefix(region)
    if e164 == "+" + digits:
        if prefix and digits.startswith(prefix) and e164.endswith(digits[len(prefix) :]):
            return ()  # e.g. US "1 415 555 2671": 1 is the national trunk prefix
        return (ADDED_PLUS,)
    if prefix == "0" and not digits.startswith("0") and e164.endswith(digits):
        return (RESTORED_ZERO,)
    return ()


def _ambiguity(text: str, digits: str, national: str, region: str | None) -> str:
    """Bare digits that start with the region's own country code can have lost either the
    '+' or the leading 0 (German "4915123456789"); when both readings are valid numbers
    there is nothing to choose by, so the value is refused rather than guessed."""
    own_code = str(phonenumbers.country_code_for_region((region or "").strip().upper()))
    if not digits.startswith(own_code):
        return ""
    international = _try("+" + digits, None)
    if international is None or international == national:
        return ""
    return (
        f"'{text}' could be {international} (a lost +) or {national} (a lost leading 0); "
        "write it with the + or the 0"
    )


def repair_number(
    raw: str, default_region: str | None, *, allow_test_numbers: bool = False
) -> RepairedNumber:
    """``raw`` as E.164 with the repairs it needed, or InvalidInput saying why not.
    ``allow_test_numbers`` accepts the Sandbox's fictional +1 555 numbers."""
    result = _repair(raw, default_region, allow_test_numbers)
    if isinstance(result, str):
        raise _fail(result)
    return result


# phonenumbers is most of an import's time, and a file is often read twice (a preview,
# then again after the user changes the column mapping). Sized for a 100,000-row list
# (about 200 bytes an entry); an LRU smaller than the file would miss on every re-read.
# Refusals are cached as their message: a bad value repeated down a column (a
# placeholder, a header pasted twice) costs up to three phonenumbers parses each time.
@lru_cache(maxsize=131_072)
def _repair(raw: str, default_region: str | None, tests: bool) -> RepairedNumber | str:
    text = raw.strip()
    repairs: list[str] = []
    if text[:1] and text[0] in _APOSTROPHES:
        text = text[1:].strip()
        repairs.append(REMOVED_APOSTROPHE)

    scientific = _SCIENTIFIC.fullmatch(text)
    if scientific is not None:
        try:
            text = _expand_scientific(text, scientific)
        except InvalidInput as exc:
            return exc.message
        repairs.append(EXPANDED_SCIENTIFIC)
    else:
        float_tail = _FLOAT_TAIL.fullmatch(text)
        if float_tail is not None:
            text = float_tail["digits"]
            repairs.append(REMOVED_DECIMAL)

    digits = _NOT_DIGIT.sub("", text)
    bare = bool(digits) and not text.startswith("+") and not digits.startswith("00")

    # The national reading wins: the default region says where the list comes from.
    try:
        e164 = normalize_number(text, default_region, allow_test_numbers=tests)
    except InvalidInput as exc:
        if exc.field == "region":  # the setting is wrong, not this number
            raise
        refusal = exc
    else:
        extra = _classify(digits, e164, default_region) if bare else ()
        if extra == (RESTORED_ZERO,):
            ambiguous = _ambiguity(text, digits, e164, default_region)
            if ambiguous:
                return ambiguous
        return RepairedNumber(e164, (*repairs, *extra))

    if bare and _national_prefix(default_region) == "0" and not digits.startswith("0"):
        fixed = _try("0" + digits, default_region, tests)
        if fixed is not None:
            return _ambiguity(text, digits, fixed, default_region) or RepairedNumber(
                fixed, (*repairs, RESTORED_ZERO)
            )
    if bare:
        fixed = _try("+" + digits, None, tests)
        if fixed is not None:
            return RepairedNumber(fixed, (*repairs, ADDED_PLUS))
    return refusal.message
