"""Appointment reminders: import appointments (iCalendar or CSV), create reminders at chosen
offsets, and on re-import move or cancel the reminders of changed or deleted appointments
instead of duplicating them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from smsdesk.core.appointments import (
    AppointmentIn,
    read_appointments_csv,
    read_ics,
    reminder_times,
)
from smsdesk.core.contacts_csv import RejectedRow
from smsdesk.core.errors import InvalidInput
from smsdesk.core.lifecycle import FINAL, State
from smsdesk.core.timeparse import format_local, resolve_zone
from smsdesk.engine.audience import quiet_hours_of, recipient_zone, respect_quiet_hours
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.service import Service
from smsdesk.store.models import Appointment, Message

ACTIVE = (State.QUEUED.value, State.SCHEDULED.value)


@dataclass
class ReminderSummary:
    appointments: int = 0
    created: int = 0
    moved: int = 0
    cancelled: int = 0
    unchanged: int = 0
    too_late: list[str] = field(default_factory=list)  # "Ann, Tue 1 Dec 10:00: 48h reminder"
    rejected: list[RejectedRow] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # reminders smsdesk could not change


class Reminders:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.ctx = service.ctx

    def import_file(
        self,
        data: bytes,
        *,
        kind: str,
        offsets: Sequence[timedelta],
        template: str,
        source: str,
        account: str | None = None,
        sender: str | None = None,
    ) -> ReminderSummary:
        """``kind`` is "ics" or "csv"; ``source`` names the calendar, so that a later import
        of the same calendar knows which appointments disappeared."""
        zone = resolve_zone(self.ctx.settings.zone)
        region = self.ctx.settings.default_region
        if kind == "ics":
            found, rejected = read_ics(data, default_region=region, default_zone=zone.key)
        elif kind == "csv":
            found, rejected = read_appointments_csv(
                data, default_region=region, default_zone=zone.key
            )
        else:
            raise InvalidInput(f"Unknown appointment file kind '{kind}'.", field="file")
        if not offsets:
            raise InvalidInput("Give at least one reminder offset, e.g. 48h,2h.", field="offsets")
        source = source.strip() or "calendar"
        summary = ReminderSummary(rejected=list(rejected))
        seen: set[str] = set()
        for appt in found:
            uid = f"{source}:{appt.uid}"
            seen.add(uid)
            row_id = self._upsert(uid, appt)
            summary.appointments += 1
            if appt.cancelled:
                self._cancel_reminders(row_id, summary)
                continue
            for offset in offsets:
                self._one_reminder(row_id, appt, offset, template, account, sender, summary)
        # Appointments of this calendar that the new file no longer has were deleted.
        with self.ctx.db.write() as s:
            gone = s.exec(
                select(Appointment).where(
                    col(Appointment.source_uid).startswith(f"{source}:"),
                    col(Appointment.source_uid).not_in(seen),
                    Appointment.cancelled == False,  # noqa: E712
                )
            ).all()
            for appt_row in gone:
                appt_row.cancelled = True
                s.add(appt_row)
        for appt_row in gone:
            assert appt_row.id is not None
            self._cancel_reminders(appt_row.id, summary)
        return summary

    def _upsert(self, uid: str, appt: AppointmentIn) -> int:
        now = self.ctx.clock.now()
        with self.ctx.db.write() as s:
            row = s.exec(select(Appointment).where(Appointment.source_uid == uid)).first()
            row = row or Appointment(
                source_uid=uid,
                number=appt.number,
                starts_at=appt.starts_at,
                zone=appt.zone,
                updated_at=now,
            )
            row.number, row.name, row.zone = appt.number, appt.name, appt.zone
            row.starts_at, row.location, row.cancelled = (
                appt.starts_at,
                appt.location,
                appt.cancelled,
            )
            row.updated_at = now
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def _one_reminder(
        self,
        appointment_id: int,
        appt: AppointmentIn,
        offset: timedelta,
        template: str,
        account: str | None,
        sender: str | None,
        summary: ReminderSummary,
    ) -> None:
        now = self.ctx.clock.now()
        minutes = int(offset.total_seconds() // 60)
        [(_, target)] = reminder_times(appt.starts_at, [offset], now)
        existing = self._reminder(appointment_id, minutes)
        label = f"{appt.name or appt.number}, {self._local(appt)}: {_human(offset)} reminder"
        if existing is not None and existing.state not in ACTIVE:
            summary.unchanged += 1  # already sent, failed or cancelled: history stays
            return
        if target is None:
            if existing is not None:
                self._cancel(existing.id, summary, label)
            else:
                summary.too_late.append(label)
            return
        contact = ContactBook(self.ctx).by_numbers([appt.number]).get(appt.number)
        zone = recipient_zone(appt.number, contact, ZoneInfo(appt.zone))
        quiet = quiet_hours_of(self.ctx.settings)
        target, _note = respect_quiet_hours(self.ctx.settings, quiet, appt.number, target, zone)
        if existing is not None:
            if existing.send_at == target:
                summary.unchanged += 1
                return
            results = self.service.reschedule(existing.id, target)
            if all(r.ok for r in results):
                summary.moved += 1
            else:
                summary.failed += [f"{label}: {r.detail}" for r in results if not r.ok]
            return
        values = {
            appt.number: {
                "name": appt.name,
                "first_name": appt.name.split()[0] if appt.name else "",
                "appt_time": appt.starts_at.astimezone(ZoneInfo(appt.zone)),
                "location": appt.location,
            }
        }
        self.service.schedule(
            [appt.number],
            template,
            target,
            appt.zone,
            account=account,
            sender=sender,
            values=values,
            appointment=(appointment_id, minutes),
        )
        summary.created += 1

    def _reminder(self, appointment_id: int, minutes: int) -> Message | None:
        with self.ctx.db.read() as s:
            return s.exec(
                select(Message)
                .where(
                    Message.appointment_id == appointment_id,
                    Message.reminder_offset_minutes == minutes,
                )
                .order_by(col(Message.created_at).desc())
            ).first()

    def _cancel_reminders(self, appointment_id: int, summary: ReminderSummary) -> None:
        with self.ctx.db.read() as s:
            ids = s.exec(
                select(Message.id).where(
                    Message.appointment_id == appointment_id,
                    col(Message.state).not_in([st.value for st in FINAL]),
                )
            ).all()
        for msg_id in ids:
            self._cancel(msg_id, summary, msg_id)

    def _cancel(self, msg_id: str, summary: ReminderSummary, label: str) -> None:
        results = self.service.cancel(msg_id)
        summary.cancelled += sum(1 for r in results if r.ok)
        summary.failed += [f"{label}: {r.detail}" for r in results if not r.ok]

    @staticmethod
    def _local(appt: AppointmentIn) -> str:
        return format_local(appt.starts_at, ZoneInfo(appt.zone))


def _human(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
