"""The table rows a rule-test fixture stands for: each series as Application Insights would
store it (metric value columns completed, span ids and item ids filled in)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from llm_insights import contract

from .fixtures import RuleTest, Series


def series_rows(series: Series, origin: datetime, seq: itertools.count) -> list[dict[str, Any]]:
    """The table rows of one series (one per time and count, and per bucket for bucket counters)."""
    rows: list[dict[str, Any]] = []
    for offset in series.times:
        ts = origin + offset
        for _ in range(series.rows_per_time):
            if series.buckets:
                for le, n in series.buckets.items():
                    dims = {**series.dimensions, contract.ATTR_BUCKET_LE: le}
                    rows.append(_row(series, ts, dims, {"value": n, "valueCount": 1}, seq))
            else:
                rows.append(_row(series, ts, dict(series.dimensions), {}, seq))
    return rows


def _row(
    series: Series,
    ts: datetime,
    dims: dict[str, str],
    overrides: Mapping[str, Any],
    seq: itertools.count,
) -> dict[str, Any]:
    n = next(seq)
    row: dict[str, Any] = {"timestamp": ts, **series.columns, **overrides}
    row["customDimensions"] = dims
    if series.table == contract.TABLE_METRICS:
        _fill_metric(row)
        row.setdefault("itemCount", 1)
    else:
        row.setdefault("itemCount", 1)
        row.setdefault("itemId", f"fixture-{n:08d}")
        if series.table in (contract.TABLE_LLM_SPANS, contract.TABLE_SERVER_SPANS):
            row.setdefault("id", f"{n:016x}")
            row.setdefault("operation_Id", f"{n:032x}")
            row.setdefault("success", True)
            row.setdefault("duration", 0.0)
            row.setdefault("name", "")
    return row


def _fill_metric(row: dict[str, Any]) -> None:
    """Complete metric value columns like Application Insights does (value = valueSum = sum)."""
    total = row.get("valueSum", row.get("value"))
    if total is None:
        total = 0.0
    count = row.get("valueCount", 1)
    row["value"] = float(row.get("value", total))
    row["valueSum"] = float(total)
    row["valueCount"] = int(count)
    mean = float(total) / count if count else 0.0
    row.setdefault("valueMin", mean)
    row.setdefault("valueMax", mean)
    row.setdefault("valueStdDev", 0.0)


def rows_for_test(test: RuleTest, origin: datetime) -> dict[str, list[dict[str, Any]]]:
    """All rows of one test, by table."""
    seq = itertools.count(1)
    out: dict[str, list[dict[str, Any]]] = {}
    for s in test.series:
        out.setdefault(s.table, []).extend(series_rows(s, origin, seq))
    return out
