"""``llm-insights preview``: every workbook of a stack rendered against a local store as HTML.

Pages go to ``build/preview/`` (one per workbook plus ``index.html``) and open offline. The time
range defaults to the span of the stored data; ``--last 1h`` or ``--from``/``--to`` pick another.
Exit code 1 when a panel's query failed (unsupported KQL, unknown column...), so CI can gate on it.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..dashboards import render_workbooks
from ..errors import KitError
from ..local.preview import DEFAULT_OUT, render_previews
from ..local.remote import open_reader
from ..stack_config.files import render_context
from .serve import DEFAULT_DB

HELP = "Render every workbook of a stack against the local store as static HTML previews."
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


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
        "--last", metavar="DURATION", help="range ending now (or at --to), e.g. 30m, 1h, 7d"
    )
    parser.add_argument("--workbook", action="append", metavar="KEY", help="only this workbook")


def parse_time(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise KitError(
            option, f"{text!r} is not an ISO 8601 time (e.g. 2026-03-01T12:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_duration(text: str, option: str = "--last") -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or float(match["n"]) <= 0:
        raise KitError(option, f"{text!r} is not a duration like 30m, 1h, 7d (s, m, h, d)")
    return timedelta(**{_UNITS[match["unit"]]: float(match["n"])})


def time_range_from(args: argparse.Namespace) -> tuple[datetime, datetime] | None:
    """The range the options ask for, or None for "the span of the stored data"."""
    if args.last and args.start:
        raise KitError("--last", "give either --last or --from/--to, not both")
    end = parse_time(args.end, "--to") if args.end else None
    if args.last:
        end = end or datetime.now(UTC)
        return end - parse_duration(args.last), end
    if args.start:
        start = parse_time(args.start, "--from")
        end = end or datetime.now(UTC)
        if end <= start:
            raise KitError("--to", f"{end.isoformat()} is not after --from {start.isoformat()}")
        return start, end
    if end is not None:
        raise KitError("--to", "needs --from or --last")
    return None


def run(args: argparse.Namespace) -> int:
    time_range = time_range_from(args)
    if not args.db.is_file():
        raise KitError(
            str(args.db),
            "no local store here; run `llm-insights serve` (and an app) or `llm-insights demo` "
            "first, or pass --db",
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
