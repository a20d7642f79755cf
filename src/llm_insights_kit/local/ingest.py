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
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llm_insights import contract

from ..loopback import LoopbackHTTPServer
from .envelopes import EnvelopeError, envelope_rows

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
MAX_BODY_BYTES = 64 * 1024 * 1024

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


def _invalid_items(items: list[dict[str, Any]]) -> list[tuple[int, str]]:
    bad = []
    for index, item in enumerate(items):
        try:
            envelope_rows(item)
        except (EnvelopeError, TypeError, ValueError, AttributeError) as exc:
            bad.append((index, f"envelope {index}: {exc}"))
    return bad


class BodyError(ValueError):
    """A request body that is not a batch of envelopes (answered with HTTP 400)."""


def decode_body(body: bytes, content_encoding: str = "") -> list[dict[str, Any]]:
    """Envelopes from a track request body: gzip/deflate or plain; JSON array, object or NDJSON."""
    encoding = content_encoding.strip().lower()
    if encoding == "gzip" or body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise BodyError(f"body is not valid gzip: {exc}") from None
    elif encoding == "deflate":
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise BodyError(f"body is not valid deflate: {exc}") from None
    elif encoding not in ("", "identity"):
        raise BodyError(f"Content-Encoding {encoding!r} is not supported (gzip, deflate, identity)")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8: {exc}") from None
    text = text.strip()
    if not text:
        raise BodyError("body is empty; expected a JSON array of envelopes")
    try:
        parsed = json.loads(text)
        items = parsed if isinstance(parsed, list) else [parsed]
    except json.JSONDecodeError as first:
        items = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError:
                raise BodyError(
                    f"body is neither a JSON array nor newline-delimited JSON: line "
                    f"{lineno}: {first.msg}"
                    if lineno == 1
                    else f"newline-delimited JSON line {lineno} is not JSON"
                ) from None
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BodyError(f"item {index} is {type(item).__name__}, expected an envelope object")
    return items


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


class IngestServer:
    """Serve the ingestion protocol on loopback, storing accepted envelopes in *store*.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Every decoded envelope is also
    kept in :attr:`envelopes` (for tests). Without a store, envelopes are only kept.
    """

    def __init__(
        self,
        store: LocalStore | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        site: LiveSite | None = None,
    ) -> None:
        self.store = store
        #: Page and reader-API routes beside ingestion (``serve``'s live pages, :mod:`.live`).
        self.site = site
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._envelopes: list[dict[str, Any]] = []
        self._fault = _Fault()
        self.stats = IngestStats()
        self.errors: list[str] = []
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> IngestServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"server_ref": self})
        httpd = LoopbackHTTPServer((self.host, self.port), handler)
        self._httpd = httpd
        self.port = httpd.server_address[1]
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
        return f"http://{self.host}:{self.port}"

    @property
    def connection_string(self) -> str:
        return connection_string_for(self.url)

    # -- received data ---------------------------------------------------------------------
    @property
    def envelopes(self) -> list[dict[str, Any]]:
        """A snapshot of every envelope accepted so far, in arrival order."""
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
        """Block until ``predicate(envelopes)`` is true or *timeout* passes; return the result."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(list(self._envelopes)):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
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
    def _accept(self, items: list[dict[str, Any]], wire_bytes: int) -> tuple[int, list[dict]]:
        """Store the batch; return (accepted, per-item errors) like Azure's TrackResponse."""
        bad: list[tuple[int, str]] = []
        try:
            if self.store is not None:
                _, bad = self.store.ingest_valid(items)
            else:
                bad = _invalid_items(items)
            errors = [{"index": i, "statusCode": 400, "message": m} for i, m in bad]
        except Exception as exc:  # never crash the server: report a retryable failure
            message = f"{type(exc).__name__}: {exc}"
            errors = [
                {"index": i, "statusCode": 500, "message": message} for i in range(len(items))
            ]
            with self._lock:
                self.errors.append(message)
        bad_index = {e["index"] for e in errors}
        kept = [item for i, item in enumerate(items) if i not in bad_index]
        with self._cond:
            self.stats.track_requests += 1
            self.stats.bytes_received += wire_bytes
            self.stats.items_received += len(items)
            self.stats.items_accepted += len(kept)
            self._envelopes.extend(kept)
            self._cond.notify_all()
        return len(kept), errors

    def _count(self, field: str, wire_bytes: int = 0) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)
            self.stats.bytes_received += wire_bytes


class _Handler(BaseHTTPRequestHandler):
    server_ref: IngestServer
    protocol_version = "HTTP/1.1"
    server_version = "llm-insights-local-ingest/1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the exporter polls live metrics every second

    def handle_one_request(self) -> None:
        if self.server_ref._current_fault().refuse:
            # Abort the connection as a refusing/unreachable endpoint would (RST, no answer).
            with contextlib.suppress(OSError):
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            return
        super().handle_one_request()

    def _read_body(self) -> bytes | None:
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(length_header or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, payload: Any = None, headers: Iterable[tuple[str, str]] = ()):
        data = b"" if payload is None else json.dumps(payload, sort_keys=True).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(reply.body)

    def do_GET(self) -> None:
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
        except (ValueError, OSError):
            self._reply(400, {"error": "could not read the request body"})
            self.close_connection = True
            return
        if body is None:
            self._reply(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
            self.close_connection = True
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
        fault = self.server_ref._current_fault()
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status is not None:
            self.server_ref._count("rejected_requests", len(body))
            self._reply(
                fault.status,
                {
                    "itemsReceived": 0,
                    "itemsAccepted": 0,
                    "errors": [
                        {"index": 0, "statusCode": fault.status, "message": "injected fault"}
                    ],
                },
            )
            return
        try:
            items = decode_body(body, self.headers.get("Content-Encoding", ""))
        except BodyError as exc:
            self.server_ref._count("rejected_requests", len(body))
            self._reply(
                400,
                {
                    "itemsReceived": 0,
                    "itemsAccepted": 0,
                    "errors": [{"index": 0, "statusCode": 400, "message": str(exc)}],
                },
            )
            return
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if body[:2] == b"\x1f\x8b" or encoding not in ("", "identity"):
            self.server_ref._count("compressed_requests")
        accepted, errors = self.server_ref._accept(items, len(body))
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
