"""Panel queries run on the local store (duckdb-kql) and give the right numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from llm_insights import contract

from llm_insights_kit.dashboards import bind_parameters, grain_for, iter_queries, render_workbook

from . import telemetry
from .conftest import NOW, RANGE


def _panel(key: str, step: str, ctx=None):
    from .conftest import GOLDEN_CTX

    wb = render_workbook(key, ctx or GOLDEN_CTX)
    return next(q for q in iter_queries(wb.serialized_data, key) if q.step == step)


def _run(store, query: str, selections=None):
    bound = bind_parameters(query, RANGE, selections)
    return store.query(bound, now=NOW).to_dicts()


def test_bind_parameters_time_range_grain_and_dropdowns():
    q = (
        "T | where timestamp {TimeRange} | summarize by bin(timestamp, {TimeRange:grain})"
        " | where '*' in ({Model}) or m in ({Model})"
    )
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    out = bind_parameters(q, (start, end))
    assert (
        "timestamp between (datetime(2026-01-01T00:00:00.000000Z) .. "
        "datetime(2026-01-02T00:00:00.000000Z))" in out
    )
    assert "bin(timestamp, 15m)" in out
    assert "'*' in ('*')" in out
    chosen = bind_parameters(q, (start, end), {"Model": ["gpt-4o", "o'1"]}, grain="1h")
    assert "in ('gpt-4o','o\\'1')" in chosen and "bin(timestamp, 1h)" in chosen
    assert bind_parameters("{TimeRange:start}..{TimeRange:end}", (start, end)).startswith(
        "datetime(2026-01-01"
    )
    with pytest.raises(KeyError, match="Typo"):
        bind_parameters("x {Typo}", (start, end))
    assert grain_for(timedelta(minutes=30)) == "1m" and grain_for(timedelta(days=60)) == "1d"


def test_iter_queries_lists_panels_and_dropdowns(golden_workbooks):
    for wb in golden_workbooks:
        queries = iter_queries(wb.serialized_data, wb.key)
        kinds = {q.kind for q in queries}
        # every workbook has the Service dropdown (rag-tools and agents read no model-dimensioned
        # metric, so it is their only one)
        assert kinds == {"panel", "parameter"}
        assert len({q.step for q in queries}) == len(queries)
        assert all(q.workbook == wb.key and q.query for q in queries)
    cost = next(w for w in golden_workbooks if w.key == "llm-tokens-cost")
    fixed = {q.step: q.fixed_time_ms for q in iter_queries(cost.serialized_data) if q.fixed_time_ms}
    assert fixed == {
        "budget-burn": 30 * 86_400_000,
        "today-projection": 86_400_000,
        "today-by-service": 86_400_000,
    }


@pytest.mark.slow  # ~11 s
def test_every_panel_shows_data_when_the_sdk_emits_everything(golden_workbooks, store):
    """Every query runs on duckdb-kql (an unsupported construct raises KitError naming it), and
    panels read only what the SDK emits: with samples of every metric, none is empty."""
    telemetry.populate(store, [NOW - timedelta(hours=h, minutes=30) for h in (0, 3, 20)])
    empty = []
    for wb in golden_workbooks:
        for q in iter_queries(wb.serialized_data, wb.key):
            if not _run(store, q.query):
                empty.append(f"{wb.key}/{q.step}")
    assert empty == []


def test_latency_percentiles_exact_to_bucket(store):
    """p50/p95/p99 from bucket counters = the upper bound of the bucket holding the percentile."""
    spec = contract.DURATION_BUCKET_COUNTS
    # 100 calls: 50 at <= 0.5 s, 40 in (0.5, 1], 6 in (4, 5], 3 in (5, 6], 1 beyond the last bound.
    counts = {"0.5": 50, "1": 40, "5": 6, "6": 3, contract.INF_BOUND: 1}
    store.insert(
        contract.TABLE_METRICS, telemetry.bucket_rows(spec, NOW - timedelta(hours=1), counts)
    )
    rows = _run(store, _panel("llm-overview", "latency-by-model").query)
    assert len(rows) == 1
    row = rows[0]
    assert row["calls"] == 100
    assert row["p50"] == 0.5  # 50 calls <= 0.5 reach 50 %
    assert row["p95"] == 5.0  # 96 calls <= 5 reach 95 %; 90 <= 1 do not
    assert row["p99"] == 6.0  # 99 <= 6
    # one more slow call pushes p99 into the overflow bucket: reported as +inf, never understated
    store.insert(
        contract.TABLE_METRICS,
        telemetry.bucket_rows(spec, NOW - timedelta(hours=1), {contract.INF_BOUND: 1}),
    )
    row = _run(store, _panel("llm-overview", "latency-by-model").query)[0]
    assert row["p99"] is None or math.isinf(row["p99"])  # the store shows non-finite as null


def test_error_rate_from_metrics_not_sampled_spans(store):
    """305 calls, 21 errors (6 throttled) in metrics; sampled spans disagree and must not matter."""
    spec = contract.OPERATION_DURATION
    at = NOW - timedelta(hours=2)
    store.insert(
        contract.TABLE_METRICS,
        [
            telemetry.metric_row(spec, at, 300.0, 284),
            telemetry.metric_row(spec, at, 20.0, 15, **{contract.ERROR_TYPE: "500"}),
            telemetry.metric_row(spec, at, 9.0, 6, **{contract.ERROR_TYPE: "429"}),
        ],
    )
    store.insert(contract.TABLE_LLM_SPANS, telemetry.spans(at, n=3))  # 1 of 3 sampled spans failed
    row = _run(store, _panel("llm-overview", "headline").query)[0]
    assert row["calls"] == 305 and row["errors"] == 21 and row["throttled"] == 6
    assert row["error_rate"] == round(21 / 305, 4)
    by_type = {
        r["error_type"]: r for r in _run(store, _panel("llm-overview", "errors-by-type").query)
    }
    assert by_type["429"]["throttling"] is True and by_type["429"]["calls"] == 6
    assert by_type["500"]["share_of_calls"] == round(15 / 305, 4)


def test_dropdown_selection_filters(store):
    spec = contract.OPERATION_DURATION
    at = NOW - timedelta(hours=1)
    store.insert(
        contract.TABLE_METRICS,
        [
            telemetry.metric_row(spec, at, 10.0, 10),
            telemetry.metric_row(
                spec, at, 5.0, 5, **{contract.GEN_AI_REQUEST_MODEL: "gpt-4o-mini"}
            ),
        ],
    )
    q = _panel("llm-overview", "headline").query
    assert _run(store, q)[0]["calls"] == 15
    assert _run(store, q, {"Model": "gpt-4o-mini"})[0]["calls"] == 5
    assert _run(store, q, {"Model": ["gpt-4o", "gpt-4o-mini"]})[0]["calls"] == 15
    choices = _run(store, _panel("llm-overview", "parameters/Model").query)
    assert [r["item"] for r in choices] == ["gpt-4o", "gpt-4o-mini"]


def test_time_range_excludes_older_rows(store):
    spec = contract.OPERATION_DURATION
    store.insert(
        contract.TABLE_METRICS,
        [
            telemetry.metric_row(spec, NOW - timedelta(hours=1), 1.0, 7),
            telemetry.metric_row(spec, NOW - timedelta(days=2), 1.0, 1000),
        ],
    )
    assert _run(store, _panel("llm-overview", "headline").query)[0]["calls"] == 7


def test_tokens_cost_and_budget(store):
    at = NOW - timedelta(hours=1)
    tt = contract.GEN_AI_TOKEN_TYPE
    store.insert(
        contract.TABLE_METRICS,
        [
            telemetry.metric_row(
                contract.TOKEN_USAGE, at, 4000.0, 4, **{tt: contract.TOKEN_TYPE_INPUT}
            ),
            telemetry.metric_row(
                contract.TOKEN_USAGE, at, 1000.0, 4, **{tt: contract.TOKEN_TYPE_OUTPUT}
            ),
            telemetry.metric_row(contract.COST, at, 0.75, 1, **{tt: contract.TOKEN_TYPE_INPUT}),
            telemetry.metric_row(contract.COST, at, 0.25, 1, **{tt: contract.TOKEN_TYPE_OUTPUT}),
            telemetry.metric_row(contract.UNPRICED_CALLS, at, 3.0, 3),
        ],
    )
    row = _run(store, _panel("llm-tokens-cost", "headline").query)[0]
    assert row["input_tokens"] == 4000 and row["output_tokens"] == 1000
    assert row["cost_usd"] == 1.0 and row["unpriced_calls"] == 3
    assert row["tokens_per_call"] == 1250.0 and row["output_per_input"] == 0.25
    burn = _run(store, _panel("llm-tokens-cost", "budget-burn").query)
    assert burn[-1]["budget_usd"] == 100.0 and burn[-1]["burn"] == 0.01


def test_quality_drift_panel_flags_the_changed_model(store):
    model_dim = {contract.GEN_AI_RESPONSE_MODEL: "gpt-4o-2025-01-01"}
    rows = []
    for hours_ago, refusals in ((10, 5), (5, 5), (0.5, 30)):
        at = NOW - timedelta(hours=hours_ago)
        n = 100
        rows += [
            telemetry.metric_row(contract.RESPONSE_LENGTH, at, 500.0 * n, **model_dim),
            *telemetry.bucket_rows(
                contract.RESPONSE_LENGTH_BUCKET_COUNTS, at, {"500": float(n)}, **model_dim
            ),
            telemetry.metric_row(contract.REFUSALS, at, float(refusals), refusals, **model_dim),
            telemetry.metric_row(contract.HALLUCINATION_MARKERS, at, 1.0, 1, **model_dim),
        ]
    store.insert(contract.TABLE_METRICS, rows)
    (row,) = _run(store, _panel("llm-drift", "quality-drift").query)
    assert row["refusal_rate"] == 0.3 and row["baseline_refusal_rate"] == 0.05
    assert row["drift_score"] == 2.5  # 0.25 change / 0.10 limit
