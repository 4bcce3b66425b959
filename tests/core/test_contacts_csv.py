from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers.timezone import time_zones_for_number

from smsdesk.core import contacts_csv, csv_numbers, number_zone
from smsdesk.core.contacts_csv import (
    ContactRow,
    ImportPreview,
    RejectedRow,
    read_contacts_csv,
    write_contacts_csv,
)
from smsdesk.core.csv_numbers import (
    ADDED_PLUS,
    EXPANDED_SCIENTIFIC,
    REMOVED_APOSTROPHE,
    REMOVED_DECIMAL,
    RESTORED_ZERO,
)
from smsdesk.core.errors import InvalidInput
from smsdesk.core.number_zone import guess_zone

DATA = Path(__file__).parent / "data"


def _read(
    name: str, region: str | None = "GB", mapping: Mapping[str, str] | None = None
) -> ImportPreview:
    return read_contacts_csv((DATA / name).read_bytes(), default_region=region, mapping=mapping)


def _refusal(
    data: bytes,
    mapping: Mapping[str, str] | None = None,
    progress: Callable[[int, int], bool] | None = None,
) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_contacts_csv(data, default_region="GB", mapping=mapping, progress=progress)
    assert "\n" not in str(caught.value)
    return caught.value


def test_excel_export_with_bom_aliases_repairs_and_rejections() -> None:
    preview = _read("contacts_excel.csv")

    assert preview.columns == ["Full Name", "Mobile", "Time Zone", "Clinic", "Last Visit"]
    assert preview.mapping == {"number": "Mobile", "name": "Full Name", "zone": "Time Zone"}
    by_line = {row.line: row for row in preview.rows}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 10, 13, 14, 15]
    assert by_line[2] == ContactRow(
        line=2,
        name="Jane Doe",
        number="+447911123456",
        zone="Europe/London",
        # Clinic was empty on line 2 and is filled from the duplicate on line 9.
        fields={"clinic": "North", "last_visit": "2026-10-01"},
        repairs=(),
    )
    assert by_line[3].repairs == (ADDED_PLUS,)
    assert by_line[4].repairs == (RESTORED_ZERO,)
    assert by_line[5].repairs == (REMOVED_DECIMAL, ADDED_PLUS)
    assert by_line[6].repairs == (EXPANDED_SCIENTIFIC, ADDED_PLUS)
    assert by_line[10].repairs == (REMOVED_APOSTROPHE,)
    assert by_line[10].number == "+447911123462"
    assert by_line[15].name == "Smith, Anna"
    assert by_line[15].fields["clinic"] == "Paris, 2nd floor"

    # Zones: given, or guessed only when phonenumbers names exactly one.
    assert by_line[3].zone is None  # UK mobiles: London, Jersey, Guernsey, Isle of Man
    assert by_line[13].zone == "America/Los_Angeles"
    assert by_line[14].zone == "Europe/London"
    assert by_line[15].zone == "Europe/Paris"

    assert [(r.line, r.reason) for r in preview.rejected] == [
        (
            7,
            "'4.41E+11' was stored in scientific notation and its last digits are lost; "
            "export the column as text",
        ),
        (8, "Unknown time zone 'Mars/Base'; use an IANA name such as Europe/London"),
        (12, "No phone number"),
    ]
    assert preview.rejected[0].raw == "Lost Digits,4.41E+11,,South,"
    assert preview.merged == 1
    assert preview.accepted == 9
    assert preview.repaired == 5


def test_semicolons_and_an_explicit_mapping() -> None:
    mapping = {"number": "téléphone", "first_name": "Prénom", "last_name": "Nom"}
    preview = _read("contacts_semicolon.csv", "FR", mapping=mapping)

    assert preview.mapping == {"number": "Téléphone", "first_name": "Prénom", "last_name": "Nom"}
    # Max's number came through scientific notation; both Léas share it and merge in.
    assert [(row.line, row.name, row.number) for row in preview.rows] == [
        (2, "Anna Martin", "+33123456789"),
        (3, "Max Durand", "+33612345678"),
    ]
    assert preview.rows[0].fields == {
        "first_name": "Anna",
        "last_name": "Martin",
        "note": "Cliente fidèle",
    }
    assert preview.rows[0].zone == "Europe/Paris"
    assert preview.rows[1].repairs == (EXPANDED_SCIENTIFIC, ADDED_PLUS)
    assert preview.rows[1].fields["note"] == "Doublon"  # filled from line 4
    assert preview.merged == 2
    assert preview.rejected == []


def test_duplicates_merge_into_the_first_row() -> None:
    preview = _read("contacts_semicolon.csv", "FR", mapping={"number": "Téléphone"})
    # Max (line 3) and both Léas (lines 4, 6) share one number; the blank line 5 is skipped.
    assert [row.line for row in preview.rows] == [2, 3]
    assert preview.merged == 2
    assert preview.rows[1].fields["first_name"] == "Max"  # the first row's value is kept
    # "Prénom" and "Nom" are recognised as the first and last name.
    assert preview.mapping == {"number": "Téléphone", "first_name": "Prénom", "last_name": "Nom"}
    assert preview.rows[1].name == "Max Durand"


def test_tab_separated() -> None:
    preview = _read("contacts_tab.tsv", "US")
    assert preview.mapping == {"number": "phone", "name": "name", "zone": "tz"}
    assert [(r.name, r.number, r.zone) for r in preview.rows] == [
        ("Ana Ruiz", "+14155552671", "America/Los_Angeles"),
        ("Ben Ode", "+12125551234", "America/New_York"),
    ]
    assert preview.rows[0].fields == {"notes": "calls after 5"}


def test_not_utf8_names_the_line_and_byte() -> None:
    error = _refusal((DATA / "contacts_not_utf8.csv").read_bytes())
    assert error.field == "file"
    assert str(error) == "The file is not UTF-8 text (line 3, byte 34); save it as 'CSV UTF-8'"


@pytest.mark.parametrize(
    ("name", "line", "detail"),
    [
        ("contacts_unclosed_quote.csv", 3, "unexpected end of data"),
        ("contacts_nul.csv", 2, "NUL"),
    ],
)
def test_malformed_csv_names_the_line(name: str, line: int, detail: str) -> None:
    error = _refusal((DATA / name).read_bytes())
    assert error.field == "file"
    assert str(error).startswith(f"Line {line} of the file is not valid CSV")
    assert detail in str(error)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("contacts_header_only.csv", "The file has a header but no rows"),
        ("contacts_no_number.csv", "its columns are: name, email"),
    ],
)
def test_files_that_cannot_be_imported(name: str, message: str) -> None:
    assert message in str(_refusal((DATA / name).read_bytes()))


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \r\n\r\n"])
def test_empty_files(data: bytes) -> None:
    assert str(_refusal(data)) == "The file is empty"


def test_mapping_mistakes_are_explained() -> None:
    data = (DATA / "contacts_tab.tsv").read_bytes()
    assert "no column 'Cell'" in str(_refusal(data, mapping={"number": "Cell"}))
    assert "Unknown field 'email'" in str(_refusal(data, mapping={"email": "phone"}))
    # An empty header leaves a field unmapped even when an alias would match.
    preview = read_contacts_csv(data, default_region="US", mapping={"zone": ""})
    assert "zone" not in preview.mapping
    assert preview.rows[1].fields["tz"] == "America/New_York"


def test_rows_with_more_values_than_columns_are_refused() -> None:
    preview = read_contacts_csv(
        b"name,phone\nAna,+14155552671,extra\nBen,+12125551234,\n", default_region=None
    )
    assert [row.name for row in preview.rows] == ["Ben"]
    assert preview.rejected == [
        RejectedRow(
            2,
            "Ana,+14155552671,extra",
            "3 values but the header has 2 columns; check for an unquoted separator",
            "Ana",
            ("Ana", "+14155552671", "extra"),
        )
    ]


def test_name_falls_back_to_first_and_last_name() -> None:
    data = b"First Name,Surname,Tel\nAna,Ruiz,+14155552671\n,Ode,+12125551234\n"
    preview = read_contacts_csv(data, default_region=None)
    assert [row.name for row in preview.rows] == ["Ana Ruiz", "Ode"]


def _bulk_file(path: Path, rows: int) -> bytes:
    lines = ["name,mobile,notes"]
    lines += [f"Person {i},07400{i:06d},note {i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path.read_bytes()


def test_progress_every_1000_rows_and_cancel(tmp_path: Path) -> None:
    data = _bulk_file(tmp_path / "bulk.csv", 2500)
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> bool:
        calls.append((done, total))
        return True

    read_contacts_csv(data, default_region="GB", progress=progress)
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]

    error = _refusal(data, progress=lambda done, total: False)
    assert (str(error), error.field) == ("Import cancelled", "file")


def test_100k_rows_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = 100_000
    lines = ["Full Name,Phone,Zone,Clinic"]
    for i in range(rows):
        if i % 50 == 49:
            number = "12345"  # refused
        elif i % 25 == 24:
            number = f"07400{i - 1:06d}"  # duplicate of the row before
        elif i % 10 == 9:
            number = f"447400{i:06d}"  # lost '+'
        else:
            number = f"07400 {i:06d}"  # every 07400 number is a valid UK mobile
        zone = "Europe/London" if i % 3 == 0 else ""
        lines.append(f"Person {i},{number},{zone},Clinic {i % 7}")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = path.read_bytes()
    # Start cold, as a fresh import in a new session would.
    csv_numbers._repair.cache_clear()
    number_zone._candidate_zones.cache_clear()

    started = time.perf_counter()
    preview = read_contacts_csv(data, default_region="GB")
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    again = read_contacts_csv(data, default_region="GB")  # e.g. after a mapping change
    elapsed_again = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n100,000-row contacts import: {elapsed:.2f} s, read again {elapsed_again:.2f} s")
    assert again == preview

    rejected = rows // 50
    merged = sum(1 for i in range(rows) if i % 25 == 24 and i % 50 != 49)
    assert len(preview.rejected) == rejected
    assert preview.merged == merged
    assert preview.accepted == rows - rejected - merged
    assert preview.repaired == sum(
        1 for i in range(rows) if i % 10 == 9 and i % 25 != 24 and i % 50 != 49
    )
    assert preview.rows[-1].number == "+447400099998"


def test_write_contacts_csv() -> None:
    text = write_contacts_csv(
        [
            {"name": "Smith, Anna", "number": "+33612345678", "note": 'says "hi"'},
            {"name": "=HYPERLINK(1)", "number": "+1 415 555 2671"},
        ],
        ["name", "number", "note"],
    )
    assert text == (
        "name,number,note\r\n"
        '"Smith, Anna",+33612345678,"says ""hi"""\r\n'
        "'=HYPERLINK(1),+1 415 555 2671,\r\n"
    )


cell_text = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(lambda s: s and not s.startswith(("=", "@", "+", "-", "'")))
)


@settings(max_examples=60)
@given(st.lists(st.tuples(cell_text, cell_text), min_size=1, max_size=8))
def test_export_then_import_round_trips(people: list[tuple[str, str]]) -> None:
    rows = [
        {"name": name, "number": f"+1415555{2600 + i:04d}", "notes": note}
        for i, (name, note) in enumerate(people)
    ]
    text = write_contacts_csv(rows, ["name", "number", "notes"])
    preview = read_contacts_csv(text.encode(), default_region=None)
    assert [(r.name, r.number, r.fields["notes"]) for r in preview.rows] == [
        (row["name"], row["number"], row["notes"]) for row in rows
    ]


nanp_or_uk = st.one_of(
    st.integers(2_000_000_000, 9_999_999_999).map(lambda n: f"+1{n}"),
    st.integers(1_000_000_000, 7_999_999_999).map(lambda n: f"+44{n}"),
)


@given(nanp_or_uk)
def test_guess_zone_agrees_with_phonenumbers(e164: str) -> None:
    number = phonenumbers.parse(e164)
    if not phonenumbers.is_valid_number(number):
        return
    zones = time_zones_for_number(number)
    expected = zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None
    assert guess_zone(e164) == expected


def test_imported_names_get_the_same_check_as_typed_ones() -> None:
    from smsdesk.engine.contacts import NAME_LIMIT

    assert contacts_csv.CONTACT_NAME_LIMIT == NAME_LIMIT
    data = (
        'name,phone\n"Ana\nBell",+14155552671\nBen\x07,+12125551234\n'
        + "C" * 100_000
        + ",+12125551235\n  Dee  ,+12125551236\n,+12125551237\n"
    ).encode()
    preview = read_contacts_csv(data, default_region=None)
    assert [(row.name, row.number) for row in preview.rows] == [
        ("Dee", "+12125551236"),
        ("", "+12125551237"),  # a row without a name is still a contact
    ]
    assert [(r.line, r.reason) for r in preview.rejected] == [
        (2, "The contact name contains a line break at position 4; names are one line."),
        (
            4,
            "The contact name contains a control character (U+0007) at position 4; "
            "names are one line.",
        ),
        (5, "The contact name is 100,000 characters long; the most is 200."),
    ]
