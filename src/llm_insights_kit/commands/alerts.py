"""``llm-insights alerts``: unit-test alert rules on synthetic telemetry, or evaluate them.

``alerts test [PATH...]`` runs YAML rule tests (format: ``alerts/tests/README.md``) and exits 1
when an expectation fails, printing what was expected next to what the rule did and why.
``alerts eval --db FILE --at TIME`` evaluates the rules against a local store file, the way Azure
Monitor would at that time.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ..alerts.durations import format_short_duration
from ..alerts.evaluator import RuleEvaluator
from ..alerts.rule_tests import (
    RunReport,
    TestOutcome,
    default_loader,
    describe_expectation,
    run_paths,
)
from ..artifacts import AlertRuleSpec
from ..errors import KitError
from ..local.remote import open_reader
from ..local.store import LocalStore
from ..stack_config.files import render_context, workspace_retention
from ..times import cli_time, time_or_before

HELP = (
    "Unit-test alert rules on synthetic telemetry (test) or evaluate them on a local store (eval)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    test = sub.add_parser(
        "test",
        help="run rule unit tests (YAML fixtures); exit 1 if any expectation fails",
        description="Run rule unit tests: synthetic telemetry series plus the alerts expected "
        "to fire or stay silent at given times. Default PATH: the kit's alerts/tests/.",
    )
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="fixture files or dirs")
    _rule_options(test)
    test.add_argument("-k", dest="name_filter", metavar="TEXT", help="only tests whose name has it")
    test.add_argument("-v", "--verbose", action="store_true", help="print every case and why")
    test.add_argument("--json", action="store_true", help="print results as JSON")
    test.add_argument(
        "--require-coverage",
        action="store_true",
        help="also fail unless every loaded rule has a passing firing and a passing silent case",
    )

    ev = sub.add_parser(
        "eval",
        help="evaluate the rules against a local store at a time",
        description="Evaluate alert rules against a local store file (llm-insights serve/demo "
        "write one) at --at, optionally replaying evaluations from --since for alert state.",
    )
    ev.add_argument("--db", required=True, type=Path, help="local store file (DuckDB)")
    ev.add_argument(
        "--at", default="now", help="evaluation time, ISO 8601 UTC (default: now)", metavar="TIME"
    )
    ev.add_argument(
        "--since",
        metavar="TIME",
        help="replay evaluations from this time (ISO 8601, or a duration before --at such as "
        "1h30m; at most the stack's workspace retention) so fired/resolved state and mutes are "
        "carried",
    )
    ev.add_argument(
        "--rule", action="append", dest="rule_names", metavar="NAME", help="only this rule"
    )
    _rule_options(ev)
    ev.add_argument("--json", action="store_true", help="print results as JSON")


def _rule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack", help="apply this stack's llm-insights:alerts overrides (Pulumi.<stack>.yaml)"
    )
    parser.add_argument("--stack-file", type=Path, help="the stack file to read overrides from")
    parser.add_argument(
        "--rules", type=Path, metavar="DIR", help="rule directory (default: the kit's alerts/)"
    )


def run(args: argparse.Namespace) -> int:
    if args.alerts_command == "test":
        return _test(args, sys.stdout)
    return _eval(args, sys.stdout)


# -- alerts test ---------------------------------------------------------------------------------
def _test(args: argparse.Namespace, out: TextIO) -> int:
    if args.rules is not None and not args.rules.is_dir():
        raise KitError(f"--rules {args.rules}", "not a directory of rule YAML")
    report = run_paths(
        args.paths,
        stack=args.stack,
        stack_file=args.stack_file,
        rules_dir=args.rules,
        store_factory=functools.partial(LocalStore, ":memory:"),
        name_filter=args.name_filter,
    )
    uncovered = _uncovered(report) if args.require_coverage else []
    if args.json:
        json.dump(_report_json(report, uncovered), out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        write_report(report, out, verbose=args.verbose)
        for name, problem in uncovered:
            out.write(f"COVERAGE  {name}: {problem}\n")
    return 0 if report.ok and not uncovered else 1


def _uncovered(report: RunReport) -> list[tuple[str, str]]:
    out = []
    for name, (firing, silent) in report.coverage().items():
        missing = [w for w, n in (("firing", firing), ("silent", silent)) if not n]
        if missing:
            out.append((name, "no passing " + " or ".join(missing) + " case"))
    return out


def _where(outcome: TestOutcome) -> str:
    stack = f" [stack {outcome.stack}]" if outcome.stack else ""
    return f"{outcome.path}: {outcome.test.name}{stack}"


def write_report(report: RunReport, out: TextIO, *, verbose: bool = False) -> None:
    """Human-readable results: one line per test, and for failures expected vs got."""
    for outcome in report.outcomes:
        skipped = outcome.skipped
        if skipped and len(skipped) == len(outcome.cases):
            reasons = "; ".join(sorted({c.skipped for c in skipped}))
            out.write(f"SKIP  {_where(outcome)}  ({reasons})\n")
            continue
        status = "PASS" if outcome.ok else "FAIL"
        counted = f"{len(outcome.cases)} cases" + (f", {len(skipped)} skipped" if skipped else "")
        out.write(f"{status}  {_where(outcome)}  ({counted})\n")
        for rule, series, end, value in outcome.nonfinite[:3]:
            shown = ", ".join(f"{k}={v}" for k, v in series) or "no dimensions"
            out.write(
                f"      warning: {rule} returned measure {value!r} ({shown}, period ending "
                f"{end:%Y-%m-%d %H:%M}): what Azure does with a null, NaN or infinite measure is "
                "undocumented; make the query return a finite number or no row\n"
            )
        for case in outcome.cases:
            if case.ok and not verbose:
                continue
            exp = case.expectation
            if case.skipped:
                out.write(f"      expect[{exp.index}] {exp.rule}: skipped, {case.skipped}\n")
                continue
            at = f"{format_short_duration(exp.at)} ({case.at.strftime('%Y-%m-%d %H:%M')})"
            mark = "ok" if case.ok else "FAILED"
            out.write(f"      expect[{exp.index}] {exp.rule} at {at}: {mark}\n")
            out.write(f"        expected: {describe_expectation(exp)}\n")
            if case.instances:
                for i, ev in enumerate(case.instances):
                    label = "got:     " if i == 0 else "         "
                    out.write(f"        {label} {ev.why}\n")
            elif case.others:
                out.write("        got:      no instance with these dimension values; instances:\n")
                for ev in case.others:
                    out.write(f"                  {ev.why}\n")
            else:
                out.write("        got:      no alert instance (the query returned no series)\n")
            for problem in case.problems:
                out.write(f"        problem:  {problem}\n")
    cases = report.cases
    failed_cases = sum(not c.ok for c in cases)
    failed_tests = sum(not o.ok for o in report.outcomes)
    queries = sum(o.queries for o in report.outcomes)
    verdict = "all passed" if report.ok else f"{failed_tests} tests FAILED"
    skipped = report.skipped
    skips = ""
    if skipped:
        rules = sorted({c.expectation.rule for c in skipped})
        skips = f", {len(skipped)} skipped: {', '.join(rules)} disabled in this stack"
    out.write(
        f"{len(report.outcomes)} tests, {len(cases)} cases ({failed_cases} failed{skips}): "
        f"{verdict} in {report.seconds:.1f}s ({queries} rule queries)\n"
    )


def _report_json(report: RunReport, uncovered: list[tuple[str, str]]) -> dict:
    return {
        "ok": report.ok and not uncovered,
        "seconds": round(report.seconds, 3),
        "coverage": {k: {"firing": f, "silent": s} for k, (f, s) in report.coverage().items()},
        "uncovered": [{"rule": r, "problem": p} for r, p in uncovered],
        "tests": [
            {
                "file": str(o.path),
                "name": o.test.name,
                "stack": o.stack,
                "ok": o.ok,
                "cases": [
                    {
                        "index": c.expectation.index,
                        "rule": c.expectation.rule,
                        "at": c.at.isoformat(),
                        "expected": describe_expectation(c.expectation),
                        "ok": c.ok,
                        "skipped": c.skipped or None,
                        "problems": c.problems,
                        "instances": [e.to_dict() for e in c.instances],
                    }
                    for c in o.cases
                ],
            }
            for o in report.outcomes
        ],
    }


# -- alerts eval ---------------------------------------------------------------------------------
def _eval(args: argparse.Namespace, out: TextIO) -> int:
    if not args.db.is_file():
        raise KitError(f"--db {args.db}", "no such local store file")
    at = cli_time(args.at, "--at")
    since = None
    if args.since:
        longest = workspace_retention(args.stack, args.stack_file)
        since = time_or_before(args.since, "--since", at, longest=longest)
    ctx = render_context(args.stack, args.stack_file)
    rules = default_loader(ctx, args.rules)
    wanted = set(args.rule_names or [])
    unknown = wanted - {r.name for r in rules}
    if unknown:
        raise KitError(
            "--rule " + ", ".join(sorted(unknown)),
            "no such rule; loaded: " + ", ".join(sorted(r.name for r in rules)),
        )
    results = []
    empty: list[AlertRuleSpec] = []  # rules whose query returned no series: listed, not dropped
    with open_reader(args.db) as store:  # through `serve` when it holds the file
        for rule in sorted(rules, key=lambda r: r.name):
            if wanted and rule.name not in wanted:
                continue
            evaluator = RuleEvaluator(store, rule, volume=True)
            times = list(evaluator.schedule(since, at)) if since is not None else []
            if not times or times[-1] != at:
                times.append(at)
            found = [e for e in evaluator.run(times) if e.at == at]
            results.extend(found)
            if not found:
                empty.append(rule)
    if args.json:
        listed = [e.to_dict() for e in results] + [_no_data_dict(rule, at) for rule in empty]
        json.dump(listed, out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        for e in results:
            state = "FIRING" if e.firing else "ok    "
            out.write(f"{state}  {e.why}\n")
        for rule in empty:
            out.write(f"ok      {_no_data_why(rule, at)}\n")
        firing = sum(e.firing for e in results)
        below = sum(e.below_minimum is not None for e in results)
        evaluated = len({e.rule for e in results}) + len(empty)
        out.write(
            f"{evaluated} rules evaluated at {at.isoformat()}: {len(results)} alert instances, "
            f"{firing} firing, {below} below their minimum volume; {len(empty)} rules without "
            "data\n"
        )
    return 0


def _no_data_why(rule: AlertRuleSpec, at: datetime) -> str:
    off = "" if rule.enabled else " disabled (never fires)"
    return (
        f"{rule.name}{off} at {at:%Y-%m-%d %H:%M}: no data: the query returned no series over "
        f"its {rule.window_size} window"
    )


def _no_data_dict(rule: AlertRuleSpec, at: datetime) -> dict:
    """A rule whose query returned no series, in the decisions' JSON shape (``no_data`` true),
    so a JSON reader sees every rule as the text output does."""
    return {
        "rule": rule.name,
        "at": at.isoformat(),
        "series": {},
        "value": None,
        "threshold": rule.threshold,
        "operator": rule.operator,
        "breaching": False,
        "failing_periods": 0,
        "periods": rule.failing_periods.number_of_evaluation_periods,
        "condition_met": False,
        "firing": False,
        "event": None,
        "notified": False,
        "why": _no_data_why(rule, at),
        "below_minimum": None,
        "no_data": True,
    }
