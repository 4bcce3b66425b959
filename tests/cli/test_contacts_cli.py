"""Contacts, CSV import, templates, opt-outs, recipient-local time and quiet hours, through
the command line against a real database and the Sandbox."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from smsdesk.core.clock import ManualClock
from smsdesk.store import raw_connection
from tests.cli_runner import Cli

DATA = Path(__file__).resolve().parents[1] / "core" / "data"
DAMAGED = DATA / "contacts_excel.csv"


def _rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    conn = raw_connection.connect(home / "smsdesk.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _region_gb(cli: Cli) -> None:
    assert cli("settings", "--region", "GB").code == 0


def test_a_damaged_spreadsheet_is_previewed_then_imported(
    cli: Cli, isolated_home: Path, tmp_path: Path
) -> None:
    _region_gb(cli)
    dry = cli("contacts", "import", str(DAMAGED), "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.startswith("contacts_excel.csv: 9 accepted (5 repaired), 3 rejected, 1 dup")
    assert "line 7 (Lost Digits): '4.41E+11' was stored in scientific notation" in dry.out
    assert "Nothing was written" in dry.out
    assert _rows(isolated_home, "SELECT COUNT(*) FROM contact") == [(0,)]

    done = cli("contacts", "import", str(DAMAGED), "--group", "Patients", "--json")
    assert done.code == 0, done.err
    assert (done.json()["added"], done.json()["updated"]) == (9, 0)
    numbers = {n for (n,) in _rows(isolated_home, "SELECT number FROM contact")}
    assert {"+447911123457", "+447911123458", "+447911123460", "+447911123462"} <= numbers
    assert len(numbers) == 9
    assert cli("contacts", "groups", "--json").json() == [{"name": "Patients", "members": 9}]

    again = cli("contacts", "import", str(DAMAGED), "--json")  # re-import: no duplicates
    assert (again.json()["added"], again.json()["updated"]) == (0, 9)
    assert _rows(isolated_home, "SELECT COUNT(*) FROM contact") == [(9,)]

    out = tmp_path / "export.csv"
    assert cli("contacts", "export", str(out)).code == 0
    exported = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    jane = next(r for r in exported if r["number"] == "+447911123456")
    assert (jane["name"], jane["zone"], jane["groups"], jane["clinic"]) == (
        "Jane Doe",
        "Europe/London",
        "Patients",
        "North",
    )


def test_broken_files_are_refused_and_change_nothing(cli: Cli, isolated_home: Path) -> None:
    cli("list")
    for name, words in [
        ("contacts_not_utf8.csv", "utf-8"),
        ("contacts_unclosed_quote.csv", "line 3"),
        ("contacts_no_number.csv", "number"),
    ]:
        r = cli("contacts", "import", str(DATA / name))
        assert r.code == 2, (name, r.out)
        assert words in r.err.lower() and len(r.err.splitlines()) == 1
    assert _rows(isolated_home, "SELECT COUNT(*) FROM contact") == [(0,)]


def test_templates_render_per_recipient_with_fallbacks(cli: Cli, clock: ManualClock) -> None:
    cli("contacts", "add", "+447911123001", "--name", "Jane Doe", "--group", "Friday")
    cli("contacts", "add", "+447911123002", "--group", "Friday")  # no name: the fallback
    saved = cli(
        "template",
        "save",
        "friday",
        "--text",
        "Hi {first_name|there}, your slot is Friday. Reply STOP to cancel.",
    )
    assert saved.code == 0 and "warning:" in saved.out
    r = cli(
        "schedule",
        "--group",
        "Friday",
        "--template",
        "friday",
        "--at",
        "2026-12-04 10:00",
        "--tz",
        "UTC",
        "--json",
    )
    assert r.code == 0, r.err
    texts = {m["message"]["recipient"]: m["message"]["text"] for m in r.json()["messages"]}
    assert texts == {
        "+447911123001": "Hi Jane, your slot is Friday. Reply STOP to cancel.",
        "+447911123002": "Hi there, your slot is Friday. Reply STOP to cancel.",
    }


def test_a_field_without_fallback_that_someone_lacks_stores_nothing(
    cli: Cli, isolated_home: Path
) -> None:
    cli("contacts", "add", "+447911123002")
    r = cli(
        "schedule",
        "--to",
        "+447911123002",
        "--text",
        "Hi {first_name}",
        "--at",
        "2026-12-04 10:00",
        "--tz",
        "UTC",
    )
    assert r.code == 2 and "first_name" in r.err and "+447911123002" in r.err
    assert _rows(isolated_home, "SELECT COUNT(*) FROM message") == [(0,)]


def test_opted_out_numbers_are_skipped_and_said_so(cli: Cli, isolated_home: Path) -> None:
    assert cli("optout", "add", "+447911123001", "--source", "replied STOP").code == 0
    only = cli(
        "schedule",
        "--to",
        "+447911123001",
        "--text",
        "hi",
        "--at",
        "2026-12-04 10:00",
        "--tz",
        "UTC",
    )
    assert only.code == 2 and "Nobody left to send to" in only.err and "replied STOP" in only.err
    both = cli(
        "schedule",
        "--to",
        "+447911123001,+447911123002",
        "--text",
        "hi",
        "--at",
        "2026-12-04 10:00",
        "--tz",
        "UTC",
        "--json",
    )
    assert both.code == 0
    assert [m["message"]["recipient"] for m in both.json()["messages"]] == ["+447911123002"]
    assert both.json()["skipped"][0][0] == "+447911123001"
    assert cli("optout", "remove", "+447911123001").code == 0
    assert cli("optout", "list", "--json").json() == []


def test_an_opt_out_after_scheduling_stops_the_hand_off(
    cli: Cli, clock: ManualClock, isolated_home: Path
) -> None:
    r = cli(
        "schedule",
        "--to",
        "+447911123003",
        "--text",
        "hi",
        "--at",
        "2026-12-01 10:00",
        "--tz",
        "UTC",
        "--json",
    )
    msg_id = r.json()["messages"][0]["message"]["id"]
    cli("optout", "add", "+447911123003", "--source", "asked at the desk")
    cli("dispatch", "--once")
    [shown] = cli("show", msg_id, "--json").json()
    assert shown["state"] == "failed"
    assert "opted out (asked at the desk)" in shown["last_error"]
    assert _rows(isolated_home, "SELECT COUNT(*) FROM message WHERE provider_ref IS NOT NULL") == [
        (0,)
    ]


def test_recipient_local_time_is_dst_safe(cli: Cli, clock: ManualClock) -> None:
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    cli("contacts", "add", "+447911123010", "--name", "Ny", "--zone", "America/New_York")
    cli("contacts", "add", "+447911123011", "--name", "Ld", "--zone", "Europe/London")
    # 20 March 2027: New York is already on summer time (since 14 March), London is not
    # (until 28 March).
    r = cli(
        "schedule",
        "--to",
        "+447911123010,+447911123011",
        "--text",
        "Spring sale",
        "--at",
        "2027-03-20 10:00",
        "--tz",
        "Europe/London",
        "--local-time",
        "--json",
    )
    assert r.code == 0, r.err
    at = {
        m["message"]["recipient"]: (m["message"]["send_at"], m["message"]["zone"])
        for m in r.json()["messages"]
    }
    assert at == {
        "+447911123010": ("2027-03-20T14:00:00+00:00", "America/New_York"),
        "+447911123011": ("2027-03-20T10:00:00+00:00", "Europe/London"),
    }


def test_quiet_hours_move_a_late_message_and_say_so(cli: Cli) -> None:
    cli("contacts", "add", "+447911123012", "--zone", "America/New_York")
    r = cli(
        "schedule",
        "--to",
        "+447911123012",
        "--text",
        "Late",
        "--at",
        "2026-12-01T22:30:00-05:00",
        "--json",
    )
    assert r.code == 0, r.err
    [m] = r.json()["messages"]
    assert m["message"]["send_at"] == "2026-12-02T13:00:00+00:00"  # 08:00 in New York
    assert "moved" in m["note"] and "quiet hours" in m["note"]
    assert cli("settings", "--quiet-mode", "refuse").code == 0
    refused = cli(
        "schedule", "--to", "+447911123012", "--text", "Late", "--at", "2026-12-01T22:30:00-05:00"
    )
    assert refused.code == 2 and "inside quiet hours" in refused.err
    assert cli("settings", "--quiet-hours", "25:00-08:00").code == 2


def test_rescheduling_into_quiet_hours_moves_or_refuses_like_scheduling(
    cli: Cli, isolated_home: Path
) -> None:
    cli("contacts", "add", "+447911123013", "--zone", "America/New_York")
    r = cli("schedule", "--to", "+447911123013", "--text", "Flu jab",
            "--at", "2026-12-01T15:00:00-05:00", "--json")  # fmt: skip
    msg_id = r.json()["messages"][0]["message"]["id"]
    moved = cli("reschedule", msg_id, "--at", "2026-12-01T23:15:00-05:00", "--json")
    assert moved.code == 0, moved.err
    [result] = moved.json()
    assert result["ok"] and "quiet hours" in result["detail"]
    assert _rows(isolated_home, f"SELECT send_at FROM message WHERE id = '{msg_id}'") == [
        ("2026-12-02 13:00:00.000000",)  # 08:00 in New York, not 23:15
    ]
    assert cli("settings", "--quiet-mode", "refuse").code == 0
    refused = cli("reschedule", msg_id, "--at", "2026-12-02T22:00:00-05:00")
    assert refused.code == 2 and "inside quiet hours" in refused.err
    cli("cancel", msg_id)
    # A message that cannot be moved at all says why, not that the time is quiet.
    gone = cli("reschedule", msg_id, "--at", "2026-12-02T22:00:00-05:00", "--json")
    assert "quiet hours" not in gone.err + gone.out
    assert "cancelled" in gone.err + gone.out
    assert _rows(isolated_home, f"SELECT send_at FROM message WHERE id = '{msg_id}'") == [
        ("2026-12-02 13:00:00.000000",)  # unchanged by the refusals
    ]


def test_a_batch_rescheduled_into_one_recipients_night_moves_only_that_one(
    cli: Cli, isolated_home: Path
) -> None:
    cli("contacts", "add", "+447911123014", "--zone", "America/New_York")
    cli("contacts", "add", "+447911123015", "--zone", "Europe/London")
    r = cli("schedule", "--to", "+447911123014,+447911123015", "--text", "Clinic closed",
            "--at", "2026-12-01T12:00:00+00:00", "--json")  # fmt: skip
    batch = r.json()["batch_id"]
    # 21:30 in London is quiet there; it is 16:30 in New York.
    done = cli("reschedule", batch, "--at", "2026-12-01T21:30:00+00:00", "--json")
    assert done.code == 0, done.err
    assert [x["ok"] for x in done.json()] == [True, True]
    assert sorted(_rows(isolated_home, "SELECT recipient, send_at FROM message")) == [
        ("+447911123014", "2026-12-01 21:30:00.000000"),
        ("+447911123015", "2026-12-02 08:00:00.000000"),
    ]


def test_quiet_hours_need_to_know_where_the_recipient_is(cli: Cli) -> None:
    # A UK mobile belongs to London's clock (the sender's zone is among its zones): moved.
    uk = cli(
        "schedule",
        "--to",
        "+447911123456",
        "--text",
        "Late",
        "--at",
        "2026-12-01 22:30",
        "--tz",
        "Europe/London",
        "--json",
    )
    assert uk.json()["messages"][0]["message"]["send_at"] == "2026-12-02T08:00:00+00:00"
    # The Sandbox's fictional +1 555 numbers belong to no place: nothing to be quiet for.
    fictional = cli(
        "schedule",
        "--to",
        "+15551234567",
        "--text",
        "Late",
        "--at",
        "2026-12-01 22:30",
        "--tz",
        "Europe/London",
        "--json",
    )
    [m] = fictional.json()["messages"]
    assert (m["message"]["send_at"], m["note"]) == ("2026-12-01T22:30:00+00:00", "")
