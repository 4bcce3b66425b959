"""What a reply's words mean: opt-out, opt-in, a confirmation, a wish to reschedule, or
nothing (free text, shown as written and never guessed at).

A keyword counts only as the whole reply, ignoring case, spaces and punctuation ("Stop.",
" c ", "YES!"): "Yes, but can we make it 3pm?" is free text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReplyAction(StrEnum):
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    CONFIRMED = "confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested"


# The STOP family the issue names, plus what the US carriers' (CTIA) handbook lists as opt-out
# words (REVOKE, OPT OUT / OPTOUT, STOP ALL); compared without spaces.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
# Opt back in; YES only when the number has opted out (otherwise YES confirms).
START_WORDS = frozenset({"START", "UNSTOP", "YES"})


@dataclass(frozen=True)
class ConfirmationWords:
    """Which whole replies confirm an appointment or ask to move it."""

    confirm: frozenset[str] = frozenset({"C", "1", "YES"})
    reschedule: frozenset[str] = frozenset({"R", "2"})


DEFAULT_CONFIRMATION = ConfirmationWords()


def keyword(text: str) -> str:
    """The reply reduced to letters and digits, upper case ("Stop!" -> "STOP")."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[^0-9A-Z]", "", folded)


def action_for(
    text: str,
    *,
    opted_out: bool,
    has_appointment: bool,
    words: ConfirmationWords = DEFAULT_CONFIRMATION,
) -> ReplyAction | None:
    """The action a reply asks for. ``opted_out``: the number is on the opt-out list now;
    ``has_appointment``: the reply answers a reminder of an appointment."""
    word = keyword(text)
    if word in STOP_WORDS:
        return ReplyAction.OPTED_OUT
    if opted_out and word in START_WORDS:
        return ReplyAction.OPTED_IN
    if has_appointment and word in {keyword(w) for w in words.confirm}:
        return ReplyAction.CONFIRMED
    if has_appointment and word in {keyword(w) for w in words.reschedule}:
        return ReplyAction.RESCHEDULE_REQUESTED
    return None  # free text (or START with nothing to undo): shown, never guessed at
