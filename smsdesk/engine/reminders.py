"""Appointment reminders: import appointments (iCalendar or CSV), create reminders at chosen
offsets, and on re-import move or cancel the reminders of changed or deleted appointments
instead of duplicating them.

An import is planned first (``plan``: nothing written), which is what the window's preview
shows, then applied (``apply``). A bad row never blocks the others: an opted-out patient, an
appointment more than a year ahead, a time the clocks skip over or a template the row cannot
fill is refused and listed, and the rest go ahead. The new reminders and their appointments
are stored in one transaction through the normal scheduling (so the dispatcher hands them off
exactly once), all or none; moves and cancels then follow one by one, as the provider may
hold those reminders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from smsdesk.core.appointments import (
    AppointmentIn,
    CsvColumns,
    csv_columns,
    read_appointments_csv,
    read_ics,
    reminder_times,
)
from smsdesk.core.contacts_csv import RejectedRow
from smsdesk.core.errors import InvalidInput, SmsdeskError
from smsdesk.core.lifecycle import FINAL, State
from smsdesk.core.local_dates import DateOrder, date_order_for
from smsdesk.core.phones import format_for_desk
from smsdesk.core.reminder_placement import place_reminder
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import quiet_hours_of, recipient_zone
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.reminder_plan import (
    STATE_WORDS,
    AppointmentView,
    ImportRequest,
    PlanStopped,
    Refused,
    ReminderLine,
    ReminderPlan,
    ReminderSummary,
    ReminderView,
)
from smsdesk.engine.scheduling import MAX_AHEAD, Prepared
from smsdesk.engine.service import Service
from smsdesk.engine.views import ActionResult
from smsdesk.store.models import Appointment, AppointmentAnswer, Contact, Message

ACTIVE = (State.QUEUED.value, State.SCHEDULED.value)
# What a patient's reply said of the appointment (engine/replies.py), as the list shows it.
ANSWER_WORDS = {"confirmed": "confirmed", "reschedule_requested": "wants to reschedule"}
_IN_CHUNK = 500  # values per IN (...), well under any database's limit of parameters
MIN_LEAD = timedelta(minutes=5)  # a new reminder goes at least this far ahead


class Reminders:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.ctx = service.ctx

    # -- reading --------------------------------------------------------------------------

    def _read(self, request: ImportRequest) -> tuple[list[AppointmentIn], list[RejectedRow]]:
        zone = resolve_zone(self.ctx.settings.zone)
        region = self.ctx.settings.default_region
        if request.kind == "ics":
            # Repeating appointments: their occurrences from now up to the furthest
            # smsdesk schedules (the reminder horizon), one appointment each.
            now = self.ctx.clock.now()
            return read_ics(
                request.data,
                default_region=region,
                default_zone=zone.key,
                window=(now, now + MAX_AHEAD),
            )
        if request.kind == "csv":
            return read_appointments_csv(
                request.data,
                default_region=region,
                default_zone=zone.key,
                mapping=request.mapping,
                date_order=request.date_order,
            )
        raise InvalidInput(f"Unknown appointment file kind '{request.kind}'.", field="file")

    def columns(self, data: bytes, mapping: dict[str, str] | None = None) -> CsvColumns:
        """A CSV's headers and the column each field would be read from."""
        return csv_columns(data, mapping)

    def date_order(self) -> DateOrder | None:
        """How the desk's region writes numeric dates (None: no single order)."""
        return date_order_for(self.ctx.settings.default_region)

    # -- planning -------------------------------------------------------------------------

    def plan(
        self, request: ImportRequest, keep_going: Callable[[], bool] | None = None
    ) -> ReminderPlan:
        """What importing would do: reminders created, moved, cancelled, too late or not
        possible, and rows refused, with reasons. Nothing is written. ``keep_going`` is
        asked before each appointment; False stops with PlanStopped (a newer plan is
        wanted: a large file takes seconds)."""
        if not request.offsets:
            raise InvalidInput("Give at least one reminder offset, e.g. 48h,2h.", field="offsets")
        if not request.template.strip():
            raise InvalidInput("Write the reminder's text or choose a template.", field="text")
        columns = csv_columns(request.data, request.mapping) if request.kind == "csv" else None
        found, rejected = self._read(request)
        source = request.source.strip() or "calendar"
        plan = ReminderPlan(columns=columns)
        plan.refused = [Refused(r.line, r.raw, r.reason) for r in rejected]
        now = self.ctx.clock.now()
        book = ContactBook(self.ctx)
        numbers = {a.number for a in found}
        opted = book.opted_out(numbers)
        contacts = book.by_numbers(numbers)
        rows, reminders = self._existing(source)
        seen: set[str] = set()
        for appt in found:
            if keep_going is not None and not keep_going():
                raise PlanStopped
            uid = f"{source}:{appt.uid}"
            seen.add(uid)
            row = rows.get(uid)
            who = appt.name or appt.number
            if appt.cancelled:
                plan.appointments += 1
                if row is not None and row.id is not None and not row.cancelled:
                    plan._gone.append(row.id)
                    plan.cancel += self._active_lines(row, reminders, appt.line)
                continue
            if appt.number in opted:
                entry = opted[appt.number]
                plan.refused.append(
                    Refused(
                        appt.line,
                        who,
                        f"{appt.number} has opted out ({entry.source}, "
                        f"{format_local(entry.at, ZoneInfo(appt.zone))}); no reminders",
                    )
                )
                continue
            if appt.starts_at - now > MAX_AHEAD:
                plan.refused.append(
                    Refused(
                        appt.line,
                        who,
                        f"the appointment ({self._local(appt)}) is more than a year ahead; "
                        "smsdesk schedules up to a year out, import it again nearer the time",
                    )
                )
                continue
            lines: list[tuple[ReminderLine, Message | None]] = []
            for offset in request.offsets:
                existing = reminders.get((row.id, _minutes(offset))) if row else None
                if existing is not None and existing.state == State.CANCELLED.value:
                    existing = None  # cancelled before (say the appointment was): anew
                lines.append(self._line(appt, offset, existing, contacts.get(appt.number), now))
            try:
                batches = self._prepare(request, appt, row, lines)
            except InvalidInput as exc:
                plan.refused.append(Refused(appt.line, who, exc.message))
                continue
            plan.appointments += 1
            plan._new.append((uid, appt, batches))
            for line, existing in lines:
                self._sort(plan, line, existing)
        for uid, row in rows.items():
            if uid not in seen and not row.cancelled and row.id is not None:
                plan._gone.append(row.id)
                plan.cancel += self._active_lines(row, reminders, 0)
        plan.refused.sort(key=lambda r: r.line)
        return plan

    def _existing(
        self, source: str
    ) -> tuple[dict[str, Appointment], dict[tuple[int | None, int], Message]]:
        """This calendar's stored appointments, and each one's latest reminder per offset."""
        of_source = col(Appointment.source_uid).startswith(f"{source}:", autoescape=True)
        with self.ctx.db.read() as s:
            rows = s.exec(select(Appointment).where(of_source)).all()
            messages = s.exec(
                select(Message)
                .join(Appointment, col(Message.appointment_id) == col(Appointment.id))
                .where(of_source)
                .order_by(col(Message.created_at))
            ).all()
        latest = {(m.appointment_id, m.reminder_offset_minutes or 0): m for m in messages}
        return {r.source_uid: r for r in rows}, latest

    def _line(
        self,
        appt: AppointmentIn,
        offset: timedelta,
        existing: Message | None,
        contact: Contact | None,
        now: datetime,
    ) -> tuple[ReminderLine, Message | None]:
        [(_, target)] = reminder_times(appt.starts_at, [offset], now, MIN_LEAD)
        zone = ZoneInfo(appt.zone)
        base = ReminderLine(
            line=appt.line,
            who=appt.name or appt.number,
            number=appt.number,
            appointment=self._local(appt),
            offset=_human(offset),
            minutes=_minutes(offset),
            send_at=None,
            when="",
            message_id=existing.id if existing is not None else "",
            previous=format_local(existing.send_at, zone) if existing is not None else "",
        )
        if target is None:
            return base, existing
        place = recipient_zone(appt.number, contact, zone)
        settings = self.ctx.settings
        placed = place_reminder(
            target,
            appt.starts_at,
            hours=quiet_hours_of(settings),
            zone=place,
            refuse=settings.quiet_mode == "refuse",
            earliest=now + MIN_LEAD,
        )
        if placed.send_at is None:
            return replace(base, note=placed.note), existing
        when = format_local(placed.send_at, zone)
        return replace(base, send_at=placed.send_at, when=when, note=placed.note), existing

    def _prepare(
        self,
        request: ImportRequest,
        appt: AppointmentIn,
        row: Appointment | None,
        lines: Sequence[tuple[ReminderLine, Message | None]],
    ) -> list[Prepared]:
        """The new reminders of one appointment, checked by the normal scheduling (merge
        fields, text length, sender, opt-outs). Raises InvalidInput for the whole row."""
        values = {
            appt.number: {
                "name": appt.name,
                "first_name": appt.name.split()[0] if appt.name else "",
                "appt_time": appt.starts_at.astimezone(ZoneInfo(appt.zone)),
                "location": appt.location,
            }
        }
        batches: list[Prepared] = []
        for line, existing in lines:
            if existing is not None or line.send_at is None:
                continue
            batches.append(
                self.service.scheduling.prepare(
                    [appt.number],
                    request.template,
                    line.send_at,
                    appt.zone,
                    account=request.account,
                    sender=request.sender,
                    values=values,
                    appointment=(row.id if row and row.id else 0, line.minutes),
                )
            )
        return batches

    @staticmethod
    def _sort(plan: ReminderPlan, line: ReminderLine, existing: Message | None) -> None:
        if existing is not None and existing.state not in ACTIVE:
            plan.unchanged += 1  # already sent, failed or cancelled: history stays
        elif line.send_at is None:
            if existing is not None:
                plan.cancel.append(line)  # the appointment moved too close for it
            elif line.note:
                plan.not_possible.append(line)
            else:
                plan.too_late.append(line)
        elif existing is None:
            plan.create.append(line)
        elif existing.send_at == line.send_at:
            plan.unchanged += 1
        else:
            plan.move.append(line)

    def _active_lines(
        self,
        row: Appointment,
        reminders: dict[tuple[int | None, int], Message],
        line: int,
    ) -> list[ReminderLine]:
        zone = ZoneInfo(row.zone)
        return [
            ReminderLine(
                line=line,
                who=row.name or row.number,
                number=row.number,
                appointment=format_local(row.starts_at, zone),
                offset=_human(timedelta(minutes=minutes)),
                minutes=minutes,
                send_at=None,
                when="",
                previous=format_local(m.send_at, zone),
                message_id=m.id,
            )
            for (appt_id, minutes), m in sorted(reminders.items(), key=lambda kv: kv[1].send_at)
            if appt_id == row.id and m.state not in [s.value for s in FINAL]
        ]

    # -- applying -------------------------------------------------------------------------

    def apply(self, request: ImportRequest) -> ReminderSummary:
        """Plan again (time has passed since the preview) and do it. Raises InvalidInput,
        storing nothing, when nothing at all could be done."""
        plan = self.plan(request)
        if not plan.does_something:
            raise plan.nothing_possible()
        summary = ReminderSummary(
            appointments=plan.appointments,
            unchanged=plan.unchanged,
            too_late=[r.text() for r in plan.too_late],
            not_possible=[f"{r.text()}: {r.note}" for r in plan.not_possible],
            rejected=[RejectedRow(r.line, r.who, r.reason) for r in plan.refused],
        )
        with self.ctx.db.write() as s:
            summary.created, skipped = self._store(s, plan)
            summary.unchanged += skipped
            for appt_id in plan._gone:
                gone = s.get(Appointment, appt_id)
                if gone is not None:
                    gone.cancelled = True
                    s.add(gone)
        for line in plan.move:
            assert line.send_at is not None
            move = partial(_reschedule, self.service, at=line.send_at)
            summary.moved += self._act(line, summary, move)
        for line in plan.cancel:
            summary.cancelled += self._act(line, summary, self.service.cancel)
        return summary

    def _store(self, s: Session, plan: ReminderPlan) -> tuple[int, int]:
        """The planned appointments and their new reminders, in the caller's transaction,
        a few statements in all (the write lock is held meanwhile). A reminder another
        import stored meanwhile is not stored twice."""
        now = self.ctx.clock.now()
        uids = [uid for uid, _appt, _batches in plan._new]
        rows: dict[str, Appointment] = {}
        for chunk in range(0, len(uids), _IN_CHUNK):
            found = s.exec(
                select(Appointment).where(
                    col(Appointment.source_uid).in_(uids[chunk : chunk + _IN_CHUNK])
                )
            ).all()
            rows.update((r.source_uid, r) for r in found)
        for uid, appt, _batches in plan._new:
            row = rows.get(uid) or Appointment(
                source_uid=uid,
                number=appt.number,
                starts_at=appt.starts_at,
                zone=appt.zone,
                updated_at=now,
            )
            row.number, row.name, row.zone = appt.number, appt.name, appt.zone
            row.starts_at, row.location, row.cancelled = appt.starts_at, appt.location, False
            row.updated_at = now
            rows[uid] = row
        s.add_all(rows.values())
        s.flush()  # the new appointments' ids
        ids = [r.id for r in rows.values()]
        taken: set[tuple[int | None, int | None]] = set()
        for chunk in range(0, len(ids), _IN_CHUNK):
            taken.update(
                s.exec(
                    select(Message.appointment_id, Message.reminder_offset_minutes).where(
                        col(Message.appointment_id).in_(ids[chunk : chunk + _IN_CHUNK]),
                        col(Message.state).in_(ACTIVE),
                    )
                ).all()
            )
        new: list[Prepared] = []
        for uid, _appt, batches in plan._new:
            row_id = rows[uid].id
            for batch in batches:
                if (row_id, batch.messages[0]["reminder_offset_minutes"]) in taken:
                    continue
                for message in batch.messages:
                    message["appointment_id"] = row_id
                new.append(batch)
        self.service.scheduling.store_many(s, new)
        created = sum(len(b.messages) for b in new)
        return created, sum(len(b) for _u, _a, b in plan._new) - len(new)

    @staticmethod
    def _act(
        line: ReminderLine, summary: ReminderSummary, act: Callable[[str], list[ActionResult]]
    ) -> int:
        """Move or cancel one reminder; how many changed (failures listed in summary)."""
        try:
            results = act(line.message_id)
        except SmsdeskError as exc:
            # e.g. the new time passed meanwhile, or the provider could not be reached: the
            # new reminders are stored already, so this one is listed, not raised.
            summary.failed.append(f"{line.text()}: {exc}")
            return 0
        summary.failed += [f"{line.text()}: {r.detail}" for r in results if not r.ok]
        return sum(1 for r in results if r.ok)

    # -- the list -------------------------------------------------------------------------

    def upcoming(self, limit: int = 500) -> list[AppointmentView]:
        """Appointments from now on, soonest first, with their reminders and states."""
        now = self.ctx.clock.now()
        with self.ctx.db.read() as s:
            rows = s.exec(
                select(Appointment)
                .where(Appointment.starts_at >= now)
                .order_by(col(Appointment.starts_at))
                .limit(limit)
            ).all()
            ids = [r.id for r in rows]
            messages = s.exec(
                select(Message)
                .where(col(Message.appointment_id).in_(ids))
                .order_by(col(Message.send_at))
            ).all()
            answers = {
                a.appointment_id: ANSWER_WORDS.get(a.status, a.status)
                for a in s.exec(
                    select(AppointmentAnswer).where(col(AppointmentAnswer.appointment_id).in_(ids))
                )
            }
        by_appt: dict[int | None, list[Message]] = {}
        for m in messages:
            by_appt.setdefault(m.appointment_id, []).append(m)
        region = self.ctx.settings.default_region
        views = []
        for r in rows:
            assert r.id is not None
            zone = ZoneInfo(r.zone)
            views.append(
                AppointmentView(
                    r.id,
                    r.name,
                    r.number,
                    format_for_desk(r.number, region),
                    r.starts_at,
                    format_local(r.starts_at, zone),
                    r.location,
                    r.cancelled,
                    tuple(
                        ReminderView(
                            _human(timedelta(minutes=m.reminder_offset_minutes or 0)),
                            m.send_at,
                            format_local(m.send_at, zone),
                            STATE_WORDS.get(m.state, m.state),
                        )
                        for m in by_appt.get(r.id, [])
                    ),
                    answers.get(r.id, ""),
                )
            )
        return views

    @staticmethod
    def _local(appt: AppointmentIn) -> str:
        return format_local(appt.starts_at, ZoneInfo(appt.zone))


def _reschedule(service: Service, ident: str, *, at: datetime) -> list[ActionResult]:
    return service.reschedule(ident, at)


def _minutes(offset: timedelta) -> int:
    return int(offset.total_seconds() // 60)


def _human(offset: timedelta) -> str:
    minutes = _minutes(offset)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
