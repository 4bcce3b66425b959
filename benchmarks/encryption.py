"""Encryption at rest: what SQLCipher costs, encrypted beside plain in the same run.

Three figures, each on a plain file and on an encrypted one: storing a batch
(``Service.schedule``), fetching one Queue page over the big dataset (``Browser.page``), and
opening the big file (as the window does: migrations checked, the damage check left to the
background, then the first page). The
big file is the cached dataset (plain); the encrypted one is a copy converted with
``sqlcipher_export`` (the same code as ``smsdesk storage encrypt``, whose time is reported
too), so both hold exactly the same rows. The full check (``quick_check``, which reads every
page, as the command line does when the file changed) is reported beside them.
"""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

from benchmarks import dataset
from benchmarks.common import Row, Sizes, isolated_home, median, ms
from smsdesk.core.clock import SystemClock
from smsdesk.engine.browse import Browser, QueueFilter, cursor_of
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store import encryption, raw_connection
from smsdesk.store.db import Database
from smsdesk.store.integrity import quick_check
from smsdesk.store.paths import database_path

BATCH = 200  # recipients in the stored batch
PAGES = 30  # Queue pages fetched per measurement


def _schedule_once(home: Path, encrypt: bool) -> float:
    Database.open(home, encrypt=encrypt).dispose()
    assert raw_connection.is_encrypted(database_path(home)) == encrypt
    ctx = AppContext.open(home, clock=SystemClock())
    try:
        when = ctx.clock.now() + timedelta(days=2)
        numbers = [f"+1415555{n:04d}" for n in range(BATCH)]
        started = time.perf_counter()
        Service(ctx).schedule(numbers, "Your appointment is on Thursday.", when, "UTC")
        return time.perf_counter() - started
    finally:
        ctx.close()


def _open_and_page(home: Path) -> tuple[float, float]:
    """Seconds to open the file (migrations checked, no full check) and show a first page;
    and the median of ``PAGES`` page fetches walking forward."""
    started = time.perf_counter()
    ctx = AppContext.open(home, clock=SystemClock(), check=False, auto_backup=False)
    try:
        browser = Browser(ctx)
        flt = QueueFilter()
        rows = browser.page(flt, limit=200)
        opened = time.perf_counter() - started
        fetches = []
        for _ in range(PAGES):  # walking forward, as scrolling does
            t = time.perf_counter()
            rows = browser.page(flt, after=cursor_of(flt, rows[-1]), limit=200)
            fetches.append(time.perf_counter() - t)
            assert rows
        return opened, median(fetches)
    finally:
        ctx.close()


def run(sizes: Sizes) -> list[Row]:
    count = sizes.queue_messages
    source = database_path(dataset.cached(count))
    rows: list[Row] = []
    with isolated_home() as home:
        homes = {"plain": home / "plain", "encrypted": home / "encrypted"}
        for folder in homes.values():
            folder.mkdir()
            shutil.copy2(source, database_path(folder))
        started = time.perf_counter()
        encryption.encrypt(database_path(homes["encrypted"]))
        converted = time.perf_counter() - started
        figures: dict[str, dict[str, float]] = {}
        for name, folder in homes.items():
            path = database_path(folder)
            # Any migration runs here, untimed (and the file is read once into the cache).
            AppContext.open(folder, check=False, auto_backup=False).close()
            t = time.perf_counter()
            assert quick_check(path) == []
            checked = time.perf_counter() - t
            runs = [_open_and_page(folder) for _ in range(max(sizes.runs // 2, 2))]
            stored = [
                _schedule_once(home / f"{name}-schedule-{i}", name == "encrypted")
                for i in range(max(sizes.runs // 2, 2))
            ]
            figures[name] = {
                "open": median([r[0] for r in runs]),
                "page": median([r[1] for r in runs]),
                "check": checked,
                "schedule": median(stored),
            }
    plain, enc = figures["plain"], figures["encrypted"]
    n = f"{count:,}"

    def row(what: str, key: str) -> Row:
        cost = enc[key] / plain[key] if plain[key] else float("nan")
        return Row(
            f"Encryption: {what}",
            f"encrypted {ms(enc[key])}",
            f"plain {ms(plain[key])}",
            "— (cost beside plain)",
            "report",
            f"encrypted/plain ×{cost:.2f}",
        )

    rows += [
        row(f"schedule a batch of {BATCH}", "schedule"),
        row(f"Queue page fetch over {n} (200 rows, median)", "page"),
        row(f"open the {n}-message file and show its first page", "open"),
        row(f"full check (quick_check) of the {n}-message file", "check"),
        Row(
            f"Encryption: convert the {n}-message file (smsdesk storage encrypt)",
            ms(converted),
            "—",
            "—",
            "report",
        ),
    ]
    return rows
