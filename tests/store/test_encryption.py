"""Encryption at rest (SQLCipher): new databases encrypted with a raw key from the keyring,
a missing key told apart from damage, encrypt/decrypt of an existing file that survives a
kill at the swap, and backups, checks and salvage on encrypted files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import keyring
import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.backups import Backups
from smsdesk.store import raw_connection
from smsdesk.store.integrity import integrity_of, quick_check
from smsdesk.store.paths import database_path
from tests.cli_runner import Cli
from tests.store.damage import damage_header, digest

TEXT = "Dr Okafor confirms your biopsy appointment"
KEY_MISSING = "smsdesk: The database is encrypted and its key is not in this computer's keyring."


def _schedule(cli: Cli, text: str = TEXT) -> None:
    run = cli("schedule", "--to", "+14155550100", "--at", "2026-12-02 10:00", "--text", text)
    assert run.code == 0, run.err


def _forget_key() -> None:
    keyring.delete_password("smsdesk", raw_connection.KEY_ACCOUNT)
    raw_connection.forget_cached_key()


def _texts(path: Path) -> list[str]:
    conn = raw_connection.connect(path, read_only=True)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM message")]
    finally:
        conn.close()


def test_a_new_database_is_encrypted_with_a_raw_key_kept_in_the_keyring(
    cli: Cli, isolated_home: Path
) -> None:
    _schedule(cli)
    path = database_path(isolated_home)
    assert raw_connection.file_state(path) == "encrypted"
    assert TEXT.encode() not in path.read_bytes()
    key = keyring.get_password("smsdesk", raw_connection.KEY_ACCOUNT)
    assert key is not None and len(key) == 64
    assert key not in path.read_text(errors="replace")
    assert _texts(path) == [TEXT]
    assert "encrypted (SQLCipher)" in cli("storage").out


@pytest.mark.parametrize("how", ["removed", "another computer's key"])
def test_without_its_key_the_file_is_one_line_exit_1_and_never_taken_for_damage(
    cli: Cli, isolated_home: Path, how: str
) -> None:
    _schedule(cli)
    path = database_path(isolated_home)
    _forget_key()
    if how != "removed":
        keyring.set_password("smsdesk", raw_connection.KEY_ACCOUNT, "ab" * 32)
    before = digest(path)
    for argv in (("list",), ("backup", "--check"), ("restore", "--salvage"), ("doctor",)):
        run = cli(*argv)
        assert run.code == 1, (argv, run.err)
        if argv != ("doctor",):
            assert run.err.splitlines() == [run.err.splitlines()[0]]
            assert run.err.startswith(KEY_MISSING), run.err
        assert "Traceback" not in run.err
        assert "damaged" not in run.err.lower()
    assert "its key is not in this computer's keyring" in cli("doctor").out
    assert digest(path) == before  # nothing salvaged over it, nothing set aside
    assert not integrity_of(path).damaged
    names = {p.name for p in isolated_home.iterdir() if p.name.startswith("smsdesk.db")}
    assert names <= {"smsdesk.db", "smsdesk.db.checked"}  # nothing set aside or salvaged


def test_the_recovery_code_puts_the_key_back(cli: Cli, isolated_home: Path) -> None:
    _schedule(cli)
    code = cli("storage", "key").out.splitlines()[-1]
    _forget_key()
    assert cli("list").code == 1
    wrong = cli("storage", "key", "--restore", stdin="ab" * 32 + "\n")
    assert (wrong.code, wrong.err.count("\n")) == (2, 1)
    assert "does not open the database" in wrong.err
    assert cli("storage", "key", "--restore", stdin=code + "\n").code == 0
    raw_connection.forget_cached_key()
    listed = cli("list")
    assert listed.code == 0 and "+14155550100" in listed.out


def test_garbage_over_an_encrypted_header_is_damage_not_a_missing_key(
    cli: Cli, isolated_home: Path
) -> None:
    _schedule(cli)
    path = database_path(isolated_home)
    assert cli("backup").code == 0
    damage_header(path)
    run = cli("list")
    assert run.code == 1
    assert "The local database is damaged" in run.err
    assert quick_check(path)


def test_backups_restore_and_salvage_work_on_encrypted_files(
    cli: Cli, isolated_home: Path, clock: ManualClock
) -> None:
    _schedule(cli)
    backups = Backups(isolated_home, clock)
    made = backups.backup_now()
    backup = Path(made.path)
    assert raw_connection.file_state(backup) == "encrypted"
    assert TEXT.encode() not in backup.read_bytes()
    assert quick_check(backup) == []
    assert backups.restore(backup, force=True).how == "restored"
    assert _texts(database_path(isolated_home)) == [TEXT]
    done = backups.salvage()
    assert done.complete
    assert raw_connection.file_state(database_path(isolated_home)) == "encrypted"
    assert _texts(database_path(isolated_home)) == [TEXT]


def test_encrypt_and_decrypt_an_existing_file_keep_every_row_and_leave_no_plain_copy(
    cli: Cli, isolated_home: Path
) -> None:
    _schedule(cli)
    path = database_path(isolated_home)
    assert cli("storage", "decrypt").code == 0
    assert raw_connection.file_state(path) == "plain"
    assert TEXT.encode() in path.read_bytes()
    _schedule(cli, "second")
    inode = path.stat().st_ino
    run = cli("storage", "encrypt")
    assert run.code == 0, run.err
    assert "cannot be opened" in run.out  # what losing the keyring entry means
    assert raw_connection.file_state(path) == "encrypted"
    assert path.stat().st_ino != inode
    assert sorted(_texts(path)) == sorted([TEXT, "second"])
    leftovers = [p.name for p in isolated_home.iterdir() if p.name.startswith(".smsdesk.db")]
    assert leftovers == []
    again = cli("storage", "encrypt")
    assert (again.code, again.err) == (2, "smsdesk: The database is already encrypted.\n")


CHILD = """
import os, signal, sys
from pathlib import Path
from smsdesk.store import encryption

def die():
    print("at", sys.argv[2], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

setattr(encryption, sys.argv[2], die)
encryption.encrypt(Path(sys.argv[1]))
"""


@pytest.mark.parametrize("point", ["before_swap", "after_swap"])
def test_a_kill_at_the_swap_leaves_one_whole_database_and_no_plain_bytes_behind(
    cli: Cli, isolated_home: Path, point: str
) -> None:
    _schedule(cli)
    path = database_path(isolated_home)
    assert cli("storage", "decrypt").code == 0
    plain = digest(path)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), point],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout == f"at {point}\n"  # the kill landed where intended
    leftovers = sorted(p.name for p in isolated_home.iterdir() if p.name.startswith(".smsdesk"))
    if point == "before_swap":
        assert raw_connection.file_state(path) == "plain"
        assert digest(path) == plain
        assert [n.rsplit(".", 1)[-1] for n in leftovers] == ["encrypting", "shred"]
    else:
        assert raw_connection.file_state(path) == "encrypted"
        assert [n.rsplit(".", 1)[-1] for n in leftovers] == ["shred"]
        shred = isolated_home / leftovers[0]
        assert TEXT.encode() in shred.read_bytes()  # the old plain bytes, not yet overwritten
    listed = cli("list")  # the next start finishes the job
    assert listed.code == 0 and "+14155550100" in listed.out
    assert [p for p in isolated_home.iterdir() if p.name.startswith(".smsdesk")] == []
