"""SQLModel tables. Secrets are never stored here: an account only names its keyring entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from smsdesk.store.types import UTCDateTime


def _utc(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class ProviderAccount(SQLModel, table=True):
    __tablename__ = "provider_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str  # sandbox, infobip, telnyx, kaleyra
    base_url: str | None = None
    sender: str | None = None
    settings_json: str = "{}"  # provider-specific options, never a secret
    is_default: bool = False
    created_at: datetime = Field(sa_column=_utc())
    # Removed accounts stay so that old messages keep naming their provider.
    removed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class Draft(SQLModel, table=True):
    __tablename__ = "draft"

    id: str = Field(primary_key=True)
    recipients: str = ""
    text: str = ""
    sender: str | None = None
    account_name: str | None = None
    send_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    zone: str | None = None
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class Batch(SQLModel, table=True):
    """One compose action: the same text to one or more recipients."""

    __tablename__ = "batch"

    id: str = Field(primary_key=True)
    account_id: int = Field(foreign_key="provider_account.id")
    text: str
    zone: str
    created_at: datetime = Field(sa_column=_utc())


class Message(SQLModel, table=True):
    """One recipient's message. This row is the truth; the engine moves its state."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_due", "state", "due_at"),
        # The Queue pages through messages by (send_at, id): keyset paging.
        Index("ix_message_send_at_id", "send_at", "id"),
        # ...and filtered by state, without walking every other state's rows.
        Index("ix_message_state_send_at_id", "state", "send_at", "id"),
        # The status bar counts messages needing attention: few rows, so a partial index.
        Index(
            "ix_message_attention",
            "id",
            sqlite_where=text("attention IS NOT NULL"),
            postgresql_where=text("attention IS NOT NULL"),
        ),
    )

    id: str = Field(primary_key=True)
    batch_id: str = Field(foreign_key="batch.id", index=True)
    account_id: int = Field(foreign_key="provider_account.id")
    recipient: str
    sender: str | None = None
    text: str
    encoding: str
    segments: int
    send_at: datetime = Field(sa_column=_utc(index=True))
    zone: str  # the IANA zone the time was entered in
    state: str = Field(index=True)
    handling: str  # planner action: hand_off_now, hold_until, send_locally
    due_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    idempotency_key: str | None = Field(default=None, unique=True)
    provider_ref: str | None = Field(default=None, index=True)
    # What the provider cancels/reschedules as a whole with this message (an Infobip bulk).
    provider_group: str | None = Field(default=None, index=True)
    attempts: int = 0
    last_error: str | None = None
    # Set when the user must decide (e.g. a held message missed its time while nothing ran).
    attention: str | None = None
    # A reminder belongs to an appointment; re-importing moves or cancels it.
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)
    reminder_offset_minutes: int | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # Fencing token: raised by every claim, so a holder whose lease was taken over can no
    # longer write an outcome (each outcome write checks owner and generation).
    lease_generation: int = 0
    # The target time of a reschedule whose request to the provider is in flight (intent).
    intent_send_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    next_sync_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class Event(SQLModel, table=True):
    """Every change to a message, for its history and for audit."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="message.id", index=True)
    at: datetime = Field(sa_column=_utc())
    kind: str  # created, handed_off, rescheduled, cancelled, status, error, ...
    state_from: str | None = None
    state_to: str | None = None
    detail: str = ""


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    name: str = ""
    number: str = Field(unique=True, index=True)  # E.164
    zone: str | None = None  # IANA zone; guessed from the number, editable
    fields_json: str = "{}"  # custom fields for templates (first_name, ...)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class ContactGroup(SQLModel, table=True):
    __tablename__ = "contact_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"

    group_id: int = Field(foreign_key="contact_group.id", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)


class OptOut(SQLModel, table=True):
    """A number that must not be messaged (it replied STOP, or a provider said so)."""

    __tablename__ = "opt_out"

    number: str = Field(primary_key=True)  # E.164; not tied to a contact
    at: datetime = Field(sa_column=_utc())
    source: str  # "manual", "import", "Telnyx: recipient opted out (40300)", ...


class Template(SQLModel, table=True):
    __tablename__ = "template"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    text: str
    updated_at: datetime = Field(sa_column=_utc())


class Appointment(SQLModel, table=True):
    """An appointment imported from a calendar file or CSV; its reminders follow it."""

    __tablename__ = "appointment"

    id: int | None = Field(default=None, primary_key=True)
    source_uid: str = Field(unique=True, index=True)  # "ics:<UID>" or "csv:<id>"
    number: str  # E.164
    name: str = ""
    starts_at: datetime = Field(sa_column=_utc())
    zone: str
    location: str = ""
    cancelled: bool = False
    updated_at: datetime = Field(sa_column=_utc())


class Setting(SQLModel, table=True):
    """One setting that changes behaviour, shared by every process and desk. ``version`` is
    raised by each change, so a change is a compare-and-set of that one key."""

    __tablename__ = "setting"

    key: str = Field(primary_key=True)
    value_json: str
    version: int = 1
    updated_at: datetime = Field(sa_column=_utc())
