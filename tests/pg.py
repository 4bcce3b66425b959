"""PostgreSQL for the shared-office tests: a fresh database per test, and the ``backend``
fixture that runs a test on a SQLite file and again on PostgreSQL.

Needs SMSDESK_TEST_PG_URL naming a role that may create databases (`.ci/run` starts a server
on loopback and sets it, and there a missing server fails the run instead of skipping).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext

ADMIN_URL = os.environ.get("SMSDESK_TEST_PG_URL", "")
NO_SERVER = "SMSDESK_TEST_PG_URL is not set (no PostgreSQL server to test on)"


@contextmanager
def fresh_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new, empty database that SMSDESK_DATABASE_URL points at; dropped afterwards."""
    if not ADMIN_URL:
        pytest.skip(NO_SERVER)
    name = f"smsdesk_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("SMSDESK_DATABASE_URL", url)
    try:
        yield url
    finally:
        try:
            with admin.connect() as conn:
                # End this test's own leftover sessions, then drop. Not DROP ... WITH (FORCE):
                # that also tries to end an autovacuum worker busy on the new database, which
                # belongs to the server, and fails for want of privilege (seen under load). A
                # plain DROP DATABASE cancels such a worker itself.
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND usename = current_user "
                        "AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(text(f'DROP DATABASE "{name}"'))
        finally:
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test once on a SQLite file and once on PostgreSQL (a shared office)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    with fresh_database(monkeypatch):
        yield "postgresql"


@pytest.fixture
def db_ctx(backend: str, isolated_home: Path, clock: ManualClock) -> Iterator[AppContext]:
    """The app's context on the test's backend."""
    context = AppContext.open(isolated_home, clock=clock)
    assert context.db.engine.dialect.name == backend
    yield context
    context.close()
