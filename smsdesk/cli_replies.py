"""Command-line part for replies: ``smsdesk replies [--unread] [--json]``. Registered by
smsdesk.cli. The replies themselves are pulled by the engine (``smsdesk dispatch`` or the
window); this only shows what was stored."""

from __future__ import annotations

import argparse
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine is imported when the command runs, not at every start
    from smsdesk.engine.reply_book import ReplyView

REPLY_ACTIONS = ("opted_out", "opted_in", "confirmed", "reschedule_requested", "none")


def add_replies_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "replies",
        parents=[common],
        help="replies patients texted back (pulled from Infobip and Twilio)",
    )
    p.add_argument("--unread", action="store_true", help="only replies not yet handled")
    p.add_argument("--action", choices=REPLY_ACTIONS, help="only replies with this action")
    p.add_argument("--search", default="", metavar="TEXT", help="text, number or name")


def _item(r: ReplyView) -> dict[str, Any]:
    return {
        "from": r.sender,
        "to": r.to,
        "text": r.text,
        "received_at": r.received_at.isoformat(),
        "account": r.account,
        "message_id": r.message_id,
        "action": r.action,
        "detail": r.detail,  # what smsdesk did: opted out, what it cancelled, its answer
        "answer": r.answer or None,  # the template's automatic answer sent back, if any
    }


def _line(r: ReplyView) -> str:
    who = f"{r.name} {r.sender}" if r.name else r.sender
    action = r.action.replace("_", " ") if r.action else "-"
    mark = " " if r.handled else "*"
    return f"{mark} {r.received_at:%Y-%m-%d %H:%M} UTC  {who:<28} {action:<21} {r.text}"


def run_replies(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    from smsdesk.engine.reply_book import ReplyBook

    found = ReplyBook(ctx).replies(unread_only=args.unread, search=args.search, action=args.action)
    text = "\n".join(_line(r) for r in found) or (
        "No unread replies." if args.unread else "No replies yet."
    )
    return [_item(r) for r in found], text


REPLIES_HANDLERS: dict[str, Any] = {"replies": run_replies}
