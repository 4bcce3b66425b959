"""Unattended use of the passphrase key file: ``--passphrase-fd N`` hands the passphrase over
on a file descriptor (as a service manager does), never on the command line or in the
environment. Real processes, no system keyring (the key file holds the database key)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smsdesk.store import raw_connection
from smsdesk.store.paths import database_path
from tests.cli_runner import Run

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"


def _smsdesk(home: Path, *argv: str, fd_text: str | None = None) -> Run:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env.update(SMSDESK_HOME=str(home), XDG_CONFIG_HOME=str(home.parent / "config"))
    fds: tuple[int, ...] = ()
    args = list(argv)
    if fd_text is not None:
        read, write = os.pipe()
        os.write(write, fd_text.encode())
        os.close(write)
        fds = (read,)
        args += ["--passphrase-fd", str(read)]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "smsdesk", *args],
            stdin=subprocess.DEVNULL,  # as under a service manager
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            pass_fds=fds,
            timeout=120,
        )
    finally:
        for fd in fds:
            os.close(fd)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.mark.timeout(300)
def test_dispatch_reads_the_passphrase_from_a_file_descriptor(tmp_path: Path) -> None:
    home = tmp_path / "home"
    made = _smsdesk(
        home, "schedule", "--to", "+14155550100", "--at", "2026-12-30 10:00", "--text", "hi"
    )
    assert made.code == 0, made.err
    # Only the key file to hold the database key: the new database was left plain.
    assert raw_connection.file_state(database_path(home)) == "plain"
    encrypted = _smsdesk(home, "storage", "encrypt", fd_text=PASSPHRASE + "\n")
    assert encrypted.code == 0, encrypted.err
    assert raw_connection.file_state(database_path(home)) == "encrypted"
    assert (home / "provider-keys.enc").is_file()

    done = _smsdesk(home, "dispatch", "--once", fd_text=PASSPHRASE + "\n")
    assert done.code == 0, done.err
    assert done.out.startswith("Dispatch pass: handed off 1")

    nobody = _smsdesk(home, "dispatch", "--once")  # standard input is empty: nobody to ask
    assert nobody.code == 1 and nobody.err.count("\n") == 1, nobody.err
    assert "needs its passphrase" in nobody.err

    wrong = _smsdesk(home, "dispatch", "--once", fd_text="not it\n")
    assert (wrong.code, wrong.err.count("\n")) == (1, 1)
    assert "The passphrase does not open the key file" in wrong.err

    closed = _smsdesk(home, "list", "--passphrase-fd", "97")
    assert (closed.code, closed.err) == (
        2,
        "smsdesk: --passphrase-fd 97 is not an open file descriptor.\n",
    )
    for run in (encrypted, done, nobody, wrong):
        assert PASSPHRASE not in run.out + run.err
        assert "Traceback" not in run.err
