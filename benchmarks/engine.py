"""The outbox engine against the loopback simulators: bulk hand-off (Infobip), one request per
message under a rate limit (Telnyx), lateness of locally held messages, and lease claims."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from benchmarks import dataset
from benchmarks.common import Row, Sizes, Target, isolated_home, median, ms, percentile
from smsdesk.core.clock import SystemClock
from smsdesk.engine import scheduling
from smsdesk.engine.contacts import ContactBook
from smsdesk.engine.context import AppContext
from smsdesk.engine.outbox import Dispatcher, PassReport
from smsdesk.engine.service import Service
from smsdesk.providers import infobip, telnyx
from smsdesk.providers.base import Provider
from smsdesk.store import queries, raw_connection
from smsdesk.store.db import Database
from smsdesk.store.models import ProviderAccount
from tests.simulators.base import Response
from tests.simulators.infobip import InfobipSimulator
from tests.simulators.telnyx import TelnyxSimulator

BULK = Target(20, "≥ 20× the baseline", at_most=False)
PACED = Target(0.9, "≥ 90% of the limit", at_most=False)
REFUSED = Target(0, "no request refused (0 × 429)")
LATENESS = Target(1.0, "p99 ≤ 1 s")
CLAIM = Target(0.005, "≤ 5 ms")
# Issue #15: storing a batch from the window was 3,200 messages/s when it was filed; 3× that.
STORE = Target(9_600, "≥ 9,600 msg/s (3× the 3,200 when the issue was filed)", at_most=False)

KEY = "bench-key-3c9e"
SENDER = "+12025550100"
# Telnyx: the real limit is RATE_LIMIT_PER_SECOND; a create's round trip from a desk to
# api.telnyx.com is taken as 200 ms. Both are scaled by TIME_SCALE (limit x10, latency /10)
# so that 10,000 messages fit the time budget: what decides the share of the limit a client
# reaches is limit x latency (requests that must be in flight), which scaling keeps.
REAL_LATENCY = 0.200
TIME_SCALE = 10.0

Factory = Callable[[ProviderAccount], Provider]


# -- helpers ----------------------------------------------------------------------------------


def _start(sim: Any) -> None:
    """Start a simulator with Nagle's algorithm off on its side: http.server writes the headers
    and the body of an answer separately, and the client's delayed ACK then holds the body back
    40 ms per request, a cost of the simulator, not of smsdesk or of a real provider."""
    sim.start()
    sim._server.RequestHandlerClass.disable_nagle_algorithm = True


def _add_account(ctx: AppContext, name: str, kind: str, base_url: str) -> int:
    with ctx.db.write() as s:
        acct = ProviderAccount(
            name=name,
            kind=kind,
            base_url=base_url,
            sender=SENDER,
            is_default=True,
            created_at=ctx.clock.now(),
        )
        s.add(acct)
        s.flush()
        assert acct.id is not None
        return acct.id


def _queue(
    ctx: AppContext,
    account_id: int,
    count: int,
    send_at: Callable[[int], datetime],
    *,
    handling: str,
    prefix: str,
) -> None:
    """``count`` personalised queued messages, each due at its hand-off time, written in bulk
    (the service writes them one by one; that is not what is measured here)."""
    now = datetime.now(UTC)
    assert ctx.db.path is not None
    conn = raw_connection.connect(ctx.db.path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO batch VALUES ('b-bench', ?, 'personalised', 'UTC', ?)",
            (account_id, dataset.sql_time(now)),
        )
        rows = []
        events = []
        for i in range(count):
            at = send_at(i)
            due = now - timedelta(seconds=1) if handling == "hand_off_now" else at
            name = dataset.NAMES[i % len(dataset.NAMES)]
            text = (
                f"Hello {name} #{i}, your appointment is on {at:%d %b at %H:%M}. "
                "Reply STOP to opt out."
            )
            mid = f"m-bench{i:07d}"
            rows.append(
                (mid, "b-bench", account_id, f"{prefix}{i:05d}", SENDER, text, "GSM-7", 1,
                 dataset.sql_time(at), "UTC", "queued", handling, dataset.sql_time(due),
                 None, None, None, 0, None, None, None, None, None, None, None,
                 dataset.sql_time(now), dataset.sql_time(now))
            )  # fmt: skip
            events.append((mid, dataset.sql_time(now), "created", None, "queued", ""))
        marks = ",".join("?" for _ in rows[0])
        conn.executemany(f"INSERT INTO message ({dataset.MESSAGE_COLUMNS}) VALUES ({marks})", rows)
        conn.executemany(
            "INSERT INTO event (message_id, at, kind, state_from, state_to, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            events,
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _states(ctx: AppContext) -> dict[str, int]:
    assert ctx.db.path is not None
    conn = raw_connection.connect(ctx.db.path)
    try:
        return dict(conn.execute("SELECT state, count(*) FROM message GROUP BY state").fetchall())
    finally:
        conn.close()


# -- Infobip: bulk hand-off vs one request per message --------------------------------------


def _infobip_once(count: int, batch_one: bool) -> tuple[float, int]:
    """Seconds for one engine pass to hand ``count`` personalised messages to Infobip, and the
    number of create requests it made. Several texts go in one bulk only when the account
    allows it (``several_texts_per_bulk``, off by default: such a bulk may not be movable or
    cancellable as a whole); that is the path measured here."""
    clock = SystemClock()
    with isolated_home() as home:
        sim = InfobipSimulator(clock, api_key=KEY)
        _start(sim)

        def factory(_account: ProviderAccount) -> Provider:
            provider = infobip.build(
                home=home,
                clock=clock,
                options={"several_texts_per_bulk": "yes"},
                base_url=sim.base_url,
                api_key=KEY,
            )
            if batch_one:
                provider.capabilities = replace(provider.capabilities, batch_size=1)
            return provider

        ctx = AppContext.open(home, clock=clock, provider_factory=factory)
        try:
            account = _add_account(ctx, "Infobip", "infobip", sim.base_url)
            tomorrow = clock.now() + timedelta(days=1)
            _queue(
                ctx, account, count, lambda _i: tomorrow, handling="hand_off_now", prefix="+417930"
            )
            started = time.perf_counter()
            report = Dispatcher(ctx).run_once()
            elapsed = time.perf_counter() - started
            if report.handed_off != count:
                raise RuntimeError(f"Infobip: handed off {report.handed_off} of {count}")
            creates = sum(1 for m, p, _ in sim.log if m == "POST" and p == infobip.SEND_PATH)
            return elapsed, creates
        finally:
            ctx.close()
            sim.stop()


def _random_ids(prefix: str) -> str:
    """Ids as smsdesk made them before they were time-ordered (engine/ids.py)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _store_once(
    count: int,
    *,
    encrypt: bool | None = None,
    history: Path | None = None,
    ids: Callable[[str], str] | None = None,
) -> float:
    """Seconds ``Service.schedule`` takes to store ``count`` personalised messages: a template
    over a group of that many contacts (merge fields, quiet hours, opt-outs, the writes).
    ``encrypt``: a new database encrypted or not (None: as smsdesk decides, encrypted here);
    ``history``: a home whose database is copied in first (a desk with years of messages);
    ``ids``: another way of making ids (the baseline)."""
    with isolated_home() as home:
        if history is not None:
            shutil.copy(history / "smsdesk.db", home / "smsdesk.db")
        elif encrypt is not None:
            dataset.create_schema(home, encrypt=encrypt)
        ctx = AppContext.open(home, clock=SystemClock())
        saved = scheduling.__dict__["new_id"]  # the baseline swaps it: restored below
        try:
            Service(ctx).update_settings(default_region="GB")
            book = ContactBook(ctx)
            names = dataset.NAMES
            data = "name,mobile,clinic\r\n" + "".join(
                f"{names[i % len(names)]} {i},07400 {i:06d},{('North', 'South')[i % 2]}\r\n"
                for i in range(count)
            )
            book.commit_import(book.preview_import(data.encode()), group="Patients")
            when = ctx.clock.now() + timedelta(days=2)
            if ids is not None:
                setattr(scheduling, "new_id", ids)  # noqa: B010 - not re-exported
            started = time.perf_counter()
            Service(ctx).schedule(
                [], "Hello {first_name}, see you at the {clinic} clinic on Thursday.", when,
                "Europe/London", group="Patients",
            )  # fmt: skip
            return time.perf_counter() - started
        finally:
            setattr(scheduling, "new_id", saved)  # noqa: B010
            ctx.close()


def _store_rows(sizes: Sizes) -> list[Row]:
    n = sizes.bulk_messages
    runs = max(sizes.runs // 2, 1)
    encrypted = median([_store_once(n, encrypt=True) for _ in range(runs)])
    plain = median([_store_once(n, encrypt=False) for _ in range(runs)])
    big = dataset.cached(sizes.queue_messages)
    on_history = median([_store_once(n, history=big) for _ in range(runs)])
    random_ids = median([_store_once(n, history=big, ids=_random_ids) for _ in range(runs)])
    return [
        Row.judged(
            f"storing those {n:,} personalised messages first "
            "(Service.schedule: a template over a group), new database",
            f"{ms(encrypted)} = {n / encrypted:,.0f} msg/s encrypted (a new database on Linux); "
            f"a plain file (Windows, macOS): {ms(plain)} = {n / plain:,.0f} msg/s",
            "—",
            STORE,
            n / encrypted,
        ),
        Row(
            f"the same into a database already holding {sizes.queue_messages:,} messages "
            "(plain file)",
            f"{ms(on_history)} = {n / on_history:,.0f} msg/s",
            f"random ids, as before they were time-ordered: {ms(random_ids)} = "
            f"{n / random_ids:,.0f} msg/s",
            "report",
            "report",
        ),
    ]


def infobip_rows(sizes: Sizes) -> list[Row]:
    stored = _store_rows(sizes)
    bulk = [_infobip_once(sizes.bulk_messages, False) for _ in range(sizes.runs)]
    single = [_infobip_once(sizes.baseline_messages, True) for _ in range(max(sizes.runs // 3, 1))]
    bulk_rate = sizes.bulk_messages / median([t for t, _ in bulk])
    single_rate = sizes.baseline_messages / median([t for t, _ in single])
    ratio = bulk_rate / single_rate
    return [
        Row.judged(
            f"schedule {sizes.bulk_messages:,} personalised messages to Infobip (engine + HTTP)",
            f"{ms(median([t for t, _ in bulk]))} = {bulk_rate:,.0f} msg/s, "
            f"{bulk[0][1]} requests; {ratio:.1f}× the baseline",
            f"batch size 1: {single_rate:,.0f} msg/s ({sizes.baseline_messages:,} messages, "
            f"{single[0][1]:,} requests)",
            BULK,
            ratio,
        ),
        *stored,
    ]


# -- Telnyx: one message per request under a rate limit -------------------------------------


class TimedTelnyx(TelnyxSimulator):
    """The Telnyx simulator plus a network round trip, a rate limit (429 with Retry-After once
    the token bucket is empty) and the time at which each create arrived."""

    def __init__(self, *, latency: float, rate: float | None) -> None:
        super().__init__(SystemClock(), api_key=KEY)
        self.latency = latency
        self.rate = rate
        self._tokens = rate or 0.0
        self._filled = time.monotonic()
        self._bucket = threading.Lock()
        self.rejected = 0
        self.accepted: list[tuple[str, datetime]] = []  # (recipient, when the create arrived)

    def _take(self) -> bool:
        if self.rate is None:
            return True
        with self._bucket:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._filled) * self.rate)
            self._filled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            self.rejected += 1
            return False

    def _serve(self, handler: Any) -> None:
        if self.latency:
            time.sleep(self.latency)
        if handler.command == "POST" and not self._take():
            length = int(handler.headers.get("Content-Length") or 0)
            if length:
                handler.rfile.read(length)
            error = {"errors": [{"code": "10011", "title": "Too many requests"}]}
            self._send(handler, Response(429, error, {"Retry-After": "1"}))
            return
        super()._serve(handler)

    def _create(self, request: Any) -> Response:
        arrived = datetime.now(UTC)
        response = super()._create(request)
        if response.status == 200:
            body = request.json()
            self.accepted.append((str(body["to"]), arrived))
        return response


class Bounded(Dispatcher):
    """A dispatcher whose pass stops at a deadline (so a slow configuration stays bounded);
    only hand-offs: the status sync that follows a pass is not part of the throughput."""

    stop = threading.Event()

    def run_once(self, stop: threading.Event | None = None) -> PassReport:
        report = PassReport()
        limit = self.claim_size()
        # The engine looks at the stop between requests: chunks left at the deadline end.
        while not self.stop.is_set() and self.claim_round(limit, report, self.stop):
            pass
        return report


def _telnyx_once(
    count: int, deadline: float, *, latency: float, rate: float, paced: bool = True
) -> tuple[float, int, int]:
    """(accepted creates per second, accepted, 429s) for one run of the engine."""
    clock = SystemClock()
    with isolated_home() as home:
        sim = TimedTelnyx(latency=latency, rate=rate)
        _start(sim)

        def factory(_account: ProviderAccount) -> Provider:
            provider = telnyx.build(
                home=home, clock=clock, options={}, base_url=sim.base_url, api_key=KEY
            )
            # Without a declared limit the engine sends one request after another (the baseline).
            limit = rate if paced else None
            provider.capabilities = replace(provider.capabilities, rate_limit_per_second=limit)
            return provider

        ctx = AppContext.open(home, clock=clock, provider_factory=factory)
        try:
            account = _add_account(ctx, "Telnyx", "telnyx", sim.base_url)
            in_an_hour = clock.now() + timedelta(hours=1)
            _queue(
                ctx,
                account,
                count,
                lambda _i: in_an_hour,
                handling="hand_off_now",
                prefix="+120255612",
            )
            dispatcher = Bounded(ctx)
            dispatcher.stop = threading.Event()
            timer = threading.Timer(deadline, dispatcher.stop.set)
            timer.start()
            started = time.perf_counter()
            dispatcher.run_once()
            elapsed = time.perf_counter() - started
            timer.cancel()
            accepted = len(sim.accepted)
            return accepted / elapsed, accepted, sim.rejected
        finally:
            ctx.close()
            sim.stop()


def telnyx_rows(sizes: Sizes) -> list[Row]:
    limit = telnyx.CAPABILITIES.rate_limit_per_second or 10.0
    rate = limit * TIME_SCALE
    latency = REAL_LATENCY / TIME_SCALE
    n, deadline = sizes.telnyx_messages, sizes.telnyx_deadline
    paced = _telnyx_once(n, deadline, latency=latency, rate=rate)
    serial = _telnyx_once(n, deadline, latency=latency, rate=rate, paced=False)
    loop = _telnyx_once(n, min(deadline, 20.0), latency=0.0, rate=rate)
    share = paced[0] / rate
    scale = (
        f"limit {limit:g}/s ×{TIME_SCALE:g}, "
        f"round trip {REAL_LATENCY * 1000:.0f} ms ÷{TIME_SCALE:g}"
    )
    return [
        Row.judged(
            f"schedule {n:,} messages to Telnyx, one per request ({scale})",
            f"{paced[0]:.0f}/s = {share:.0%} of the limit "
            f"({paced[1]:,} sent within {deadline:.0f} s), {paced[2]} × 429",
            f"limit {rate:g}/s; one request after another (no pacing): {serial[0]:.0f}/s = "
            f"{serial[0] / rate:.0%}",
            PACED,
            share,
            "and no request refused with 429",
            also=not paced[2],
        ),
        Row.judged(
            "the same with no network delay (pure loopback)",
            f"{loop[0]:.0f}/s = {loop[0] / rate:.0%} of the limit, {loop[2]:,} requests refused "
            f"with 429",
            f"limit {rate:g}/s",
            REFUSED,
            loop[2],
        ),
    ]


# -- lateness of locally held messages ------------------------------------------------------


def lateness_rows(sizes: Sizes) -> list[Row]:
    """Messages held here (due in under Telnyx's 5-minute lead) sent by ``run_forever``."""
    clock = SystemClock()
    count, window = sizes.lateness_messages, sizes.lateness_window
    late: list[float] = []
    with isolated_home() as home:
        sim = TimedTelnyx(latency=0.0, rate=None)
        _start(sim)

        def factory(_account: ProviderAccount) -> Provider:
            return telnyx.build(
                home=home, clock=clock, options={}, base_url=sim.base_url, api_key=KEY
            )

        ctx = AppContext.open(home, clock=clock, provider_factory=factory)
        try:
            account = _add_account(ctx, "Telnyx", "telnyx", sim.base_url)
            start = clock.now() + timedelta(seconds=2)
            step = window / count
            # Evenly spread due times, a few sharing a second (a clinic's 09:00 reminders).
            due = {
                f"+120255613{i:05d}": start + timedelta(seconds=(i // 5) * 5 * step)
                for i in range(count)
            }
            _queue(ctx, account, count, lambda i: start + timedelta(seconds=(i // 5) * 5 * step),
                   handling="send_locally", prefix="+120255613")  # fmt: skip
            stop = threading.Event()
            engine = threading.Thread(target=Dispatcher(ctx).run_forever, args=(stop,), daemon=True)
            engine.start()
            limit = time.monotonic() + window + 30
            while len(sim.accepted) < count and time.monotonic() < limit:
                time.sleep(0.2)
            stop.set()
            engine.join(10)
            late = [(at - due[to]).total_seconds() for to, at in sim.accepted]
        finally:
            ctx.close()
            sim.stop()
    p50, p99 = percentile(late, 50), percentile(late, 99)
    return [
        Row.judged(
            f"lateness of {count} locally held messages sent at their due time "
            f"(over {window:.0f} s, 5 per instant, within Telnyx's 10/s)",
            f"p99 {ms(p99)}",
            f"p50 {ms(p50)}, max {ms(max(late) if late else float('nan'))}, "
            f"{len(late)}/{count} sent",
            LATENESS,
            p99,
            "and every message sent",
            also=len(late) == count,
        )
    ]


# -- the database: size, lease claims -----------------------------------------------------------


def _claim_time(home: Path, repeats: int = 15) -> tuple[float, int]:
    """Median seconds of claiming the next due batch (200), rolled back each time."""
    db = Database.open(home, migrate=False)
    try:
        assert db.path is not None
        conn = raw_connection.connect(db.path)
        (queued,) = conn.execute("SELECT count(*) FROM message WHERE state='queued'").fetchone()
        (at,) = conn.execute(
            "SELECT due_at FROM message WHERE state='queued' ORDER BY due_at LIMIT 1 OFFSET ?",
            (min(300, queued - 1),),
        ).fetchone()
        conn.close()
        now = datetime.fromisoformat(at).replace(tzinfo=UTC)
        times = []
        got = 0
        for _ in range(repeats):
            with Session(db._write_engine) as s:
                s.begin()
                started = time.perf_counter()
                got = len(queries.claim_due(s, "bench", now, timedelta(minutes=2), 200))
                times.append(time.perf_counter() - started)
                s.rollback()
        return median(times), got
    finally:
        db.dispose()


def database_rows(sizes: Sizes) -> list[Row]:
    big = dataset.cached(sizes.queue_messages)
    small = dataset.cached(sizes.start_messages)
    size = sum(p.stat().st_size for p in big.glob("smsdesk.db*")) / 2**20
    claim, got = _claim_time(big)
    base, _ = _claim_time(small)
    return [
        Row(
            f"database with {sizes.queue_messages:,} messages: size on disk",
            f"{size:,.0f} MiB ({size * 2**20 / sizes.queue_messages:,.0f} bytes per message "
            "with its 2 events)",
            "—",
            "report",
            "report",
        ),
        Row.judged(
            f"database with {sizes.queue_messages:,} messages: claim the next due batch",
            f"{ms(claim)} ({got} claimed)",
            f"same claim with {sizes.start_messages:,} messages: {ms(base)}",
            CLAIM,
            claim,
        ),
    ]
