"""Shared-office mode: the whole app on PostgreSQL (SMSDESK_DATABASE_URL), migrations included,
and several dispatcher processes on one database never sending a message twice.

Needs a PostgreSQL server: set SMSDESK_TEST_PG_URL to a role that may create databases
(`.ci/run` starts one on loopback and sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from smsdesk.core.clock import Clock, ManualClock, SystemClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher
from smsdesk.engine.service import Service
from smsdesk.providers.sandbox import SandboxProvider
from smsdesk.store.models import Event, Message
from tests.engine.child import drain_together
from tests.pg import ADMIN_URL, NO_SERVER, fresh_database

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not ADMIN_URL, reason=NO_SERVER)


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    with fresh_database(monkeypatch) as url:
        yield url


@pytest.fixture
def opened(isolated_home: Path) -> Iterator[Callable[[Clock], AppContext]]:
    """Opens the app on the test's database; everything opened is closed at the end, also
    when the test fails (a connection left open would be reported against a later test)."""
    contexts: list[AppContext] = []

    def open_(clock: Clock) -> AppContext:
        contexts.append(AppContext.open(isolated_home, clock=clock))
        return contexts[-1]

    yield open_
    for ctx in contexts:
        ctx.close()


def test_the_app_runs_on_postgresql(
    pg_url: str, opened: Callable[[Clock], AppContext], clock: ManualClock
) -> None:
    ctx = opened(clock)
    assert ctx.db.path is None and ctx.db.engine.dialect.name == "postgresql"
    svc = Service(ctx)
    result = svc.schedule(
        ["+15551234567", "+15557654321"],
        "Shared desk",
        clock.now() + timedelta(hours=1),
        "Europe/London",
    )
    Dispatcher(ctx).run_once()
    assert {m.state for m in svc.show(result.batch_id)} == {"scheduled"}
    clock.advance(timedelta(hours=2))
    Dispatcher(ctx).run_once()
    views = svc.show(result.batch_id)
    assert {m.state for m in views} == {"delivered"}
    assert views[0].send_at.tzinfo is not None
    [cancel_me] = svc.schedule(
        ["+15551234567"], "x", clock.now() + timedelta(hours=1), "UTC"
    ).messages
    assert svc.cancel(cancel_me.message.id)[0].state == "cancelled"
    ctx.close()
    # Opening again finds the schema current (no second migration, no error).
    opened(clock).close()


@pytest.mark.parametrize("desks", [2, 4])
def test_dispatchers_on_one_postgresql_database_never_double(
    pg_url: str, isolated_home: Path, opened: Callable[[Clock], AppContext], desks: int
) -> None:
    ctx = opened(SystemClock())
    numbers = [f"+1555300{i:04d}" for i in range(200)]
    Service(ctx).schedule(
        numbers, "Office closed Monday", ctx.clock.now() + timedelta(hours=1), "UTC"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.engine.child", str(isolated_home), "system", "drain"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(desks)
    ]
    handed = drain_together(children, timeout=180)
    assert sum(handed) == 200
    assert all(n > 0 for n in handed), handed  # every desk really competed
    requests = SandboxProvider(isolated_home / "sandbox.db", SystemClock()).requests_by_key()
    assert len(requests) == 200 and set(requests.values()) == {1}
    with ctx.db.read() as s:
        assert {m.state for m in s.exec(select(Message))} == {"scheduled"}
        assert len(s.exec(select(Event).where(Event.kind == "handed_off")).all()) == 200
    ctx.close()


def test_a_contacts_import_into_a_group_works_on_postgresql(
    pg_url: str, opened: Callable[[Clock], AppContext], clock: ManualClock
) -> None:
    from smsdesk.engine.contacts import IMPORT_CHUNK, ContactBook

    ctx = opened(clock)
    Service(ctx).update_settings(default_region="GB")
    book = ContactBook(ctx)
    rows = IMPORT_CHUNK + 10
    data = ("mobile\r\n" + "".join(f"07400 {n:06d}\r\n" for n in range(rows))).encode()
    first = book.commit_import(book.preview_import(data), group="Patients")
    again = book.commit_import(book.preview_import(data), group="Patients")
    assert (first.added, first.updated, again.added, again.updated) == (rows, 0, 0, rows)
    assert book.groups() == [("Patients", rows)]
    from smsdesk.store.models import Contact

    with ctx.db.read() as s:
        stamps = set(s.exec(select(Contact.created_at)).all())
    assert stamps == {clock.now()}  # converted once for the driver, read back as written
    ctx.close()


def test_calendar_counts_per_local_day_on_postgresql(
    pg_url: str,
    opened: Callable[[Clock], AppContext],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import date, datetime

    from smsdesk.engine.browse import Browser

    # A session time zone off the hour must not shift the hours the database counts in.
    monkeypatch.setenv("PGTZ", "Asia/Kathmandu")
    ctx = opened(clock)
    with ctx.db.read() as s:
        assert s.connection().exec_driver_sql("SHOW TIME ZONE").scalar() == "Asia/Kathmandu"
    svc = Service(ctx)
    svc.update_settings(quiet_mode="off")
    # 18:29 and 18:30 UTC: either side of midnight in Kolkata (+05:30), the same day in Berlin;
    # 23:10 UTC is already 6 December in Berlin.
    for n, at in enumerate(("2026-12-05T18:29:00Z", "2026-12-05T18:30:00Z", "2026-12-05T23:10Z")):
        svc.schedule([f"+1555000000{n}"], "x", datetime.fromisoformat(at), "UTC")
    start, end = clock.now(), clock.now() + timedelta(days=10)
    browser = Browser(ctx)
    assert browser.day_counts(start, end, "Asia/Kolkata") == {
        date(2026, 12, 5): {"queued": 1},
        date(2026, 12, 6): {"queued": 2},
    }
    assert browser.day_counts(start, end, "Europe/Berlin") == {
        date(2026, 12, 5): {"queued": 2},
        date(2026, 12, 6): {"queued": 1},
    }
    ctx.close()
