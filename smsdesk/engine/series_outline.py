"""What a recurring message will do: the series outline, worked out without storing anything.

How often, how many (or until when, or until stopped), the first and last send time (the
next few when it never ends), in the desk's zone with the recipient's beside it where it
differs, and every occurrence that quiet hours or a clock change move, with why. Each time is
the one filling the series stores (``series._plan``: the same quiet hours, in the same
recipient's zone). The window's plan line and summary step and the command line's
``series`` output all render this one object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from zoneinfo import ZoneInfo

from smsdesk.core.errors import InvalidInput
from smsdesk.core.recurrence import Occurrence, Recurrence, occurrences, rule_words, upcoming
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import (
    contact_facts,
    quiet_hours_of,
    recipient_zone,
    respect_quiet_hours,
)
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.plan import both_times, capped

SHOWN = 3  # next occurrences named when the series never ends
# Occurrences worked out for a series that ends (ten years of a daily one); beyond this the
# count and the last time are not given rather than computed for seconds.
COUNTED = 3660
NOTABLE = 50  # moved or skipped occurrences listed one by one


@dataclass(frozen=True)
class OutlineTime:
    """One occurrence as it will go: its final time, or why it is skipped."""

    nominal: str  # "YYYY-MM-DDTHH:MM", the rule's wall-clock time in the series' zone
    send_at: datetime | None  # final (after quiet hours), UTC; None when skipped
    when: str  # in the desk's zone (the rule's time when skipped)
    when_recipient: str  # in the recipient's zone, "" when that reads the same as ``when``
    moved: str  # why quiet hours or a clock change moved it, "" when nothing did
    skipped: str = ""  # why it is not sent, "" when it is


@dataclass(frozen=True)
class SeriesOutline:
    how: str  # "Weekly on Tuesday at 10:00" (and the series' zone when not the desk's)
    ends: str  # "5 times", "until Thu 31 Dec 2026, 5 times", "until stopped"
    count: int | None  # occurrences sent (skipped ones not); None: until stopped, or too many
    first: OutlineTime | None  # the first sent occurrence
    last: OutlineTime | None  # the last sent one; None when the series never ends
    upcoming: tuple[OutlineTime, ...]  # the next few from now, skipped ones included
    notable: tuple[OutlineTime, ...]  # the moved and skipped ones (at most NOTABLE)
    moved: int  # sent occurrences whose time was moved
    skipped: int
    desk_zone: str


@dataclass(frozen=True)
class _Reach:
    """Who the times are worked out for: the zone most recipients share."""

    number: str
    zone: ZoneInfo | None


def reach_of(ctx: AppContext, numbers: Sequence[str], series_zone: ZoneInfo) -> _Reach:
    """The recipients' most common zone (a number of no place has none: no quiet hours);
    with nobody named yet, someone in the series' own zone."""
    if not numbers:
        return _Reach("", series_zone)
    facts = contact_facts(ContactBook(ctx), numbers)
    zones = [(n, recipient_zone(n, facts.get(n), series_zone)) for n in numbers]
    counts = Counter(z.key if z is not None else "" for _n, z in zones)
    common = counts.most_common(1)[0][0]
    number, zone = next((n, z) for n, z in zones if (z.key if z is not None else "") == common)
    return _Reach(number, zone)


def outline_of(
    ctx: AppContext, rec: Recurrence, numbers: Sequence[str], shown: int = SHOWN
) -> SeriesOutline:
    """The outline of ``rec`` sent to ``numbers`` (E.164; who is refused is the plan's
    business, not the timing's)."""
    settings = ctx.settings
    desk = resolve_zone(settings.zone)
    zone = resolve_zone(rec.zone)
    reach = reach_of(ctx, numbers, zone)
    quiet = quiet_hours_of(settings)

    def timed(occ: Occurrence) -> OutlineTime:
        if occ.at is None:
            return OutlineTime(occ.key, None, _nominal(occ, desk), "", "", occ.skipped_because)
        try:
            at, why = respect_quiet_hours(settings, quiet, reach.number, occ.at, reach.zone)
        except InvalidInput as exc:  # quiet hours refuse: filling skips it with this
            return OutlineTime(occ.key, None, _nominal(occ, desk), "", "", exc.message)
        same = reach.zone is None or at.astimezone(reach.zone).utcoffset() == (
            at.astimezone(desk).utcoffset()
        )  # the same clock reading: said once (UTC and GMT alike)
        local = "" if same or reach.zone is None else format_local(at, reach.zone)
        moved = "; ".join(w for w in (occ.moved, why) if w)
        return OutlineTime(occ.key, at, format_local(at, desk), local, moved)

    ends_by_rule = rec.count is not None or rec.until is not None
    given = list(islice(occurrences(rec), COUNTED + 1)) if ends_by_rule else []
    complete = ends_by_rule and len(given) <= COUNTED
    times = [timed(o) for o in given] if complete else []
    sent = [t for t in times if t.send_at is not None]
    now = ctx.clock.now()
    ahead = tuple(timed(o) for o in upcoming(rec, now, shown))
    counted = times if complete else list(ahead)
    notable = tuple(t for t in counted if t.moved or t.skipped)
    first = sent[0] if sent else next((t for t in ahead if t.send_at is not None), None)
    return SeriesOutline(
        how=_how(rec, desk),
        ends=_ends(rec, sum(1 for o in given if o.counted) if complete else None),
        count=len(sent) if complete else None,
        first=first,
        last=sent[-1] if complete and sent else None,
        upcoming=ahead,
        notable=notable[:NOTABLE],
        moved=sum(1 for t in notable if t.moved),
        skipped=sum(1 for t in notable if t.skipped),
        desk_zone=desk.key,
    )


def _nominal(occ: Occurrence, desk: ZoneInfo) -> str:
    wall = occ.nominal.replace(tzinfo=resolve_zone(occ.zone), fold=0)
    return format_local(wall.astimezone(UTC), desk)


def _same_clock(a: ZoneInfo, b: ZoneInfo) -> bool:
    """Whether two zones read the same all year (UTC and Etc/UTC)."""
    days = (datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC))
    return a.key == b.key or all(
        d.astimezone(a).utcoffset() == d.astimezone(b).utcoffset() for d in days
    )


def _how(rec: Recurrence, desk: ZoneInfo) -> str:
    where = "" if _same_clock(resolve_zone(rec.zone), desk) else f" {rec.zone}"
    return f"{rule_words(rec.rule)} at {rec.start:%H:%M}{where}"


def _ends(rec: Recurrence, given: int | None) -> str:
    """How it ends, with how many times the rule gives (skipped ones among them)."""
    times = "" if given is None else f"{given} time{'s' if given != 1 else ''}"
    if rec.until is not None:
        return f"until {rec.until:%Y-%m-%d}" + (f", {times}" if times else "")
    if rec.count is not None:
        return times or f"{rec.count} times"
    return "until stopped"


def time_text(t: OutlineTime) -> str:
    """The recipient's time with the desk's beside it, as the schedule plan says it."""
    return both_times(t.when, t.when_recipient)


def outline_headline(o: SeriesOutline) -> str:
    """One sentence: e.g. "Weekly on Monday at 09:00, 5 times: first Mon 7 Dec 2026 09:00
    GMT, last Mon 4 Jan 2027 09:00 GMT"; moved and skipped occurrences are counted."""
    head = f"{o.how}, {o.ends}"
    if o.first is None:
        text = f"{head}: nothing will be sent"
    elif o.last is not None and o.last.nominal == o.first.nominal:
        text = f"{head}: {time_text(o.first)}"
    elif o.last is not None:
        text = f"{head}: first {time_text(o.first)}, last {time_text(o.last)}"
    else:
        nxt = [time_text(t) for t in o.upcoming if t.send_at is not None]
        text = f"{head}: next {', '.join(nxt)}"
    reasons = {t.moved for t in o.notable if t.moved}
    sent = o.count if o.count is not None else sum(1 for t in o.upcoming if t.send_at)
    if o.moved and o.moved == sent and len(reasons) == 1:
        text += f" — each {reasons.pop()}"
    elif o.moved:
        text += f" — {o.moved} of them moved (listed below)"
    if o.skipped:
        text += f"; {o.skipped} skipped (listed below)"
    return text + "."


def outline_details(o: SeriesOutline, limit: int | None = None) -> list[str]:
    """One line per moved or skipped occurrence, with why (of the next few when the series
    never ends). ``limit`` caps the lines (the last one says how many more)."""
    lines = [
        f"{t.when}: skipped — {t.skipped}" if t.skipped else f"{time_text(t)} — {t.moved}"
        for t in o.notable
    ]
    return capped(lines, limit)


def outline_rows(o: SeriesOutline) -> list[tuple[str, str]]:
    """The summary step's rows for a repetition: how often, how many, first and last."""
    rows = [
        ("Repeats", f"{o.how}, {o.ends}"),
        ("Occurrences", "until stopped" if o.count is None else f"{o.count:,} sent"),
    ]
    if o.first is not None:
        rows.append(("First send", time_text(o.first)))
    if o.last is not None:
        rows.append(("Last send", time_text(o.last)))
    elif o.first is not None:
        rows.append(("Last send", "none: it repeats until stopped"))
    if o.moved:
        rows.append(("Quiet hours", f"{o.moved} occurrence{'s' if o.moved != 1 else ''} moved"))
    if o.skipped:
        rows.append(("Skipped", f"{o.skipped} occurrence{'s' if o.skipped != 1 else ''}"))
    return rows
