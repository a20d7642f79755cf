"""``llm-insights check``: the deployed kit judged on its own telemetry.

On Azure (the stack's outputs name the Application Insights component) or, with ``--local``, on
the local store: which telemetry names arrived, every workbook panel run as deployed, every alert
rule backtested with the kit's evaluator (beside Azure's own fired alerts when known). Exit 1 when
a panel or a rule's query fails or required telemetry never arrived; 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..alerts import load_rules
from ..artifacts import AlertRuleSpec, WorkbookArtifact
from ..check.azure import (
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW_S,
    AzureLogsBackend,
    alert_history,
)
from ..check.backend import QueryBackend, open_local
from ..check.outputs import StackOutputs, read_outputs
from ..check.report import print_report
from ..check.rules import DEFAULT_MAX_EVALUATIONS
from ..check.run import CheckReport, History, attach_history, planned_queries, run_check
from ..dashboards import render_workbooks
from ..demo.display import Display
from ..demo.runner import DEMO_DIR, DEMO_STORE
from ..errors import KitError
from ..local.preview import data_time_range
from ..stack_config.files import render_context, workspace_retention
from ..times import cli_duration, cli_time
from .serve import DEFAULT_DB

HELP = (
    "Judge the deployed kit on its own telemetry (Azure, or --local): which names arrived, every "
    "workbook panel run, every alert rule backtested over the window."
)
DEFAULT_SINCE = "7d"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default="dev", help="stack whose workbooks and rules to check (dev)")
    p.add_argument(
        "--since",
        metavar="DURATION",
        help=f"window length ending at --until, e.g. 1h, 7d (Azure default {DEFAULT_SINCE}; "
        "local default: the span of the stored data)",
    )
    p.add_argument("--until", metavar="TIME", help="window end, ISO 8601 UTC (default now)")
    p.add_argument("--local", action="store_true", help="check the local store instead of Azure")
    p.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB,
        help=f"local store with --local (default {DEFAULT_DB})",
    )
    p.add_argument(
        "--outputs",
        type=Path,
        metavar="FILE",
        help="the stack's outputs as `pulumi stack output --json` prints them (default: run it)",
    )
    p.add_argument(
        "--max-evaluations",
        type=int,
        default=DEFAULT_MAX_EVALUATIONS,
        metavar="N",
        help="evaluations per rule before the backtest samples "
        f"(default {DEFAULT_MAX_EVALUATIONS})",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=180,
        metavar="SECONDS",
        help="Azure server timeout per query, 1..600 (default 180)",
    )
    p.add_argument("--no-history", action="store_true", help="skip Azure's fired-alert history")
    p.add_argument("--json", action="store_true", help="print the report as JSON (for CI)")
    p.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")


def window(args: argparse.Namespace, backend: QueryBackend) -> tuple[datetime, datetime]:
    end = cli_time(args.until, "--until") if args.until else None
    if args.since is None and args.local:
        if end is not None:
            raise KitError("--until", "needs --since with --local")
        return data_time_range(backend)
    end = end or datetime.now(UTC).replace(microsecond=0)
    longest = workspace_retention(args.stack)
    return end - cli_duration(args.since or DEFAULT_SINCE, "--since", longest=longest), end


def run(args: argparse.Namespace) -> int:
    if args.max_evaluations < 1:
        raise KitError("--max-evaluations", f"{args.max_evaluations}: expected 1 or more")
    ctx = render_context(args.stack)
    outputs: StackOutputs | None = None
    if args.local:
        demo_store = DEMO_DIR / DEMO_STORE
        if not args.db.is_file() and args.db == DEFAULT_DB and demo_store.is_file():
            raise KitError(
                str(args.db),
                f"no local store here; the demo's is {demo_store}: pass --db {demo_store}",
            )
        backend: QueryBackend = open_local(args.db)
        label = f"local store {args.db}"
    else:
        outputs = read_outputs(args.stack, args.outputs)
        backend = AzureLogsBackend(outputs.component_id, server_timeout=args.timeout)
        label = backend.label
    stream = sys.stderr if args.json else sys.stdout
    try:
        time_range = window(args, backend)
        if not args.local:
            _preflight(backend, time_range)
        workbooks = render_workbooks(ctx)
        rules = list(load_rules(ctx))
        history = None if args.no_history or outputs is None else outputs
        report = _run(args, backend, label, workbooks, rules, time_range, history, stream)
    finally:
        backend.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        with Display(stream, live=False) as display:
            print_report(display.console, report)
    return 1 if report.failures() else 0


def _run(
    args: argparse.Namespace,
    backend: QueryBackend,
    label: str,
    workbooks: list[WorkbookArtifact],
    rules: list[AlertRuleSpec],
    time_range: tuple[datetime, datetime],
    outputs: StackOutputs | None,
    stream: TextIO,
) -> CheckReport:
    """The checks with progress; with *outputs*, Azure's fired alerts for the stack's rules."""
    total = planned_queries(workbooks, rules, time_range, args.max_evaluations)
    with Display(stream, live=False if args.plain or args.json else None) as display:
        history: History | None = None
        note = ""
        if outputs is not None:
            with display.step("Azure's fired alerts for the stack's rules") as s:
                try:
                    found, note = alert_history(
                        outputs.component_id, outputs.alert_rule_ids.values(), time_range
                    )
                    history = attach_history(found, outputs.alert_rule_ids, note)
                    s.note(f"{sum(len(v) for v in found.values())} alerts")
                except Exception as exc:  # permissions, network: the backtest still stands
                    note = f"Azure alert history unavailable: {type(exc).__name__}: {exc}"
                    s.note("unavailable")
        if not args.local:
            floor = total / RATE_LIMIT_REQUESTS * RATE_LIMIT_WINDOW_S
            display.print(
                f"{total} queries planned; the query API takes {RATE_LIMIT_REQUESTS} per "
                f"{RATE_LIMIT_WINDOW_S:.0f} s, so at least {floor / 60:.1f} min",
                highlight=False,
            )
        with display.step(f"Checking on {label}", total=total) as s:
            advance = s.advance if display.live else _every_tenth(display, s.advance, total)
            report = run_check(
                backend,
                workbooks,
                rules,
                time_range,
                stack=args.stack,
                label=label,
                max_evaluations=args.max_evaluations,
                history=history,
                advance=advance,
            )
            s.note(f"{report.queries} queries")
        if note and history is None:
            report.notes.append(note)
    return report


def _every_tenth(
    display: Display, advance: Callable[[int], None], total: int
) -> Callable[[int], None]:
    """Plain progress for logs: a line at every tenth of the planned queries."""
    done = [0, 0]  # queries, tenths printed

    def step(n: int = 1) -> None:
        advance(n)
        done[0] += n
        tenth = min(10, done[0] * 10 // max(total, 1))
        if tenth > done[1]:
            done[1] = tenth
            display.print(f"  {done[0]}/{total} queries", highlight=False)

    return step


def _preflight(backend: QueryBackend, time_range: tuple[datetime, datetime]) -> None:
    """One cheap query first: without access (credentials, role) every query would fail alike."""
    try:
        backend.query("requests | count", time_range=time_range, name="access check")
    except KitError as exc:
        raise KitError(
            "Azure Monitor Logs", f"the first query failed, nothing else was run: {exc.problem}"
        ) from None
