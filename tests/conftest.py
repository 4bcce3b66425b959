"""Test harness defaults: every test gets its own data folder, keyring file and clock.

No test touches a real user's data: ``SMSDESK_HOME`` and the keyring's data folder point at
temporary places, and the keyring is a real file backend chosen through keyring's own
``PYTHON_KEYRING_BACKEND``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from smsdesk.core.clock import ManualClock
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from tests.cli_runner import Cli, Run, run_cli

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# PostgreSQL fixtures (``backend``, ``db_ctx``) for every test module.
pytest_plugins = ["tests.pg"]


def pytest_configure(config: pytest.Config) -> None:
    # CI sets SMSDESK_TEST_REQUIRE_PG: there the PostgreSQL tests must run, never skip.
    if os.environ.get("SMSDESK_TEST_REQUIRE_PG") and not os.environ.get("SMSDESK_TEST_PG_URL"):
        raise pytest.UsageError(
            "SMSDESK_TEST_REQUIRE_PG is set but SMSDESK_TEST_PG_URL is not: no PostgreSQL "
            "server to run the shared-office tests on."
        )


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SMSDESK_HOME", str(home))
    monkeypatch.delenv("SMSDESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring-data"))
    monkeypatch.setenv("TZ", "UTC")
    import keyring.core

    # keyring caches its backend per process; make it re-read PYTHON_KEYRING_BACKEND.
    keyring.core.init_backend()
    return home


@pytest.fixture(autouse=True)
def no_unexpected_message_box(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message box no test asked for fails the test at once instead of waiting, modal and
    offscreen, for a click that never comes (a hang no timeout can interrupt: the wait is in
    Qt's own event loop). Tests answer dialogs through the hooks the views are given."""
    from PySide6.QtWidgets import QMessageBox

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        texts = [a for a in args if isinstance(a, str)]
        raise AssertionError(f"an unexpected message box opened: {texts}")

    for name in ("critical", "warning", "information", "question", "about"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(refuse))


@pytest.fixture(autouse=True)
def engine_errors_fail_the_test(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """An error smsdesk logs while a test runs fails that test, unless the test expects it
    (``@pytest.mark.logs_errors``, and then it should assert on the record)."""
    yield
    if request.node.get_closest_marker("logs_errors"):
        return
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.name.startswith("smsdesk")
    ]
    if errors:
        pytest.fail("smsdesk logged an error: " + "; ".join(errors), pytrace=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def cli(clock: ManualClock) -> Cli:
    """``cli("schedule", "--to", ...)`` runs smsdesk's command line with the test's clock."""

    def run(*argv: str, stdin: str = "") -> Run:
        return run_cli(clock, *argv, stdin=stdin)

    return run


@pytest.fixture
def ctx(isolated_home: Path, clock: ManualClock) -> Iterator[AppContext]:
    context = AppContext.open(isolated_home, clock=clock)
    yield context
    context.close()


@pytest.fixture
def service(ctx: AppContext) -> Service:
    return Service(ctx)
