"""Crash tests for changes at a provider: a cancel or reschedule of part or all of an Infobip
bulk (the loopback simulator) whose process is SIGKILLed right after its request returned
(``die-after-cancel``, ``die-after-reschedule``) or right before it (``die-before-cancel``),
or whose record of the outcome cannot be written (another process holds the database's write
lock past the busy timeout). After a restart and a dispatch nothing may be lost: the chosen
message is cancelled or moved, the other members of the bulk are handed off again exactly
once, and no status sync marks them cancelled.

The dying process is this module run as a child:
    python -m tests.robustness.test_intent_crash HOME NOW MODE ACTION IDENT [SEND_AT]
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smsdesk.core.clock import ManualClock
from smsdesk.core.errors import StorageError
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.provider_changes import LEASE
from smsdesk.engine.service import Service
from smsdesk.store import db as db_module
from smsdesk.store.models import Message
from tests.simulators.infobip import InfobipSimulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "ib-intent-key-9a41c07e"
START = datetime.fromisoformat("2026-12-01T09:00:00+00:00")
AHEAD = timedelta(hours=2)  # the bulk's send time
LATER = timedelta(hours=5)  # where a reschedule moves messages
# Past the killed process's intent lease: its intents are free for reconciliation.
RESTART_AFTER = LEASE + timedelta(minutes=1)
RUNS = int(os.environ.get("SMSDESK_INTENT_CRASH_RUNS", "0") or 0)
SEED = int(os.environ.get("SMSDESK_INTENT_CRASH_SEED", "12"))
_RUN_NUMBERS = itertools.count()


# -- the child --------------------------------------------------------------------------------


def _child_main(argv: list[str]) -> None:
    """Open HOME at NOW, arrange to die at MODE, then cancel or reschedule IDENT."""
    home, now, mode, action, ident = Path(argv[0]), argv[1], argv[2], argv[3], argv[4]
    ctx = AppContext.open(home, clock=ManualClock(datetime.fromisoformat(now)))
    svc = Service(ctx)
    provider: Any = ctx.provider(ctx.account("Infobip"))
    method, when = {
        "die-after-cancel": ("cancel", "after"),
        "die-before-cancel": ("cancel", "before"),
        "die-after-reschedule": ("reschedule", "after"),
    }[mode]
    real: Callable[..., None] = getattr(provider, method)

    def dying(*args: Any) -> None:
        if when == "after":
            real(*args)
        os.kill(os.getpid(), signal.SIGKILL)  # nothing after the request is recorded

    setattr(provider, method, dying)
    if action == "cancel":
        results = svc.cancel(ident)
    else:
        results = svc.reschedule(ident, datetime.fromisoformat(argv[5]))
    print("survived", [(r.state, r.detail) for r in results], flush=True)
    ctx.close()


def _run_child(home: Path, now: datetime, mode: str, action: str, ident: str, at: str) -> None:
    args = [str(home), now.isoformat(), mode, action, ident, at]
    child = subprocess.run(
        [sys.executable, "-m", "tests.robustness.test_intent_crash", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stdout, child.stderr)


# -- the parent -------------------------------------------------------------------------------


@dataclass
class Figures:
    runs: int = 0
    kills: int = 0  # children killed where intended
    failed_writes: int = 0  # outcomes whose local write failed where intended
    lost: int = 0
    duplicates: int = 0

    def line(self) -> str:
        return (
            f"intent crash: {self.runs} run(s), {self.kills} kills landed, "
            f"{self.failed_writes} failed local writes landed, lost {self.lost}, "
            f"duplicates {self.duplicates}"
        )


@dataclass
class Bulk:
    home: Path
    clock: ManualClock
    sim: InfobipSimulator
    ids: list[str]
    bulk_id: str
    numbers: dict[str, str]  # message id -> recipient


@pytest.fixture
def sim() -> Iterator[InfobipSimulator]:
    simulator = InfobipSimulator(ManualClock(START), api_key=KEY)
    simulator.start()
    yield simulator
    simulator.stop()


def _bulk(base: Path, sim: InfobipSimulator, size: int) -> Bulk:
    """A data folder with one Infobip bulk of ``size`` scheduled messages."""
    clock = sim.clock
    assert isinstance(clock, ManualClock)
    clock.set(START)
    home = base / f"home-{len(list(base.glob('home-*')))}"
    ctx = AppContext.open(home, clock=clock)
    try:
        svc = Service(ctx)
        if not any(a.name == "Infobip" for a in svc.list_accounts()):
            svc.add_account(
                "Infobip", "infobip", api_key=KEY, base_url=sim.base_url, make_default=True
            )
        run = next(_RUN_NUMBERS)  # numbers of their own: one simulator serves many runs
        numbers = [f"+41794{run:03d}{i:03d}" for i in range(size)]
        result = svc.schedule(numbers, "Clinic closed Friday", clock.now() + AHEAD, "UTC")
        ids = [m.message.id for m in result.messages]
        Dispatcher(ctx).run_once()
        msgs = _rows(ctx, ids)
        assert {m.state for m in msgs} == {"scheduled"}
        groups = {m.provider_group for m in msgs}
        assert len(groups) == 1 and None not in groups, "the batch is one bulk"
        bulk_id = str(groups.pop())
    finally:
        ctx.close()
    return Bulk(home, clock, sim, ids, bulk_id, {m.id: m.recipient for m in msgs})


def _rows(ctx: AppContext, ids: list[str]) -> list[Message]:
    with ctx.db.read() as s:
        found = {m.id: m for m in (s.get(Message, i) for i in ids) if m is not None}
    return [found[i] for i in ids]


def _unsettled(b: Bulk, target: str, action: str) -> None:
    """The kill (or failed write) landed between the provider's change and its record."""
    ctx = AppContext.open(b.home, clock=b.clock)
    try:
        [row] = _rows(ctx, [target])
    finally:
        ctx.close()
    if action == "reschedule-all":
        assert b.sim.bulks[b.bulk_id].send_at == START + LATER  # moved at Infobip...
        assert row.send_at == START + AHEAD  # ...not here
    else:
        assert b.sim.bulk_status(b.bulk_id) == "CANCELED"  # withdrawn at Infobip...
        assert row.state not in ("cancelled", "queued")  # ...not recorded here


def _restart_and_check(b: Bulk, target: str, action: str, figures: Figures) -> None:
    """A new process, once the dead one's lease ran out: dispatch, then let every send time
    pass with status syncs; then count what Infobip holds for each recipient."""
    b.clock.advance(RESTART_AFTER)
    ctx = AppContext.open(b.home, clock=b.clock)
    try:
        Dispatcher(ctx).run_once()  # the restart: unfinished changes settle, hand-offs go
        after = {m.id: m for m in _rows(ctx, b.ids)}
        assert {m.state for m in after.values()} <= {"scheduled", "cancelled"}, after
        b.clock.advance(LATER + timedelta(hours=1))
        for _ in range(3):  # status syncs after every send time
            Dispatcher(ctx).run_once()
        final = {m.id: m for m in _rows(ctx, b.ids)}
    finally:
        ctx.close()
    cancelled = {target} if action == "cancel" else set()
    moved = {target} if action == "reschedule-one" else set(b.ids)
    moved = moved if action.startswith("reschedule") else set()
    live = Counter(
        m.to
        for m in b.sim.messages
        if m.rejected is None and b.sim.bulks[m.bulk_id].held != "CANCELED"
    )
    for mid in b.ids:
        want = 0 if mid in cancelled else 1
        got = live.get(b.numbers[mid].removeprefix("+"), 0)
        figures.lost += max(want - got, 0)
        figures.duplicates += max(got - want, 0)
    figures.runs += 1
    for mid in b.ids:
        row = final[mid]
        expected_state = "cancelled" if mid in cancelled else "delivered"
        assert row.state == expected_state, (mid, row.state, row.attention)
        expected_at = START + (LATER if mid in moved else AHEAD)
        if mid not in cancelled:
            assert after[mid].send_at == expected_at, mid
            # Infobip holds it for the right time, once.
            [held] = [m for m in b.sim.messages if m.message_id == after[mid].idempotency_key]
            assert b.sim.bulks[held.bulk_id].send_at == expected_at
    creates = b.sim.creates_by_key()
    assert all(n == 1 for n in creates.values()), "a message was created twice"
    assert figures.lost == 0 and figures.duplicates == 0, figures.line()


SCENARIOS = [
    ("die-after-cancel", "cancel"),
    ("die-before-cancel", "cancel"),
    ("die-after-cancel", "reschedule-one"),
    ("die-after-reschedule", "reschedule-all"),
]


def _kill_run(base: Path, sim: InfobipSimulator, mode: str, action: str, size: int) -> Figures:
    figures = Figures()
    b = _bulk(base, sim, size)
    target = b.ids[random.randrange(size)] if action != "reschedule-all" else b.ids[0]
    ident = target
    if action == "reschedule-all":
        ctx = AppContext.open(b.home, clock=b.clock)
        try:
            ident = _rows(ctx, [target])[0].batch_id
        finally:
            ctx.close()
    kind = "cancel" if action == "cancel" else "reschedule"
    _run_child(b.home, b.clock.now(), mode, kind, ident, (START + LATER).isoformat())
    figures.kills += 1
    if mode != "die-before-cancel":
        _unsettled(b, target, action)
    else:
        assert b.sim.bulk_status(b.bulk_id) == "PENDING"  # killed before the request
    _restart_and_check(b, target, action, figures)
    return figures


@pytest.mark.parametrize(("mode", "action"), SCENARIOS)
def test_a_kill_around_a_change_at_infobip_loses_nothing(
    tmp_path: Path, sim: InfobipSimulator, mode: str, action: str
) -> None:
    figures = _kill_run(tmp_path, sim, mode, action, 4)
    assert (figures.runs, figures.kills, figures.lost, figures.duplicates) == (1, 1, 0, 0)


class _Locker:
    """Another process holding SQLite's write lock (BEGIN IMMEDIATE) until told to stop."""

    SCRIPT = (
        "import sys\n"
        "from smsdesk.store import raw_connection\n"  # the file may be encrypted
        "c = raw_connection.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
        "c.execute('ROLLBACK')\n"
    )

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def lock(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def unlock(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _lock_run(base: Path, sim: InfobipSimulator, action: str, size: int) -> Figures:
    """The withdrawal is done at Infobip; its record then meets a database that another
    process keeps locked past the busy timeout."""
    b = _bulk(base, sim, size)
    target = b.ids[random.randrange(size)]
    ctx = AppContext.open(b.home, clock=b.clock)
    locker = _Locker()
    try:
        provider: Any = ctx.provider(ctx.account("Infobip"))
        real_cancel = provider.cancel

        def cancel_then_lock(ref: str) -> None:
            real_cancel(ref)
            assert ctx.db.path is not None
            locker.lock(ctx.db.path)  # the record of the withdrawal will not get in

        provider.cancel = cancel_then_lock
        svc = Service(ctx)
        try:
            if action == "cancel":
                results = svc.cancel(target)
            else:
                results = svc.reschedule(target, START + LATER)
        except StorageError:
            results = []  # the failed write may surface as an error: the test is what follows
        locker.unlock()
        assert not any(r.ok for r in results)
    finally:
        ctx.close()
    _unsettled(b, target, action)
    figures = Figures(failed_writes=1)
    _restart_and_check(b, target, action, figures)
    return figures


@pytest.mark.parametrize("action", ["cancel", "reschedule-one"])
def test_a_record_that_cannot_be_written_after_infobip_withdrew_the_bulk_loses_nothing(
    tmp_path: Path, sim: InfobipSimulator, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    # The busy timeout shortened so that the lock wins quickly (the write fails the same way).
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)
    figures = _lock_run(tmp_path, sim, action, 4)
    assert (figures.runs, figures.failed_writes, figures.lost, figures.duplicates) == (1, 1, 0, 0)


@pytest.mark.slow
@pytest.mark.skipif(not RUNS, reason="the long run: set SMSDESK_INTENT_CRASH_RUNS")
def test_intent_crash_run(
    tmp_path: Path, sim: InfobipSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many runs, each a random scenario (a kill, or a failed write), bulk size and chosen
    member (seeded)."""
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)
    rng = random.Random(SEED)
    random.seed(SEED)
    total = Figures()
    for n in range(RUNS):
        base, size = tmp_path / f"run-{n}", rng.randint(2, 30)
        mode, action = rng.choice([*SCENARIOS, ("locked-write", "cancel")])
        if mode == "locked-write":
            f = _lock_run(base, sim, rng.choice(["cancel", "reschedule-one"]), size)
        else:
            f = _kill_run(base, sim, mode, action, size)
        total.runs += f.runs
        total.kills += f.kills
        total.failed_writes += f.failed_writes
        total.lost += f.lost
        total.duplicates += f.duplicates
    print("\n" + total.line())
    assert total.runs == total.kills + total.failed_writes == RUNS
    assert total.lost == total.duplicates == 0


if __name__ == "__main__":
    _child_main(sys.argv[1:])
