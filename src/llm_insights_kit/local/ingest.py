"""A loopback HTTP endpoint that speaks the Application Insights ingestion protocol.

The Azure Monitor exporter (``azure-monitor-opentelemetry-exporter``) posts JSON arrays of
envelopes to ``{IngestionEndpoint}/v2.1/track`` — uncompressed from the Python exporter 1.0.0b58
(measured: no Content-Encoding, ~1.1 KB per LLM span), gzip from other SDKs; both are accepted —
and, with live metrics on, pings
``{LiveEndpoint}/QuickPulseService.svc/ping`` (paths from the exporter's
``_quickpulse/_generated/livemetrics/_operations/_operations.py``). Pointing a connection string's
``IngestionEndpoint`` here sends the real exporter's output into a :class:`LocalStore`, so
dashboards and alerts can be checked against what the SDK really emits.

Faults (status codes, delays, refused connections) are scriptable for the SDK's resilience tests,
and the counters report bytes on the wire so benchmarks can measure telemetry volume.

What it promises (``docs/serve.md``): an item answered as accepted is stored exactly once — each
batch is validated item by item before one transaction writes it, a failure writes nothing and
is answered 500 (retryable), and a re-sent batch identical to one already stored is answered
again without being stored twice. Everything is bounded: body size after decompression (read in
steps, so a gzip bomb stops at the cap), time per request, connections, and nothing is kept per
envelope once written. Only loopback clients that name this server reach it: a ``Host`` that is
not its address and a browser ``Origin`` that is not its own are refused (DNS rebinding,
cross-site posts).
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llm_insights import contract

from .connections import MAX_CONNECTIONS, DeadlineReader, Server
from .envelopes import EnvelopeError, envelope_rows
from .track_body import MAX_BODY_BYTES, BodyError, batch_id, decode_body

if TYPE_CHECKING:
    from .live import LiveSite, Reply
    from .store import LocalStore

#: The instrumentation key every local connection string carries (the SDK builds the same one).
LOCAL_IKEY = contract.LOCAL_INSTRUMENTATION_KEY
#: The env var the SDK reads to point ``llm_insights.configure()`` at a local endpoint.
LOCAL_ENDPOINT_ENV = contract.ENV_LOCAL_ENDPOINT
#: ``llm-insights serve``'s port: fixed so the env var stays valid across restarts; clear of OTLP's
#: 4317/4318.
DEFAULT_PORT = 5318

TRACK_PATHS = frozenset({"/v2.1/track", "/v2/track"})
QUICKPULSE_PREFIX = "/QuickPulseService.svc/"
#: Seconds an open connection may wait for its next request, and one request may take from its
#: first byte to its last (a client trickling bytes cannot hold a connection for longer).
IDLE_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0

# Header names of the live-metrics (QuickPulse) protocol, from the exporter's
# _quickpulse/_constants.py.
QPS_SUBSCRIBED = "x-ms-qps-subscribed"
QPS_POLLING_HINT = "x-ms-qps-service-polling-interval-hint"


#: Environment for an exporter that posts to a loopback endpoint: no statsbeat, SDK-stats or
#: control-plane calls to Microsoft's own endpoints (unreachable offline, and not the app's data),
#: and no Azure VM resource detector (it calls 169.254.169.254). The SDK sets the same switches
#: itself for a loopback endpoint (``llm_insights._config.LOCAL_ONLY_ENV``); this is for
#: exporters configured without it (tests, benchmark peers).
LOOPBACK_EXPORTER_ENV: dict[str, str] = {
    contract.ENV_STATSBEAT_DISABLED_ALL: "true",
    contract.ENV_SDKSTATS_DISABLED: "true",
    contract.ENV_CONTROLPLANE_DISABLED: "true",
    contract.ENV_OTEL_RESOURCE_DETECTORS: "otel",
}


def connection_string_for(url: str, ikey: str = LOCAL_IKEY) -> str:
    """The connection string that sends ingestion and live metrics to *url*."""
    base = url.rstrip("/") + "/"
    return f"InstrumentationKey={ikey};IngestionEndpoint={base};LiveEndpoint={base}"


def _invalid_items(items: list[Any]) -> list[tuple[int, str]]:
    bad = []
    for index, item in enumerate(items):
        try:
            envelope_rows(item)
        except (EnvelopeError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            bad.append((index, f"envelope {index}: {exc}"))
    return bad


@dataclass
class _Fault:
    status: int | None = None
    delay: float = 0.0
    refuse: bool = False


@dataclass
class IngestStats:
    """Counters since start: requests by kind, items, and request-body bytes as sent on the wire
    (gzip-compressed when the client compresses — what telemetry volume costs in egress)."""

    track_requests: int = 0
    live_requests: int = 0
    other_requests: int = 0
    bytes_received: int = 0
    items_received: int = 0
    items_accepted: int = 0
    rejected_requests: int = 0
    compressed_requests: int = 0  # track calls whose body was gzip/deflate
    duplicate_batches: int = 0  # re-sent batches answered without storing them again
    refused_connections: int = 0  # over MAX_CONNECTIONS, answered 503


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class IngestServer:
    """Serve the ingestion protocol on loopback, storing accepted envelopes in *store*.

    Use as a context manager or call :meth:`start` / :meth:`stop` (:meth:`bind` listens without
    serving yet). With a store, nothing of an envelope stays in memory once it is written;
    without one (tests capturing what an exporter sends) envelopes are kept in
    :attr:`envelopes` — ``keep_envelopes`` overrides either default.

    ``Host`` must be the bound address, ``localhost`` or one of *host_aliases* (a check against
    DNS rebinding); ``check_host=False`` turns that off for a server exposed on purpose.
    """

    def __init__(
        self,
        store: LocalStore | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        site: LiveSite | None = None,
        keep_envelopes: bool | None = None,
        host_aliases: Iterable[str] = (),
        check_host: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.store = store
        #: Page and reader-API routes beside ingestion (``serve``'s live pages, :mod:`.live`).
        self.site = site
        self.host = host
        self.port = port
        self.keep_envelopes = store is None if keep_envelopes is None else keep_envelopes
        self.host_aliases = tuple(host_aliases)
        self.check_host = check_host
        self.max_body_bytes = max_body_bytes
        self.idle_timeout_s = idle_timeout_s
        self.request_timeout_s = request_timeout_s
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._envelopes: list[dict[str, Any]] = []
        self._fault = _Fault()
        self.stats = IngestStats()
        self.errors: list[str] = []
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None
        self.allowed_hosts: frozenset[str] = frozenset()

    # -- lifecycle -------------------------------------------------------------------------
    def bind(self) -> IngestServer:
        """Listen on the address (raises OSError when it cannot) without serving yet."""
        if self._httpd is None:
            handler = type("_BoundHandler", (_Handler,), {"server_ref": self})
            self._httpd = Server(
                self.host,
                self.port,
                handler,
                max_connections=self.max_connections,
                on_refused=lambda: self._count("refused_connections"),
            )
            given = self.host
            self.host, self.port = self._httpd.server_address[:2]  # numeric, as bound
            names = {given, self.host, "localhost", *self.host_aliases}
            self.allowed_hosts = frozenset(_host_port(n, self.port).lower() for n in names)
        return self

    def start(self) -> IngestServer:
        if self._thread is not None:
            return self
        httpd = self.bind()._httpd
        assert httpd is not None
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"llm-insights-ingest:{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        if self._thread is not None:
            httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> IngestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{_host_port(self.host, self.port)}"

    @property
    def connection_string(self) -> str:
        return connection_string_for(self.url)

    # -- received data ---------------------------------------------------------------------
    @property
    def envelopes(self) -> list[dict[str, Any]]:
        """A snapshot of every envelope accepted so far, in arrival order (when kept)."""
        with self._lock:
            return list(self._envelopes)

    @property
    def requests_received(self) -> int:
        with self._lock:
            return self.stats.track_requests

    @property
    def bytes_received(self) -> int:
        with self._lock:
            return self.stats.bytes_received

    def clear(self) -> None:
        """Forget kept envelopes and reset the counters (the store keeps its rows)."""
        with self._lock:
            self._envelopes.clear()
            self.stats = IngestStats()
            self.errors.clear()

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> bool:
        """Block until ``predicate(envelopes)`` is true or *timeout* passes; return the result.

        Needs kept envelopes; with a store, wait on what it holds with :meth:`wait_until`.
        """
        if not self.keep_envelopes:
            raise RuntimeError("wait_for needs keep_envelopes=True; use wait_until with a store")
        return self.wait_until(lambda: predicate(list(self._envelopes)), timeout, locked=True)

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = 10.0, *, locked: bool = False
    ) -> bool:
        """Block until ``condition()`` is true — checked after every accepted batch — or
        *timeout* passes; return the result."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if locked and condition():
                    return True
            if not locked and condition():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._cond:
                self._cond.wait(min(remaining, 0.1))

    # -- fault injection -------------------------------------------------------------------
    def set_fault(
        self, status: int | None = None, delay: float = 0.0, refuse: bool = False
    ) -> None:
        """Script the answer to track calls: a status code, a delay, or refused connections.

        ``refuse=True`` closes every connection before reading it (the client sees a connection
        reset). Call ``set_fault()`` with no arguments to go back to normal.
        """
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"status {status} is not an HTTP status code (100-599)")
        if delay < 0:
            raise ValueError(f"delay {delay} must be >= 0 seconds")
        with self._lock:
            self._fault = _Fault(status, float(delay), bool(refuse))

    def _current_fault(self) -> _Fault:
        with self._lock:
            return self._fault

    # -- called by the handler -------------------------------------------------------------
    def _accept(self, items: list[Any], wire_bytes: int) -> tuple[int, list[dict]]:
        """Store the batch; return (accepted, per-item errors) like Azure's TrackResponse."""
        bad: list[tuple[int, str]] = []
        duplicate = False
        try:
            if self.store is not None:
                outcome = self.store.ingest_valid(items, batch_id=batch_id(items))
                bad, duplicate = outcome.errors, outcome.duplicate
            else:
                bad = _invalid_items(items)
            errors = [{"index": i, "statusCode": 400, "message": m} for i, m in bad]
        except Exception as exc:  # never crash the server: nothing was written, ask for a retry
            message = f"{type(exc).__name__}: {exc}"
            errors = [
                {"index": i, "statusCode": 500, "message": message} for i in range(len(items))
            ]
            with self._lock:
                self.errors.append(message)
        bad_index = {e["index"] for e in errors}
        accepted = len(items) - len(bad_index)
        with self._cond:
            self.stats.track_requests += 1
            self.stats.bytes_received += wire_bytes
            self.stats.items_received += len(items)
            if duplicate:
                self.stats.duplicate_batches += 1
            else:
                self.stats.items_accepted += accepted
            if self.keep_envelopes:
                self._envelopes.extend(x for i, x in enumerate(items) if i not in bad_index)
            self._cond.notify_all()
        return accepted, errors

    def _count(self, field: str, wire_bytes: int = 0) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)
            self.stats.bytes_received += wire_bytes


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    server_ref: IngestServer
    protocol_version = "HTTP/1.1"
    server_version = "llm-insights-local-ingest/1"
    # Headers and body leave in one write, and without Nagle's delay (a keep-alive client would
    # otherwise wait for the delayed ACK: ~40 ms per response).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the exporter polls live metrics every second

    def setup(self) -> None:
        super().setup()
        owner = self.server_ref
        self._reader = DeadlineReader(
            self.connection, owner.idle_timeout_s, owner.request_timeout_s
        )
        self.rfile = io.BufferedReader(self._reader, 65536)

    def handle_one_request(self) -> None:
        self._reader.next_request()
        if self.server_ref._current_fault().refuse:
            # Abort the connection as a refusing/unreachable endpoint would (RST, no answer).
            with contextlib.suppress(OSError):
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            return
        super().handle_one_request()

    # -- request checks --------------------------------------------------------------------
    def _allowed(self) -> bool:
        """Host names this server (DNS rebinding) and a browser Origin is its own (CSRF)."""
        owner = self.server_ref
        host = (self.headers.get("Host") or "").strip().lower()
        if owner.check_host and host and host not in owner.allowed_hosts:
            self._reply(
                403,
                {
                    "error": f"Host {host!r} is not this server's address; use "
                    f"{owner.url} (names other than the bound address and localhost are "
                    "refused so that no web page can reach it through DNS rebinding)"
                },
            )
            return False
        origin = self.headers.get("Origin")
        if (
            self.command == "POST"
            and origin is not None
            and origin.strip().lower() != f"http://{host}"
        ):
            self._reply(
                403,
                {
                    "error": f"a browser request from Origin {origin!r} is refused: this server "
                    "takes writes from local clients only (no cross-site posts)"
                },
            )
            return False
        return True

    def _read_body(self) -> bytes:
        """The body as sent (≤ the cap), or :class:`_HttpError` saying why not."""
        limit = self.server_ref.max_body_bytes
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if encoding:
            if encoding != "chunked":
                raise _HttpError(501, f"Transfer-Encoding {encoding!r} is not supported")
            return self._read_chunked(limit)
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise _HttpError(411, "Content-Length is required (or Transfer-Encoding: chunked)")
        given = {v.strip() for v in lengths}
        text = given.pop()
        if given or not (text.isascii() and text.isdigit()):
            raise _HttpError(400, f"Content-Length {', '.join(lengths)!r} is not one byte count")
        length = int(text)
        if length > limit:
            raise _HttpError(413, f"body larger than {limit} bytes")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise _HttpError(400, f"body ended after {len(body)} of {length} bytes")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        chunks = []
        total = 0
        while True:
            line = self.rfile.readline(1026)
            size_text = line.split(b";")[0].strip()
            if not line.endswith(b"\n") or not size_text or len(size_text) > 16:
                raise _HttpError(400, "malformed chunked body")
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _HttpError(400, "malformed chunk size") from None
            if size == 0:
                while self.rfile.readline(1026) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > limit:
                raise _HttpError(413, f"body larger than {limit} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise _HttpError(400, "chunked body ended early")
            chunks.append(chunk)
            self.rfile.readline(3)

    # -- replies ---------------------------------------------------------------------------
    def _write(self, status: int, content_type: str | None, body: bytes, headers=()) -> None:
        """One response in one write: status line, headers and body together."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def _reply(self, status: int, payload: Any = None, headers: Iterable[tuple[str, str]] = ()):
        data = b"" if payload is None else json.dumps(payload, sort_keys=True).encode()
        content_type = None if payload is None else "application/json; charset=utf-8"
        self._write(status, content_type, data, headers)

    def _send(self, reply: Reply) -> None:
        self._write(reply.status, reply.content_type, reply.body, [("Cache-Control", "no-store")])

    def do_GET(self) -> None:
        if not self._allowed():
            return
        parts = urlsplit(self.path)
        path = parts.path
        site = self.server_ref.site
        if site is not None and path != "/health":
            try:
                reply = site.get(path, parts.query)
            except Exception as exc:  # a page failure is a 500 page, never a dead server
                self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})
                return
            if reply is not None:
                self._send(reply)
                return
        if path in ("/", "/health"):
            stats = self.server_ref.stats
            self._reply(200, {"status": "ok", "itemsAccepted": stats.items_accepted})
            return
        self._reply(404, {"error": f"GET {path} is not served; POST envelopes to /v2.1/track"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except _HttpError as exc:
            self.close_connection = True
            self._reply(exc.status, {"error": str(exc)})
            return
        except TimeoutError:
            self.close_connection = True
            self._reply(408, {"error": "the request body did not arrive in time"})
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._reply(400, {"error": "could not read the request body"})
            return
        if not self._allowed():
            return
        site = self.server_ref.site
        if site is not None:
            try:
                reply = site.post(path, self.headers, body)
            except Exception as exc:  # never crash the server
                problem = f"{type(exc).__name__}: {exc}"
                self._reply(500, {"error": {"where": path, "problem": problem}})
                return
            if reply is not None:
                self._send(reply)
                return
        if path.startswith(QUICKPULSE_PREFIX):
            # Live metrics: tell the client nobody is watching, so it keeps pinging slowly and
            # never switches to posting (exporter _quickpulse/_exporter.py reads these headers).
            self.server_ref._count("live_requests", len(body))
            self._reply(200, None, [(QPS_SUBSCRIBED, "false"), (QPS_POLLING_HINT, "5000")])
            return
        if path.rstrip("/") not in TRACK_PATHS:
            self.server_ref._count("other_requests", len(body))
            self._reply(404, {"error": f"POST {path} is not served; use /v2.1/track"})
            return
        self._track(body)

    def _track(self, body: bytes) -> None:
        server = self.server_ref
        fault = server._current_fault()
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status is not None:
            server._count("rejected_requests", len(body))
            error = {"index": 0, "statusCode": fault.status, "message": "injected fault"}
            self._reply(fault.status, {"itemsReceived": 0, "itemsAccepted": 0, "errors": [error]})
            return
        encoding = self.headers.get("Content-Encoding", "")
        try:
            items = decode_body(body, encoding, server.max_body_bytes)
        except BodyError as exc:
            server._count("rejected_requests", len(body))
            error = {"index": 0, "statusCode": exc.status, "message": str(exc)}
            self._reply(exc.status, {"itemsReceived": 0, "itemsAccepted": 0, "errors": [error]})
            return
        if body[:2] == b"\x1f\x8b" or encoding.strip().lower() not in ("", "identity"):
            server._count("compressed_requests")
        accepted, errors = server._accept(items, len(body))
        # Azure: 200 all accepted, 206 partial (per-item errors), 400 none valid, 500 store failed.
        if not errors:
            status = 200
        elif accepted:
            status = 206
        else:
            status = 500 if any(e["statusCode"] == 500 for e in errors) else 400
        self._reply(
            status, {"itemsReceived": len(items), "itemsAccepted": accepted, "errors": errors}
        )
