"""Contacts import that never dead-ends: number columns under the names people use, the
columns read before any preview, rejected rows written back with the person and why, and the
Sandbox's fictional numbers; numbers shown the desk's way."""

from __future__ import annotations

import csv
import io

import phonenumbers
import pytest

from smsdesk.core.contacts_csv import (
    REASON_COLUMN,
    NoNumberColumn,
    read_contacts_csv,
    read_header,
    rejected_csv,
)
from smsdesk.core.csv_numbers import repair_number
from smsdesk.core.errors import InvalidInput
from smsdesk.core.phones import (
    example_number,
    format_for_desk,
    is_test_number,
    normalize_number,
    split_for_account,
)


@pytest.mark.parametrize(
    "header",
    ["Mobile Phone", "Cell", "Handy", "Téléphone", "TELEFON", "Phone 1 - Value", "mobile_no."],
)
def test_number_columns_under_the_names_people_use(header: str) -> None:
    data = f"Name,{header}\nMaria García,+12025550119\n".encode()
    preview = read_contacts_csv(data, default_region=None)
    assert preview.mapping == {"name": "Name", "number": header}
    assert [(r.name, r.number) for r in preview.rows] == [("Maria García", "+12025550119")]


def test_a_mobile_column_wins_over_a_landline_wherever_it_stands() -> None:
    data = b"Home Phone,Telephone,Mobile\n+12025550119,+12025550120,+12025550121\n"
    assert read_contacts_csv(data, default_region=None).mapping["number"] == "Mobile"


def test_an_unknown_number_column_lists_the_columns_to_choose_from() -> None:
    data = b"Patient,Natel,Dentist\nAna,+12025550119,Dr Ode\n"
    with pytest.raises(NoNumberColumn) as caught:
        read_contacts_csv(data, default_region=None)
    assert caught.value.columns == ["Patient", "Natel", "Dentist"]
    assert caught.value.candidates == ["Natel", "Dentist"]  # Patient is the name
    assert caught.value.field == "mapping"
    preview = read_contacts_csv(data, default_region=None, mapping={"number": "Natel"})
    assert [(r.name, r.number, r.fields) for r in preview.rows] == [
        ("Ana", "+12025550119", {"dentist": "Dr Ode"})
    ]


def test_the_header_is_read_without_the_rows() -> None:
    # A broken quote below the header stops a preview, not the mapping step.
    data = b'Name;Mobile Phone;Note\nAna;+12025550119;\n\nBen;+12025550120;"never closed\n'
    guess = read_header(data)
    assert guess.columns == ["Name", "Mobile Phone", "Note"]
    assert guess.mapping == {"name": "Name", "number": "Mobile Phone"}
    assert guess.sample == [["Ana", "+12025550119", ""]]  # to choose by; the broken row left
    with pytest.raises(InvalidInput, match="Line 4 of the file is not valid CSV"):
        read_contacts_csv(data, default_region=None)
    with pytest.raises(InvalidInput, match="empty"):
        read_header(b"  \n")


def test_rejected_rows_are_written_back_to_fix_and_reimport() -> None:
    data = (
        "Full Name;Mobile Phone;Clinic\n"
        "Maria García;+12025550119;North\n"
        "Bad Number;12;South\n"
        "Split, Row;+12025550121;East;Wing\n"
        "No Number;;West\n"
    ).encode()
    preview = read_contacts_csv(data, default_region="US")
    assert [(r.line, r.name) for r in preview.rejected] == [
        (3, "Bad Number"),
        (4, "Split, Row"),
        (5, "No Number"),
    ]
    text = rejected_csv(preview)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Full Name", "Mobile Phone", "Clinic", REASON_COLUMN]
    assert rows[1][:3] == ["Bad Number", "12", "South"]
    assert rows[1][3].startswith("'12' is too short")
    # The unquoted separator's pieces are one value again, quoted this time.
    assert rows[2][:3] == ["Split, Row", "+12025550121", "East;Wing"]
    assert rows[3] == ["No Number", "", "West", "No phone number"]

    fixed = text.replace(",12,", ",(202) 555-0122,").replace(",,West", ",202-555-0123,West")
    again = read_contacts_csv(fixed.encode(), default_region="US")
    assert [(r.name, r.number) for r in again.rows] == [
        ("Bad Number", "+12025550122"),
        ("Split, Row", "+12025550121"),
        ("No Number", "+12025550123"),
    ]
    assert again.rows[0].fields == {"clinic": "South"}  # the reason is not a custom field


def test_sandbox_numbers_only_when_allowed() -> None:
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        repair_number("(555) 010-0123", "US")
    assert repair_number("(555) 010-0123", "US", allow_test_numbers=True).number == ("+15550100123")
    data = b"Name,Cell\nTry Me,+1 555 010 0123\n"
    assert read_contacts_csv(data, default_region=None).accepted == 0
    allowed = read_contacts_csv(data, default_region=None, allow_test_numbers=True)
    assert [(r.number, r.zone) for r in allowed.rows] == [("+15550100123", None)]


def test_numbers_for_an_account() -> None:
    assert is_test_number("+15550100123") and not is_test_number("+12025550119")
    numbers = ["+12025550119", "+15550100123"]
    assert split_for_account(numbers, "sandbox") == (numbers, [])
    sendable, refused = split_for_account(numbers, "telnyx")
    assert sendable == ["+12025550119"]
    assert refused == [
        ("+15550100123", "+1 555-010-0123 is a fictional test number; only the Sandbox sends to it")
    ]


def test_numbers_are_shown_the_desks_way() -> None:
    assert format_for_desk("+12025550119", "US") == "(202) 555-0119"
    assert format_for_desk("+447911123456", "gb") == "07911 123456"
    assert format_for_desk("+447911123456", "US") == "+44 7911 123456"
    assert format_for_desk("+12025550119", None) == "+1 202-555-0119"
    assert format_for_desk("not a number", "US") == "not a number"


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_example_number_is_accepted_and_reads_back(region: str) -> None:
    example = example_number(region)
    assert normalize_number(example, None) == example
    # What the desk shows is what it accepts back, typed as shown.
    assert normalize_number(format_for_desk(example, region), region) == example
