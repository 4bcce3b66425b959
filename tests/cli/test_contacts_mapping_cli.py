"""Contacts import from the command line never dead-ends: a number column with a name smsdesk
does not know is named with --map, the error says so, and rejected rows can be saved to fix.
Real argument parsing and a real database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.cli_runner import Cli

NATEL = "Name,Natel,Dentist\nMaria García,(202) 555-0119,Dr Ode\nBad Row,12,Dr Ode\n"


def test_an_unknown_number_column_names_the_map_option(cli: Cli, tmp_path: Path) -> None:
    assert cli("settings", "--region", "US").code == 0
    path = tmp_path / "patients.csv"
    path.write_text(NATEL, encoding="utf-8")
    refused = cli("contacts", "import", str(path))
    assert refused.code == 2
    assert refused.out == ""
    assert refused.err == (
        "smsdesk: The file has no column smsdesk recognises as phone numbers; name it with "
        "--map number=COLUMN, e.g. --map number=Natel (its columns are: Name, Natel, Dentist).\n"
    )

    rejected = tmp_path / "fix-me.csv"
    done = cli(
        "contacts", "import", str(path), "--map", "number=Natel", "--save-rejected", str(rejected)
    )
    assert done.code == 0, done.err
    assert "  line 3 (Bad Row): '12' is too short" in done.out
    assert f"Rejected rows written to {rejected}" in done.out
    listed = cli("contacts", "list", "--json").json()
    assert [(c["name"], c["number"]) for c in listed] == [("Maria García", "+12025550119")]
    rows = list(csv.reader(io.StringIO(rejected.read_text(encoding="utf-8"))))
    assert rows[0] == ["Name", "Natel", "Dentist", "Why it was not imported"]
    assert rows[1][:3] == ["Bad Row", "12", "Dr Ode"]
    assert rows[1][3].startswith("'12' is too short")


def test_sandbox_numbers_are_kept_by_contacts_add_and_import(cli: Cli, tmp_path: Path) -> None:
    added = cli("contacts", "add", "+1 555 010 0123", "--name", "Try Me", "--group", "Trial")
    assert added.code == 0, added.err
    path = tmp_path / "trial.csv"
    path.write_text("Name,Mobile Phone\nTest Two,+1 555 010 0124\n", encoding="utf-8")
    imported = cli("contacts", "import", str(path), "--group", "Trial", "--json")
    assert imported.code == 0, imported.err
    assert (imported.json()["added"], imported.json()["rejected"]) == (1, 0)
    assert cli("contacts", "groups", "--json").json() == [{"name": "Trial", "members": 2}]
