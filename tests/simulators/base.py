"""What every loopback provider simulator shares: a real HTTP server on 127.0.0.1 in a thread,
a controllable clock, a request log, and fault injection.

Faults are queued with ``inject`` and consumed by the next matching requests:
  RATE_LIMIT   429 with Retry-After, request not processed
  UNAVAILABLE  503, not processed
  SERVER_ERROR 500, not processed (the client cannot know that)
  TIMEOUT      processed, but the answer comes after ``stall`` seconds (client times out)
  MALFORMED    processed, answered 200 with a body that is not JSON
  RESET        connection closed before the request is processed
  LOST         processed ("accepted"), then the connection is closed with no answer

Timeouts in tests: a client is given 1 s (`"timeout": "1.0"`), which an ordinary answer never
reaches even on a loaded 2-core machine, and a TIMEOUT fault stalls five times that (the
default ``stall``), so the client always gives up first however the processes are scheduled.
tests/architecture/test_test_timeouts.py keeps every test to that.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smsdesk.core.clock import Clock


class Fault(StrEnum):
    RATE_LIMIT = "429"
    UNAVAILABLE = "503"
    SERVER_ERROR = "500"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    RESET = "reset"
    LOST = "lost"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list → JSON; str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Injected:
    fault: Fault
    match: str | None  # "POST /v2/messages" style prefix, or None for any request
    retry_after: int
    delay: float = 0.0  # seconds before the fault's answer (a slow 429, say)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the crash tests do that) is expected, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Simulator:
    """Subclasses implement ``route`` and keep their provider's state."""

    name = "simulator"

    def __init__(self, clock: Clock, api_key: str = "sim-key-7d1f2a", *, stall: float = 5.0):
        self.clock = clock
        self.api_key = api_key
        self.stall = stall
        self.log: list[tuple[str, str, int | str]] = []
        self.queries: list[tuple[str, str, dict[str, str]]] = []  # method, path, query
        self._faults: list[_Injected] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this every answer waits ~40 ms for Nagle's algorithm on loopback.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the simulator keeps its own log

            def _handle(self) -> None:
                sim._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (which waits for one poll) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults -------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        times: int = 1,
        *,
        match: str | None = None,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> None:
        with self._lock:
            self._faults += [_Injected(fault, match, retry_after, delay) for _ in range(times)]

    def requests_to(self, method: str, path: str) -> int:
        """How many requests reached ``method path`` (faults included)."""
        with self._lock:
            return sum(1 for m, p, _ in self.log if (m, p) == (method, path))

    def requests_per_path(self) -> dict[str, int]:
        """``{"GET /sms/3/logs": n, ...}`` for every path asked so far."""
        with self._lock:
            counts: dict[str, int] = {}
            for method, path, _ in self.log:
                counts[f"{method} {path}"] = counts.get(f"{method} {path}", 0) + 1
            return counts

    def query_values(self, method: str, path: str, name: str) -> list[str]:
        """The values of query parameter ``name`` in every request to ``method path``."""
        with self._lock:
            return [q[name] for m, p, q in self.queries if (m, p) == (method, path) and name in q]

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def _take_fault(self, method: str, path: str) -> _Injected | None:
        with self._lock:
            for i, injected in enumerate(self._faults):
                if injected.match is None or f"{method} {path}".startswith(injected.match):
                    return self._faults.pop(i)
        return None

    # -- serving ------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        raise NotImplementedError

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            handler.command,
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query).items()},
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        injected = self._take_fault(request.method, request.path)
        fault = injected.fault if injected else None
        with self._lock:
            self.log.append((request.method, request.path, fault or "ok"))
            self.queries.append((request.method, request.path, request.query))
        if fault is Fault.RESET:
            self._drop(handler)
            return
        if fault in (Fault.RATE_LIMIT, Fault.UNAVAILABLE, Fault.SERVER_ERROR):
            assert injected is not None
            if injected.delay:
                time.sleep(injected.delay)  # a slow refusal: the client waits for it
            headers = (
                {"Retry-After": str(injected.retry_after)} if fault is Fault.RATE_LIMIT else {}
            )
            self._send(handler, Response(int(fault.value), {"error": fault.name}, headers))
            return
        with self._lock:
            response = self.route(request)
        if fault is Fault.LOST:
            self._drop(handler)
            return
        if fault is Fault.TIMEOUT:
            time.sleep(self.stall)  # the answer comes after the client gave up
        if fault is Fault.MALFORMED:
            response = Response(200, b'{"messages": [{"status": ')
        self._send(handler, response)

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, response: Response) -> None:
        if isinstance(response.body, bytes):
            payload, ctype = response.body, "application/json"
        elif isinstance(response.body, str):
            payload, ctype = response.body.encode(), "text/plain"
        elif response.body is None:
            payload, ctype = b"", "application/json"
        else:
            payload, ctype = json.dumps(response.body).encode(), "application/json"
        try:
            handler.send_response(response.status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(payload)))
            for key, value in response.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the client went away (it timed out): exactly what a real server sees
