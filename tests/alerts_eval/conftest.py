"""Helpers for the alert-evaluator tests: a rule builder and a store that needs no KQL engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from llm_insights_kit.artifacts import AlertRuleSpec, Dimension, FailingPeriods

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@dataclass
class Result:
    columns: list[str]
    rows: list[list[Any]]
    types: list[str]


class ListStore:
    """Rows with a ``timestamp``; ``query`` ignores the KQL and applies the time range only.

    It lets the evaluator's semantics (windows, splitting, aggregation, state) be tested apart
    from the KQL engine: each row is one result row of the rule's query.
    """

    def __init__(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, time_column: bool = True
    ) -> None:
        self.columns = ["timestamp", *columns]
        self.rows = [list(r) for r in rows]
        self.time_column = time_column  # False: the result leaves the timestamp out
        self.calls: list[tuple[datetime, datetime, datetime]] = []

    def query(self, kql: str, *, now: datetime, time_range: tuple[datetime, datetime]) -> Result:
        start, end = time_range
        self.calls.append((now, start, end))
        rows = [r for r in self.rows if start <= r[0] < end]
        types = ["TIMESTAMP WITH TIME ZONE", *("VARCHAR" for _ in self.columns[1:])]
        if self.time_column:
            return Result(self.columns, rows, types)
        return Result(self.columns[1:], [r[1:] for r in rows], types[1:])


def make_rule(**changes: Any) -> AlertRuleSpec:
    base = AlertRuleSpec(
        name="test-rule",
        display_name="Test rule",
        description="unit-test rule",
        severity=2,
        enabled=True,
        evaluation_frequency="PT5M",
        window_size="PT5M",
        query="T",
        time_aggregation="Average",
        metric_measure_column="v",
        operator="GreaterThan",
        threshold=10.0,
        route="warning",
        source_file="alerts/test-rule.yaml",
    )
    if "failing" in changes:
        n, m = changes.pop("failing")
        changes["failing_periods"] = FailingPeriods(n, m)
    if "dims" in changes:
        changes["dimensions"] = tuple(
            Dimension(name, op, tuple(vals)) for name, op, vals in changes.pop("dims")
        )
    return replace(base, **changes)


@pytest.fixture
def rule_factory():
    return make_rule
