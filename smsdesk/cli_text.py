"""How the command line lays out what it prints: the message table, a message with its
history, and what a provider account can do, in words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smsdesk.core.time_display import when_text
from smsdesk.core.timeparse import format_local, resolve_zone

TEXT_WIDTH = 40  # the first line of a message's text, cut to this in the table
HEADERS = ("ID", "SEND TIME", "RECIPIENT", "NAME", "STATE", "WHERE", "PROVIDER", "TEXT")


def problem(m: Any) -> str:
    """Why it failed, or what needs the user's attention, or the last error ("" if none)."""
    return str(m.attention or m.last_error or "")


def send_time(m: Any, zone: str | None) -> str:
    """The send time in the desk's zone, the recipient's own beside it where it differs."""
    place = resolve_zone(m.recipient_zone) if m.recipient_zone else None
    return when_text(m.send_at, resolve_zone(zone), place)


def _cells(m: Any, zone: str | None) -> tuple[str, ...]:
    first_line = m.text.splitlines()[0] if m.text else ""
    return (
        m.id,
        send_time(m, zone),
        m.recipient,
        m.contact_name or "-",
        m.state,
        m.where,
        m.provider,
        first_line[:TEXT_WIDTH],
    )


def message_table(msgs: Sequence[Any], zone: str | None = None) -> list[str]:
    """A header row and one row per message, in columns; a message's problem (why it
    failed, what needs attention) ends its row. Times are in ``zone`` (the desk's), with
    the recipient's own time beside them where it differs."""
    rows = [_cells(m, zone) for m in msgs]
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
    problems = [problem(m) for m in msgs]
    lines = [_row([*HEADERS, "PROBLEM" if any(problems) else ""], widths)]
    lines += [_row([*r, p], widths) for r, p in zip(rows, problems, strict=True)]
    return lines


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
    return "  ".join([*padded, *cells[len(widths) :]]).rstrip()


def message_detail(m: Any, zone: str | None = None) -> list[str]:
    """One message for ``show``: its row, why it failed, its text and its history, every
    time in ``zone`` (the desk's)."""
    desk = resolve_zone(zone)
    lines = message_table([m], zone)[1:]
    if m.state in ("failed", "expired"):
        lines.append(f"  why it {m.state}: {m.last_error or 'no reason was recorded'}")
    elif m.attention or m.last_error:
        lines.append(f"  problem: {problem(m)}")
    if m.zone != desk.key:
        lines.append(f"  entered as: {format_local(m.send_at, resolve_zone(m.zone))}")
    lines.append(f"  text: {m.text}")
    lines += [f"  {format_local(e.at, desk)}  {e.kind:<12} {e.detail}" for e in m.events]
    return lines


def span(seconds: float) -> str:
    """A duration as people say it: "5 minutes", "180 days", "90 seconds"."""
    whole = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if whole >= size and whole % size == 0:
            count = whole // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def capabilities(caps: dict[str, Any]) -> list[str]:
    """What a provider can do, in words: the minimum lead, horizon, cancel cut-off,
    preview, batch size (and rate limit) that decide how smsdesk hands messages to it."""
    lead = float(caps["min_lead_seconds"])
    horizon = span(float(caps["horizon_seconds"]))
    if caps["native_scheduling"]:
        scheduling = "at the provider, which sends it even if this computer is off"
        lead_text = (
            f"{span(lead)} before the send time (nearer: sent from this computer at its time)"
            if lead
            else "none"
        )
        horizon_text = f"{horizon} ahead (farther: held on this computer until then)"
    else:
        scheduling = "on this computer, which sends it at its time (it must be on then)"
        lead_text = "none (sent at its time)"
        horizon_text = "none (held on this computer)"
    cutoff = caps["cancel_cutoff_seconds"]
    if cutoff is None:
        cancel = (
            "none: it cannot cancel what it holds, so messages stay on this computer "
            "(cancellable) until shortly before their time"
        )
    elif cutoff:
        cancel = f"until {span(float(cutoff))} before the send time"
    else:
        cancel = "until the send time"
    if caps["native_scheduling"] and cutoff is not None:
        cancel += "; reschedule " + (
            "at the provider" if caps["native_reschedule"] else "by cancelling and creating anew"
        )
    preview = (
        "the provider's own, beside the count made here"
        if caps["server_preview"]
        else "counted on this computer (the provider has none)"
    )
    batch = int(caps["batch_size"])
    rate = caps["rate_limit_per_second"]
    return [
        f"scheduling:     {scheduling}",
        f"minimum lead:   {lead_text}",
        f"horizon:        {horizon_text}",
        f"cancel cut-off: {cancel}",
        f"preview:        {preview}",
        f"batch size:     {batch:,} message{'s' if batch != 1 else ''} per request",
        f"rate limit:     {f'{rate:g} requests a second' if rate else 'none'}",
    ]
