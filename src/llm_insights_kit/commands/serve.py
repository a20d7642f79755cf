"""``llm-insights serve``: a local Application Insights ingestion endpoint writing a DuckDB file.

Point an app at it (``LLM_INSIGHTS_LOCAL_ENDPOINT=<url>`` for ``llm_insights.configure()``, or
the printed connection string for any Azure Monitor exporter), then query the file with
``llm-insights preview`` / ``alerts eval``. Runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from llm_insights import contract

from ..errors import KitError
from ..local.ingest import LOCAL_ENDPOINT_ENV, IngestServer
from ..local.store import LocalStore

HELP = "Run a local Application Insights ingestion endpoint that stores telemetry in DuckDB."
DEFAULT_DB = Path("build/local/telemetry.duckdb")
DEFAULT_PORT = 5318  # fixed so the env var stays valid across restarts; clear of OTLP 4317/4318


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"DuckDB file to write (default {DEFAULT_DB})"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"loopback port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not print a line per received batch"
    )


def _stop_on_sigterm() -> threading.Event:
    """An event set by SIGTERM (Ctrl-C arrives as KeyboardInterrupt), so `kill` stops cleanly."""
    event = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: event.set())
    return event


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    if not 0 <= args.port <= 65535:
        raise KitError("--port", f"{args.port} is not a TCP port (0-65535)")
    store = LocalStore(args.db)
    try:
        server = IngestServer(store, host=args.host, port=args.port)
        try:
            server.start()
        except OSError as exc:
            raise KitError(
                f"--port {args.port}", f"cannot listen on {args.host}:{args.port}: {exc.strerror}"
            ) from None
        out = sys.stdout
        print(f"llm-insights local ingestion on {server.url} → {args.db}", file=out)
        print(f"  export {LOCAL_ENDPOINT_ENV}={server.url}", file=out)
        print(f"  {contract.ENV_CONNECTION_STRING}={server.connection_string}", file=out)
        print("  Ctrl-C to stop.", file=out, flush=True)
        stop = stop or _stop_on_sigterm()
        seen = 0
        try:
            while not stop.wait(0.5):
                if not args.quiet and server.stats.items_accepted != seen:
                    seen = server.stats.items_accepted
                    print(
                        f"{time.strftime('%H:%M:%S')} {seen} items "
                        f"({server.stats.track_requests} batches, "
                        f"{server.stats.bytes_received} bytes)",
                        file=out,
                        flush=True,
                    )
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        print(f"stopped; {server.stats.items_accepted} items stored in {args.db}", file=out)
        return 0
    finally:
        store.close()
