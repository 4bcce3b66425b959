"""Hostile input through the command line (issue 16, items 4, 5 and 7): every case asserts the
exit code, exactly one line on stderr, no traceback, and the database unchanged (or holding
exactly what was reported as stored).

Item 4 runs in-process with the test's clock (an uncaught exception would fail the case as
surely as a traceback); the keyring cases run as real processes, since the passphrase is asked
once per process and read from standard input."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.store import raw_connection
from smsdesk.store.paths import database_path
from smsdesk.store.secret_file import FILE_NAME
from tests.cli_runner import Cli, Run
from tests.simulators.base import Request, Response
from tests.simulators.infobip import InfobipSimulator

ROOT = Path(__file__).resolve().parents[2]
BIG = "A" * 100_000
AT = "2027-01-05T10:00+00:00"
# Infobip's documented example key: digit runs a phone-number mask would split.
INFOBIP_KEY = "003026bbc133714df1834b8638bb496e-8f4b3d9a-e931-478d-a994-28a725159ab9"


def _snapshot(home: Path) -> list[str]:
    db = database_path(home)
    if not db.exists():
        return []
    conn = raw_connection.connect(db, read_only=True)
    try:  # every table's rows in order (SQLCipher's binding has no iterdump)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [
            f"{table}: {row!r}"
            for table in sorted(tables)
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
        ]
    finally:
        conn.close()


def _messages(home: Path) -> int:
    with raw_connection.connect(database_path(home), read_only=True) as conn:
        return int(conn.execute("SELECT count(*) FROM message").fetchone()[0])


def _one_clear_line(run: Run, code: int, *words: str) -> str:
    assert run.code == code, (run.code, run.err)
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err + run.out
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    says: tuple[str, ...]
    stdin: str = ""
    code: int = 2


CASES = {
    "zero-width spaces only": Case(
        ("schedule", "--to", "+14155550100", "--text", "\u200b\u200b", "--at", AT),
        ("only invisible characters",),
    ),
    "a lone byte-order mark": Case(
        ("schedule", "--to", "+14155550100", "--text", "\ufeff", "--at", AT),
        ("only invisible characters",),
    ),
    "word joiner, spaces and a Hangul filler": Case(
        ("schedule", "--to", "+14155550100", "--text", " \u2060 \u3164 ", "--at", AT),
        ("only invisible characters",),
    ),
    "a control character in a template": Case(
        ("template", "save", "t1", "--text", "Hi\x07 there"),
        ("template's text", "U+0007"),
    ),
    "an escape sequence in a template": Case(
        ("template", "save", "t2", "--text", "Hi \x1b[2J"),
        ("template's text", "U+001B"),
    ),
    "a 100,000-character template name": Case(
        ("template", "save", BIG, "--text", "Hi"), ("template name", "100,000")
    ),
    "a 100,000-character contact name": Case(
        ("contacts", "add", "+14155550111", "--name", BIG), ("contact name", "100,000")
    ),
    "a newline in a contact name": Case(
        ("contacts", "add", "+14155550111", "--name", "Ann\nBob"),
        ("contact name", "line break"),
    ),
    "a 100,000-character group name": Case(
        ("contacts", "add", "+14155550111", "--group", BIG), ("group name", "100,000")
    ),
    "a newline in an account name": Case(
        ("provider", "add", "Front\ndesk", "--kind", "sandbox"),
        ("account name", "line break"),
    ),
    "a 100,000-character account name": Case(
        ("provider", "add", BIG, "--kind", "sandbox"), ("account name", "100,000")
    ),
    "a carriage return in an account name": Case(
        ("provider", "add", "De\rsk", "--kind", "sandbox", "--sender", "X"),
        ("account name", "line break"),
    ),
    "port 99999 in --base-url": Case(
        ("provider", "add", "P1", "--kind", "telnyx", "--base-url", "http://127.0.0.1:99999"),
        ("port", "1 to 65535"),
        stdin="KEYabc\n",
    ),
    "port 0 in --base-url": Case(
        ("provider", "add", "P2", "--kind", "telnyx", "--base-url", "http://127.0.0.1:0"),
        ("port", "1 to 65535"),
        stdin="KEYabc\n",
    ),
    "a port that is not a number in --base-url": Case(
        ("provider", "add", "P3", "--kind", "telnyx", "--base-url", "https://x.example:https"),
        ("port",),
        stdin="KEYabc\n",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_refused_with_the_field_named(
    name: str, cli: Cli, isolated_home: Path
) -> None:
    case = CASES[name]
    assert cli("settings").code == 0  # the database exists before the case
    before = _snapshot(isolated_home)
    run = cli(*case.argv, stdin=case.stdin)
    _one_clear_line(run, case.code, *case.says)
    assert _snapshot(isolated_home) == before


def test_an_import_where_every_row_is_refused_exits_2(
    cli: Cli, isolated_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "patients.csv"
    path.write_text("name,number\nBob,not a number\nAl,12\n\u200b,\ufeff\n", encoding="utf-8")
    assert cli("settings").code == 0
    before = _snapshot(isolated_home)
    run = cli("contacts", "import", str(path))
    _one_clear_line(run, 2, "all 3 rows were refused", "nothing was stored", "line 2")
    assert _snapshot(isolated_home) == before


def test_a_direction_override_is_scheduled_with_a_warning(cli: Cli, isolated_home: Path) -> None:
    run = cli("schedule", "--to", "+14155550100", "--text", "Pay \u202e0001$\u202c now", "--at", AT)
    _one_clear_line(run, 0, "direction-override", "U+202C", "U+202E")
    assert "Batch" in run.out
    assert _messages(isolated_home) == 1  # exactly what was reported as stored


# -- item 5: a key echoed back never reaches what smsdesk stores or prints -------------------


class EchoingInfobip(InfobipSimulator):
    """Refuses every create, quoting the request's Authorization header, URL-encoded and
    base64 too, as a careless gateway does."""

    def route(self, request: Request) -> Response:
        if request.method != "POST":
            return super().route(request)
        header = request.headers.get("authorization", "")
        key = header.removeprefix("App ")
        text = (
            f"Invalid destination 41793026727 for {header}; "
            f"key={quote(key, safe='')}; b64={base64.b64encode(key.encode()).decode()}"
        )
        body = {"requestError": {"serviceException": {"messageId": "BAD_REQUEST", "text": text}}}
        return Response(400, body)


def test_an_echoed_infobip_key_reaches_no_error_list_or_export(
    cli: Cli, clock: ManualClock, isolated_home: Path, tmp_path: Path
) -> None:
    with EchoingInfobip(clock, INFOBIP_KEY, stall=5.0) as sim:
        add = cli(
            "provider", "add", "Clinic", "--kind", "infobip", "--base-url", sim.base_url,
            stdin=INFOBIP_KEY + "\n",
        )  # fmt: skip
        assert add.code == 0, add.err
        at = (clock.now() + timedelta(hours=2)).isoformat()
        sent = cli(
            "schedule", "--to", "+41793026727", "--text", "Hi", "--at", at,
            "--provider", "Clinic",
        )  # fmt: skip
        assert sent.code == 0, sent.err
        dispatch = cli("dispatch", "--once")
        assert "Traceback" not in dispatch.err
    export = tmp_path / "history.csv"
    outputs = [
        cli("list", "--json").out,
        cli("list").out,
        cli("history", "export", str(export)).out,
        export.read_text(encoding="utf-8"),
        "\n".join(_snapshot(isolated_home)),
    ]
    seen = "\n".join(outputs)
    assert "BAD_REQUEST" in seen  # the refusal was recorded, with the provider's words
    forms = (INFOBIP_KEY, quote(INFOBIP_KEY, safe=""), base64.b64encode(INFOBIP_KEY.encode()))
    for form in (f if isinstance(f, str) else f.decode() for f in forms):
        pieces = {form[i : i + 10] for i in range(len(form) - 9)}
        assert not [p for p in pieces if p in seen], form


# -- item 7: keys never in plain text unless that backend was chosen by name ----------------


def _process(home: Path, data: Path, *argv: str, stdin: str) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env.update(SMSDESK_HOME=str(home), XDG_DATA_HOME=str(data))
    done = subprocess.run(
        [sys.executable, "-m", "smsdesk", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def _holding(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.timeout(300)
def test_without_a_system_keyring_keys_go_to_the_encrypted_file_only(
    isolated_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "keyring-data"
    key = "KEY0185E2A41737B9C40231D65F0E8A9B2C_Zq7W2x9Lp0aB3cD4eF5gH6"
    add = ["provider", "add", "Telnyx", "--kind", "telnyx", "--sender", "+15551230000"]

    assert _process(isolated_home, data, "settings", stdin="").code == 0
    before = _snapshot(isolated_home)
    # Nobody to give the passphrase (empty stdin): refused, one line, nothing stored.
    locked = _process(isolated_home, data, *add, stdin=key + "\n")
    _one_clear_line(locked, 1, "needs its passphrase")
    assert _snapshot(isolated_home) == before
    assert _holding(tmp_path, key[:12]) == []

    # With a passphrase: stored in the encrypted file, and in no file in plain text.
    stored = _process(isolated_home, data, *add, stdin=f"{key}\nfront desk 2026\n")
    assert (stored.code, stored.err) == (0, ""), stored.err
    assert (isolated_home / FILE_NAME).is_file()
    assert _holding(tmp_path, key[:12]) == []
    assert not data.exists() or not any(data.rglob("*.cfg"))  # keyrings.alt never wrote

    # A wrong passphrase in a new session: one line, exit 1, nothing changed.
    key_file = (isolated_home / FILE_NAME).read_bytes()
    before = _snapshot(isolated_home)
    wrong = _process(isolated_home, data, "provider", "test", "Telnyx", stdin="guess\n")
    _one_clear_line(wrong, 1, "passphrase does not open the key file")
    assert (isolated_home / FILE_NAME).read_bytes() == key_file
    assert _snapshot(isolated_home) == before

    # The right one: the doctor names the store and calls it encrypted.
    doctor = _process(isolated_home, data, "doctor", "keyring", stdin="front desk 2026\n")
    assert "Traceback" not in doctor.err
    assert "encrypted with your passphrase" in doctor.out, doctor.out
