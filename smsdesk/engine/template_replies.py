"""What replies to a template's messages mean, and what they get back: the template's
confirmation words (default C, 1, YES → confirmed; R, 2 → wants to reschedule) and its
optional automatic answers ("Thanks, see you {appt_time:%A}", "Please call us on …").

Kept in the settings table, one key per template ("template.<id>.replies"), written in the
transaction that saves the template and removed with it: the template table has no column
for them, and a key the settings snapshot does not know is left alone by it.

A message is "made from" a template when its text is what the template renders to: the
template's fixed text in order, anything in place of its merge fields. Messages carry no link
to a template (Compose inserts a template's text, which may then be edited), so the text is
the evidence; where several templates fit, the one with the most fixed text wins, and a
message no template fits gets the defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.templates import parse_template, shape
from smsdesk.core.text_checks import control_character, is_blank
from smsdesk.engine.reply_words import (
    START_WORDS,
    STOP_WORDS,
    ConfirmationWords,
    ReplyAction,
    keyword,
)
from smsdesk.store.models import Setting, Template

_PREFIX, _SUFFIX = "template.", ".replies"
MAX_WORDS = 10
MAX_WORD = 20
MAX_ANSWER = 320  # two plain segments: an answer is a line, not a letter
# Merge fields an automatic answer can use: the appointment's (as reminders have them).
ANSWER_FIELDS = ("name", "first_name", "appt_time", "location", "number")


@dataclass(frozen=True)
class ReplyRules:
    """One template's words and answers; empty answers send nothing."""

    # As the issue words them; the same words as reply_words' defaults.
    confirm: tuple[str, ...] = ("C", "1", "YES")
    reschedule: tuple[str, ...] = ("R", "2")
    confirmed_answer: str = ""
    reschedule_answer: str = ""

    @property
    def words(self) -> ConfirmationWords:
        return ConfirmationWords(frozenset(self.confirm), frozenset(self.reschedule))

    def answer_for(self, action: ReplyAction | None) -> str:
        if action is ReplyAction.CONFIRMED:
            return self.confirmed_answer
        if action is ReplyAction.RESCHEDULE_REQUESTED:
            return self.reschedule_answer
        return ""  # STOP, START and free text are never answered automatically


DEFAULT_RULES = ReplyRules()


def words_text(words: tuple[str, ...]) -> str:
    """As the user edits them: "C, 1, YES"."""
    return ", ".join(words)


def parse_words(text: str, *, field: str) -> tuple[str, ...]:
    """Comma-separated whole replies ("C, 1, yes") as the matcher compares them ("C", "1",
    "YES"); InvalidInput names the word that cannot be one."""
    found: dict[str, None] = {}
    for raw in text.split(","):
        if not raw.strip():
            continue
        word = keyword(raw)
        if not word:
            raise InvalidInput(f"“{raw.strip()}” has no letter or digit to match.", field=field)
        if len(word) > MAX_WORD:
            raise InvalidInput(
                f"“{raw.strip()}” is longer than {MAX_WORD} letters; a reply word is short.",
                field=field,
            )
        if word in STOP_WORDS:
            raise InvalidInput(
                f"{word} opts people out at every carrier; it cannot be a reply word here.",
                field=field,
            )
        if word in START_WORDS - {"YES"}:
            raise InvalidInput(f"{word} is how people opt back in; choose another.", field=field)
        found[word] = None
    if len(found) > MAX_WORDS:
        raise InvalidInput(f"At most {MAX_WORDS} words.", field=field)
    return tuple(found)


def _check_answer(text: str, *, field: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if is_blank(text):
        raise InvalidInput("The answer has only invisible characters.", field=field)
    bad = control_character(text, frozenset("\n"))
    if bad is not None:
        raise InvalidInput(
            f"The answer contains a control character (U+{ord(bad[1]):04X}); remove it.",
            field=field,
        )
    if len(text) > MAX_ANSWER:
        raise InvalidInput(f"An answer is at most {MAX_ANSWER} characters.", field=field)
    try:
        parsed = parse_template(text)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=field) from None
    unknown = [f for f in parsed.fields if f.lower() not in ANSWER_FIELDS]
    if unknown:
        raise InvalidInput(
            f"{{{unknown[0]}}} is not known to an answer; use "
            + ", ".join("{" + f + "}" for f in ANSWER_FIELDS)
            + ".",
            field=field,
        )
    return text


def check_rules(
    confirm: str, reschedule: str, confirmed_answer: str, reschedule_answer: str
) -> ReplyRules:
    """The rules as typed (words comma-separated); InvalidInput names the field at fault:
    confirm_words, reschedule_words, confirmed_answer or reschedule_answer."""
    confirm_words = parse_words(confirm, field="confirm_words")
    reschedule_words = parse_words(reschedule, field="reschedule_words")
    both = [w for w in reschedule_words if w in confirm_words]
    if both:
        raise InvalidInput(
            f"{both[0]} cannot both confirm and ask to reschedule.", field="reschedule_words"
        )
    return ReplyRules(
        confirm_words,
        reschedule_words,
        _check_answer(confirmed_answer, field="confirmed_answer"),
        _check_answer(reschedule_answer, field="reschedule_answer"),
    )


# -- storage ---------------------------------------------------------------------------------


def _key(template_id: int) -> str:
    return f"{_PREFIX}{template_id}{_SUFFIX}"


def _decode(value_json: str) -> ReplyRules:
    try:
        data = json.loads(value_json)
        return ReplyRules(
            tuple(str(w) for w in data["confirm"]),
            tuple(str(w) for w in data["reschedule"]),
            str(data.get("confirmed_answer", "")),
            str(data.get("reschedule_answer", "")),
        )
    except (ValueError, KeyError, TypeError):
        return DEFAULT_RULES  # written by another version in a shape not read here


def read_rules(s: Session, template_id: int) -> ReplyRules:
    row = s.get(Setting, _key(template_id))
    return DEFAULT_RULES if row is None else _decode(row.value_json)


def write_rules(s: Session, template_id: int, rules: ReplyRules, now: datetime) -> None:
    """In the caller's transaction (the one saving the template). The defaults are no row."""
    row = s.get(Setting, _key(template_id))
    if rules == DEFAULT_RULES:
        if row is not None:
            s.delete(row)
        return
    value = json.dumps(
        {
            "confirm": list(rules.confirm),
            "reschedule": list(rules.reschedule),
            "confirmed_answer": rules.confirmed_answer,
            "reschedule_answer": rules.reschedule_answer,
        }
    )
    if row is None:
        s.add(Setting(key=_key(template_id), value_json=value, updated_at=now))
    else:
        row.value_json, row.version, row.updated_at = value, row.version + 1, now
        s.add(row)


def delete_rules(s: Session, template_id: int) -> None:
    row = s.get(Setting, _key(template_id))
    if row is not None:
        s.delete(row)


def rules_for_text(s: Session, text: str) -> ReplyRules | None:
    """The rules of the template ``text`` was made from (see the module's note); None when
    no template with rules of its own fits. Only those templates are looked at: few rows,
    read in the caller's transaction."""
    rows = s.exec(
        select(Setting.key, Setting.value_json).where(col(Setting.key).like(f"{_PREFIX}%{_SUFFIX}"))
    ).all()
    by_id: dict[int, ReplyRules] = {}
    for key, value_json in rows:
        middle = key[len(_PREFIX) : -len(_SUFFIX)]
        if middle.isdigit():
            by_id[int(middle)] = _decode(value_json)
    if not by_id:
        return None
    templates = s.exec(
        select(Template.id, Template.text).where(col(Template.id).in_(list(by_id)))
    ).all()
    best: tuple[int, int] | None = None  # (fixed characters, -id): the more specific wins
    chosen: ReplyRules | None = None
    for template_id, template_text in templates:
        try:
            fits = shape(template_text)
        except InvalidInput:
            continue
        # A template of merge fields alone would fit every message: it claims none.
        if template_id is None or not fits.fixed or not fits.pattern.fullmatch(text):
            continue
        rank = (fits.fixed, -template_id)
        if best is None or rank > best:
            best, chosen = rank, by_id[template_id]
    return chosen
