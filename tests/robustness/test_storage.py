"""Database safety: a read-only or full database is one readable error (StorageError; from
the command line one line and exit 1) and loses nothing already stored; every file smsdesk
keeps under SMSDESK_HOME is readable by the user only."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import StorageError
from smsdesk.engine.backups import Backups
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import raw_connection
from tests.cli_runner import Cli

WHEN = "2026-12-01T12:00:00Z"


def _texts(home: Path) -> list[str]:
    conn = raw_connection.connect(home / "smsdesk.db", read_only=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [r[0] for r in conn.execute("SELECT text FROM message ORDER BY text")]
    finally:
        conn.close()


def _one_line_error(run_err: str) -> None:
    assert run_err.startswith("smsdesk: The local database could not be used"), run_err
    assert run_err.count("\n") == 1 and "Traceback" not in run_err


def test_a_read_only_database_is_a_clear_error_and_keeps_its_messages(
    cli: Cli, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        assert (
            cli("schedule", "--to", "+15551234567", "--text", f"kept {n}", "--at", WHEN).code == 0
        )
    path = isolated_home / "smsdesk.db"
    # A database URL carries no encryption key: this file is made plain for it.
    assert cli("storage", "decrypt").code == 0
    # SQLite's own read-only mode (file permissions do not stop root).
    monkeypatch.setenv("SMSDESK_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    run = cli("schedule", "--to", "+15551234567", "--text", "lost?", "--at", WHEN)
    assert run.code == 1
    _one_line_error(run.err)
    assert "readonly" in run.err
    listed = cli("list")
    assert listed.code == 0 and listed.out.count("kept") == 3
    monkeypatch.delenv("SMSDESK_DATABASE_URL")
    assert _texts(isolated_home) == ["kept 0", "kept 1", "kept 2"]


@contextlib.contextmanager
def _tiny_filesystem(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(small: Path) -> Path:
    filler = small / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


def test_a_full_disk_loses_nothing_already_stored(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _tiny_filesystem(tmp_path / "small", "2m") as small:
        home = small / "home"
        monkeypatch.setenv("SMSDESK_HOME", str(home))
        for n in range(3):
            assert (
                cli("schedule", "--to", "+15551234567", "--text", f"kept {n}", "--at", WHEN).code
                == 0
            )
        filler = _fill(small)
        full = cli("schedule", "--to", "+15551234567", "--text", "x" * 150, "--at", WHEN)
        assert full.code == 1 and len(full.err.splitlines()) == 1, full.err
        filler.unlink()
        assert cli("schedule", "--to", "+15551234567", "--text", "after", "--at", WHEN).code == 0
        assert _texts(home) == ["after", "kept 0", "kept 1", "kept 2"]


def test_a_full_disk_is_one_line_and_exit_1(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _tiny_filesystem(tmp_path / "small", "2m") as small:
        monkeypatch.setenv("SMSDESK_HOME", str(small / "home"))
        assert cli("schedule", "--to", "+15551234567", "--text", "kept", "--at", WHEN).code == 0
        _fill(small)
        run = cli("schedule", "--to", "+15551234567", "--text", "x" * 150, "--at", WHEN)
        assert run.code == 1
        _one_line_error(run.err)


def test_storage_error_from_the_service_is_one_line(
    isolated_home: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    AppContext.open(isolated_home, clock=clock).close()
    path = isolated_home / "smsdesk.db"
    Backups(isolated_home).decrypt()  # a database URL carries no encryption key
    monkeypatch.setenv("SMSDESK_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    ctx = AppContext.open(isolated_home, clock=clock)
    try:
        with pytest.raises(StorageError) as info:
            Service(ctx).schedule(["+15551234567"], "hi", clock.now() + timedelta(hours=1), "UTC")
        assert "\n" not in str(info.value) and info.value.hint
    finally:
        ctx.close()


def test_every_file_under_home_is_private_after_a_session(cli: Cli, isolated_home: Path) -> None:
    assert cli("schedule", "--to", "+15551234567", "--text", "hi", "--at", WHEN).code == 0
    assert cli("dispatch", "--once").code == 0
    assert cli("list").code == 0
    files = [p for p in isolated_home.rglob("*")]
    assert any(p.name == "smsdesk.db" for p in files)
    loose = [
        (str(p.relative_to(isolated_home)), oct(stat.S_IMODE(p.stat().st_mode)))
        for p in files
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert loose == []
    assert stat.S_IMODE(os.stat(isolated_home).st_mode) == 0o700
