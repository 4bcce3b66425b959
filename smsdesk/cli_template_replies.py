"""Command-line part for a template's replies: ``smsdesk template save NAME --text ...
[--confirm-words "C, 1, YES"] [--reschedule-words "R, 2"] [--confirmed-answer TEXT]
[--reschedule-answer TEXT]``; an option left out keeps what the template has (or the
default). Used by cli_book's template commands."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine is imported when the command runs, not at every start
    from smsdesk.engine.template_replies import ReplyRules


def add_reply_rule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--confirm-words",
        metavar="WORDS",
        help="whole replies that confirm an appointment, comma-separated (default: C, 1, YES)",
    )
    parser.add_argument(
        "--reschedule-words",
        metavar="WORDS",
        help="whole replies that ask to reschedule, comma-separated (default: R, 2)",
    )
    parser.add_argument(
        "--confirmed-answer",
        metavar="TEXT",
        help="sent back once to a confirmation ('' for none), e.g. 'Thanks, see you "
        "{appt_time:%%A}.'",
    )
    parser.add_argument(
        "--reschedule-answer",
        metavar="TEXT",
        help="sent back once to a wish to reschedule ('' for none)",
    )


def reply_rules_of(args: argparse.Namespace, book: Any) -> ReplyRules | None:
    """The rules the options ask for, over what the template has; None: none given."""
    from smsdesk.core.errors import NotFound
    from smsdesk.engine.template_replies import DEFAULT_RULES, check_rules, words_text

    given = (args.confirm_words, args.reschedule_words, args.confirmed_answer)
    if all(v is None for v in (*given, args.reschedule_answer)):
        return None
    try:
        current = book.template(args.name).replies
    except NotFound:
        current = DEFAULT_RULES

    def pick(value: str | None, kept: str) -> str:
        return kept if value is None else value

    return check_rules(
        pick(args.confirm_words, words_text(current.confirm)),
        pick(args.reschedule_words, words_text(current.reschedule)),
        pick(args.confirmed_answer, current.confirmed_answer),
        pick(args.reschedule_answer, current.reschedule_answer),
    )


def reply_rules_text(view: Any) -> str:
    """The lines ``template show`` adds about replies."""
    rules = view.replies
    text = (
        f"\n  replies: {', '.join(rules.confirm) or '-'} confirm; "
        f"{', '.join(rules.reschedule) or '-'} ask to reschedule"
    )
    if rules.confirmed_answer:
        text += f"\n  answer if confirmed: {rules.confirmed_answer}"
    if rules.reschedule_answer:
        text += f"\n  answer if rescheduling: {rules.reschedule_answer}"
    return text
