"""Writing an import preview to the contact book: set-based, chunk by chunk, into a group,
on a real SQLite file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.engine.contacts import IMPORT_CHUNK, ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.store import raw_connection

ROWS = IMPORT_CHUNK + 300  # more than one chunk


def _csv(numbers: range, *, name: str = "Pat", clinic: str = "North") -> bytes:
    lines = ["name,mobile,clinic"]
    lines += [f"{name} {n},07400 {n:06d},{clinic}" for n in numbers]
    return ("\r\n".join(lines) + "\r\n").encode()


def _db(home: Path, sql: str) -> list[tuple[object, ...]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _book(ctx: AppContext) -> ContactBook:
    from smsdesk.engine.settings import SettingsService

    SettingsService(ctx).update_settings(default_region="GB")
    return ContactBook(ctx)


def test_a_file_larger_than_a_chunk_is_written_whole_into_its_group(
    ctx: AppContext, isolated_home: Path
) -> None:
    book = _book(ctx)
    book.save_contact("+447400999999", name="Saved one by one")
    summary = book.commit_import(book.preview_import(_csv(range(ROWS))), group="Patients")
    assert (summary.added, summary.updated, summary.group) == (ROWS, 0, "Patients")
    assert _db(isolated_home, "SELECT COUNT(*) FROM contact") == [(ROWS + 1,)]
    assert book.groups() == [("Patients", ROWS)]
    # Times are stored exactly as the ORM stores them (the import converts them itself).
    assert _db(isolated_home, "SELECT DISTINCT created_at, updated_at FROM contact") == [
        _db(isolated_home, "SELECT created_at, updated_at FROM contact WHERE name LIKE 'Saved%'")[0]
    ]
    last = book.list_contacts(search=f"Pat {ROWS - 1}")[0]
    assert (last.number, last.zone, last.fields, last.groups) == (
        f"+447400{ROWS - 1:06d}",
        None,  # UK mobiles span London and the Crown dependencies: no single zone
        {"clinic": "North"},
        ("Patients",),
    )


def test_importing_again_updates_in_place_and_never_joins_twice(
    ctx: AppContext, clock: ManualClock, isolated_home: Path
) -> None:
    book = _book(ctx)
    book.save_contact("07400 000005", name="Dr Who", fields={"allergy": "none"})
    book.commit_import(book.preview_import(_csv(range(0, 1500))), group="Patients")
    clock.advance(timedelta(hours=1))
    # Overlaps the first import (1000..1499 are members already), adds 1500..2999, and gives
    # no names: the names already known stay.
    lines = ["mobile,clinic"] + [f"07400 {n:06d},South" for n in range(1000, 3000)]
    data = ("\r\n".join(lines) + "\r\n").encode()
    summary = book.commit_import(book.preview_import(data), group="Patients")
    assert (summary.added, summary.updated) == (1500, 500)
    assert _db(isolated_home, "SELECT COUNT(*) FROM contact") == [(3000,)]
    assert _db(isolated_home, "SELECT COUNT(*), COUNT(DISTINCT contact_id) FROM group_member") == [
        (3000, 3000)
    ]
    kept = book.list_contacts(search="+447400001200")[0]
    assert (kept.name, kept.fields) == ("Pat 1200", {"clinic": "South"})
    first = book.list_contacts(search="+447400000005")[0]
    # The file's name wins; fields merge and are never dropped.
    assert (first.name, first.fields) == ("Pat 5", {"allergy": "none", "clinic": "North"})
    stamps = _db(
        isolated_home,
        "SELECT created_at < updated_at FROM contact WHERE number IN "
        "('+447400001200', '+447400002500', '+447400000005')",
    )
    assert sorted(stamps) == [(0,), (0,), (1,)]  # only 1200 existed before the second import


def test_a_contact_known_before_joins_the_group_of_a_later_import(
    ctx: AppContext,
) -> None:
    book = _book(ctx)
    book.save_contact("07400 000001", name="Ann")
    book.commit_import(book.preview_import(_csv(range(3))), group="Flu clinic")
    assert book.group_numbers("Flu clinic") == [f"+4474000000{n:02d}" for n in range(3)]
    assert book.list_contacts(search="+447400000001")[0].name == "Pat 1"


def test_cancelling_keeps_whole_chunks_only(ctx: AppContext, isolated_home: Path) -> None:
    book = _book(ctx)
    preview = book.preview_import(_csv(range(ROWS)))
    summary = book.commit_import(preview, group="Patients", progress=lambda done, total: False)
    assert summary.added == IMPORT_CHUNK
    assert _db(isolated_home, "SELECT COUNT(*) FROM contact") == [(IMPORT_CHUNK,)]
    assert book.groups() == [("Patients", IMPORT_CHUNK)]
