"""``llm-insights lint``: every check on workbooks and alert rules, before anything deploys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..lint import run_checks
from ..stack_config.files import render_context

HELP = (
    "Check workbooks and alert rules: Kusto language service (zero errors), workbook lint, "
    "contract names, rule validation with the stack's overrides. Exits 1 listing problems."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", help="stack name: reads Pulumi.<stack>.yaml (default: kit defaults)")
    p.add_argument("--stack-file", type=Path, help="a stack file to read instead of --stack")
    p.add_argument("--rules-dir", type=Path, help="alert rules directory (default: alerts/)")
    p.add_argument(
        "--no-kusto",
        action="store_true",
        help="skip the Kusto language service (needs Node 20); everything else still runs",
    )


def run(args: argparse.Namespace) -> int:
    ctx = render_context(args.stack, args.stack_file)
    report = run_checks(ctx, rules_dir=args.rules_dir, kusto=not args.no_kusto)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    kusto = (
        f"{report.kusto_checked} checked by the Kusto language service"
        if not args.no_kusto
        else "Kusto check skipped"
    )
    summary = (
        f"{report.workbooks} workbooks, {report.rules} alert rules, {report.queries} queries "
        f"({kusto}): {len(report.problems)} problem(s)"
    )
    print(summary, file=sys.stderr if report.problems else sys.stdout)
    return 0 if report.ok else 1
