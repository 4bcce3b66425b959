"""Reading the queue the way the window needs it: keyset pages, filters, counts per day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, tuple_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.engine.views import MessageView
from smsdesk.store.models import Event, Message, ProviderAccount


@dataclass(frozen=True)
class QueueFilter:
    states: frozenset[str] = field(default_factory=frozenset)
    providers: frozenset[str] = field(default_factory=frozenset)  # account names
    start: datetime | None = None  # send_at >= start
    end: datetime | None = None  # send_at < end
    search: str = ""  # in recipient or text

    def __post_init__(self) -> None:
        unknown = self.states - {s.value for s in State}
        if unknown:
            raise InvalidInput(f"Unknown state(s): {', '.join(sorted(unknown))}", field="state")


# A position in the queue: the (send_at, id) of the last row of the previous page.
Cursor = tuple[datetime, str]


def _beyond(key: Cursor, *, descending: bool, inclusive: bool) -> ColumnElement[bool]:
    """The rows after ``key`` in the walking direction (a row-value comparison, which SQLite
    and PostgreSQL answer from the (send_at, id) indexes)."""
    row = tuple_(col(Message.send_at), col(Message.id))
    other = tuple_(*key)
    if descending:
        return row <= other if inclusive else row < other
    return row >= other if inclusive else row > other


class Browser:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _names(self) -> dict[int, str]:
        with self.ctx.db.read() as s:
            return {a.id: a.name for a in s.exec(select(ProviderAccount)) if a.id is not None}

    def _where(self, flt: QueueFilter, names: dict[int, str]) -> list[Any]:
        conditions: list[Any] = []
        if flt.states:
            conditions.append(col(Message.state).in_(sorted(flt.states)))
        if flt.providers:
            ids = [i for i, n in names.items() if n in flt.providers]
            conditions.append(col(Message.account_id).in_(ids))
        if flt.start is not None:
            conditions.append(col(Message.send_at) >= flt.start)
        if flt.end is not None:
            conditions.append(col(Message.send_at) < flt.end)
        if flt.search.strip():
            needle = f"%{flt.search.strip()}%"
            conditions.append(
                or_(col(Message.recipient).like(needle), col(Message.text).like(needle))
            )
        return conditions

    def page(
        self,
        flt: QueueFilter,
        *,
        after: Cursor | None = None,
        limit: int = 200,
        descending: bool = False,
        skip: int = 0,
        inclusive: bool = False,
    ) -> list[MessageView]:
        """One page of messages ordered by (send_at, id), starting after ``after``.

        Keyset paging: the cost of a page does not grow with how far into the queue it is.
        ``descending`` walks backwards from ``after`` (or from the end); ``inclusive`` starts
        at ``after`` itself; ``skip`` passes over that many rows first (an OFFSET, so it costs
        what it skips: the skipped rows are read from the index only).
        """
        names = self._names()
        where = self._where(flt, names)
        order = (
            (col(Message.send_at).desc(), col(Message.id).desc())
            if descending
            else (col(Message.send_at).asc(), col(Message.id).asc())
        )
        with self.ctx.db.read() as s:
            if skip:
                start = self._skip(s, where, order, after, skip, descending, inclusive)
                if start is None:
                    return []
                after, inclusive = start, True
            if after is not None:
                where.append(_beyond(after, descending=descending, inclusive=inclusive))
            rows = s.exec(select(Message).where(*where).order_by(*order).limit(limit)).all()
        return [MessageView.of(m, names.get(m.account_id, "?")) for m in rows]

    @staticmethod
    def _skip(
        s: Session,
        where: list[Any],
        order: tuple[Any, ...],
        after: Cursor | None,
        skip: int,
        descending: bool,
        inclusive: bool,
    ) -> Cursor | None:
        """The key ``skip`` rows beyond ``after``, read over (send_at, id) alone, which an
        index covers (whole rows would cost ~10× as much to pass over)."""
        send_at = col(Message.send_at)
        bound: list[Any] = []
        if after is not None:
            # A plain range on send_at, and the ties at ``after`` skipped by count: SQLite
            # walks a row-value range (send_at, id) > (?, ?) with OFFSET ~3× slower.
            at, message_id = after
            bound.append(send_at <= at if descending else send_at >= at)
            ids = col(Message.id)
            # The rows at ``at`` that the range includes but come before the start.
            if descending:
                passed = ids > message_id if inclusive else ids >= message_id
            else:
                passed = ids < message_id if inclusive else ids <= message_id
            ties = select(func.count()).select_from(Message).where(*where, send_at == at, passed)
            skip += int(s.exec(ties).one())
        found = s.exec(
            select(Message.send_at, Message.id)
            .where(*where, *bound)
            .order_by(*order)
            .offset(skip)
            .limit(1)
        ).first()
        return None if found is None else (found[0], found[1])

    def by_ids(self, flt: QueueFilter, ids: list[str]) -> dict[str, MessageView]:
        """The messages among ``ids`` that still match ``flt``, read afresh."""
        if not ids:
            return {}
        names = self._names()
        stmt = select(Message).where(col(Message.id).in_(ids), *self._where(flt, names))
        with self.ctx.db.read() as s:
            rows = s.exec(stmt).all()
        return {m.id: MessageView.of(m, names.get(m.account_id, "?")) for m in rows}

    def position(self, flt: QueueFilter, key: Cursor, *, total: int | None = None) -> int:
        """How many matching messages come before ``key``. The count walks the index, so for
        a key in the later half pass the ``total`` and it counts from the end instead."""
        names = self._names()
        where = self._where(flt, names)
        at, message_id = key
        send_at = col(Message.send_at)
        # A plain range on send_at plus the ties at ``at`` by id: SQLite counts a row-value
        # range (send_at, id) < (?, ?) about 2.5× slower.
        if total is None:
            parts = [send_at < at, and_(send_at == at, col(Message.id) < message_id)]
        else:
            parts = [send_at > at, and_(send_at == at, col(Message.id) >= message_id)]
        counted = 0
        with self.ctx.db.read() as s:
            for part in parts:
                stmt = select(func.count()).select_from(Message).where(*where, part)
                counted += int(s.exec(stmt).one())
        return total - counted if total is not None else counted

    def watermark(self) -> int:
        """Changes at a glance, without reading messages: the newest event's id. Every new
        message and every change of state or send time records an event; an index look-up,
        cheap at any size. (Notes such as ``attention`` may change without one.)"""
        with self.ctx.db.read() as s:
            newest = s.exec(select(func.max(Event.id))).one()
        return int(newest or 0)

    def count(self, flt: QueueFilter) -> int:
        names = self._names()
        with self.ctx.db.read() as s:
            return int(
                s.exec(
                    select(func.count()).select_from(Message).where(*self._where(flt, names))
                ).one()
            )

    def day_counts(self, start: datetime, end: datetime, zone: str) -> dict[date, dict[str, int]]:
        """Messages per local day and state between two instants (for the calendar).

        The database counts per UTC hour and state, then each hour goes to its local day:
        exact because the zone's offsets over the range are whole hours (else per minute:
        every offset is whole minutes). Reading every message of six weeks to count it here
        stalled the window for a quarter of a second at 1M messages."""
        tz = resolve_zone(zone)
        step = timedelta(days=1)
        offsets = {tz.utcoffset(start + n * step) for n in range((end - start) // step + 2)}
        whole_hours = all(o is not None and o % timedelta(hours=1) == timedelta(0) for o in offsets)
        counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        with self.ctx.db.read() as s:
            bucket = _bucket_of(col(Message.send_at), s.get_bind().dialect.name, hours=whole_hours)
            stmt = (
                core_select(bucket, col(Message.state), func.count())
                .where(col(Message.send_at) >= start, col(Message.send_at) < end)
                .group_by(bucket, col(Message.state))
            )
            for at, state, n in s.execute(stmt):
                counts[_as_utc(at).astimezone(tz).date()][state] += n
        return {day: dict(by_state) for day, by_state in counts.items()}


def _bucket_of(column: Any, dialect: str, *, hours: bool) -> Any:
    """The UTC hour (or minute) a stored instant falls in; SQLite keeps instants as ISO text,
    "YYYY-MM-DD HH:MM:SS.ffffff"."""
    if dialect == "sqlite":
        return func.substr(column, 1, 13 if hours else 16)
    # Stored as timestamp without time zone, in UTC: truncated the same whatever the
    # session's time zone (a timestamptz would be truncated in that zone).
    return func.date_trunc("hour" if hours else "minute", column)


def _as_utc(bucket: str | datetime) -> datetime:
    if isinstance(bucket, str):
        text = bucket if len(bucket) > 13 else bucket + ":00"  # "YYYY-MM-DD HH" has no minutes
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return bucket if bucket.tzinfo else bucket.replace(tzinfo=UTC)
