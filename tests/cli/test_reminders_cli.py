"""Appointment reminders from real calendar files: created at the chosen offsets, moved or
cancelled when the file changes, never duplicated; too-late ones reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.store import raw_connection
from tests.cli_runner import Cli

DATA = Path(__file__).resolve().parents[1] / "core" / "data"
TEXT = "Hi {first_name|there}, see you {appt_time:%a %d %b at %H:%M} at {location|the clinic}."


def _reminders(home: Path) -> list[tuple[str, str, int, str]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return conn.execute(
            "SELECT m.recipient, m.send_at, m.reminder_offset_minutes, m.state FROM message m "
            "JOIN appointment a ON a.id = m.appointment_id ORDER BY m.send_at"
        ).fetchall()
    finally:
        conn.close()


PHYSIO = "+447911123461"  # the weekly physio in clinic_v1.ics (RRULE;COUNT=4)


def test_import_then_reimport_moves_and_cancels_instead_of_duplicating(
    cli: Cli, clock: ManualClock, isolated_home: Path, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert cli("settings", "--region", "GB").code == 0
    first = cli(
        "reminders",
        "import",
        str(DATA / "clinic_v1.ics"),
        "--offsets",
        "48h,2h",
        "--text",
        TEXT,
        "--source",
        "riverside",
        "--json",
    )
    assert first.code == 0, first.err
    s = first.json()
    # appt-1 (Dec 1 09:30) and appt-3 (Dec 3 16:00): two reminders each; appt-2 is in the
    # past; appt-4 is cancelled; the weekly physio (4 occurrences) two each; all-day, no-phone
    # and no-UID events are refused.
    assert (s["created"], s["moved"], s["cancelled"]) == (12, 0, 0)
    assert len(s["too_late"]) == 2 and all("John Smith" in t for t in s["too_late"])
    assert len(s["rejected"]) == 3
    rows = _reminders(isolated_home)
    assert [(r[0], r[1], r[2]) for r in rows if r[0] != PHYSIO] == [
        ("+447911123456", "2026-11-29 09:30:00.000000", 2880),
        # 2 h before 09:30 is 07:30, inside quiet hours: moved to 08:00.
        ("+447911123456", "2026-12-01 08:00:00.000000", 120),
        ("+447911123458", "2026-12-01 16:00:00.000000", 2880),
        ("+447911123458", "2026-12-03 14:00:00.000000", 120),
    ]
    # Each Monday 09:00 (GMT): 48 h before, and 2 h before (07:00, moved to 08:00).
    assert sorted((r[1], r[2]) for r in rows if r[0] == PHYSIO) == sorted(
        [(f"2026-12-{d - 2:02d} 09:00:00.000000", 2880) for d in (7, 14, 21, 28)]
        + [(f"2026-12-{d:02d} 08:00:00.000000", 120) for d in (7, 14, 21, 28)]
    )
    shown = cli("list", "--json").json()
    jane = next(m for m in shown if m["recipient"] == "+447911123456")
    assert jane["text"] == "Hi Jane, see you Tue 01 Dec at 09:30 at Riverside Clinic, Room 2."

    cli("dispatch", "--once")  # the Sandbox now holds them
    # Same file again: nothing changes.
    same = cli(
        "reminders",
        "import",
        str(DATA / "clinic_v1.ics"),
        "--offsets",
        "48h,2h",
        "--text",
        TEXT,
        "--source",
        "riverside",
        "--json",
    ).json()
    assert (same["created"], same["moved"], same["cancelled"], same["unchanged"]) == (0, 0, 0, 12)

    # v2: appt-1 moved to Dec 2 15:30, every other appointment gone.
    second = cli(
        "reminders",
        "import",
        str(DATA / "clinic_v2.ics"),
        "--offsets",
        "48h,2h",
        "--text",
        TEXT,
        "--source",
        "riverside",
        "--json",
    )
    assert second.code == 0, second.err
    s2 = second.json()
    assert (s2["created"], s2["moved"], s2["cancelled"]) == (0, 2, 10)
    rows = _reminders(isolated_home)
    assert len(rows) == 12  # moved, not duplicated
    live = sorted((r[0], r[1], r[2]) for r in rows if r[3] != "cancelled")
    assert live == [
        ("+447911123456", "2026-11-30 15:30:00.000000", 2880),
        ("+447911123456", "2026-12-02 13:30:00.000000", 120),
    ]
    assert sorted(r[0] for r in rows if r[3] == "cancelled") == ["+447911123458"] * 2 + [PHYSIO] * 8


def test_a_reminder_across_the_dst_change_is_exactly_48_hours_early(
    cli: Cli, clock: ManualClock, isolated_home: Path
) -> None:
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    r = cli(
        "reminders",
        "import",
        str(DATA / "dst_change.ics"),
        "--offsets",
        "48h",
        "--text",
        "See you {appt_time:%H:%M}",
        "--json",
    )
    assert r.code == 0, r.err
    # 10:00 BST on 29 March 2026 is 09:00 UTC; 48 h earlier is 09:00 UTC on 27 March (GMT).
    assert [(row[1], row[2]) for row in _reminders(isolated_home)] == [
        ("2026-03-27 09:00:00.000000", 2880)
    ]
    assert cli("list", "--json").json()[0]["text"] == "See you 10:00"


def test_bad_offsets_and_files_are_clear_errors(cli: Cli, isolated_home: Path) -> None:
    for args, words in [
        (["--offsets", "soon"], "reminder time"),
        (["--offsets", "0h"], "0h"),
    ]:
        r = cli("reminders", "import", str(DATA / "clinic_v1.ics"), "--text", "x", *args)
        assert r.code == 2 and words in r.err.lower(), r.err
    broken = cli("reminders", "import", str(DATA / "broken.ics"), "--text", "x")
    assert broken.code == 2 and len(broken.err.splitlines()) == 1
    missing = cli("reminders", "import", str(DATA / "nope.ics"), "--text", "x")
    assert missing.code == 2 and "Cannot read" in missing.err


# -- partial success ---------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_bad_rows_are_listed_and_the_good_ones_created_with_exit_0(
    cli: Cli, isolated_home: Path, tmp_path: Path
) -> None:
    from tests.reminder_files import ANN, clinic

    assert cli("settings", "--region", "GB", "--zone", "Europe/London").code == 0
    assert cli("optout", "add", ANN, "--source", "replied STOP").code == 0
    path = _write(tmp_path, "clinic.ics", clinic())
    r = cli("reminders", "import", path, "--offsets", "7d,2d,2h", "--text", TEXT)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].startswith("3 appointment(s): 9 reminder(s) created")
    assert "refused line 20 (Ann Lee): +447911123458 has opted out" in r.out
    assert "refused line 28 (Far Future): the appointment" in r.out
    assert len(_reminders(isolated_home)) == 9


def test_exit_2_only_when_nothing_could_be_created_and_then_nothing_is_stored(
    cli: Cli, isolated_home: Path, tmp_path: Path
) -> None:
    from tests.reminder_files import ANN, FAR, Event, ics

    cli("settings", "--region", "GB", "--zone", "Europe/London")
    cli("optout", "add", ANN)
    data = ics(
        Event("x1", "Ann Lee", ANN, datetime(2026, 12, 12, 11, 0)),
        Event("x2", "Far Future", FAR, datetime(2028, 1, 5, 10, 0)),
    )
    r = cli("reminders", "import", _write(tmp_path, "bad.ics", data), "--text", "x")
    assert r.code == 2
    assert (
        r.err.startswith("smsdesk: No reminder could be created: line ")
        and len(r.err.splitlines()) == 1
    )
    assert _reminders(isolated_home) == []
    conn = raw_connection.connect(isolated_home / "smsdesk.db")
    try:
        assert conn.execute("SELECT count(*) FROM appointment").fetchone() == (0,)
    finally:
        conn.close()


def test_a_us_desk_csv_reads_12_03_as_3_december(
    cli: Cli, isolated_home: Path, tmp_path: Path
) -> None:
    cli("settings", "--region", "US", "--zone", "America/New_York")
    data = b"Patient,Mobile,Date,Time\nMaria Garcia,(202) 555-0119,12/03/2026,11:30\n"
    path = _write(tmp_path, "desk.csv", data)
    dry = cli("reminders", "import", path, "--offsets", "2h", "--text", "x", "--dry-run")
    assert dry.code == 0, dry.err
    assert "create: Maria Garcia, Thu 3 Dec 2026 11:30 EST: 2h reminder at " in dry.out
    assert _reminders(isolated_home) == []
    r = cli("reminders", "import", path, "--offsets", "2h", "--text", "x", "--json")
    assert r.code == 0, r.err
    # 09:30 EST on 3 December is 14:30 UTC.
    assert _reminders(isolated_home) == [
        ("+12025550119", "2026-12-03 14:30:00.000000", 120, "queued")
    ]
    # The same file read day first, as a British desk would, is 12 March: 2026-03-12 is
    # past, so nothing can be created.
    uk = cli(
        "reminders", "import", path, "--offsets", "2h", "--text", "x", "--date-order", "dmy",
        "--source", "other",
    )  # fmt: skip
    assert uk.code == 2 and "too late" in uk.err


def test_columns_named_otherwise_are_mapped_with_map(
    cli: Cli, isolated_home: Path, tmp_path: Path
) -> None:
    cli("settings", "--region", "GB", "--zone", "Europe/London")
    data = b"Kunde;Handy;Termin\nJane Doe;07911 123456;2026-12-05 10:00\n"
    path = _write(tmp_path, "termine.csv", data)
    r = cli("reminders", "import", path, "--text", "x")
    assert r.code == 2 and "--map" in r.err and "Kunde, Handy, Termin" in r.err
    r = cli(
        "reminders", "import", path, "--text", "x", "--map", "number=Handy",
        "--map", "start=Termin", "--map", "name=Kunde",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert r.out.startswith("1 appointment(s): 2 reminder(s) created")


def test_the_sandbox_numbers_the_readme_suggests_get_reminders(
    cli: Cli, clock: ManualClock, isolated_home: Path, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert cli("settings", "--region", "US", "--zone", "America/New_York").code == 0
    appointments = tmp_path / "appointments.csv"
    appointments.write_text(
        "id,name,phone,start\r\n"
        "a1,Maria Garcia,+1 555 123 4567,2026-12-02 10:00\r\n"
        "a2,John Smith,(555) 010-0101,2026-12-03 15:30\r\n",
        encoding="utf-8",
    )
    result = cli(
        "reminders", "import", str(appointments), "--offsets", "24h", "--text", TEXT, "--json"
    )
    assert result.code == 0, result.err
    assert result.json()["created"] == 2 and result.json()["rejected"] == []
    assert sorted(r[0] for r in _reminders(isolated_home)) == ["+15550100101", "+15551234567"]
