"""``llm-insights preview``: every workbook of a stack rendered against a local store as HTML.

Pages go to ``build/preview/`` (one per workbook plus ``index.html``) and open offline. The time
range defaults to the span of the stored data; ``--last 1h`` or ``--from``/``--to`` pick another.
Exit code 1 when a panel's query failed (unsupported KQL, unknown column...), so CI can gate on it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..dashboards import render_workbooks
from ..errors import KitError
from ..invocation import kit_command
from ..local.preview import DEFAULT_OUT, render_previews
from ..local.remote import open_reader
from ..stack_config.files import render_context, workspace_retention
from ..times import check_range, cli_duration, cli_time
from .serve import DEFAULT_DB

HELP = "Render every workbook of a stack against the local store as static HTML previews."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack whose workbooks to render (dev)")
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"local store file (default {DEFAULT_DB})"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})"
    )
    parser.add_argument("--from", dest="start", metavar="TIME", help="range start, ISO 8601 (UTC)")
    parser.add_argument("--to", dest="end", metavar="TIME", help="range end, ISO 8601 (UTC)")
    parser.add_argument(
        "--last",
        metavar="DURATION",
        help="range ending now (or at --to), e.g. 30m, 1h30m, 7d; at most the stack's "
        "workspace retention",
    )
    parser.add_argument("--workbook", action="append", metavar="KEY", help="only this workbook")


def time_range_from(args: argparse.Namespace) -> tuple[datetime, datetime] | None:
    """The range the options ask for, or None for "the span of the stored data"; at most the
    stack's workspace retention long."""
    if args.last and args.start:
        raise KitError("--last", "give either --last or --from/--to, not both")
    longest = workspace_retention(args.stack)
    end = cli_time(args.end, "--to") if args.end else None
    if args.last:
        end = end or datetime.now(UTC)
        return end - cli_duration(args.last, "--last", longest=longest), end
    if args.start:
        start = cli_time(args.start, "--from")
        end = end or datetime.now(UTC)
        check_range(start, end, "--from/--to", longest=longest)
        return start, end
    if end is not None:
        raise KitError("--to", "needs --from or --last")
    return None


def run(args: argparse.Namespace) -> int:
    time_range = time_range_from(args)
    if not args.db.is_file():
        kit = kit_command()
        raise KitError(
            str(args.db),
            f"no local store here; run `{kit} serve` (and an app) or `make demo` first, or pass "
            "--db",
        )
    workbooks = render_workbooks(render_context(args.stack))
    if args.workbook:
        known = {w.key for w in workbooks}
        unknown = sorted(set(args.workbook) - known)
        if unknown:
            raise KitError(
                "--workbook", f"{', '.join(unknown)} not among {', '.join(sorted(known))}"
            )
        workbooks = [w for w in workbooks if w.key in args.workbook]
    with open_reader(args.db) as store:  # through `serve` when it holds the file
        result = render_previews(
            store, workbooks, args.out, stack=args.stack, time_range=time_range,
            store_label=str(args.db),
        )  # fmt: skip
    start, end = result.time_range
    print(f"time range {start:%Y-%m-%d %H:%M:%S}Z to {end:%Y-%m-%d %H:%M:%S}Z")
    failed = 0
    for run_ in result.runs:
        counts = run_.counts()
        print(
            f"  {run_.key:<28} {counts['ok']:>3} ok {counts['empty']:>3} empty "
            f"{counts['error']:>3} error  {result.pages[run_.key]}"
        )
        for panel in run_.panels():
            if panel.state == "error":
                failed += 1
                print(f"    error in {panel.step}: {panel.outcome.error}", file=sys.stderr)
    print(f"open {result.index}")
    return 1 if failed else 0
