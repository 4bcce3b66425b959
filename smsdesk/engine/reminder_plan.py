"""What a reminder import says and shows: the request, the plan (what would be created,
moved, cancelled, and what is refused or not possible, with why), the summary of what was
done, and the upcoming appointments with their reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from smsdesk.core.appointments import AppointmentIn, CsvColumns
from smsdesk.core.contacts_csv import RejectedRow
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import State
from smsdesk.core.local_dates import DateOrder
from smsdesk.engine.scheduling import Prepared

Kind = Literal["ics", "csv"]

STATE_WORDS = {
    State.QUEUED.value: "held on this computer",
    State.HANDING_OFF.value: "being handed off",
    State.SCHEDULED.value: "at provider",
    State.SENT.value: "sent",
    State.DELIVERED.value: "delivered",
    State.FAILED.value: "failed",
    State.EXPIRED.value: "expired",
    State.CANCELLED.value: "cancelled",
    State.UNKNOWN.value: "unknown: needs checking",
    State.CANCELLING.value: "being cancelled",
    State.RESCHEDULING.value: "being moved",
    State.WITHDRAWING.value: "being moved",
}


def kind_of(file_name: str) -> Kind:
    """ "ics" for calendar files, else "csv"."""
    return "ics" if file_name.lower().endswith((".ics", ".ical", ".ifb")) else "csv"


class PlanStopped(Exception):
    """Planning was stopped by its caller."""


@dataclass(frozen=True)
class ImportRequest:
    data: bytes
    kind: Kind
    offsets: tuple[timedelta, ...]
    template: str
    source: str  # the calendar's name: a later import of it knows what disappeared
    account: str | None = None
    sender: str | None = None
    mapping: dict[str, str] | None = None  # CSV field -> column
    date_order: DateOrder | None = None  # CSV numeric dates; None: the desk region's


@dataclass(frozen=True)
class ReminderLine:
    """One reminder in a plan: who, which appointment, when it goes, and why if moved."""

    line: int
    who: str  # the patient's name, else number
    number: str
    appointment: str  # the appointment's local time
    offset: str  # "2h"
    minutes: int  # the offset in minutes
    send_at: datetime | None  # aware UTC; the new time (None: too late / not possible)
    when: str  # send_at in the appointment's zone, "" when None
    note: str = ""  # quiet hours, or why not possible
    previous: str = ""  # a move: the old time
    message_id: str = ""  # the reminder a move or cancel changes

    def text(self) -> str:
        """e.g. "Jane Doe, Tue 1 Dec 2026 09:30 GMT: 2h reminder"."""
        return f"{self.who}, {self.appointment}: {self.offset} reminder"


@dataclass(frozen=True)
class Refused:
    line: int
    who: str
    reason: str


@dataclass
class ReminderPlan:
    """What an import would do; nothing of it is stored yet."""

    appointments: int = 0
    create: list[ReminderLine] = field(default_factory=list)
    move: list[ReminderLine] = field(default_factory=list)
    cancel: list[ReminderLine] = field(default_factory=list)
    unchanged: int = 0
    too_late: list[ReminderLine] = field(default_factory=list)
    not_possible: list[ReminderLine] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    columns: CsvColumns | None = None  # a CSV's headers and mapping, for the mapping step
    # For apply: the checked batches and the appointments they belong to.
    _new: list[tuple[str, AppointmentIn, list[Prepared]]] = field(default_factory=list)
    _gone: list[int] = field(default_factory=list)

    @property
    def does_something(self) -> bool:
        return bool(self.create or self.move or self.cancel or self.unchanged)

    def nothing_possible(self) -> InvalidInput:
        """The one-line refusal when nothing at all could be created, moved or cancelled."""
        problems = [f"line {r.line}: {r.who}: {r.reason}" for r in self.refused]
        problems += [f"{r.text()}: too late" for r in self.too_late]
        problems += [f"{r.text()}: {r.note}" for r in self.not_possible]
        if not problems:
            return InvalidInput("The file has no appointments to remind of.", field="file")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return InvalidInput(f"No reminder could be created: {problems[0]}{more}", field="file")


@dataclass
class ReminderSummary:
    appointments: int = 0
    created: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    too_late: list[str] = field(default_factory=list)  # "Ann, Tue 1 Dec 10:00: 48h reminder"
    not_possible: list[str] = field(default_factory=list)  # with why
    rejected: list[RejectedRow] = field(default_factory=list)  # refused rows, with why
    failed: list[str] = field(default_factory=list)  # reminders smsdesk could not change


@dataclass(frozen=True)
class ReminderView:
    offset: str
    send_at: datetime
    when: str
    state: str  # in words


@dataclass(frozen=True)
class AppointmentView:
    id: int
    name: str
    number: str  # E.164
    phone: str  # as the desk writes it: national format for its own country
    starts_at: datetime
    when: str
    location: str
    cancelled: bool
    reminders: tuple[ReminderView, ...]
    answer: str = ""  # what the patient replied: "confirmed", "wants to reschedule" (replies)
