"""The command line: the same operations as the window, and the headless dispatch agent.

Exit codes: 0 success, 2 invalid input (one line on stderr, nothing stored), 1 other errors.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from smsdesk import __version__
from smsdesk.cli_backup import BACKUP_COMMANDS, add_backup_parsers, run_backup
from smsdesk.cli_book import BOOK_HANDLERS, add_book_parsers
from smsdesk.cli_replies import REPLIES_HANDLERS, add_replies_parser
from smsdesk.cli_series import SERIES_HANDLERS, add_series_parsers
from smsdesk.cli_text import capabilities, message_detail, message_table
from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput, NotFound, SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.phones import split_recipients
from smsdesk.core.text_checks import bidi_warning
from smsdesk.core.timeparse import parse_when, resolve_zone
from smsdesk.engine.plan import plan_details, plan_headline

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2
LIST_LIMIT = 500  # rows ``list`` prints unless told otherwise; it says when there are more


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    _seen: list[str]

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Kept so that an error can name an unknown option (see ``error``).
        self._seen = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # Named with the command they were given to: its --help lists what it takes.
            words = [getattr(parsed, "command", None), getattr(parsed, "sub", None)]
            prog = " ".join([self.prog, *[w for w in words if isinstance(w, str)]])
            raise _UsageError(f"{_unknown_text(extras)} (see '{prog} --help')")
        return parsed

    def error(self, message: str) -> NoReturn:
        # One readable line instead of argparse's usage block. An unknown option comes
        # first: "--txt" is a typo to point at, not a missing --text.
        unknown = self._unknown_options()
        if message.startswith("unrecognized arguments: ") or unknown:
            message = _unknown_text(unknown or message.split(": ", 1)[1].split())
        raise _UsageError(f"{message} (see '{self.prog} --help')")

    def _unknown_options(self) -> list[str]:
        """The option-like words given to this parser that it does not know."""
        known = [o for o in self._option_string_actions if o.startswith("--")]
        found: list[str] = []
        for word in getattr(self, "_seen", []):
            if word == "--":
                break
            name = word.split("=", 1)[0]
            if not name.startswith("-") or name == "-" or _is_number(name):
                continue
            if name in self._option_string_actions:
                continue
            if name.startswith("--") and any(o.startswith(name) for o in known):
                continue  # an abbreviation argparse accepts
            found.append(name)
        return found


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _unknown_text(words: Sequence[str]) -> str:
    # Name the unknown options, never their values: one may be a key typed where it does
    # not belong, and error output ends up in logs and screenshots.
    unknown = [w.split("=", 1)[0] for w in words if w.startswith("-")]
    return f"unknown option(s): {' '.join(unknown)}" if unknown else "unexpected arguments"


def _count(value: str) -> int:
    """A whole number, 0 or more (for --limit and --offset)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"'{value}' is below 0")
    return number


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    # Accepted before or after the command: no default, so that a later parser's "not
    # given" cannot undo an earlier one's "given" (read with getattr in main).
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument(
        "--passphrase-fd",
        type=int,
        default=argparse.SUPPRESS,
        metavar="N",
        help="read the key file's passphrase from open file descriptor N (for services)",
    )

    p = _Parser(
        prog="smsdesk", description="Schedule text messages from your desk.", parents=[common]
    )
    p.add_argument("--version", action="version", version=f"smsdesk {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    sub.add_parser("gui", help="open the window (the default)")

    s = sub.add_parser("schedule", parents=[common], help="schedule a message")
    s.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="NUMBER",
        help="recipient; repeat, or separate with commas",
    )
    s.add_argument("--group", metavar="GROUP", help="every contact in this group")
    body = s.add_mutually_exclusive_group(required=True)
    body.add_argument(
        "--text", help="message text, may use {first_name|there} ('-' reads standard input)"
    )
    body.add_argument("--template", metavar="NAME", help="a saved template")
    s.add_argument(
        "--local-time",
        action="store_true",
        help="send at WHEN's wall-clock time in each recipient's own time zone",
    )
    s.add_argument(
        "--at",
        required=True,
        metavar="WHEN",
        help="ISO 8601 with offset, or local 'YYYY-MM-DD HH:MM' in --tz",
    )
    s.add_argument("--tz", metavar="ZONE", help="IANA time zone for a local WHEN")
    s.add_argument("--provider", metavar="ACCOUNT", help="provider account (default: default)")
    s.add_argument("--from", dest="sender", metavar="SENDER", help="sender number or name")

    pv = sub.add_parser("preview", parents=[common], help="count characters and segments")
    pv.add_argument("--text", required=True, help="message text ('-' reads standard input)")
    pv.add_argument("--provider", metavar="ACCOUNT")

    ls = sub.add_parser("list", parents=[common], help="list messages by send time")
    ls.add_argument("--state", choices=[st.value for st in State])
    ls.add_argument(
        "--limit",
        type=_count,
        default=LIST_LIMIT,
        metavar="N",
        help=f"at most N messages (default {LIST_LIMIT}; 0 for all)",
    )
    ls.add_argument(
        "--offset", type=_count, default=0, metavar="N", help="skip the first N messages"
    )

    sh = sub.add_parser("show", parents=[common], help="a message or batch with its history")
    sh.add_argument("id", metavar="MESSAGE_OR_BATCH_ID")

    rs = sub.add_parser("reschedule", parents=[common], help="move a message or batch")
    rs.add_argument("id", metavar="MESSAGE_OR_BATCH_ID")
    rs.add_argument("--at", required=True, metavar="WHEN")
    rs.add_argument("--tz", metavar="ZONE")

    cn = sub.add_parser("cancel", parents=[common], help="cancel a message or batch")
    cn.add_argument("id", metavar="MESSAGE_OR_BATCH_ID")

    rt = sub.add_parser(
        "retry", parents=[common], help="send a failed (or unconfirmed) message again"
    )
    rt.add_argument("id", metavar="MESSAGE_OR_BATCH_ID")

    dp = sub.add_parser("dispatch", parents=[common], help="run the engine without a window")
    dp.add_argument("--once", action="store_true", help="one full pass, then exit")

    pr = sub.add_parser("provider", parents=[common], help="provider accounts")
    prs = pr.add_subparsers(dest="sub", required=True, parser_class=_Parser)
    pa = prs.add_parser("add", parents=[common], help="add an account (API key from stdin)")
    pa.add_argument("name")
    pa.add_argument("--kind", required=True)
    pa.add_argument("--base-url")
    pa.add_argument("--sender")
    pa.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="provider-specific setting, e.g. region=EU (never a secret)",
    )
    pa.add_argument("--default", action="store_true", help="make it the default account")
    prs.add_parser("list", parents=[common], help="accounts and their capabilities")
    pt = prs.add_parser("test", parents=[common], help="check an account's credentials")
    pt.add_argument("name")
    prm = prs.add_parser("remove", parents=[common], help="remove an account and its key")
    prm.add_argument("name")
    add_book_parsers(sub, common)
    add_backup_parsers(sub, common)
    add_series_parsers(sub, common)
    add_replies_parser(sub, common)
    from smsdesk.cli_doctor import add_doctor_parser

    add_doctor_parser(sub, common)
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    clock: Clock | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(f"smsdesk: {exc}", file=err)
        return EXIT_INVALID
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    args.json = getattr(args, "json", False)
    try:
        return _main(args, clock, stdin, out, err)
    except BrokenPipeError:
        # The reader went away (``smsdesk list | head``): stop quietly. Later writes to
        # that stream, Python's own flush at exit included, go nowhere.
        if out is sys.stdout:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


def _main(
    args: argparse.Namespace,
    clock: Clock | None,
    stdin: IO[str] | None,
    out: IO[str],
    err: IO[str],
) -> int:
    try:
        if getattr(args, "passphrase_fd", None) is not None:
            from smsdesk.engine.key_place import passphrase_from_fd, set_passphrase_prompt

            set_passphrase_prompt(passphrase_from_fd(args.passphrase_fd))
        if args.command in (None, "gui"):
            from smsdesk.ui.app import run_gui

            return run_gui()  # e.g. SMSDESK_HOME naming a file: one line, not a traceback
        if args.command in BACKUP_COMMANDS:  # without opening storage: it may be damaged
            return run_backup(args, clock, out, stdin or sys.stdin)
        if args.command == "doctor":  # checks storage before opening it: it may be damaged
            from smsdesk.cli_doctor import run_doctor

            return run_doctor(args, clock, out)
        return _run(args, clock, stdin or sys.stdin, out, err)
    except InvalidInput as exc:
        print(f"smsdesk: {exc}", file=err)
        return EXIT_INVALID
    except SmsdeskError as exc:
        print(f"smsdesk: {exc}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _run(
    args: argparse.Namespace, clock: Clock | None, stdin: IO[str], out: IO[str], err: IO[str]
) -> int:
    from smsdesk.engine.context import AppContext
    from smsdesk.engine.service import Service
    from smsdesk.engine.views import dumps

    ctx = AppContext.open(clock=clock)
    try:
        service = Service(ctx)
        sub = getattr(args, "sub", None)
        handler = _HANDLERS[f"{args.command} {sub}" if sub else args.command]
        # A handler may add notes for standard error (e.g. "more messages exist").
        result, text, *notes = handler(args, service, ctx, stdin)
        print(dumps(result) if args.json else text, file=out)
        out.flush()  # a closed pipe is noticed here, not at exit
        for note in notes:
            print(f"smsdesk: {note}", file=err)
        if isinstance(result, list) and result and hasattr(result[0], "ok"):
            return EXIT_OK if all(r.ok for r in result) else EXIT_ERROR
        return EXIT_OK
    finally:
        ctx.close()


def _account_name(service: Any, given: str | None) -> str | None:
    """The account the user meant: its exact name, or the one name equal but for case."""
    if given is None:
        return None
    names: list[str] = [a.name for a in service.list_accounts()]
    if given in names:
        return given
    alike = [n for n in names if n.casefold() == given.strip().casefold()]
    if len(alike) == 1:
        return alike[0]
    if alike:
        raise InvalidInput(
            f"'{given}' matches the accounts {', '.join(alike)}; give the exact name.",
            field="provider",
        )
    known = f"the accounts are: {', '.join(names)}" if names else "none is set up"
    raise NotFound(f"No provider account named '{given}'; {known}.", field="provider")


def _read_text(value: str, stdin: IO[str]) -> str:
    return stdin.read().rstrip("\n") if value == "-" else value


def _zone_name(args: argparse.Namespace, ctx: Any) -> str:
    return resolve_zone(args.tz or ctx.settings.zone).key


def _schedule(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, ...]:
    zone = _zone_name(args, ctx)
    send_at = parse_when(args.at, resolve_zone(zone))
    recipients = [n for raw in args.to for n in split_recipients(raw)]
    if not recipients and not args.group:
        raise InvalidInput("Give --to NUMBER or --group GROUP.", field="recipients")
    if args.template:
        from smsdesk.engine.contacts import ContactBook

        text = ContactBook(ctx).template(args.template).text
    else:
        text = _read_text(args.text, stdin)
    result = service.schedule(
        recipients,
        text,
        send_at,
        zone,
        account=_account_name(service, args.provider),
        sender=args.sender,
        group=args.group,
        recipient_local=args.local_time,
    )
    # The same plan the window shows before Schedule, rendered the same way.
    plan = result.plan
    assert plan is not None  # schedule() always returns the plan it stored from
    lines = [f"Batch {result.batch_id} via {plan.account}: {plan_headline(plan)}"]
    lines += [f"  {line}" for line in plan_details(plan)]
    lines += [f"  {m.message.id}  {m.message.recipient}" for m in result.messages]
    warning = bidi_warning(text)  # stored as typed, but the user should know
    return (result, "\n".join(lines), *([warning] if warning else []))


def _preview(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    p = service.preview(_read_text(args.text, stdin), _account_name(service, args.provider))
    text = (
        f"{p.characters} characters, {p.segments} segment(s), {p.encoding}, "
        f"{p.remaining} left in the last segment"
    )
    if p.ucs2_culprits:
        text += "\nForces UCS-2: " + " ".join(repr(c) for c in p.ucs2_culprits)
    if p.server:
        text += f"\n{p.provider} preview: {p.server}"
    return p, text


def _list(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, ...]:
    limit = args.limit or None  # 0: all of them
    msgs = service.list_messages(args.state, limit=limit, offset=args.offset)
    total = len(msgs) + args.offset
    if (limit is not None and len(msgs) == limit) or (args.offset and not msgs):
        total = service.messages.count_messages(args.state)
    notes = []
    if total > args.offset + len(msgs):
        shown = f"{args.offset + 1}–{args.offset + len(msgs)}" if msgs else "none"
        notes.append(
            f"showing messages {shown} of {total:,}; the next ones with "
            f"--offset {args.offset + len(msgs)}, or all with --limit 0"
        )
    if msgs:
        text = "\n".join(message_table(msgs, ctx.settings.zone))
    elif args.offset and total:
        text = f"No messages after the first {args.offset:,}; there are {total:,}."
    else:
        text = "No messages."
    return (msgs, text, *notes)


def _show(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    msgs = service.show(args.id)
    zone = ctx.settings.zone
    return msgs, "\n".join(line for m in msgs for line in message_detail(m, zone))


def _results(results: list[Any]) -> str:
    return "\n".join(
        f"{r.id}  {'ok' if r.ok else 'not done'}  {r.state}: {r.detail}" for r in results
    )


def _reschedule(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    send_at = parse_when(args.at, resolve_zone(_zone_name(args, ctx)))
    results = service.reschedule(args.id, send_at)
    return results, _results(results)


def _cancel(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    results = service.cancel(args.id)
    return results, _results(results)


def _retry(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    results = service.retry(args.id)
    return results, _results(results)


def _dispatch(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    from smsdesk.engine.outbox import Dispatcher

    dispatcher = Dispatcher(ctx)
    # SIGTERM and Ctrl+C end the pass between two requests: the claim is given back and
    # every message is left where the next start picks it up (queued, or to be asked about).
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.once:
        report = dispatcher.run_once(stop)
        parts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.as_dict().items())
        return report, f"Dispatch pass: {parts}"
    import time

    from smsdesk.engine.installed import (
        AGENT_LOOKS_EVERY_S,
        InstallWatch,
        WaitOrRestart,
        exec_newer,
        program_dir,
    )

    print("smsdesk dispatch: running; press Ctrl+C to stop", file=sys.stderr)
    # An upgrade installs the new version beside this one; between two passes the agent
    # becomes it (same process, same arguments) instead of running the old one for weeks.
    wait = WaitOrRestart(stop, InstallWatch(program_dir(), AGENT_LOOKS_EVERY_S, time.monotonic))
    dispatcher.run_forever(stop, wait=wait)
    if wait.newer is not None:
        print(
            f"smsdesk dispatch: version {wait.newer.installed} is installed; restarting into it",
            file=sys.stderr,
        )
        sys.stderr.flush()
        ctx.close()  # nothing of this process's storage is carried into the new one
        exec_newer(wait.newer, sys.argv[1:])
    return {"stopped": True}, "Dispatch stopped."


def _read_key(stdin: IO[str]) -> str:
    # Never from the command line: argument lists are visible to other users.
    if stdin.isatty():
        return getpass.getpass("API key: ")
    return stdin.readline().strip()


def _provider_add(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    options: dict[str, object] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--option '{item}' is not KEY=VALUE.", field="option")
        options[key.strip()] = value.strip()
    needs_key = service.accounts.needs_key(args.kind)
    api_key = _read_key(stdin) if needs_key else None
    acct = service.add_account(
        args.name,
        args.kind,
        api_key=api_key,
        base_url=args.base_url,
        sender=args.sender,
        options=options,
        make_default=args.default,
    )
    return acct, f"Added {acct.kind} account '{acct.name}'" + (
        "; its API key is in the system keyring." if needs_key else "."
    )


def _provider_list(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    accounts = service.list_accounts()
    lines = []
    for a in accounts:
        lines.append(
            f"{'*' if a.is_default else ' '} {a.name:<20} {a.kind:<8} {a.base_url or ''}".rstrip()
        )
        lines += [f"    {line}" for line in capabilities(a.capabilities)]
        lines.append(f"    replies:        {a.replies}")
    if accounts:
        lines.append("* the default account")
    return accounts, "\n".join(lines)


def _provider_test(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    name = _account_name(service, args.name)
    detail = service.test_account(name)
    return {"name": name, "ok": True, "detail": detail}, f"OK: {detail}"


def _provider_remove(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    name = _account_name(service, args.name)
    service.remove_account(name)
    return {"name": name, "removed": True}, f"Removed '{name}'."


_HANDLERS: dict[str, Any] = {
    **BOOK_HANDLERS,
    **SERIES_HANDLERS,
    **REPLIES_HANDLERS,
    "schedule": _schedule,
    "preview": _preview,
    "list": _list,
    "show": _show,
    "reschedule": _reschedule,
    "cancel": _cancel,
    "retry": _retry,
    "dispatch": _dispatch,
    "provider add": _provider_add,
    "provider list": _provider_list,
    "provider test": _provider_test,
    "provider remove": _provider_remove,
}
