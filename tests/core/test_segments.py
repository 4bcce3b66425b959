from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsdesk.core.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    count_segments,
    gsm_replacements,
    replace_with_gsm,
)

GSM_CHARS = sorted(GSM7_BASIC | GSM7_EXTENSION)


def test_tables_have_the_gsm_0338_sizes() -> None:
    assert len(GSM7_BASIC) == 127  # 128 positions minus the escape
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert {"@", "£", "$", "¥", "\n", "\r", "Δ", "ß", "¡", "¿", "§", "à", "Ç"} <= GSM7_BASIC
    assert "\x1b" not in GSM7_BASIC
    assert "€" in GSM7_EXTENSION and "€" not in GSM7_BASIC
    assert "`" not in GSM7_BASIC and "ç" not in GSM7_BASIC


def test_empty_text_is_zero_segments() -> None:
    info = count_segments("")
    assert (info.encoding, info.characters, info.units, info.segments) == ("GSM-7", 0, 0, 0)
    assert info.remaining == 160
    assert info.ucs2_culprits == ()


@pytest.mark.parametrize(
    ("length", "segments", "per_segment", "remaining"),
    [
        (1, 1, 160, 159),
        (160, 1, 160, 0),
        (161, 2, 153, 145),
        (306, 2, 153, 0),
        (307, 3, 153, 152),
        (459, 3, 153, 0),
        (460, 4, 153, 152),
    ],
)
def test_gsm_boundaries(length: int, segments: int, per_segment: int, remaining: int) -> None:
    info = count_segments("a" * length)
    assert info.encoding == "GSM-7"
    assert (info.characters, info.units) == (length, length)
    assert (info.segments, info.per_segment, info.remaining) == (segments, per_segment, remaining)


def test_extension_characters_cost_two_septets() -> None:
    info = count_segments("€" * 80)
    assert (info.encoding, info.characters, info.units, info.segments) == ("GSM-7", 80, 160, 1)
    assert info.remaining == 0

    info = count_segments("€" * 81)
    assert (info.units, info.segments) == (162, 2)
    # 76 pairs fill 152 of the first 153 septets; the 77th pair cannot be split across.
    assert info.remaining == 153 - 5 * 2


def test_escape_pair_is_never_split_across_segments() -> None:
    info = count_segments("a" * 152 + "€" + "a" * 10)
    # A naive count would put 153 septets in segment one and leave 142.
    assert (info.units, info.segments, info.remaining) == (164, 2, 153 - 12)

    # 152 + € + 153 'a': naive 306 septets fit in 2 segments; exact packing needs 3.
    info = count_segments("a" * 152 + "€" + "a" * 152)
    assert info.units == 306
    assert info.segments == 3


@pytest.mark.parametrize(
    ("length", "segments", "per_segment", "remaining"),
    [(70, 1, 70, 0), (71, 2, 67, 63), (134, 2, 67, 0), (135, 3, 67, 66), (201, 3, 67, 0)],
)
def test_ucs2_boundaries(length: int, segments: int, per_segment: int, remaining: int) -> None:
    info = count_segments("Я" * length)
    assert info.encoding == "UCS-2"
    assert (info.characters, info.units) == (length, length)
    assert (info.segments, info.per_segment, info.remaining) == (segments, per_segment, remaining)
    assert info.ucs2_culprits == ("Я",)


def test_emoji_counts_two_units() -> None:
    info = count_segments("a" * 66 + "😀")
    assert (info.encoding, info.characters, info.units, info.segments) == ("UCS-2", 67, 68, 1)
    assert info.remaining == 2
    assert count_segments("😀" * 35).segments == 1
    assert count_segments("😀" * 36).segments == 2


def test_surrogate_pair_is_never_split_across_segments() -> None:
    info = count_segments("a" * 66 + "😀" + "b" * 5)
    # Segment one holds 66 units (the emoji does not fit in the 67th), segment two 2 + 5.
    assert (info.units, info.segments, info.per_segment, info.remaining) == (73, 2, 67, 60)

    info = count_segments("a" * 66 + "😀" + "b" * 66)
    assert info.units == 134  # would fit 2 × 67 if the pair could be split
    assert info.segments == 3


def test_culprits_are_distinct_and_in_order() -> None:
    info = count_segments("Hi “Ann”")
    assert info.encoding == "UCS-2"
    assert info.ucs2_culprits == ("“", "”")
    assert count_segments("😀 a 😀 “ Я “").ucs2_culprits == ("😀", "“", "Я")
    assert count_segments("Price: 5€ {ok}").ucs2_culprits == ()


def test_replacements_produce_gsm_text() -> None:
    text = "Hi “Ann” – it’s 9\u00a0am… • ok `x´"
    replacements = gsm_replacements(text)
    assert replacements == {
        "“": '"',
        "”": '"',
        "–": "-",
        "’": "'",
        "\u00a0": " ",
        "…": "...",
        "•": "-",
        "`": "'",
        "´": "'",
    }
    fixed = replace_with_gsm(text)
    assert fixed == "Hi \"Ann\" - it's 9 am... - ok 'x'"
    info = count_segments(fixed)
    assert info.encoding == "GSM-7"
    assert info.ucs2_culprits == ()


def test_replacements_leave_unreplaceable_culprits() -> None:
    text = "Привет “Ann” 😀"
    assert "😀" not in gsm_replacements(text)
    assert "П" not in gsm_replacements(text)
    fixed = replace_with_gsm(text)
    assert fixed == 'Привет "Ann" 😀'
    assert count_segments(fixed).ucs2_culprits == ("П", "р", "и", "в", "е", "т", "😀")


def test_replacing_gsm_text_changes_nothing() -> None:
    text = "Plain text, £5 & {braces} €"
    assert gsm_replacements(text) == {}
    assert replace_with_gsm(text) == text


gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400)
any_text = st.text(max_size=300)


@given(gsm_text)
def test_gsm_text_is_never_ucs2(text: str) -> None:
    info = count_segments(text)
    assert info.encoding == "GSM-7"
    assert info.ucs2_culprits == ()
    assert info.units >= info.characters
    assert info.units == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(any_text, st.characters())
def test_appending_never_reduces_segments(text: str, extra: str) -> None:
    assert count_segments(text + extra).segments >= count_segments(text).segments


@given(any_text)
def test_segments_hold_the_units(text: str) -> None:
    info = count_segments(text)
    assert info.characters == len(text)
    assert 0 <= info.remaining < info.per_segment or info.segments <= 1
    # Each segment loses at most one unit to an unsplittable pair.
    assert info.units <= info.segments * info.per_segment
    if info.segments > 1:
        assert info.units > (info.segments - 1) * (info.per_segment - 1)
    if info.encoding == "UCS-2":
        assert info.units == len(text.encode("utf-16-le")) // 2
        assert info.ucs2_culprits


@given(any_text)
def test_replace_with_gsm_only_removes_culprits(text: str) -> None:
    before = set(count_segments(text).ucs2_culprits)
    after = set(count_segments(replace_with_gsm(text)).ucs2_culprits)
    assert after <= before
    assert not after & set(gsm_replacements(text))
