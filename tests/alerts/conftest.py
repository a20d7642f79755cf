"""Helpers for the alert-rule tests: copy the shipped rules somewhere and break one field; a rule
builder and a store that needs no KQL engine for the evaluator."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_insights_kit.artifacts import AlertRuleSpec, Dimension, FailingPeriods
from llm_insights_kit.paths import ALERTS_DIR


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of alerts/*.yaml (fixtures and other files left out)."""
    target = tmp_path / "rules"
    target.mkdir()
    for path in ALERTS_DIR.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


def edit_rule(directory: Path, file: str, rule: str, **fields: Any) -> None:
    """Set (or, with value ``...``, delete) fields of one rule in a copied rule file."""
    path = directory / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = next(r for r in data["rules"] if r["name"] == rule)
    for key, value in fields.items():
        if value is ...:
            target.pop(key, None)
        else:
            target[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


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
