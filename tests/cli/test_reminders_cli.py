"""Appointment reminders from real calendar files: created at the chosen offsets, moved or
cancelled when the file changes, never duplicated; too-late ones reported."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock
from tests.cli_runner import Cli

DATA = Path(__file__).resolve().parents[1] / "core" / "data"
TEXT = "Hi {first_name|there}, see you {appt_time:%a %d %b at %H:%M} at {location|the clinic}."


def _reminders(home: Path) -> list[tuple[str, str, int, str]]:
    conn = sqlite3.connect(home / "smsdesk.db")
    try:
        return conn.execute(
            "SELECT m.recipient, m.send_at, m.reminder_offset_minutes, m.state FROM message m "
            "JOIN appointment a ON a.id = m.appointment_id ORDER BY m.send_at"
        ).fetchall()
    finally:
        conn.close()


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
    # past; appt-4 is cancelled; all-day, no-phone, repeating and no-UID events are refused.
    assert (s["created"], s["moved"], s["cancelled"]) == (4, 0, 0)
    assert len(s["too_late"]) == 2 and all("John Smith" in t for t in s["too_late"])
    assert len(s["rejected"]) == 4
    rows = _reminders(isolated_home)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("+447911123456", "2026-11-29 09:30:00.000000", 2880),
        # 2 h before 09:30 is 07:30, inside quiet hours: moved to 08:00.
        ("+447911123456", "2026-12-01 08:00:00.000000", 120),
        ("+447911123458", "2026-12-01 16:00:00.000000", 2880),
        ("+447911123458", "2026-12-03 14:00:00.000000", 120),
    ]
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
    assert (same["created"], same["moved"], same["cancelled"], same["unchanged"]) == (0, 0, 0, 4)

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
    assert (s2["created"], s2["moved"], s2["cancelled"]) == (0, 2, 2)
    rows = _reminders(isolated_home)
    assert len(rows) == 4  # moved, not duplicated
    live = sorted((r[0], r[1], r[2]) for r in rows if r[3] != "cancelled")
    assert live == [
        ("+447911123456", "2026-11-30 15:30:00.000000", 2880),
        ("+447911123456", "2026-12-02 13:30:00.000000", 120),
    ]
    assert sorted(r[0] for r in rows if r[3] == "cancelled") == ["+447911123458"] * 2


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
