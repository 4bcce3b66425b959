"""Reading the queue the way the window needs it: keyset pages, filters, counts per day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, tuple_
from sqlmodel import col, select

from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.timeparse import resolve_zone
from smsdesk.engine.context import AppContext
from smsdesk.engine.views import MessageView
from smsdesk.store.models import Message, ProviderAccount


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
    ) -> list[MessageView]:
        """One page of messages ordered by (send_at, id), starting after ``after``.

        Keyset paging: the cost of a page does not grow with how far into the queue it is.
        """
        names = self._names()
        stmt = select(Message).where(*self._where(flt, names))
        key = tuple_(col(Message.send_at), col(Message.id))
        if after is not None:
            stmt = stmt.where(key < tuple_(*after) if descending else key > tuple_(*after))
        if descending:
            stmt = stmt.order_by(col(Message.send_at).desc(), col(Message.id).desc())
        else:
            stmt = stmt.order_by(col(Message.send_at), col(Message.id))
        with self.ctx.db.read() as s:
            rows = s.exec(stmt.limit(limit)).all()
        return [MessageView.of(m, names.get(m.account_id, "?")) for m in rows]

    def count(self, flt: QueueFilter) -> int:
        names = self._names()
        with self.ctx.db.read() as s:
            return int(
                s.exec(
                    select(func.count()).select_from(Message).where(*self._where(flt, names))
                ).one()
            )

    def day_counts(self, start: datetime, end: datetime, zone: str) -> dict[date, dict[str, int]]:
        """Messages per local day and state between two instants (for the calendar)."""
        tz = resolve_zone(zone)
        counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        stmt = select(Message.send_at, Message.state).where(
            col(Message.send_at) >= start, col(Message.send_at) < end
        )
        with self.ctx.db.read() as s:
            for send_at, state in s.exec(stmt):
                counts[send_at.astimezone(tz).date()][state] += 1
        return {day: dict(by_state) for day, by_state in counts.items()}
