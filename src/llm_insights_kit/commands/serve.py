"""``llm-insights serve``: a local Application Insights — ingestion, live workbooks, alert states.

Point an app at it (``LLM_INSIGHTS_LOCAL_ENDPOINT=<url>`` for ``llm_insights.configure()``, or
the printed connection string for any Azure Monitor exporter) and open the same address in a
browser: the stack's workbooks and the state of every alert rule, from the live store
(:mod:`..local.live`). ``llm-insights preview`` / ``alerts eval`` keep working while it runs:
they query through it (:mod:`..local.remote`). Runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import signal
import sys
import threading
import time
from pathlib import Path

from llm_insights import contract

from ..alerts.rule_tests import default_loader
from ..dashboards import render_workbooks
from ..errors import KitError
from ..local.ingest import DEFAULT_PORT, LOCAL_ENDPOINT_ENV, IngestServer
from ..local.live import DEFAULT_REFRESH_S, LiveSite
from ..local.remote import ServeNote
from ..local.store import LocalStore
from ..stack_config.files import render_context

HELP = "Run a local Application Insights ingestion endpoint that stores telemetry in DuckDB."
DEFAULT_DB = Path("build/local/telemetry.duckdb")


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
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, loopback only; any other address exposes "
        "ingestion and the pages to the network, with a warning)",
    )
    parser.add_argument(
        "--stack", default="dev", help="stack whose workbooks and alert rules to show (dev)"
    )
    parser.add_argument(
        "--refresh",
        type=int,
        default=DEFAULT_REFRESH_S,
        metavar="SECONDS",
        help=f"pages reload themselves this often (default {DEFAULT_REFRESH_S}; 0: never)",
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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_host(host: str) -> str:
    """The address a local client uses to reach a server bound to *host*."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _site(args: argparse.Namespace, store: LocalStore, token: str) -> LiveSite:
    """The stack's workbooks and alert rules, rendered once (templates do not change)."""
    ctx = render_context(args.stack)
    workbooks = render_workbooks(ctx)
    rules = default_loader(ctx, None)
    return LiveSite(
        store, workbooks, rules, stack=args.stack, token=token, store_label=str(args.db),
        refresh_s=max(0, args.refresh),
    )  # fmt: skip


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    if not 0 <= args.port <= 65535:
        raise KitError("--port", f"{args.port} is not a TCP port (0-65535)")
    if not is_loopback(args.host):
        print(
            f"warning: --host {args.host} is not a loopback address: anyone who can reach it "
            "can send telemetry to this store and read every workbook page and alert state "
            "(no authentication). Use the default 127.0.0.1 unless you mean it.",
            file=sys.stderr,
            flush=True,
        )
    store = LocalStore(args.db)
    note_path = None
    try:
        note = ServeNote.create("")
        server = IngestServer(store, host=args.host, port=args.port)
        server.site = _site(args, store, note.token)
        server.site.stats = server.stats
        try:
            server.start()
        except OSError as exc:
            raise KitError(
                f"--port {args.port}", f"cannot listen on {args.host}:{args.port}: {exc.strerror}"
            ) from None
        local_url = f"http://{_client_host(args.host)}:{server.port}"
        if str(args.db) != ":memory:":
            note_path = ServeNote(note.pid, local_url, note.token).write(args.db)
        out = sys.stdout
        print(f"llm-insights local ingestion on {server.url} → {args.db}", file=out)
        print(f"  export {LOCAL_ENDPOINT_ENV}={local_url}", file=out)
        print(f"  {contract.ENV_CONNECTION_STRING}={server.connection_string}", file=out)
        print(f"  workbooks and alert states: open {local_url}/", file=out)
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
        if note_path is not None:
            with contextlib.suppress(OSError):
                note_path.unlink()
        store.close()
