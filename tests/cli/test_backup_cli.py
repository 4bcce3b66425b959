"""A damaged database from the command line: every command is one line on stderr, exit 1,
and the file is left exactly as it was; ``backup`` and ``restore`` get the user back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from tests.cli_runner import Cli, Run
from tests.conftest import START
from tests.store.damage import (
    MESSAGES,
    damage_header,
    damage_middle,
    digest,
    integrity,
    message_ids,
    sound_home,
    truncate_half,
)

WHEN = (START + timedelta(days=3)).isoformat()
COMMANDS = [
    ("list",),
    ("schedule", "--to", "+15551234567", "--text", "stored?", "--at", WHEN),
    ("dispatch", "--once"),
    ("dispatch",),
    ("history", "export", "EXPORT"),
    ("show", "m-000000000000"),
    ("contacts", "list"),
    ("contacts", "add", "+15551234567", "--name", "Ana"),
    ("provider", "list"),
    ("optout", "add", "+15551234567"),
    ("backup",),
]


def _one_line(run: Run, start: str) -> None:
    assert run.code == 1, run
    assert run.err.startswith(start), run.err
    assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert run.out == ""


@pytest.fixture
def damaged(isolated_home: Path) -> Path:
    path = sound_home(isolated_home, START)
    damage_middle(path)
    return path


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_on_a_damaged_database_is_one_line_and_writes_nothing(
    cli: Cli, damaged: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    before = digest(damaged)
    argv = tuple(str(tmp_path / "out.csv") if a == "EXPORT" else a for a in argv)
    run = cli(*argv)
    _one_line(run, "smsdesk: The local database is damaged")
    assert "smsdesk restore --salvage" in run.err  # and what to do about it
    assert digest(damaged) == before
    assert not (tmp_path / "out.csv").exists()
    # A damaged file is never "backed up" (a backup must be good), not even in part.
    assert not list(damaged.parent.glob("backups/*"))


def test_a_damaged_header_is_one_line_too(cli: Cli, isolated_home: Path) -> None:
    path = sound_home(isolated_home, START)
    damage_header(path)
    before = digest(path)
    _one_line(cli("list"), "smsdesk: The local database is damaged (file is not a database)")
    assert digest(path) == before


def test_a_truncated_file_is_one_line_and_can_be_salvaged(cli: Cli, isolated_home: Path) -> None:
    path = sound_home(isolated_home, START)
    truncate_half(path)
    before = digest(path)
    _one_line(
        cli("schedule", "--to", "+15551234567", "--text", "x", "--at", WHEN),
        "smsdesk: The local database is damaged",
    )
    assert digest(path) == before
    run = cli("restore", "--salvage")
    assert run.code == 0 and "unreadable" in run.out, run
    assert integrity(path) == "ok" and 0 < len(message_ids(path)) < MESSAGES


def test_backup_then_restore_after_damage(cli: Cli, isolated_home: Path) -> None:
    path = sound_home(isolated_home, START)
    made = cli("backup")
    assert made.code == 0 and "Backed up to" in made.out
    listed = cli("backup", "--list")
    assert listed.code == 0 and len(listed.out.splitlines()) == 1
    assert cli("backup", "--check").out.strip() == "The database is sound."
    damage_middle(path)
    damaged = digest(path)
    _one_line(cli("backup", "--check"), "smsdesk: The local database is damaged")
    assert "smsdesk restore' to go back to the backup of" in cli("list").err

    run = cli("restore")

    assert run.code == 0, run.err
    assert run.out.startswith("Restored the backup of")
    kept_as = next(line for line in run.out.splitlines() if "kept as" in line)
    aside = Path(kept_as.split("kept as ", 1)[1].rstrip("."))
    assert digest(aside) == damaged
    assert integrity(path) == "ok" and len(message_ids(path)) == MESSAGES
    after = cli("schedule", "--to", "+15551234567", "--text", "after", "--at", WHEN)
    assert after.code == 0, after.err


def test_restore_of_a_sound_database_is_refused_without_force(
    cli: Cli, isolated_home: Path
) -> None:
    path = sound_home(isolated_home, START)
    assert cli("backup").code == 0
    assert cli("schedule", "--to", "+15551234567", "--text", "new", "--at", WHEN).code == 0
    before = digest(path)
    refused = cli("restore")
    assert refused.code == 2 and "--force" in refused.err and refused.err.count("\n") == 1
    assert digest(path) == before
    assert cli("restore", "--force").code == 0
    assert len(message_ids(path)) == MESSAGES  # the new one is gone, as warned


def test_restore_without_any_backup_says_so(cli: Cli, damaged: Path) -> None:
    before = digest(damaged)
    _one_line(cli("restore"), "smsdesk: There is no backup to restore.")
    assert digest(damaged) == before


def test_salvage_lists_what_was_lost_and_the_database_works_again(
    cli: Cli, damaged: Path, isolated_home: Path
) -> None:
    original = MESSAGES
    run = cli("restore", "--salvage")
    assert run.code == 0, run.err
    assert "Salvaged what could be read" in run.out
    assert "message:" in run.out and "Messages known to be lost: m-" in run.out
    lost = run.out.split("Messages known to be lost: ", 1)[1].splitlines()[0].split(", ")
    assert integrity(damaged) == "ok"
    assert len(message_ids(damaged)) + len(lost) == original
    report = next(isolated_home.glob("smsdesk.db.damaged-*.salvage.txt"))
    assert ", ".join(lost) in report.read_text()
    assert cli("list").code == 0
    assert cli("backup", "--check").out.strip() == "The database is sound."
    # The next command made the daily backup, of the salvaged database.
    as_json = cli("backup", "--list", "--json")
    assert as_json.code == 0 and len(as_json.json()) == 1
    assert message_ids(Path(as_json.json()[0]["path"])) == message_ids(damaged)


def test_postgresql_has_no_file_to_back_up(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    monkeypatch.setenv("SMSDESK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    for argv in (("backup",), ("restore",), ("backup", "--check")):
        _one_line(cli(*argv), "smsdesk: The database is on a PostgreSQL server")
