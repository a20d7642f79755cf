"""``llm-insights serve``: a local Application Insights — ingestion, live workbooks, alert states.

Point an app at it (``LLM_INSIGHTS_LOCAL_ENDPOINT=<url>`` for ``llm_insights.configure()``, or
the printed connection string for any Azure Monitor exporter) and open the same address in a
browser: the stack's workbooks and the state of every alert rule, from the live store
(:mod:`..local.live`). ``llm-insights preview`` / ``alerts eval`` keep working while it runs:
they query through it (:mod:`..local.remote`). Runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import signal
import socket
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
from ..local.remote import ServeNote, lock_cause
from ..local.store import LocalStore, lock_holder_pid
from ..paths import KIT_ROOT
from ..stack_config.files import render_context

HELP = "Run a local Application Insights ingestion endpoint that stores telemetry in DuckDB."
DEFAULT_DB = Path("build/local/telemetry.duckdb")
DEFAULT_HOST = "127.0.0.1"


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
        default=None,
        help=f"address to bind (default {DEFAULT_HOST}, loopback only; any other address "
        "exposes ingestion and the pages to the network, with a warning)",
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
    """Whether *host* is a loopback address in any spelling: ``localhost``, 127.0.0.0/8 (also
    the short forms ``127.1`` the C resolver accepts) or ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return False
    return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def _stacks() -> list[str]:
    """The stacks whose ``Pulumi.<stack>.yaml`` ``--stack`` would find."""
    names = set()
    for folder in (Path.cwd(), KIT_ROOT):
        names.update(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))
    return sorted(names)


def _client_host(host: str) -> str:
    """The address a local client uses to reach a server bound to *host*."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _site(args: argparse.Namespace, token: str) -> LiveSite:
    """The stack's workbooks and alert rules, rendered once (templates do not change); the
    store is attached once it is open."""
    try:
        ctx = render_context(args.stack)
    except KitError as exc:
        if not exc.where.startswith("--stack"):
            raise
        raise KitError(exc.where, f"{exc.problem}; stacks here: {', '.join(_stacks())}") from None
    workbooks = render_workbooks(ctx)
    rules = default_loader(ctx, None)
    return LiveSite(
        None, workbooks, rules, stack=args.stack, token=token, store_label=str(args.db),
        refresh_s=max(0, args.refresh),
    )  # fmt: skip


def _open_store(db: Path) -> LocalStore:
    try:
        return LocalStore(db)
    except KitError as exc:
        if lock_holder_pid(exc.problem) is None:
            raise
        raise lock_cause(db, exc) from None


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    if not 0 <= args.port <= 65535:
        raise KitError("--port", f"{args.port} is not a TCP port (0-65535)")
    # before anything is printed: a `kill` right after the address appears still stops cleanly
    stop = stop or _stop_on_sigterm()
    given = args.host is not None
    host = args.host if given else DEFAULT_HOST
    loopback = is_loopback(host)
    if not loopback:
        print(
            f"warning: --host {host} is not a loopback address: anyone who can reach it "
            "can send telemetry to this store and read every workbook page and alert state "
            "(no authentication). Use the default 127.0.0.1 unless you mean it.",
            file=sys.stderr,
            flush=True,
        )
    # Nothing is created until the address listens and the stack renders: a mistake leaves
    # no empty store behind.
    server = IngestServer(
        None,
        host=host.strip("[]"),
        port=args.port,
        host_aliases=(host,) if given else (),
        check_host=loopback,  # a name-less check is impossible for an address exposed on purpose
    )
    try:
        server.bind()
    except OSError as exc:
        where = f"--port {args.port}" if exc.errno == errno.EADDRINUSE else f"--host {host}"
        raise KitError(where, f"cannot listen on {host}:{args.port}: {exc.strerror}") from None
    note = ServeNote.create("")
    try:
        site = server.site = _site(args, note.token)
    except BaseException:
        server.stop()
        raise
    # The store and every file next to it (WAL, note) are the user's only: telemetry may hold
    # prompts, and the note holds the reader token.
    old_umask = os.umask(0o077)
    note_path = None
    try:
        store = _open_store(args.db)
    except BaseException:
        os.umask(old_umask)
        server.stop()
        raise
    try:
        server.store = store
        site.store = store
        site.stats = server.stats
        local_url = f"http://{_client_host(server.host)}:{server.port}"
        if str(args.db) != ":memory:":
            note = ServeNote(note.pid, local_url, note.token)
            note_path = note.write(args.db)
        server.start()
        out = sys.stdout
        print(f"llm-insights local ingestion on {server.url} → {args.db}", file=out)
        print(f"  export {LOCAL_ENDPOINT_ENV}={local_url}", file=out)
        print(f"  {contract.ENV_CONNECTION_STRING}={server.connection_string}", file=out)
        print(f"  workbooks and alert states: open {local_url}/", file=out)
        print("  Ctrl-C to stop.", file=out, flush=True)
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
        print(f"stopped; {server.stats.items_accepted} items stored in {args.db}", file=out)
        return 0
    finally:
        server.stop()
        if note_path is not None:
            note.remove(args.db)
        store.close()
        os.umask(old_umask)
