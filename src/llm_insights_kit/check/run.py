"""One check of a deployed (or local) kit: telemetry arrival, every panel, every rule backtested.

The same code for both backends: panels through the preview's workbook runner (the portal's
parameter binding, time range as query scope, ``now()`` at the range's end), rules through the
alert evaluator, arrival through :mod:`.arrival`. Progress counts queries as they are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..artifacts import AlertRuleSpec, WorkbookArtifact
from ..dashboards.queries import iter_queries
from ..local.preview.run import WorkbookRun, run_workbook
from ..local.store import QueryResult
from .arrival import ARRIVAL_QUERIES, Arrival, check_arrival
from .azure import FiredAlert
from .backend import QueryBackend
from .rules import DEFAULT_MAX_EVALUATIONS, RuleBacktest, backtest_rules, evaluations_planned

History = Callable[[Sequence[RuleBacktest]], None]


@dataclass
class CheckReport:
    backend: str
    stack: str
    time_range: tuple[datetime, datetime]
    arrival: Arrival
    workbooks: list[WorkbookRun]
    rules: list[RuleBacktest]
    queries: int = 0
    notes: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """Why the check fails (empty: it passes): a panel or rule query that failed, or
        required telemetry that never arrived."""
        out: list[str] = []
        if self.arrival.error:
            out.append(f"telemetry arrival could not be checked: {self.arrival.error}")
        for name in self.arrival.missing_required:
            out.append(f"required metric {name.name} never arrived: {name.cause}")
        for run in self.workbooks:
            for panel in run.panels():
                if panel.state == "error":
                    out.append(f"panel {run.key}/{panel.step} failed: {panel.outcome.error}")
        for rule in self.rules:
            if rule.error:
                out.append(f"rule {rule.rule.name}: {rule.error}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "stack": self.stack,
            "window": {
                "start": self.time_range[0].isoformat(),
                "end": self.time_range[1].isoformat(),
            },
            "ok": not self.failures(),
            "failures": self.failures(),
            "queries": self.queries,
            "notes": self.notes,
            "telemetry": self.arrival.to_dict(),
            "panels": [
                {
                    "workbook": run.key,
                    "step": panel.step,
                    "title": panel.title,
                    "state": panel.state,
                    "rows": len(panel.outcome.rows),
                    "error": panel.outcome.error,
                }
                for run in self.workbooks
                for panel in run.panels()
            ],
            "rules": [r.to_dict() for r in self.rules],
        }


class _Counted:
    """The backend with every query counted and reported to the progress display."""

    def __init__(self, backend: QueryBackend, advance: Callable[[int], None]) -> None:
        self.backend, self.advance = backend, advance
        self.count = 0

    def query(self, kql: str, **kwargs: Any) -> QueryResult:
        try:
            return self.backend.query(kql, **kwargs)
        finally:
            self.count += 1
            self.advance(1)

    def close(self) -> None:
        self.backend.close()


def planned_queries(
    workbooks: Sequence[WorkbookArtifact],
    rules: Sequence[AlertRuleSpec],
    time_range: tuple[datetime, datetime],
    max_evaluations: int,
) -> int:
    panels = sum(len(iter_queries(w.serialized_data, w.key)) for w in workbooks)
    return ARRIVAL_QUERIES + panels + evaluations_planned(rules, time_range, max_evaluations)


def run_check(
    backend: QueryBackend,
    workbooks: Sequence[WorkbookArtifact],
    rules: Sequence[AlertRuleSpec],
    time_range: tuple[datetime, datetime],
    *,
    stack: str,
    label: str,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
    history: History | None = None,
    advance: Callable[[int], None] = lambda _: None,
    runs: Sequence[WorkbookRun] | None = None,
) -> CheckReport:
    """Every check over *time_range* on *backend* (*label* names it in the report); *history*
    fills in Azure's own alerts. *runs*: the workbooks already run over *time_range* by the same
    runner (the demo's previews, a moment before), reported instead of running them again."""
    counted = _Counted(backend, advance)
    readers = [
        (f"{q.workbook}/{q.step}", q.query)
        for w in workbooks
        for q in iter_queries(w.serialized_data, w.key)
    ] + [(f"rule {r.name}", r.query) for r in rules]
    arrival = check_arrival(counted, readers, time_range)
    if runs is None:
        ordered = sorted(workbooks, key=lambda w: w.key)
        runs = [run_workbook(counted, w, time_range) for w in ordered]
    backtests = backtest_rules(counted, rules, time_range, max_evaluations=max_evaluations)
    report = CheckReport(label, stack, time_range, arrival, list(runs), backtests)
    if history is not None:
        history(backtests)
    report.queries = counted.count
    sampled = [r.rule.name for r in backtests if r.sampled]
    if sampled:
        report.notes.append(
            f"{len(sampled)} rules were sampled (more than {max_evaluations} evaluations in the "
            "window): raise --max-evaluations for every evaluation"
        )
    return report


def attach_history(
    found: dict[str, list[FiredAlert]], rule_ids: dict[str, str], note: str
) -> History:
    """A ``history`` callback setting each backtest's Azure alerts from *found* (by rule id)."""

    def apply(backtests: Sequence[RuleBacktest]) -> None:
        for backtest in backtests:
            rule_id = rule_ids.get(backtest.rule.name)
            if rule_id is None:
                backtest.history_note = "not among the stack's alertRuleIds output"
                continue
            backtest.history = found.get(rule_id.lower(), [])
            backtest.history_note = note

    return apply
