"""A power cut at the moment a hand-off request reaches the provider loses nothing that was
committed before it: the message comes back ``handing_off`` under the key the provider got,
and reconciliation finds it there instead of sending it again under a new key.

A power cut keeps of each file what was last fsynced. The dispatcher runs in a child process
with a small preloaded library that, after every fsync/fdatasync of the database or its WAL,
copies that file to ``<name>.durable``: the file as the disk holds it. When the provider
receives the request, the child copies those durable files aside (the disk at that moment)
and, once the provider has accepted, dies by SIGKILL. The test then opens the copy.

A control run with synchronous=NORMAL shows that the simulation is real: there the commit
of ``handing_off`` is not yet on disk when the request leaves, and the copy has lost it.

Run as a module, this file is the child:
python -m tests.robustness.test_power_cut HOME NOW_ISO SNAPSHOT_DIR SYNCHRONOUS
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.base import Outcome, Outgoing
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import Message, ProviderAccount

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DB_FILES = ("smsdesk.db", "smsdesk.db-wal")

# After each successful fsync/fdatasync of a file whose path starts with $DURABLE_PREFIX,
# copy the whole file to <path>.durable (atomically, by rename): what survives a power cut.
_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void keep_durable(int fd) {
    const char *prefix = getenv("DURABLE_PREFIX");
    char link[64], path[PATH_MAX], tmp[PATH_MAX + 32], dst[PATH_MAX + 32], buf[65536];
    ssize_t n;
    if (prefix == NULL || *prefix == 0) return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 0) return;
    path[n] = 0;
    if (strncmp(path, prefix, strlen(prefix)) != 0 || strstr(path, ".durable")) return;
    snprintf(dst, sizeof dst, "%s.durable", path);
    snprintf(tmp, sizeof tmp, "%s.durable-tmp", path);
    pthread_mutex_lock(&lock);
    int in = open(path, O_RDONLY);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in >= 0 && out >= 0) {
        while ((n = read(in, buf, sizeof buf)) > 0) {
            if (write(out, buf, (size_t)n) != n) break;
        }
        rename(tmp, dst);
    }
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    pthread_mutex_unlock(&lock);
}

int fsync(int fd) {
    static int (*real)(int);
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int rc = real(fd);
    if (rc == 0) keep_durable(fd);
    return rc;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int rc = real(fd);
    if (rc == 0) keep_durable(fd);
    return rc;
}
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the fsync-tracking library")
    where = tmp_path_factory.mktemp("shim")
    (where / "durable.c").write_text(_SHIM, encoding="ascii")
    library = where / "durable.so"
    source = where / "durable.c"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(library), str(source), "-ldl", "-lpthread"],
        check=True,
        capture_output=True,
    )
    return library


class PowerCutSandbox(SandboxProvider):
    """The real Sandbox. When a create request reaches it, the disk as it is (the durable
    copies) is saved to ``snapshot``; once it has accepted, the power goes: SIGKILL."""

    def __init__(self, state_file: Path, clock: ManualClock, home: Path, snapshot: Path) -> None:
        super().__init__(state_file, clock)
        self._home = home
        self._snapshot = snapshot

    def schedule(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        self._snapshot.mkdir()
        for name in DB_FILES:
            durable = self._home / f"{name}.durable"
            if durable.exists():
                shutil.copyfile(durable, self._snapshot / name)
        (self._snapshot / "keys").write_text(" ".join(m.key for m in messages))
        outcomes = super().schedule(messages)
        os.kill(os.getpid(), signal.SIGKILL)
        return outcomes


def child_main(argv: list[str]) -> None:
    home, now_iso, snapshot, synchronous = Path(argv[0]), argv[1], Path(argv[2]), argv[3]
    import smsdesk.store.db

    smsdesk.store.db.SYNCHRONOUS = synchronous  # the control run's NORMAL
    clock = ManualClock(datetime.fromisoformat(now_iso))
    provider = PowerCutSandbox(home / "sandbox.db", clock, home, snapshot)

    def factory(account: ProviderAccount) -> PowerCutSandbox:
        return provider

    ctx = AppContext.open(home, clock=clock, provider_factory=factory)
    Dispatcher(ctx).run_once()
    raise SystemExit("the hand-off never reached the provider")


@pytest.fixture
def scheduled(isolated_home: Path) -> Iterator[tuple[Path, str]]:
    """One message to hand off now, committed and checkpointed into the main file by a process that
    has closed it (so the disk holds it: the starting point of the durable copies)."""
    clock = ManualClock(START)
    ctx = AppContext.open(isolated_home, clock=clock)
    result = Service(ctx).schedule(
        ["+15551234567"], "Your results are in", START + timedelta(hours=1), "UTC"
    )
    message_id = result.messages[0].message.id
    ctx.close()
    assert not (isolated_home / "smsdesk.db-wal").exists()  # checkpointed on close
    shutil.copyfile(isolated_home / "smsdesk.db", isolated_home / "smsdesk.db.durable")
    yield isolated_home, message_id


def _power_cut(home: Path, shim: Path, snapshot: Path, synchronous: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LD_PRELOAD": str(shim),
        "DURABLE_PREFIX": str(home / "smsdesk.db"),
    }
    args = [str(home), START.isoformat(), str(snapshot), synchronous]
    child = subprocess.run(
        [sys.executable, "-m", "tests.robustness.test_power_cut", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # The power went exactly where intended: the provider had the request and accepted it.
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert (snapshot / "keys").exists(), child.stderr


def _restore(snapshot: Path, where: Path) -> Path:
    """A data folder holding what the disk held: the durable main file and WAL only."""
    where.mkdir(mode=0o700)
    for name in DB_FILES:
        if (snapshot / name).exists():
            shutil.copyfile(snapshot / name, where / name)
    return where


def test_a_power_cut_during_a_hand_off_is_reconciled_under_the_same_key(
    scheduled: tuple[Path, str], shim: Path, tmp_path: Path
) -> None:
    home, message_id = scheduled
    snapshot = tmp_path / "disk-at-request"
    _power_cut(home, shim, snapshot, "FULL")
    sandbox = SandboxProvider(home / "sandbox.db", ManualClock(START))
    [key] = (snapshot / "keys").read_text().split()
    assert sandbox.requests_by_key() == {key: 1}

    restored = _restore(snapshot, tmp_path / "after-power-cut")
    assert (restored / "smsdesk.db-wal").exists()  # the commits made it to disk: fsynced
    clock = ManualClock(START)

    def at_the_provider(account: ProviderAccount) -> SandboxProvider:
        return SandboxProvider(home / "sandbox.db", clock)  # the provider kept its state

    ctx = AppContext.open(restored, clock=clock, provider_factory=at_the_provider)
    with ctx.db.read() as s:
        found = s.get(Message, message_id)
    assert found is not None
    assert (found.state, found.idempotency_key) == ("handing_off", key)

    clock.advance(timedelta(minutes=3))  # the dead process's lease has run out
    Dispatcher(ctx).run_once()
    with ctx.db.read() as s:
        settled = s.get(Message, message_id)
    assert settled is not None and settled.state == "scheduled"
    assert settled.idempotency_key == key and settled.provider_ref
    assert sandbox.requests_by_key() == {key: 1}  # found, not sent again under a new key
    ctx.close()


def test_control_without_fsync_at_commit_the_power_cut_loses_the_hand_off_intent(
    scheduled: tuple[Path, str], shim: Path, tmp_path: Path
) -> None:
    home, message_id = scheduled
    snapshot = tmp_path / "disk-at-request"
    _power_cut(home, shim, snapshot, "NORMAL")
    [key] = (snapshot / "keys").read_text().split()
    assert SandboxProvider(home / "sandbox.db", ManualClock(START)).requests_by_key() == {key: 1}
    restored = _restore(snapshot, tmp_path / "after-power-cut")
    ctx = AppContext.open(restored, clock=ManualClock(START))
    with ctx.db.read() as s:
        found = s.get(Message, message_id)
    # The request left, but the disk never held its intent: the message looks never tried,
    # and would go out again under a new key. This is what synchronous=FULL prevents.
    assert found is not None and found.state == "queued"
    assert found.idempotency_key != key
    ctx.close()


if __name__ == "__main__":
    child_main(sys.argv[1:])
