"""The command line: the same operations as the window, and the headless dispatch agent.

Exit codes: 0 success, 2 invalid input (one line on stderr, nothing stored), 1 other errors.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from smsdesk import __version__
from smsdesk.cli_book import BOOK_HANDLERS, add_book_parsers
from smsdesk.core.clock import Clock
from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.lifecycle import State
from smsdesk.core.phones import split_recipients
from smsdesk.core.timeparse import format_local, parse_when, resolve_zone

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One readable line instead of argparse's usage block.
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            # Name the unknown options, never their values: one may be a key typed where it
            # does not belong, and error output ends up in logs and screenshots.
            words = message.removeprefix(prefix).split()
            unknown = [w.split("=", 1)[0] for w in words if w.startswith("-")]
            message = (
                f"unknown option(s): {' '.join(unknown)}" if unknown else "unexpected arguments"
            )
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")

    p = _Parser(prog="smsdesk", description="Schedule text messages from your desk.")
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

    ls = sub.add_parser("list", parents=[common], help="list messages")
    ls.add_argument("--state", choices=[st.value for st in State])

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

    pr = sub.add_parser("provider", help="provider accounts")
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
    try:
        if args.command in (None, "gui"):
            from smsdesk.ui.app import run_gui

            return run_gui()  # e.g. SMSDESK_HOME naming a file: one line, not a traceback
        return _run(args, clock, stdin or sys.stdin, out)
    except InvalidInput as exc:
        print(f"smsdesk: {exc}", file=err)
        return EXIT_INVALID
    except SmsdeskError as exc:
        print(f"smsdesk: {exc}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, clock: Clock | None, stdin: IO[str], out: IO[str]) -> int:
    from smsdesk.engine.context import AppContext
    from smsdesk.engine.service import Service
    from smsdesk.engine.views import dumps

    ctx = AppContext.open(clock=clock)
    try:
        service = Service(ctx)
        sub = getattr(args, "sub", None)
        handler = _HANDLERS[f"{args.command} {sub}" if sub else args.command]
        result, text = handler(args, service, ctx, stdin)
        print(dumps(result) if args.json else text, file=out)
        if isinstance(result, list) and result and hasattr(result[0], "ok"):
            return EXIT_OK if all(r.ok for r in result) else EXIT_ERROR
        return EXIT_OK
    finally:
        ctx.close()


def _read_text(value: str, stdin: IO[str]) -> str:
    return stdin.read().rstrip("\n") if value == "-" else value


def _zone_name(args: argparse.Namespace, ctx: Any) -> str:
    return resolve_zone(args.tz or ctx.settings.zone).key


def _schedule(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
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
        account=args.provider,
        sender=args.sender,
        group=args.group,
        recipient_local=args.local_time,
    )
    first = result.messages[0].message
    lines = [
        f"Batch {result.batch_id}: {len(result.messages)} message(s) for "
        f"{format_local(first.send_at, resolve_zone(zone))} via {first.provider}"
    ]
    for m in result.messages:
        when = format_local(m.message.send_at, resolve_zone(m.message.zone))
        lines.append(f"  {m.message.id}  {m.message.recipient}  {when}  {m.handling_text}")
        if m.note:
            lines.append(f"      {m.note}")
    lines += [f"  skipped {number}: {why}" for number, why in result.skipped]
    return result, "\n".join(lines)


def _preview(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    p = service.preview(_read_text(args.text, stdin), args.provider)
    text = (
        f"{p.characters} characters, {p.segments} segment(s), {p.encoding}, "
        f"{p.remaining} left in the last segment"
    )
    if p.ucs2_culprits:
        text += "\nForces UCS-2: " + " ".join(repr(c) for c in p.ucs2_culprits)
    if p.server:
        text += f"\n{p.provider} preview: {p.server}"
    return p, text


def _message_line(m: Any) -> str:
    first_line = m.text.splitlines()[0] if m.text else ""
    when = format_local(m.send_at, resolve_zone(m.zone))
    extra = f"  [{m.attention or m.last_error}]" if (m.attention or m.last_error) else ""
    return (
        f"{m.id}  {when}  {m.recipient}  {m.state:<11} {m.where:<17} {m.provider}  "
        f"{first_line[:40]}{extra}"
    )


def _list(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    msgs = service.list_messages(args.state)
    return msgs, "\n".join(_message_line(m) for m in msgs) or "No messages."


def _show(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> tuple[Any, str]:
    msgs = service.show(args.id)
    lines: list[str] = []
    for m in msgs:
        lines.append(_message_line(m))
        lines.append(f"  text: {m.text}")
        lines += [
            f"  {e.at.isoformat(timespec='seconds')}  {e.kind:<12} {e.detail}" for e in m.events
        ]
    return msgs, "\n".join(lines)


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
    print("smsdesk dispatch: running; press Ctrl+C to stop", file=sys.stderr)
    dispatcher.run_forever(stop)
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
    lines = [
        f"{'*' if a.is_default else ' '} {a.name:<20} {a.kind:<8} {a.base_url or ''}"
        for a in accounts
    ]
    return accounts, "\n".join(lines)


def _provider_test(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    detail = service.test_account(args.name)
    return {"name": args.name, "ok": True, "detail": detail}, f"OK: {detail}"


def _provider_remove(
    args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]
) -> tuple[Any, str]:
    service.remove_account(args.name)
    return {"name": args.name, "removed": True}, f"Removed '{args.name}'."


_HANDLERS: dict[str, Any] = {
    **BOOK_HANDLERS,
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
