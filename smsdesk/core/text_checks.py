"""Text that looks harmless but is not: messages of invisible characters only, direction
overrides that make a text read differently than it is stored, and names with line breaks,
control characters or absurd lengths. Refused at input with the field named (or, for
direction marks, warned about), never stored."""

from __future__ import annotations

import unicodedata

from smsdesk.core.errors import InvalidInput

# Characters that draw nothing although they are neither spaces nor format characters.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Explicit embeddings, overrides and isolates (Unicode bidi algorithm, "Trojan Source").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _draws_nothing(ch: str) -> bool:
    return ch.isspace() or ch in _FILLERS or unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp")


def is_blank(text: str) -> bool:
    """Nothing a recipient would see: empty, spaces, or only invisible characters such as
    zero-width spaces or a byte-order mark."""
    return all(_draws_nothing(ch) for ch in text)


def bidi_warning(text: str) -> str | None:
    """One line when the text holds direction overrides: it may read, on the recipient's
    phone, differently from how it looks here."""
    found = sorted({f"U+{ord(ch):04X}" for ch in text if ch in BIDI_CONTROLS})
    if not found:
        return None
    return (
        f"The text contains direction-override characters ({', '.join(found)}): it may read "
        "differently on the recipient's phone. Retype it if you did not put them there."
    )


def control_character(text: str, allowed: frozenset[str] = frozenset()) -> tuple[int, str] | None:
    """The first control character (1-based position and the character), if any."""
    for pos, ch in enumerate(text, start=1):
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cs"):
            return pos, ch
    return None


def check_label(value: str, *, field: str, what: str, limit: int) -> str:
    """A one-line name (account, template, group, contact): stripped, 1 to ``limit``
    characters, no line breaks or control characters, not invisible."""
    value = value.strip()
    if is_blank(value):
        raise InvalidInput(f"Give the {what} a name.", field=field)
    if len(value) > limit:
        raise InvalidInput(
            f"The {what} name is {len(value):,} characters long; the most is {limit}.",
            field=field,
        )
    bad = control_character(value)
    if bad is not None:
        pos, ch = bad
        kind = "a line break" if ch in "\r\n" else f"a control character (U+{ord(ch):04X})"
        raise InvalidInput(
            f"The {what} name contains {kind} at position {pos}; names are one line.",
            field=field,
        )
    return value


def check_template_text(text: str) -> None:
    """A template's text: not blank, no control characters but line breaks and tabs."""
    if is_blank(text):
        raise InvalidInput("The template's text is empty.", field="text")
    bad = control_character(text, frozenset("\n\r\t"))
    if bad is not None:
        pos, ch = bad
        raise InvalidInput(
            f"The template's text contains a control character (U+{ord(ch):04X}) at position "
            f"{pos}; remove it.",
            field="text",
        )
