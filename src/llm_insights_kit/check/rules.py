"""Every alert rule backtested over the window with the kit's evaluator, beside Azure's history.

The rule is evaluated at its own schedule, ending at the window's end and stepping back by
``evaluationFrequency`` — each evaluation one query over its lookback, read by
:class:`~llm_insights_kit.alerts.evaluator.RuleEvaluator` (window, failing periods, dimensions,
threshold, fired/resolved state). A window holding more evaluations than ``max_evaluations``
is sampled: every k-th evaluation, k the smallest that fits, and the report says so (state carried
between samples can miss a short fire). Where Azure's own alerts for the rule are known, the
backtest's fired count is set beside them and a fired-vs-silent disagreement is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..alerts.evaluator import (
    OPERATORS,
    AlertDecision,
    RuleEvaluator,
    format_series,
    format_value,
    rule_duration,
    rule_state,
)
from ..artifacts import AlertRuleSpec
from ..errors import KitError
from .azure import FiredAlert
from .backend import QueryBackend

DEFAULT_MAX_EVALUATIONS = 288  # a day of a PT5M rule


@dataclass
class SeriesSummary:
    series: tuple[tuple[str, str], ...]
    evaluations: int = 0
    condition_met: int = 0
    fired: list[datetime] = field(default_factory=list)
    resolved: list[datetime] = field(default_factory=list)
    firing_at_end: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": dict(self.series),
            "evaluations": self.evaluations,
            "condition_met": self.condition_met,
            "fired": [t.isoformat() for t in self.fired],
            "resolved": [t.isoformat() for t in self.resolved],
            "firing_at_end": self.firing_at_end,
        }


@dataclass
class RuleBacktest:
    rule: AlertRuleSpec
    frequency: timedelta | None = None
    step: timedelta | None = None
    times: list[datetime] = field(default_factory=list)
    at_end: list[AlertDecision] = field(default_factory=list)
    series: list[SeriesSummary] = field(default_factory=list)
    rows_seen: int = 0
    closest: float | None = None
    error: str = ""
    history: list[FiredAlert] | None = None
    history_note: str = ""

    @property
    def sampled(self) -> bool:
        return self.step is not None and self.frequency is not None and self.step > self.frequency

    @property
    def fired_count(self) -> int:
        return sum(len(s.fired) for s in self.series)

    @property
    def state(self) -> str:
        """At the window's end, as the demo's table reads it."""
        return rule_state(self.rule, self.at_end, self.error)

    def message(self) -> str:
        rule = self.rule
        if self.error:
            return self.error
        if not rule.enabled:
            return "disabled in this stack: Azure never evaluates it"
        n = len(self.times)
        every = f"every {_span(self.step)}" + (
            f", sampled: 1 in {round(self.step / self.frequency)} of its evaluations"
            if self.sampled and self.step and self.frequency
            else ""
        )
        if not self.rows_seen:
            return (
                f"never had data: its query returned no rows at any of {n} evaluations "
                f"({every}); it cannot fire on this telemetry — see the names it reads below"
            )
        if not self.fired_count and not any(s.condition_met for s in self.series):
            measure = (
                "row count"
                if rule.time_aggregation == "Count"
                else f"{rule.time_aggregation.lower()} of {rule.metric_measure_column}"
            )
            near = "no value" if self.closest is None else format_value(self.closest)
            return (
                f"never fired in {n} evaluations ({every}): closest {measure} {near}, "
                f"threshold {OPERATORS[rule.operator]} {format_value(rule.threshold)}"
            )
        fired = [(t, s) for s in self.series for t in s.fired]
        fired.sort()
        text = f"fired {len(fired)} times in {n} evaluations ({every})"
        if fired:
            first, last = fired[0][0], fired[-1][0]
            text += f", {first:%m-%d %H:%M}" + (f" to {last:%m-%d %H:%M}" if last != first else "")
        by_series = [format_series(s.series) for s in self.series if s.fired and s.series]
        if by_series:
            text += "; series: " + "; ".join(by_series[:5])
            if len(by_series) > 5:
                text += f" (+{len(by_series) - 5} more)"
        firing = [s for s in self.series if s.firing_at_end]
        if firing:
            text += f"; firing at the end ({len(firing)} series)"
        return text

    def disagreement(self) -> str:
        """A fired-vs-silent difference with Azure's own alerts ('' when none or unknown)."""
        if self.history is None or self.error or not self.rule.enabled:
            return ""
        azure = len(self.history)
        ours = self.fired_count
        if ours and not azure:
            return (
                f"the backtest fires {ours} times but Azure fired none: is the deployed rule "
                "enabled, scoped to this component and the same as this stack renders?"
            )
        if azure and not ours:
            return (
                f"Azure fired {azure} times but the backtest never does: late-arriving or purged "
                "data, a sampled backtest, or a deployed rule that differs from this stack's"
            )
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.name,
            "enabled": self.rule.enabled,
            "severity": self.rule.severity,
            "state_at_end": self.state,
            "evaluations": len(self.times),
            "frequency": _span(self.frequency),
            "step": _span(self.step),
            "sampled": self.sampled,
            "rows_seen": self.rows_seen,
            "fired": self.fired_count,
            "series": [s.to_dict() for s in self.series],
            "at_end": [d.to_dict() for d in self.at_end],
            "message": self.message(),
            "error": self.error,
            "azure_fired": None if self.history is None else len(self.history),
            "history_note": self.history_note,
            "disagreement": self.disagreement(),
        }


def _span(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def schedule(
    start: datetime, end: datetime, frequency: timedelta, max_evaluations: int
) -> tuple[list[datetime], timedelta]:
    """Evaluation times in ``(start, end]`` ending at *end*, ascending, and the step used."""
    count = max(1, math.ceil((end - start) / frequency))
    step = frequency * max(1, math.ceil(count / max(1, max_evaluations)))
    times = []
    at = end
    while at > start or not times:
        times.append(at)
        at -= step
    return sorted(times), step


def _closer(rule: AlertRuleSpec, a: float | None, b: float | None) -> float | None:
    """Of two values, the one nearer to breaching the rule's threshold."""
    if a is None:
        return b
    if b is None:
        return a
    if rule.operator.startswith("GreaterThan"):
        return max(a, b)
    if rule.operator.startswith("LessThan"):
        return min(a, b)
    return a if abs(a - rule.threshold) <= abs(b - rule.threshold) else b


def backtest_rule(
    backend: QueryBackend,
    rule: AlertRuleSpec,
    time_range: tuple[datetime, datetime],
    *,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
) -> RuleBacktest:
    result = RuleBacktest(rule)
    if not rule.enabled:  # the stack switched it off: Azure does not evaluate it either
        return result
    try:
        evaluator = RuleEvaluator(backend, rule)
        result.frequency = evaluator.frequency
        result.times, result.step = schedule(*time_range, evaluator.frequency, max_evaluations)
        decisions = evaluator.run(result.times)
    except KitError as exc:
        result.error = str(exc)
        return result
    by_series: dict[tuple[tuple[str, str], ...], SeriesSummary] = {}
    last = result.times[-1]
    for decision in decisions:
        summary = by_series.setdefault(decision.series, SeriesSummary(decision.series))
        summary.evaluations += 1
        summary.condition_met += decision.condition_met
        if decision.event == "fired":
            summary.fired.append(decision.at)
        elif decision.event == "resolved":
            summary.resolved.append(decision.at)
        if decision.at == last:
            summary.firing_at_end = decision.firing
            result.at_end.append(decision)
        result.closest = _closer(rule, result.closest, decision.value)
    result.series = sorted(by_series.values(), key=lambda s: s.series)
    result.rows_seen = sum(
        w.rows
        for at in result.times
        for values in evaluator.periods_at(at).values()
        for w in values
    )
    return result


def backtest_rules(
    backend: QueryBackend,
    rules: Sequence[AlertRuleSpec],
    time_range: tuple[datetime, datetime],
    *,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
) -> list[RuleBacktest]:
    return [backtest_rule(backend, r, time_range, max_evaluations=max_evaluations) for r in rules]


def evaluations_planned(
    rules: Sequence[AlertRuleSpec], time_range: tuple[datetime, datetime], max_evaluations: int
) -> int:
    """How many queries the backtest will send (for progress and the request budget)."""
    total = 0
    for rule in rules:
        if not rule.enabled:
            continue
        try:
            frequency = rule_duration(rule, "evaluationFrequency", rule.evaluation_frequency)
        except KitError:
            continue
        total += len(schedule(*time_range, frequency, max_evaluations)[0])
    return total
