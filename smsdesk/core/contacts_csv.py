"""A CSV of contacts turned into an import preview; nothing is written here.

The preview says, row by row, what would be imported, what was repaired on the way (see
:mod:`smsdesk.core.csv_numbers`) and what was refused and why, so a person can fix the
file before anything reaches the address book. Refused rows never stop the import, and can
be written back out as a CSV to fix and import again; only a file that cannot be read at all
(not UTF-8, broken CSV) or whose number column is not chosen does.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Final

from smsdesk.core.csv_numbers import repair_number
from smsdesk.core.errors import InvalidInput
from smsdesk.core.gc_pause import collector_paused
from smsdesk.core.number_zone import guess_zone
from smsdesk.core.text_checks import check_label
from smsdesk.core.timeparse import resolve_zone

_FILE: Final = "file"
_MAPPING: Final = "mapping"

FIELDS: Final = ("name", "number", "zone", "first_name", "last_name")
CONTACT_NAME_LIMIT: Final = 200  # as for a name typed in the window (engine/contacts.py)

# Header spellings seen in real exports (address books, practice software, spreadsheets in
# several languages), compared after header_key(): lower case, accents dropped, single
# spaces, "_", "-" and "." read as spaces. A mobile column comes before a landline one: text
# messages go to mobiles. Any other name is chosen in the mapping step.
ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "number": (
        "mobile",
        "mobile phone",
        "mobile number",
        "mobile phone number",
        "mobile no",
        "cell",
        "cell phone",
        "cellphone",
        "cell number",
        "handy",
        "handynummer",
        "mobil",
        "mobilnummer",
        "portable",
        "telephone portable",
        "movil",
        "celular",
        "cellulare",
        "sms",
        "number",
        "phone",
        "phone number",
        "phone no",
        "telephone",
        "telephone number",
        "tel",
        "tel no",
        "telefon",
        "telefonnummer",
        "telefono",
        "numero",
        "numero de telephone",
        "msisdn",
        "primary phone",
        "phone 1 value",
    ),
    "name": ("name", "full name", "patient", "patient name", "customer", "client", "nombre"),
    "zone": ("zone", "time zone", "timezone", "tz"),
    "first_name": ("first name", "given name", "firstname", "forename", "prenom", "vorname"),
    # French forms pair "Prénom" with "Nom", the family name.
    "last_name": ("last name", "surname", "family name", "lastname", "nachname", "nom"),
}

# The column a saved list of rejected rows adds; importing that file again leaves it out.
REASON_COLUMN: Final = "Why it was not imported"

_DELIMITERS: Final = (",", ";", "\t")
_SNIFF_LINES: Final = 20
PROGRESS_EVERY: Final = 1000

# Cells a spreadsheet would run as a formula when the export is opened (CSV injection).
_FORMULA_START: Final = ("=", "@", "\t", "\r", "+", "-")
_PLAIN_NUMBER = re.compile(r"[+-][0-9 ().\-]*")


@dataclass(frozen=True)
class ContactRow:
    line: int  # where the row starts in the file, 1-based, counting the header
    name: str
    number: str  # E.164
    zone: str | None  # IANA name, given or guessed from the number
    fields: dict[str, str]  # first_name, last_name and custom columns
    repairs: tuple[str, ...]


@dataclass(frozen=True)
class RejectedRow:
    line: int
    raw: str
    reason: str
    name: str = ""  # the person, when the row names one: "line 7" alone finds nobody
    cells: tuple[str, ...] = ()  # the row as read, for writing it back out


class NoNumberColumn(InvalidInput):
    """The file has no column the import recognises as phone numbers: it must be chosen.
    Carries the file's columns so the chooser can list them."""

    def __init__(self, columns: Sequence[str], candidates: Sequence[str] = ()) -> None:
        self.columns = list(columns)
        # The columns no other field claimed: where the numbers most likely are.
        self.candidates = list(candidates)
        listed = ", ".join(h for h in self.columns if h) or "none"
        super().__init__(
            "The file has no phone number column; choose which column holds the numbers "
            f"(its columns are: {listed})",
            field=_MAPPING,
        )


@dataclass
class ImportPreview:
    columns: list[str]
    mapping: dict[str, str]  # field -> column header
    rows: list[ContactRow] = field(default_factory=list)  # accepted, duplicates merged
    rejected: list[RejectedRow] = field(default_factory=list)
    merged: int = 0  # rows merged into an earlier row with the same number
    delimiter: str = ","  # the file's, to write rejected rows back the same way

    @property
    def accepted(self) -> int:
        return len(self.rows)

    @property
    def repaired(self) -> int:
        return sum(1 for row in self.rows if row.repairs)


@dataclass(frozen=True)
class ColumnGuess:
    columns: list[str]  # the header cells, stripped
    mapping: dict[str, str]  # field -> column, for the fields the headers name
    sample: list[list[str]] = field(default_factory=list)  # the first rows, to choose by


@dataclass
class CsvTable:
    header: list[str]  # stripped header cells
    rows: list[tuple[int, list[str]]]  # (line, cells) below the header, blank rows dropped
    delimiter: str


def header_key(header: str) -> str:
    """How headers are compared: "Phone_Number ", "phone number" and "Phone-Number" are the
    same, and so are "Téléphone" and "telephone"."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", header.casefold()) if not unicodedata.combining(c)
    )
    return " ".join(re.sub(r"[_\-.:#]", " ", folded).split())


def custom_field_name(header: str, position: int) -> str:
    """The merge-field name of an unmatched column: lower case, spaces as "_"."""
    name = "_".join(header.lower().split())
    return name or f"column_{position}"


def _decode(data: bytes) -> str:
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + len(data) - len(body)
        line = data[:offset].count(b"\n") + 1
        raise InvalidInput(
            f"The file is not UTF-8 text (line {line}, byte {offset + 1}); save it as 'CSV UTF-8'",
            field=_FILE,
        ) from None


def _sniff(text: str) -> str:
    """The delimiter that gives the widest header and the most rows of the same width.

    csv.Sniffer is avoided: it guesses from character frequencies and happily picks a
    letter or a space on small files.
    """
    sample = "".join(text.splitlines(keepends=True)[:_SNIFF_LINES])
    best, best_score = ",", (False, 0, 0)
    for delimiter in _DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:  # a quoted field cut by the sample; other delimiters may do
            continue
        if not widths:
            continue
        score = (widths[0] > 1, sum(w == widths[0] for w in widths), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_table(data: bytes) -> CsvTable:
    """The header and rows of a UTF-8 CSV file (",", ";" or tab separated)."""
    text = _decode(data)
    if not text.strip():
        raise InvalidInput("The file is empty", field=_FILE)
    nul = text.find("\0")
    if nul >= 0:  # the csv module accepts NUL since 3.11; it means binary or UTF-16 data
        line = text.count("\n", 0, nul) + 1
        raise InvalidInput(
            f"Line {line} of the file is not valid CSV (it contains a NUL character); "
            "save it as 'CSV UTF-8'",
            field=_FILE,
        )
    delimiter = _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput(
            f"Line {start} of the file is not valid CSV ({exc}); check its quotes and save "
            "it as CSV again",
            field=_FILE,
        ) from None
    if not records:
        raise InvalidInput("The file is empty", field=_FILE)
    header = [cell.strip() for cell in records[0][1]]
    if len(records) == 1:
        raise InvalidInput("The file has a header but no rows", field=_FILE)
    return CsvTable(header, records[1:], delimiter)


def match_columns(
    header: Sequence[str],
    aliases: Mapping[str, tuple[str, ...]],
    mapping: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """field -> column index: the explicit ``mapping`` first (field -> header; "" leaves a
    field unmapped), then the unused column whose header comes first among the aliases
    ("Mobile" before "Home phone", wherever each stands in the file)."""
    keys = [header_key(h) for h in header]
    listed = ", ".join(h for h in header if h) or "none"
    found: dict[str, int] = {}
    for target, column in (mapping or {}).items():
        if target not in aliases:
            raise InvalidInput(
                f"Unknown field '{target}'; use one of {', '.join(aliases)}", field=_MAPPING
            )
        if not column.strip():
            continue
        if header_key(column) not in keys:
            raise InvalidInput(
                f"The file has no column '{column}'; its columns are: {listed}", field=_MAPPING
            )
        found[target] = keys.index(header_key(column))
    for target, names in aliases.items():
        if mapping is not None and target in mapping:
            continue
        used = set(found.values())
        ranked = [
            (names.index(key), index)
            for index, key in enumerate(keys)
            if key in names and index not in used
        ]
        if ranked:
            found[target] = min(ranked)[1]
    return found


@lru_cache(maxsize=1024)
def _zone_problem(name: str) -> str | None:
    try:
        resolve_zone(name)
    except InvalidInput as exc:
        return exc.message
    return None


def _merge(first: ContactRow, later: ContactRow) -> ContactRow:
    """``first`` with its gaps filled from ``later``; what ``first`` has is kept."""
    fields = dict(first.fields)
    for key, value in later.fields.items():
        if value and not fields.get(key):
            fields[key] = value
    return replace(
        first,
        name=first.name or later.name,
        zone=first.zone or later.zone,
        fields=fields,
        repairs=tuple(dict.fromkeys(first.repairs + later.repairs)),
    )


@dataclass(frozen=True)
class _Layout:
    """Where each field sits in a row, worked out once per file."""

    width: int
    delimiter: str
    number: int
    name: int | None
    zone: int | None
    name_parts: tuple[int, ...]  # first and last name columns, for a name made of both
    extra: tuple[tuple[str, int], ...]  # fields dict key -> column


def _reject(line: int, cells: list[str], layout: _Layout, reason: str) -> RejectedRow:
    raw = layout.delimiter.join(cells)
    return RejectedRow(line, raw, reason, _name_of(cells, layout), tuple(cells))


def _name_of(cells: list[str], layout: _Layout) -> str:
    name = cells[layout.name].strip() if layout.name is not None else ""
    if not name and layout.name_parts:
        name = " ".join(part for part in (cells[i].strip() for i in layout.name_parts) if part)
    return name


def _read_row(
    line: int, cells: list[str], layout: _Layout, default_region: str | None, tests: bool
) -> ContactRow | RejectedRow:
    width = layout.width
    if len(cells) < width:  # spreadsheets drop trailing empty cells
        cells = cells + [""] * (width - len(cells))
    name = _name_of(cells, layout)
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return _reject(
            line,
            cells,
            layout,
            f"{len(cells)} values but the header has {width} columns; "
            "check for an unquoted separator",
        )

    if name:  # the same check as a name typed in the contact editor
        try:
            name = check_label(name, field="name", what="contact", limit=CONTACT_NAME_LIMIT)
        except InvalidInput as exc:
            return _reject(line, cells, layout, exc.message)

    raw_number = cells[layout.number].strip()
    if not raw_number:
        return _reject(line, cells, layout, "No phone number")
    try:
        repaired = repair_number(raw_number, default_region, allow_test_numbers=tests)
    except InvalidInput as exc:
        if exc.field == "region":  # a bad setting, not a bad row
            raise
        return _reject(line, cells, layout, exc.message)

    given_zone = cells[layout.zone].strip() if layout.zone is not None else ""
    zone: str | None = given_zone or None
    if given_zone:
        problem = _zone_problem(given_zone)
        if problem is not None:
            return _reject(line, cells, layout, problem)
    else:
        zone = guess_zone(repaired.number)

    return ContactRow(
        line=line,
        name=name,
        number=repaired.number,
        zone=zone,
        fields={key: cells[i].strip() for key, i in layout.extra},
        repairs=repaired.repairs,
    )


def read_contacts_csv(
    data: bytes,
    *,
    default_region: str | None,
    mapping: Mapping[str, str] | None = None,
    progress: Callable[[int, int], bool] | None = None,
    allow_test_numbers: bool = False,
) -> ImportPreview:
    """What importing ``data`` would do. ``mapping`` is field -> column header and wins
    over the header aliases; ``progress(done, total)`` is called every 1000 rows and after
    the last, and returning False cancels with InvalidInput("Import cancelled"). Without a
    number column: NoNumberColumn, listing the columns to choose from.
    ``allow_test_numbers`` accepts the Sandbox's fictional +1 555 numbers."""
    table = read_csv_table(data)
    columns = table.header
    found = match_columns(columns, ALIASES, mapping)
    if "number" not in found:
        claimed = set(found.values())
        raise NoNumberColumn(columns, [h for i, h in enumerate(columns) if h and i not in claimed])
    named = [(t, found[t]) for t in ("first_name", "last_name") if t in found]
    used = set(found.values())
    custom = [
        (custom_field_name(h, i + 1), i)
        for i, h in enumerate(columns)
        if i not in used and h != REASON_COLUMN  # a saved rejection list, fixed and re-read
    ]
    layout = _Layout(
        width=len(columns),
        delimiter=table.delimiter,
        number=found["number"],
        name=found.get("name"),
        zone=found.get("zone"),
        name_parts=tuple(i for _, i in named),
        extra=tuple(named + custom),
    )
    preview = ImportPreview(
        columns, {target: columns[i] for target, i in found.items()}, delimiter=table.delimiter
    )

    by_number: dict[str, int] = {}
    total = len(table.rows)
    with collector_paused():
        for done, (line, cells) in enumerate(table.rows, 1):
            row = _read_row(line, cells, layout, default_region, allow_test_numbers)
            if isinstance(row, RejectedRow):
                preview.rejected.append(row)
            elif (earlier := by_number.get(row.number)) is None:
                by_number[row.number] = len(preview.rows)
                preview.rows.append(row)
            else:
                preview.rows[earlier] = _merge(preview.rows[earlier], row)
                preview.merged += 1
            at_step = done % PROGRESS_EVERY == 0 or done == total
            if progress is not None and at_step and not progress(done, total):
                raise InvalidInput("Import cancelled", field=_FILE)
    return preview


SAMPLE_ROWS: Final = 3


def read_header(data: bytes) -> ColumnGuess:
    """The file's columns, the fields their names give away and its first rows, without
    reading the rest: what the mapping step shows before any preview."""
    text = _decode(data)
    if not text.strip():
        raise InvalidInput("The file is empty", field=_FILE)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff(text), strict=True)
    filled = (cells for cells in reader if any(c.strip() for c in cells))
    sample: list[list[str]] = []
    try:
        header = next(filled, [])
    except csv.Error as exc:
        raise InvalidInput(
            f"Line {reader.line_num} of the file is not valid CSV ({exc}); check its quotes and "
            "save it as CSV again",
            field=_FILE,
        ) from None
    # A broken row among the first is the preview's to report, with its line.
    with contextlib.suppress(csv.Error):
        for cells in filled:
            sample.append([c.strip() for c in cells])
            if len(sample) == SAMPLE_ROWS:
                break
    columns = [cell.strip() for cell in header]
    found = match_columns(columns, ALIASES)
    return ColumnGuess(columns, {target: columns[i] for target, i in found.items()}, sample)


def rejected_csv(preview: ImportPreview) -> str:
    """The rejected rows as they were in the file, with the reason in one more column: fix
    them in a spreadsheet and import the file again (the reason column is left out then)."""
    width = len(preview.columns)
    rows: list[list[str]] = []
    for row in preview.rejected:
        cells = list(row.cells[:width]) + [""] * (width - len(row.cells))
        if len(row.cells) > width and width:
            # An unquoted separator split the last value: joined again, and quoted this time.
            cells[-1] = preview.delimiter.join(row.cells[width - 1 :])
        rows.append([*cells, row.reason])
    return _write_table([*preview.columns, REASON_COLUMN], rows)


def _cell(value: str) -> str:
    # A leading apostrophe makes a spreadsheet show the text instead of running it; phone
    # numbers such as "+44 20 …" are left alone (the import strips such apostrophes anyway).
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _write_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(c) for c in columns])
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def write_contacts_csv(rows: Iterable[Mapping[str, str]], columns: Sequence[str]) -> str:
    """CSV text with a header row; a missing value is an empty cell."""
    return _write_table(columns, ([row.get(c, "") for c in columns] for row in rows))
