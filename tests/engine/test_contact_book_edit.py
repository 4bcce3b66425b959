"""The contact book edited as the window edits it: a contact replaced whole, groups created,
renamed, deleted and filled, and the Sandbox's fictional numbers kept in the book but only
sent through the Sandbox. Real SQLite and PostgreSQL databases, real Sandbox account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import InvalidInput, NotFound
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store.models import Message

JANE, JOHN = "+12025550119", "+12135550199"
SANDBOX_TRY = "+15550100123"  # "+1 555 01xx": the README's Sandbox numbers


@pytest.fixture
def service(db_ctx: AppContext) -> Service:
    """Each test on a SQLite file and on PostgreSQL (a shared office's book)."""
    return Service(db_ctx)


@pytest.fixture
def book(service: Service) -> ContactBook:
    service.update_settings(default_region="US")
    return service.contact_book()


def _messages(service: Service) -> int:
    with service.ctx.db.read() as s:
        return s.exec(select(func.count(col(Message.id)))).one()


def test_update_replaces_number_name_zone_fields_and_groups(book: ContactBook) -> None:
    jane = book.save_contact(JANE, name="Jane", fields={"clinic": "North"}, groups=["A", "B"])
    updated = book.update_contact(
        jane.id,
        number="(202) 555-0120",
        name=" Jane Roe ",
        zone="America/New_York",
        fields={"dentist": "Dr Who", " ": "dropped"},
        groups=["B", "C"],
    )
    assert (updated.id, updated.number, updated.name) == (jane.id, "+12025550120", "Jane Roe")
    assert updated.zone == "America/New_York"
    assert updated.fields == {"dentist": "Dr Who"}  # "clinic" was removed in the editor
    assert updated.groups == ("B", "C")
    assert book.contact(jane.id) == updated
    assert dict(book.groups()) == {"A": 0, "B": 1, "C": 1}


def test_update_refuses_another_contacts_number_and_changes_nothing(book: ContactBook) -> None:
    jane = book.save_contact(JANE, name="Jane")
    book.save_contact(JOHN, name="John")
    with pytest.raises(InvalidInput) as caught:
        book.update_contact(jane.id, number=JOHN, name="X", zone=None, fields={}, groups=["G"])
    assert caught.value.field == "number"
    assert caught.value.message == f"{JOHN} is already John's number."
    assert book.contact(jane.id).name == "Jane"
    assert book.groups() == []
    with pytest.raises(InvalidInput, match="not a phone number"):
        book.update_contact(jane.id, number="abc", name="X", zone=None, fields={}, groups=[])


def test_delete_contacts_keeps_groups_and_opt_outs(book: ContactBook) -> None:
    jane = book.save_contact(JANE, name="Jane", groups=["G"])
    john = book.save_contact(JOHN, name="John", groups=["G"])
    book.opt_out(JANE)
    assert book.delete_contacts([jane.id, john.id]) == 2
    assert book.list_contacts() == []
    assert book.groups() == [("G", 0)]
    assert list(book.opted_out([JANE])) == [JANE]  # an opt-out outlives the contact
    with pytest.raises(NotFound):
        book.contact(jane.id)


def test_groups_are_created_renamed_filled_emptied_and_deleted(book: ContactBook) -> None:
    jane = book.save_contact(JANE, name="Jane")
    john = book.save_contact(JOHN, name="John")
    book.create_group("Patients")
    with pytest.raises(InvalidInput, match="already a group named 'Patients'"):
        book.create_group(" Patients ")
    book.add_to_group("Patients", [jane.id, john.id, jane.id])
    assert book.group_numbers("Patients") == [JANE, JOHN]
    book.create_group("Staff")
    with pytest.raises(InvalidInput, match="already a group named 'Staff'"):
        book.rename_group("Patients", "Staff")
    book.rename_group("Patients", "Clinic patients")
    assert book.groups() == [("Clinic patients", 2), ("Staff", 0)]
    assert book.contact(jane.id).groups == ("Clinic patients",)
    book.remove_from_group("Clinic patients", [jane.id])
    assert book.group_numbers("Clinic patients") == [JOHN]
    book.delete_group("Clinic patients")
    assert book.groups() == [("Staff", 0)]
    assert len(book.list_contacts()) == 2  # members stay in the book
    with pytest.raises(NotFound):
        book.rename_group("Clinic patients", "X")
    with pytest.raises(InvalidInput, match="needs a name"):
        book.rename_group("Staff", "  ")


def test_search_finds_a_number_by_the_digits_the_desk_shows(book: ContactBook) -> None:
    book.save_contact(JANE, name="Jane")
    book.save_contact(JOHN, name="John")
    assert [c.name for c in book.list_contacts("(202) 555-01")] == ["Jane"]
    assert [c.name for c in book.list_contacts("jOhN")] == ["John"]


def test_sandbox_numbers_are_kept_by_the_book_and_its_import(book: ContactBook) -> None:
    # Refused as "not a valid phone number" before: the README tells people to try these.
    saved = book.save_contact("+1 555 010 0123", name="Try Me", groups=["Trial"])
    assert saved.number == SANDBOX_TRY
    preview = book.preview_import(b"Name,Mobile Phone\nTest One,(555) 010-0124\n")
    assert [(r.name, r.number) for r in preview.rows] == [("Test One", "+15550100124")]
    assert preview.rejected == []
    book.commit_import(preview, group="Trial")
    assert book.group_numbers("Trial") == [SANDBOX_TRY, "+15550100124"]
    book.delete_contact("(555) 010-0123")
    assert book.group_numbers("Trial") == ["+15550100124"]


def test_a_group_with_sandbox_numbers_goes_through_the_sandbox_only(
    service: Service, book: ContactBook, clock: ManualClock
) -> None:
    book.save_contact(JANE, name="Jane", groups=["Trial"])
    book.save_contact(SANDBOX_TRY, name="Try Me", groups=["Trial"])
    at = clock.now() + timedelta(days=1)
    done = service.schedule([], "Hello", at, "UTC", group="Trial")  # the default: Sandbox
    assert sorted(m.message.recipient for m in done.messages) == [JANE, SANDBOX_TRY]

    service.add_account("Real", "infobip", api_key="k-123", base_url="http://127.0.0.1:9")
    before = _messages(service)
    with pytest.raises(InvalidInput) as caught:
        service.schedule([], "Hello", at, "UTC", group="Trial", account="Real")
    assert caught.value.field == "recipients"
    assert caught.value.message == (
        "+1 555-010-0123 is a fictional test number; only the Sandbox sends to it"
    )
    assert _messages(service) == before  # nothing stored
    # Typed, the same number is refused for that account, as before.
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        service.schedule([SANDBOX_TRY], "Hello", at, "UTC", account="Real")


def test_add_refuses_a_number_already_in_the_book(book: ContactBook) -> None:
    book.save_contact(JANE, name="Jane")
    with pytest.raises(InvalidInput) as caught:
        book.add_contact(number="202-555-0119", name="Other", zone=None, fields={}, groups=[])
    assert caught.value.message == f"{JANE} is already Jane's number."
    added = book.add_contact(
        number="213 555 0199", name="John", zone=None, fields={"x": "1"}, groups=["G"]
    )
    assert (added.number, added.fields, added.groups) == (JOHN, {"x": "1"}, ("G",))
    assert [c.name for c in book.list_contacts()] == ["Jane", "John"]
