"""Command-line parts for recurring series: ``smsdesk series add|list|show|edit|pause|resume|
cancel|skip``. Registered by smsdesk.cli."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import date
from typing import IO, Any

from smsdesk.core.errors import InvalidInput, NotFound
from smsdesk.core.timeparse import format_local, parse_when, resolve_zone

Handler = Any
_REPEAT_HELP = (
    "an RRULE (FREQ=WEEKLY;BYDAY=MO) or a preset: daily, weekdays, weekly, monthly, yearly"
)


def add_series_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("series", help="recurring messages")
    ps = p.add_subparsers(dest="sub", required=True, parser_class=type(p))
    add = ps.add_parser("add", parents=[common], help="start a recurring message")
    _timing(add, required=True)
    _who(add)
    body = add.add_mutually_exclusive_group(required=True)
    body.add_argument("--text", help="message text, may use {first_name|there}")
    body.add_argument("--template", metavar="NAME", help="a saved template")
    ps.add_parser("list", parents=[common], help="every series and its next occurrence")
    show = ps.add_parser("show", parents=[common], help="a series and its occurrences")
    show.add_argument("id")
    show.add_argument("--next", type=int, default=10, metavar="N", help="occurrences ahead")
    edit = ps.add_parser("edit", parents=[common], help="change a series from now on")
    edit.add_argument("id")
    _timing(edit, required=False)
    _who(edit)
    edit.add_argument("--text")
    edit.add_argument(
        "--starting",
        metavar="DATE",
        help="change only the occurrences from this local date on (splits the series)",
    )
    for name, what in (
        ("pause", "stop for now"),
        ("resume", "go on from now"),
        ("cancel", "end it (history stays)"),
    ):
        one = ps.add_parser(name, parents=[common], help=f"{what}")
        one.add_argument("id")
    skip = ps.add_parser("skip", parents=[common], help="no occurrence on one date")
    skip.add_argument("id")
    skip.add_argument("--on", required=True, metavar="DATE", help="YYYY-MM-DD, local")


def _timing(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--repeat", required=required, metavar="RULE", help=_REPEAT_HELP)
    p.add_argument(
        "--at",
        required=required,
        metavar="WHEN",
        help="the first occurrence: local 'YYYY-MM-DD HH:MM' in --tz, or ISO 8601 with offset",
    )
    p.add_argument("--tz", metavar="ZONE", help="the series' IANA time zone")
    ends = p.add_mutually_exclusive_group()
    ends.add_argument("--until", metavar="DATE", help="last date (YYYY-MM-DD), local")
    ends.add_argument("--count", type=int, metavar="N", help="end after N occurrences")
    p.add_argument(
        "--skip-holidays", metavar="COUNTRY[-SUBDIV]", help="skip public holidays, e.g. GB, US-CA"
    )
    p.add_argument("--except", dest="excepted", metavar="DATE,…", help="dates to skip")
    p.add_argument(
        "--month-end",
        choices=["skip", "clamp"],
        help="a month without the day (the 31st, 29 Feb): skip it or use the month's last day",
    )


def _who(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", action="append", default=[], metavar="NUMBER", help="recipient; repeat")
    p.add_argument("--group", help="a group, its members as they are at each occurrence")
    p.add_argument("--contact", metavar="NAME_OR_NUMBER", help="one contact")
    p.add_argument("--provider", metavar="ACCOUNT")
    p.add_argument("--from", dest="sender", metavar="SENDER")


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date (YYYY-MM-DD).", field=field) from None


def _dates(value: str | None) -> tuple[date, ...]:
    if not value:
        return ()
    return tuple(_date(v, "except") for v in value.split(",") if v.strip())


def _contact_id(service: Any, given: str | None) -> int | None:
    if not given:
        return None
    book = service.contact_book()
    found = [c for c in book.list_contacts(search=given) if given in (c.name, c.number)]
    if not found:
        try:
            number = book.normalize(given)
        except InvalidInput:
            number = ""
        found = [c for c in book.list_contacts(search=given) if c.number == number]
    if len(found) != 1:
        why = "no contact" if not found else f"{len(found)} contacts"
        raise NotFound(f"'{given}' names {why}; give the contact's number.", field="contact")
    return int(found[0].id)


def _request(args: argparse.Namespace, service: Any, ctx: Any, base: Any) -> Any:
    """The series request from the options, on top of ``base`` (edit) or anew (add)."""
    from smsdesk.engine.series import SeriesRequest

    zone = resolve_zone(args.tz or (base.zone if base else None) or ctx.settings.zone).key
    changes: dict[str, Any] = {"zone": zone}
    if args.at:
        changes["start"] = parse_when(args.at, resolve_zone(zone))
    if args.repeat:
        changes["rule"] = args.repeat
    if args.until:
        changes["until"], changes["count"] = _date(args.until, "until"), None
    if args.count is not None:
        changes["count"], changes["until"] = args.count, None
    if args.skip_holidays is not None:
        changes["holidays"] = args.skip_holidays or None
    if args.excepted is not None:
        changes["exceptions"] = _dates(args.excepted)
    if args.month_end:
        changes["month_end"] = args.month_end
    if args.to or args.group or args.contact:
        numbers = tuple(n.strip() for raw in args.to for n in raw.split(",") if n.strip())
        changes.update(
            numbers=numbers, group=args.group, contact_id=_contact_id(service, args.contact)
        )
    if args.provider:
        changes["account"] = args.provider
    if args.sender:
        changes["sender"] = args.sender
    text = getattr(args, "text", None)
    if getattr(args, "template", None):
        text = service.contact_book().template(args.template).text
    if text is not None:
        changes["text"] = text
    if base is not None:
        return replace(base, **changes)
    if not (args.to or args.group or args.contact):
        raise InvalidInput("Give --to NUMBER, --group GROUP or --contact.", field="recipients")
    return SeriesRequest(**changes)


def _book(service: Any) -> Any:
    from smsdesk.engine.series import SeriesBook

    return SeriesBook(service)


def _occurrence_line(o: Any, zone: str) -> str:
    if o.status == "skipped":
        return f"  {o.when}  skipped: {o.skipped_because}"
    utc = o.send_at.strftime("%Y-%m-%d %H:%M UTC") if o.send_at else ""
    state = f" ({', '.join(sorted(set(o.states)))})" if o.states else ""
    moved = f" - {o.moved}" if o.moved else ""
    return f"  {o.when}  [{utc}]  {o.status}{state}{moved}"


def _summary(v: Any) -> str:
    nxt = f"next {v.next_when}" if v.next_when else "nothing ahead"
    return f"{v.id}  {v.state:<9} {v.description}; to {v.recipients}; {nxt}"


def _outline(book: Any, v: Any) -> Any:
    """The engine's outline of an active series (what the window's plan line says)."""
    return book.outline_of(v.id) if v.state == "active" else None


def _detail(v: Any, outline: Any = None) -> str:
    from smsdesk.engine.series_outline import outline_details, outline_headline

    lines = [_summary(v)]
    if outline is not None:
        lines.append(f"  will: {outline_headline(outline)}")
        lines += [f"    {line}" for line in outline_details(outline, 20)]
    lines += [f"  text: {v.text}", "Upcoming:"]
    lines += [_occurrence_line(o, v.zone) for o in v.upcoming] or ["  none"]
    if v.history:
        lines.append("Earlier and withdrawn:")
        lines += [_occurrence_line(o, v.zone) for o in v.history]
    return "\n".join(lines)


def _jsonable(v: Any, outline: Any = None) -> dict[str, Any]:
    """A series for --json: every occurrence's send_at in UTC and as local time, and (add,
    show, edit, resume of an active series) what it will do: the outline's sentence."""
    from smsdesk.engine.series_outline import outline_headline
    from smsdesk.engine.views import to_jsonable

    data: dict[str, Any] = to_jsonable(v)
    if outline is not None:
        data["will"] = outline_headline(outline)
    zone = resolve_zone(v.zone)
    for key in ("upcoming", "history"):
        for item, o in zip(data[key], getattr(v, key), strict=True):
            item["send_at_local"] = format_local(o.send_at, zone) if o.send_at is not None else None
    return data


def _add(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    book = _book(service)
    view = book.add(_request(args, service, ctx, None))
    outline = _outline(book, view)
    return _jsonable(view, outline), f"Series {view.id} added.\n{_detail(view, outline)}"


def _list(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    views = _book(service).list_series()
    return [_jsonable(v) for v in views], "\n".join(_summary(v) for v in views) or "No series."


def _show(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    book = _book(service)
    view = book.show(args.id, max(args.next, 1))
    outline = _outline(book, view)
    return _jsonable(view, outline), _detail(view, outline)


def _edit(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    book = _book(service)
    if args.starting:
        on = _date(args.starting, "starting")
        req = _request(args, service, ctx, book.following_request(args.id, on))
        view = book.split(args.id, on, req)
        text = f"Series {args.id} ends before {on.isoformat()}; {view.id} takes over."
    else:
        view = book.edit(args.id, _request(args, service, ctx, book.request_of(args.id)))
        text = f"Series {view.id} changed from now on."
    outline = _outline(book, view)
    return _jsonable(view, outline), f"{text}\n{_detail(view, outline)}"


def _withdrawal(series_id: str, verb: str, outcome: Any) -> tuple[Any, ...]:
    text = f"Series {series_id} {verb}; {outcome.withdrawn} stored occurrence(s) cancelled."
    notes = [f"not cancelled: {k}" for k in outcome.kept]
    return {"id": series_id, "withdrawn": outcome.withdrawn, "kept": outcome.kept}, text, *notes


def _pause(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    return _withdrawal(args.id, "paused", _book(service).pause(args.id))


def _cancel(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    return _withdrawal(args.id, "cancelled", _book(service).cancel(args.id))


def _resume(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    book = _book(service)
    view = book.resume(args.id)
    outline = _outline(book, view)
    return _jsonable(view, outline), f"Series {view.id} resumed.\n{_detail(view, outline)}"


def _skip(args: argparse.Namespace, service: Any, ctx: Any, stdin: IO[str]) -> Any:
    on = _date(args.on, "on")
    outcome = _book(service).skip(args.id, on)
    return _withdrawal(args.id, f"skips {on.isoformat()}", outcome)


SERIES_HANDLERS: dict[str, Handler] = {
    "series add": _add,
    "series list": _list,
    "series show": _show,
    "series edit": _edit,
    "series pause": _pause,
    "series resume": _resume,
    "series cancel": _cancel,
    "series skip": _skip,
}
