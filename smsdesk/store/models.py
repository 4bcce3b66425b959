"""SQLModel tables. Secrets are never stored here: an account only names its keyring entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint, text
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
    # Raised by every change (address, options, key): a process holding a client for the
    # account opens a new one, so the engine never goes on with an old key (migration 0006).
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


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
    # send_at and state have no index of their own since migration 0008: the compound and
    # partial indexes there cover every read (the migrations, not this class, make the schema).
    send_at: datetime = Field(sa_column=_utc())
    zone: str  # the IANA zone the time was entered in
    state: str
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


class Series(SQLModel, table=True):
    """A recurring message: its rule (RFC 5545) in its zone, and who gets each occurrence.
    Occurrences are stored ahead of time as ordinary messages (see SeriesOccurrence)."""

    __tablename__ = "series"

    id: str = Field(primary_key=True)
    account_id: int = Field(foreign_key="provider_account.id")
    sender: str | None = None
    text: str
    numbers_json: str = "[]"  # E.164 numbers
    group_name: str | None = None  # resolved at each occurrence: new members get it
    # A contact, by id: its number as it is when each occurrence is stored. No foreign key:
    # removing the contact must stay possible; the next occurrences then say it is gone.
    contact_id: int | None = None
    rule: str  # an RRULE without DTSTART, COUNT or UNTIL
    starts_local: str  # wall-clock "YYYY-MM-DDTHH:MM" in ``zone``
    zone: str
    count: int | None = None
    until_date: str | None = None  # "YYYY-MM-DD", the last local date
    exceptions_json: str = "[]"  # ["YYYY-MM-DD", ...]
    holidays: str | None = None  # "GB", "US-CA"
    month_end: str = "skip"
    state: str = Field(index=True)  # active, paused, cancelled
    # Occurrences up to this instant are stored (as messages or as skipped).
    filled_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class SeriesOccurrence(SQLModel, table=True):
    """One occurrence of a series, stored once: (series, nominal local time) is the key, so
    a crash or two desks filling at once never make it twice."""

    __tablename__ = "series_occurrence"

    series_id: str = Field(foreign_key="series.id", primary_key=True)
    nominal: str = Field(primary_key=True)  # wall-clock "YYYY-MM-DDTHH:MM" in the zone
    send_at: datetime = Field(sa_column=_utc())
    # The messages' batch; None when nothing was stored (skipped).
    batch_id: str | None = Field(default=None, foreign_key="batch.id", index=True)
    status: str  # stored, skipped, withdrawn (by pause, edit or cancel of the series)
    detail: str = ""  # why skipped, or why the time moved
    created_at: datetime = Field(sa_column=_utc())


class Reply(SQLModel, table=True):
    """A message a patient texted back, pulled from the provider (no server: issue 17). The
    provider's own id is unique per account, so a reply pulled twice is stored once."""

    __tablename__ = "reply"
    __table_args__ = (
        UniqueConstraint("account_id", "provider_id", name="uq_reply_account_provider_id"),
        Index("ix_reply_sender_received", "sender", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="provider_account.id")
    provider_id: str  # Twilio's message SID, Infobip's messageId
    sender: str  # who wrote it (E.164)
    to: str  # the account's number it came to
    text: str
    received_at: datetime = Field(sa_column=_utc(index=True))
    stored_at: datetime = Field(sa_column=_utc())
    # The message it answers (the latest one sent to that number from that account), if any.
    message_id: str | None = Field(default=None, foreign_key="message.id")
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
    action: str | None = None  # opted_out, opted_in, confirmed, reschedule_requested
    # What the action must still do off the row (cancel later reminders): set when stored,
    # cleared when done, so a crash in between is finished by the next pull.
    pending: str | None = None
    detail: str = ""
    handled_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True, index=True))


class ReplyPull(SQLModel, table=True):
    """Per account: when replies are next pulled, the back-off, and how far a listing
    provider (Twilio) was read. The lease keeps two processes from pulling one account at
    once (Infobip hands each reply out once: the one that got it stores it)."""

    __tablename__ = "reply_pull"

    account_id: int = Field(foreign_key="provider_account.id", primary_key=True)
    next_at: datetime = Field(sa_column=_utc())
    failures: int = 0
    last_error: str | None = None
    read_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class AppointmentAnswer(SQLModel, table=True):
    """What the patient answered about an appointment (the latest answer stands)."""

    __tablename__ = "appointment_answer"

    appointment_id: int = Field(foreign_key="appointment.id", primary_key=True)
    status: str  # confirmed, reschedule_requested
    reply_id: int = Field(foreign_key="reply.id")
    at: datetime = Field(sa_column=_utc())
