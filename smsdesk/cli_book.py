"""Command-line parts for the contact book: contacts, opt-outs, templates, reminders,
history export and settings. Registered by smsdesk.cli."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Any

from smsdesk.cli_template_replies import (
    add_reply_rule_options,
    reply_rules_of,
    reply_rules_text,
)
from smsdesk.core.errors import InvalidInput, StorageError

Handler = Any


def add_book_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    c = sub.add_parser("contacts", help="contacts and groups")
    cs = c.add_subparsers(dest="sub", required=True, parser_class=type(c))
    imp = cs.add_parser("import", parents=[common], help="import contacts from a CSV file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--group", help="also put every imported contact in this group")
    imp.add_argument("--dry-run", action="store_true", help="show what would be imported")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="which column holds a field, e.g. number='Mobile phone'",
    )
    imp.add_argument(
        "--save-rejected",
        type=Path,
        metavar="FILE",
        help="write the rows that cannot be imported, with why, to this CSV file to fix",
    )
    ls = cs.add_parser("list", parents=[common], help="list contacts")
    ls.add_argument("--group")
    ls.add_argument("--search", default="")
    add = cs.add_parser("add", parents=[common], help="add or update a contact")
    add.add_argument("number")
    add.add_argument("--name", default="")
    add.add_argument("--zone", help="IANA time zone (default: guessed from the number)")
    add.add_argument("--field", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--group", action="append", default=[])
    rm = cs.add_parser("remove", parents=[common], help="remove a contact")
    rm.add_argument("number")
    exp = cs.add_parser("export", parents=[common], help="write all contacts to a CSV file")
    exp.add_argument("file", type=Path)
    cs.add_parser("groups", parents=[common], help="groups and their sizes")

    h = sub.add_parser("history", help="message history")
    hs = h.add_subparsers(dest="sub", required=True, parser_class=type(h))
    hexp = hs.add_parser("export", parents=[common], help="every message as CSV, for audit")
    hexp.add_argument("file", type=Path)

    o = sub.add_parser("optout", help="numbers that must not be messaged")
    os_ = o.add_subparsers(dest="sub", required=True, parser_class=type(o))
    oa = os_.add_parser("add", parents=[common], help="stop messaging a number")
    oa.add_argument("number")
    oa.add_argument("--source", default="manual", help="why, e.g. 'replied STOP'")
    orm = os_.add_parser("remove", parents=[common], help="the number opted back in")
    orm.add_argument("number")
    os_.add_parser("list", parents=[common], help="every opted-out number")

    t = sub.add_parser("template", help="saved message templates")
    ts = t.add_subparsers(dest="sub", required=True, parser_class=type(t))
    tsave = ts.add_parser("save", parents=[common], help="save a template")
    tsave.add_argument("name")
    tsave.add_argument("--text", required=True, help="e.g. 'Hi {first_name|there}, ...'")
    add_reply_rule_options(tsave)
    ts.add_parser("list", parents=[common], help="saved templates")
    tshow = ts.add_parser("show", parents=[common], help="one template and its warnings")
    tshow.add_argument("name")
    trm = ts.add_parser("remove", parents=[common], help="delete a template")
    trm.add_argument("name")

    r = sub.add_parser("reminders", help="appointment reminders")
    rs = r.add_subparsers(dest="sub", required=True, parser_class=type(r))
    ri = rs.add_parser(
        "import",
        parents=[common],
        help="create, move or cancel reminders from an .ics or .csv file",
    )
    ri.add_argument("file", type=Path)
    ri.add_argument("--offsets", default="48h,2h", help="before the appointment (default 48h,2h)")
    body = ri.add_mutually_exclusive_group(required=True)
    body.add_argument("--template", metavar="NAME", help="a saved template")
    body.add_argument("--text", help="e.g. 'Hi {first_name|there}, see you {appt_time:%%H:%%M}'")
    ri.add_argument("--source", help="the calendar's name (default: the file's name)")
    ri.add_argument("--provider", metavar="ACCOUNT")
    ri.add_argument("--from", dest="sender", metavar="SENDER")
    ri.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="a CSV's column for a field (number, name, start, date, time, uid, location, "
        "zone, status), e.g. number='Mobile phone'",
    )
    ri.add_argument(
        "--date-order",
        choices=["dmy", "mdy"],
        help="how a CSV writes 12/03/2026 (default: the region's; mdy in the US)",
    )
    ri.add_argument(
        "--dry-run", action="store_true", help="show what would be created, moved or cancelled"
    )

    st = sub.add_parser("settings", parents=[common], help="show or change settings")
    st.add_argument("--zone", help="IANA time zone ('' for the system's)")
    st.add_argument("--region", help="default country for numbers without +, e.g. GB")
    st.add_argument("--quiet-hours", metavar="HH:MM-HH:MM", help="e.g. 21:00-08:00")
    st.add_argument("--quiet-mode", choices=["move", "refuse", "off"])
    st.add_argument(
        "--catch-up-grace",
        type=int,
        metavar="MINUTES",
        help="held messages that came due while smsdesk was closed go out if this late at most",
    )
    st.add_argument(
        "--reply-days",
        type=int,
        metavar="DAYS",
        help="a reply answers the last message sent to that number at most this many days before",
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.", field="file") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise StorageError(f"Cannot write {path}: {exc.strerror}.") from None


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{what} '{item}' is not KEY=VALUE.", field="option")
        out[key.strip()] = value.strip()
    return out


def _book(ctx: Any) -> Any:
    from smsdesk.engine.contacts import ContactBook

    return ContactBook(ctx)


def _no_number_column(columns: list[str], candidates: list[str]) -> InvalidInput:
    listed = ", ".join(c for c in columns if c) or "none"
    example = next(iter(candidates), "Mobile")
    quoted = f"'{example}'" if " " in example else example
    return InvalidInput(
        f"The file has no column smsdesk recognises as phone numbers; name it with "
        f"--map number=COLUMN, e.g. --map number={quoted} (its columns are: {listed}).",
        field="mapping",
    )


def _contacts_import(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    from smsdesk.core.contacts_csv import NoNumberColumn

    book = _book(ctx)
    try:
        preview = book.preview_import(_read(args.file), mapping=_pairs(args.map, "--map") or None)
    except NoNumberColumn as exc:
        raise _no_number_column(exc.columns, exc.candidates) from None
    if args.save_rejected is not None and preview.rejected:
        _write(args.save_rejected, book.rejected_csv(preview))
    if preview.rejected and not preview.accepted:
        # Nothing could be imported: a refusal (exit 2), not a success that stored nothing.
        first = preview.rejected[0]
        raise InvalidInput(
            f"{args.file.name}: all {len(preview.rejected)} rows were refused, nothing was "
            f"stored (line {first.line}: {first.reason}).",
            field="file",
        )
    lines = [
        f"{args.file.name}: {preview.accepted} accepted ({preview.repaired} repaired), "
        f"{len(preview.rejected)} rejected, {preview.merged} duplicates merged",
        "Columns: " + ", ".join(f"{f} <- {c}" for f, c in preview.mapping.items()),
    ]
    lines += [
        f"  line {r.line}" + (f" ({r.name})" if r.name else "") + f": {r.reason}"
        for r in preview.rejected[:20]
    ]
    if len(preview.rejected) > 20:
        lines.append(f"  ... and {len(preview.rejected) - 20} more rejected")
    if args.save_rejected is not None and preview.rejected:
        lines.append(f"Rejected rows written to {args.save_rejected}, with why, to fix.")
    if args.dry_run:
        return {
            "dry_run": True,
            "accepted": preview.accepted,
            "repaired": preview.repaired,
            "rejected": [r.__dict__ for r in preview.rejected],
            "merged": preview.merged,
        }, "\n".join([*lines, "Nothing was written (--dry-run)."])
    summary = book.commit_import(preview, group=args.group)
    lines.append(
        f"Added {summary.added}, updated {summary.updated}"
        + (f", all in group '{args.group}'" if args.group else "")
        + "."
    )
    return summary, "\n".join(lines)


def _contacts_list(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    contacts = _book(ctx).list_contacts(args.search, args.group)
    lines = [
        f"{c.number:<16} {c.name:<24} {c.zone or '-':<20} {', '.join(c.groups)}"
        + (f"  [opted out: {c.opt_out_source}]" if c.opted_out_at else "")
        for c in contacts
    ]
    return contacts, "\n".join(lines) or "No contacts."


def _contacts_add(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    view = _book(ctx).save_contact(
        args.number,
        name=args.name,
        zone=args.zone,
        fields=_pairs(args.field, "--field"),
        groups=args.group,
    )
    return view, f"Saved {view.number} ({view.name or 'no name'}, {view.zone or 'zone unknown'})."


def _contacts_remove(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    _book(ctx).delete_contact(args.number)
    return {"removed": args.number}, f"Removed {args.number}."


def _contacts_export(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    return _exported(args.file, _book(ctx).export_contacts_csv(), "contacts")


def _contacts_groups(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    groups = _book(ctx).groups()
    return [{"name": n, "members": c} for n, c in groups], "\n".join(
        f"{n}: {c}" for n, c in groups
    ) or "No groups."


def _history_export(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    return _exported(args.file, _book(ctx).export_history_csv(), "messages")


def _exported(path: Path, text: str, what: str) -> Any:
    """Write an export and say how many rows it holds (the header row aside)."""
    _write(path, text)
    rows = max(text.count("\n") - 1, 0)
    return {"file": str(path), "rows": rows}, f"Wrote {rows} {what} to {path}."


def _optout_add(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    entry = _book(ctx).opt_out(args.number, args.source)
    return {"number": entry.number, "at": entry.at.isoformat(), "source": entry.source}, (
        f"{entry.number} will not be messaged ({entry.source})."
    )


def _optout_remove(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    _book(ctx).opt_in(args.number)
    return {"number": args.number, "opted_in": True}, f"{args.number} may be messaged again."


def _optout_list(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    entries = _book(ctx).list_opt_outs()
    data = [{"number": e.number, "at": e.at.isoformat(), "source": e.source} for e in entries]
    return data, "\n".join(f"{e.number}  {e.at:%Y-%m-%d}  {e.source}" for e in entries) or (
        "Nobody has opted out."
    )


def _template_text(view: Any) -> str:
    text = f"{view.name}: {view.text}"
    if view.fields:
        text += "\n  fields: " + ", ".join(view.fields)
    return text + reply_rules_text(view) + "".join(f"\n  warning: {w}" for w in view.warnings)


def _template_save(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    rules = reply_rules_of(args, _book(ctx))
    view = _book(ctx).save_template(args.name, args.text, rules)
    return view, "Saved " + _template_text(view)


def _template_list(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    views = _book(ctx).templates()
    return views, "\n".join(_template_text(v) for v in views) or "No templates."


def _template_show(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    view = _book(ctx).template(args.name)
    return view, _template_text(view)


def _template_remove(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    _book(ctx).delete_template(args.name)
    return {"removed": args.name}, f"Removed template '{args.name}'."


def _reminders_import(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    """Exit 0 when anything was created (refused rows listed), 2 when nothing could be."""
    from smsdesk.core.appointments import parse_offsets
    from smsdesk.engine.reminder_plan import ImportRequest, kind_of
    from smsdesk.engine.reminders import Reminders

    offsets = parse_offsets(args.offsets)
    text = _book(ctx).template(args.template).text if args.template else args.text
    request = ImportRequest(
        _read(args.file),
        kind_of(args.file.name),
        tuple(offsets),
        text,
        args.source or args.file.stem,
        account=args.provider,
        sender=args.sender,
        mapping=_pairs(args.map, "--map") or None,
        date_order=args.date_order,
    )
    reminders = Reminders(service)
    if args.dry_run:
        plan = reminders.plan(request)
        lines = [
            f"{plan.appointments} appointment(s): {len(plan.create)} reminder(s) to create, "
            f"{len(plan.move)} to move, {len(plan.cancel)} to cancel, {plan.unchanged} unchanged"
        ]
        lines += [f"  create: {r.text()} at {r.when}" + _note(r.note) for r in plan.create]
        lines += [f"  move: {r.text()} from {r.previous} to {r.when}" for r in plan.move]
        lines += [f"  cancel: {r.text()} ({r.previous})" for r in plan.cancel]
        lines += [f"  no reminder (too late): {r.text()}" for r in plan.too_late]
        lines += [f"  not possible: {r.text()}: {r.note}" for r in plan.not_possible]
        lines += [f"  refused line {r.line} ({r.who}): {r.reason}" for r in plan.refused]
        lines.append("Nothing was written (--dry-run).")
        return {
            "dry_run": True,
            "appointments": plan.appointments,
            "create": plan.create,
            "move": plan.move,
            "cancel": plan.cancel,
            "unchanged": plan.unchanged,
            "too_late": plan.too_late,
            "not_possible": plan.not_possible,
            "refused": plan.refused,
        }, "\n".join(lines)
    summary = reminders.apply(request)
    lines = [
        f"{summary.appointments} appointment(s): {summary.created} reminder(s) created, "
        f"{summary.moved} moved, {summary.cancelled} cancelled, {summary.unchanged} unchanged"
    ]
    lines += [f"  no reminder (too late): {t}" for t in summary.too_late]
    lines += [f"  not possible: {t}" for t in summary.not_possible]
    lines += [f"  refused line {r.line} ({r.raw}): {r.reason}" for r in summary.rejected]
    lines += [f"  could not change: {f}" for f in summary.failed]
    return summary, "\n".join(lines)


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _settings(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    changes = (
        args.zone,
        args.region,
        args.quiet_hours,
        args.quiet_mode,
        args.catch_up_grace,
        args.reply_days,
    )
    if any(v is not None for v in changes):
        service.update_settings(
            zone=args.zone,
            default_region=args.region,
            quiet_hours=args.quiet_hours,
            quiet_mode=args.quiet_mode,
            catch_up_grace_minutes=args.catch_up_grace,
            reply_match_days=args.reply_days,
        )
    s = service.settings()
    text = (
        f"time zone: {s.zone or 'the system’s'}\ndefault region: {s.default_region or 'none'}\n"
        f"quiet hours: {s.quiet_start}-{s.quiet_end} recipient-local ({s.quiet_mode})\n"
        f"catch-up grace: {s.catch_up_grace_minutes} minutes\n"
        f"replies answer messages up to {s.reply_match_days} days old"
    )
    return s, text


BOOK_HANDLERS: dict[str, Handler] = {
    "contacts import": _contacts_import,
    "contacts list": _contacts_list,
    "contacts add": _contacts_add,
    "contacts remove": _contacts_remove,
    "contacts export": _contacts_export,
    "contacts groups": _contacts_groups,
    "history export": _history_export,
    "optout add": _optout_add,
    "optout remove": _optout_remove,
    "optout list": _optout_list,
    "template save": _template_save,
    "template list": _template_list,
    "template show": _template_show,
    "template remove": _template_remove,
    "reminders import": _reminders_import,
    "settings": _settings,
}
