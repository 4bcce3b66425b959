"""quick_parse must read a number exactly as phonenumbers.parse does, whenever it answers."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber
from phonenumbers import PhoneNumberFormat as Format

from smsdesk.core.phone_parse import quick_parse

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _same_as_parse(candidate: str, region: str | None) -> bool | None:
    """None when quick_parse leaves the number to parse, else whether both agree."""
    quick = quick_parse(candidate, region)
    if quick is None:
        return None
    slow = phonenumbers.parse(candidate, region)
    fields = ("country_code", "national_number", "italian_leading_zero")
    return all(getattr(quick, f) == getattr(slow, f) for f in fields) and (
        phonenumbers.is_valid_number(slow)
    )


def _candidates(region: str, rng: random.Random) -> list[str]:
    """The ways a region's numbers reach us: E.164, national with and without the trunk
    prefix, a country code without '+', a trunk 0 after the country code, near misses."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert meta is not None
    code = str(meta.country_code)
    trunk = meta.national_prefix or ""
    found: list[str] = []
    for kind in phonenumbers.PhoneNumberType.values():
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        nsn = phonenumbers.national_significant_number(example)
        national = "".join(
            c for c in phonenumbers.format_number(example, Format.NATIONAL) if c.isdigit()
        )
        found += [f"+{code}{nsn}", national, nsn, code + nsn, f"+{code}0{nsn}", trunk + nsn]
        for _ in range(3):
            cut = rng.randint(1, min(4, len(nsn)))
            tail = "".join(str(rng.randrange(10)) for _ in range(cut + rng.choice((-1, 0, 1))))
            changed = nsn[:-cut] + tail
            found += [f"+{code}{changed}", changed, trunk + changed]
    found += ["".join(str(rng.randrange(10)) for _ in range(rng.randint(3, 16))) for _ in range(20)]
    return [c for c in found if c.lstrip("+")]


@pytest.mark.parametrize("chunk", range(4))
def test_agrees_with_parse_for_every_region(chunk: int) -> None:
    rng = random.Random(chunk)
    answered = 0
    for region in REGIONS[chunk::4]:
        for candidate in _candidates(region, rng):
            for r in (region, None) if candidate.startswith("+") else (region,):
                verdict = _same_as_parse(candidate, r)
                assert verdict is not False, (candidate, r)
                answered += verdict is not None
    assert answered > 2000  # the quick path really is taken for most valid numbers


@settings(max_examples=3000, deadline=None)
@given(
    plus=st.booleans(),
    digits=st.text("0123456789", min_size=1, max_size=18),
    region=st.sampled_from(REGIONS),
)
def test_agrees_with_parse_on_any_digits(plus: bool, digits: str, region: str) -> None:
    assert _same_as_parse(("+" if plus else "") + digits, region) is not False


@pytest.mark.parametrize(
    ("candidate", "region", "expected"),
    [
        ("+447400123456", None, (44, 7400123456)),
        ("07400123456", "GB", (44, 7400123456)),
        ("4155552671", "US", (1, 4155552671)),
        ("+4916012345678", "GB", (49, 16012345678)),
    ],
)
def test_the_everyday_forms_take_the_quick_path(
    candidate: str, region: str | None, expected: tuple[int, int]
) -> None:
    quick = quick_parse(candidate, region)
    assert isinstance(quick, PhoneNumber)
    assert (quick.country_code, quick.national_number) == expected


@pytest.mark.parametrize(
    ("candidate", "region"),
    [
        ("447400123456", "GB"),  # a lost '+' or a national number? parse decides
        ("01144207946001", "US"),  # dialled from the US with its international prefix
        ("+390612345678", None),  # Italy keeps its leading 0
        ("+4407400123456", None),  # a trunk 0 written after the country code
        ("07400", "GB"),  # too short: parse gives the reason
    ],
)
def test_the_rarer_forms_are_left_to_parse(candidate: str, region: str | None) -> None:
    assert quick_parse(candidate, region) is None
