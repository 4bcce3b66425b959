"""What the reply tests share: a Twilio account over the loopback simulator, an appointment,
a desk killed mid-pull, and reading back replies and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from smsdesk.core.clock import Clock, ManualClock
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.store.models import Appointment, Event, Message, Reply
from tests.engine.provider_setup import add_default, serving
from tests.simulators.twilio import ACCOUNT_SID, POOL, SERVICE_SID, TwilioSimulator

TOKEN = "twilio-replies-token-3c9e"
PATIENT = "+12025550143"
OTHER = "+12025550177"
CLINIC = POOL[0]
ROOT = Path(__file__).resolve().parents[2]


def twilio_serving(clock: Clock) -> Iterator[TwilioSimulator]:
    """The loopback Twilio patients reply through, for a fixture to yield from."""
    yield from serving(TwilioSimulator(clock, api_key=TOKEN, stall=5.0))


def add_twilio(service: Service, sim: TwilioSimulator) -> Service:
    options = {"account_sid": ACCOUNT_SID, "messaging_service_sid": SERVICE_SID}
    add_default(service, sim, "Twilio", options)
    service.update_settings(quiet_mode="off")  # 09:00 UTC is night in New York
    return service


def texted(
    service: Service, sim: TwilioSimulator, clock: ManualClock, numbers: Sequence[str], text: str
) -> Service:
    """Twilio as the default account, Ada Lovelace a contact, ``text`` handed to Twilio for
    ``numbers`` an hour ahead, and two hours gone by: replies may come."""
    add_twilio(service, sim)
    service.contact_book().save_contact(PATIENT, name="Ada Lovelace")
    service.schedule(list(numbers), text, clock.now() + timedelta(hours=1), "UTC")
    Dispatcher(service.ctx).run_once()
    clock.advance(timedelta(hours=2))
    return service


def appointment(
    service: Service, number: str, starts_at: datetime, name: str = "Ada Patient"
) -> int:
    with service.ctx.db.write() as s:
        appt = Appointment(
            source_uid=f"csv:{number}:{starts_at.isoformat()}",
            number=number,
            name=name,
            starts_at=starts_at,
            zone="UTC",
            updated_at=service.clock.now(),
        )
        s.add(appt)
        s.flush()
        assert appt.id is not None
        return appt.id


def remind(service: Service, number: str, text: str, at: datetime, appt: int, offset: int) -> str:
    """A reminder of ``appt`` (merge fields filled from the appointment, as an import does)."""
    with service.ctx.db.read() as s:
        found = s.get(Appointment, appt)
    assert found is not None
    values = {number: {"first_name": found.name.split()[0], "appt_time": found.starts_at}}
    batch = service.schedule([number], text, at, "UTC", values=values, appointment=(appt, offset))
    return batch.messages[0].message.id


def replies(service: Service) -> list[Reply]:
    with service.ctx.db.read() as s:
        return list(s.exec(select(Reply).order_by(col(Reply.received_at))).all())


def message(service: Service, msg_id: str) -> Message | None:
    with service.ctx.db.read() as s:
        return s.get(Message, msg_id)


def messages_to(service: Service, number: str) -> list[Message]:
    with service.ctx.db.read() as s:
        return list(
            s.exec(
                select(Message).where(Message.recipient == number).order_by(col(Message.send_at))
            )
        )


def history(service: Service, msg_id: str) -> list[tuple[str, str]]:
    with service.ctx.db.read() as s:
        rows = s.exec(select(Event).where(Event.message_id == msg_id).order_by(col(Event.id)))
        return [(e.kind, e.detail) for e in rows]


def killed_mid_pull(home: Path, now: datetime, point: str) -> subprocess.CompletedProcess[str]:
    """A desk ("dead-desk") pulling replies in a child process killed at ``point`` (see
    replies_child.py); the caller asserts where the kill landed."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.engine.replies_child",
            str(home),
            now.isoformat(),
            "dead-desk",
            point,
        ],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
