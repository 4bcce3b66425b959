"""Exact SMS segmentation: how many messages a text costs, and why.

Carriers bill per segment, so the count shown to a user must match what the network does:
GSM-7 when every character is in the GSM 03.38 tables, UCS-2 (UTF-16) otherwise, and
multi-part messages lose room to the concatenation header (153 septets / 67 units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# GSM 03.38 basic table in code order (0x00-0x7F). Position 0x1B is the escape to the
# extension table, not a character, so it is left out: 127 characters.
_GSM7_BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_BASIC: Final[frozenset[str]] = frozenset(_GSM7_BASIC_TABLE)

# Reached through ESC, so each costs two septets.
GSM7_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")

_GSM7_ALL: Final[frozenset[str]] = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153  # 7 septets go to the concatenation header (UDH)
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67  # 3 code units go to the concatenation header

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    characters: int  # code points, what a person would call the length
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of each segment: single or multi-part size
    remaining: int  # units that still fit in the last segment
    ucs2_culprits: tuple[str, ...]  # characters forcing UCS-2, in order of first appearance


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # Characters beyond the BMP (emoji) are a UTF-16 surrogate pair.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _culprits(text: str) -> tuple[str, ...]:
    # dict keeps insertion order, which gives "distinct, in order of first appearance".
    return tuple(dict.fromkeys(ch for ch in text if ch not in _GSM7_ALL))


def count_segments(text: str) -> SegmentInfo:
    culprits = _culprits(text)
    encoding: Encoding = "UCS-2" if culprits else "GSM-7"
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)

    if units <= single:
        segments = 1 if text else 0
        return SegmentInfo(encoding, len(text), units, segments, single, single - units, culprits)

    # Greedy packing: an escape pair or surrogate pair that does not fit whole moves to the
    # next segment, leaving the last unit of the current one unused.
    segments, fill = 1, 0
    for size in sizes:
        if fill + size > multi:
            segments += 1
            fill = 0
        fill += size
    return SegmentInfo(encoding, len(text), units, segments, multi, multi - fill, culprits)


# Common look-alikes that silently turn a message into UCS-2 (often pasted from a word
# processor). Every key is outside GSM-7 and every value is inside it.
# fmt: off
_GSM_EQUIVALENTS: Final[dict[str, str]] = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "´": "'", "`": "'",
    "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "•": "-", "·": "-",
    "…": "...",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ",
    "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ",
    "\u200b": "", "\u00ad": "", "\ufeff": "",  # invisible, so dropping them changes nothing
    "\u2028": "\n", "\u2029": "\n",
    "×": "x", "÷": "/",
    "ç": "Ç",
    "á": "a", "â": "a", "ã": "a", "À": "A", "Á": "A", "Â": "A", "Ã": "A",
    "ê": "e", "ë": "e", "È": "E", "Ê": "E", "Ë": "E",
    "í": "i", "î": "i", "ï": "i", "Ì": "I", "Í": "I", "Î": "I", "Ï": "I",
    "ó": "o", "ô": "o", "õ": "o", "Ò": "O", "Ó": "O", "Ô": "O", "Õ": "O",
    "ú": "u", "û": "u", "Ù": "U", "Ú": "U", "Û": "U",
}
# fmt: on


def gsm_replacements(text: str) -> dict[str, str]:
    """Culprit -> GSM-7 replacement, for the culprits in ``text`` that have one."""
    return {ch: _GSM_EQUIVALENTS[ch] for ch in _culprits(text) if ch in _GSM_EQUIVALENTS}


def replace_with_gsm(text: str) -> str:
    """``text`` with every replaceable culprit swapped for its GSM-7 equivalent."""
    table = gsm_replacements(text)
    return text.translate({ord(ch): sub for ch, sub in table.items()}) if table else text
