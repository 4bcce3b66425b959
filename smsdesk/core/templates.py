"""Message templates: merge fields with fallbacks and date formats.

Syntax::

    Hi {first_name|there}, see you {starts_at:%a %d %b at %H:%M|soon}.

``{field}`` is replaced by a value, ``{field|text}`` falls back to ``text`` when the value
is missing or empty, ``{field:%H:%M}`` formats a date or time value with strftime codes,
and ``{{`` / ``}}`` are literal braces. Field names are letters, digits and "_"; a name is
looked up as written, then in lower case (contact columns are stored lower-cased).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Final, TypeAlias

from smsdesk.core.errors import InvalidInput
from smsdesk.core.segments import count_segments

_FIELD: Final = "text"
_VALUES: Final = "values"

_NAME = re.compile(r"[A-Za-z0-9_]+")

DEFAULT_DATETIME: Final = "%Y-%m-%d %H:%M"
DEFAULT_DATE: Final = "%Y-%m-%d"
DEFAULT_TIME: Final = "%H:%M"

# English names in place of %a/%A/%b/%B/%p: strftime follows the process locale (Qt sets it
# from the environment), and one message should not change language with the desk it is
# sent from.
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# fmt: off
_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# fmt: on
_NAMED_CODES = re.compile(r"%%|%[aAbBp]")

OPT_OUT_WORDS: Final = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
_OPT_OUT = re.compile(r"\b(" + "|".join(OPT_OUT_WORDS) + r")\b", re.IGNORECASE)
_ASKS_REPLY = re.compile(r"\b(reply|replying|text|txt|send|respond|answer)\b", re.IGNORECASE)
# Telling people how to opt out is the legitimate use of these words (and required in
# places), so a sentence that says it is about opting out is not flagged.
_ABOUT_OPT_OUT = re.compile(
    r"\b(opt[ -]?out|unsubscribe|stop (receiving|messages|texts))\b", re.IGNORECASE
)
_SENTENCE = re.compile(r"[^.!?\n]+")


@dataclass(frozen=True)
class Template:
    text: str
    fields: tuple[str, ...]  # distinct field names in order of first use


@dataclass(frozen=True)
class _Field:
    name: str
    format: str | None
    fallback: str | None


_Part: TypeAlias = str | _Field


def _error(message: str) -> InvalidInput:
    return InvalidInput(message, field=_FIELD)


def _parse_field(body: str, position: int) -> _Field:
    """``body`` is what sits between the braces; the "{" is at character ``position``."""
    cut = min((i for i in (body.find(":"), body.find("|")) if i >= 0), default=len(body))
    name = body[:cut].strip()
    if not name:
        raise _error(f"Empty merge field at character {position}; write a name like {{name}}")
    if not _NAME.fullmatch(name):
        raise _error(
            f"'{name}' at character {position} is not a field name; use letters, digits and _"
        )
    rest = body[cut:]
    fmt: str | None = None
    fallback: str | None = None
    if rest.startswith(":"):
        fmt, bar, tail = rest[1:].partition("|")
        fallback = tail if bar else None
    elif rest.startswith("|"):
        fallback = rest[1:]
    return _Field(name, fmt, fallback)


@lru_cache(maxsize=256)
def _compile(text: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "{}" and text[i + 1 : i + 2] == ch:
            literal.append(ch)
            i += 2
            continue
        if ch == "}":
            raise _error(f"Unmatched '}}' at character {i + 1}; write }}}} for a literal brace")
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = text.find("}", i + 1)
        nested = text.find("{", i + 1)
        if end < 0:
            raise _error(f"Unclosed '{{' at character {i + 1}; close it with }} or write {{{{")
        if 0 <= nested < end:
            raise _error(f"'{{' inside a merge field at character {nested + 1}")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_parse_field(text[i + 1 : end], i + 1))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def parse_template(text: str) -> Template:
    parts = _compile(text)
    names = (part.name for part in parts if isinstance(part, _Field))
    return Template(text, tuple(dict.fromkeys(names)))


@dataclass(frozen=True)
class Shape:
    """What every message rendered from a template looks like: its fixed text in order, with
    anything in place of each merge field. ``fixed``: how many characters are fixed (spaces
    aside), to prefer the more specific of two templates a text fits."""

    pattern: re.Pattern[str]
    fixed: int


@lru_cache(maxsize=256)
def shape(text: str) -> Shape:
    parts = _compile(text)
    pattern = "".join(re.escape(p) if isinstance(p, str) else ".*?" for p in parts)
    fixed = sum(len("".join(p.split())) for p in parts if isinstance(p, str))
    return Shape(re.compile(pattern, re.DOTALL), fixed)


def _strftime(value: date | time, fmt: str) -> str:
    def named(match: re.Match[str]) -> str:
        code = match[0]
        if code == "%p":
            hour = value.hour if isinstance(value, datetime | time) else 0
            return "AM" if hour < 12 else "PM"
        if code == "%%" or isinstance(value, time):
            return code
        if code in ("%a", "%A"):
            day = _DAYS[value.weekday()]
            return day[:3] if code == "%a" else day
        month = _MONTHS[value.month - 1]
        return month[:3] if code == "%b" else month

    return value.strftime(_NAMED_CODES.sub(named, fmt))


def _text(value: object, fmt: str | None) -> str:
    # datetime before date: every datetime is also a date.
    if isinstance(value, datetime):
        return _strftime(value, fmt or DEFAULT_DATETIME)
    if isinstance(value, date):
        return _strftime(value, fmt or DEFAULT_DATE)
    if isinstance(value, time):
        return _strftime(value, fmt or DEFAULT_TIME)
    return str(value)


def _lookup(values: Mapping[str, object], name: str) -> object:
    if name in values:
        return values[name]
    return values.get(name.lower())


def render(template: Template, values: Mapping[str, object]) -> str:
    """The message for one recipient; InvalidInput names a field with no value and no
    fallback."""
    out: list[str] = []
    for part in _compile(template.text):
        if isinstance(part, str):
            out.append(part)
            continue
        value = _lookup(values, part.name)
        text = "" if value is None else _text(value, part.format)
        if not text.strip():
            if part.fallback is None:
                raise InvalidInput(
                    f"No value for {{{part.name}}}; fill it in or add a fallback like "
                    f"{{{part.name}|there}}",
                    field=_VALUES,
                )
            text = part.fallback
        out.append(text)
    return "".join(out)


def render_all(
    template: Template, rows: Sequence[Mapping[str, object]]
) -> list[str | InvalidInput]:
    """One result per row: the message, or the error that row would raise."""
    results: list[str | InvalidInput] = []
    for row in rows:
        try:
            results.append(render(template, row))
        except InvalidInput as exc:
            results.append(exc)
    return results


def worst_case(template: Template, rows: Sequence[Mapping[str, object]]) -> tuple[int, str]:
    """The most segments any row's message costs, and that message ((0, "") if no row
    renders); what a campaign's cost estimate should assume."""
    worst, worst_text, worst_units = 0, "", -1
    for result in render_all(template, rows):
        if isinstance(result, InvalidInput):
            continue
        info = count_segments(result)
        if (info.segments, info.units) > (worst, worst_units):
            worst, worst_text, worst_units = info.segments, result, info.units
    return worst, worst_text


def lint(text: str) -> list[str]:
    """Warnings about a message text, one readable line each."""
    warnings: list[str] = []
    for sentence in _SENTENCE.findall(text):
        if not _ASKS_REPLY.search(sentence) or _ABOUT_OPT_OUT.search(sentence):
            continue
        for word in dict.fromkeys(m.upper() for m in _OPT_OUT.findall(sentence)):
            warnings.append(
                f"Asking people to reply {word} opts them out of ALL your messages at most "
                "carriers, not just this one; ask them to reply 1 to confirm, 2 to reschedule"
            )
    return list(dict.fromkeys(warnings))
