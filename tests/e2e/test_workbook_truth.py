"""Truth tests: a workload with known truth goes through the REAL SDK, openai client and Azure
Monitor exporter (trace sampling on: fixed 25 %) into the local store, and every workbook panel
query must return that truth.

Tolerances, stated once:
- counts, errors, token totals, unpriced calls: exact;
- cost: exact to 1e-9 USD where the panel does not round, to the panel's rounding where it does;
- percentiles of call latency and time to first token: bucket-exact — the SDK's value of each
  call lies between the stand-in's scripted wait (the floor) and what the client measured, so
  the reported bucket lies between the bucket of the floors' nearest-rank percentile and the
  bucket of the client's (one bucket on a quiet machine; a test checks every kept span lies
  between the two); agent-run durations, which have no floor: the client's percentile within
  CLOCK_SLACK_S (50 ms); response lengths: the exact bucket;
- means of call durations: between the floors' mean and the client's (1 ms for the clocks);
- sampled span panels (drill-down): every row represents 100 / 25 = 4 calls.
Every panel (and every dropdown query) must return rows.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from llm_insights import contract as c

from llm_insights_kit.dashboards import bind_parameters, iter_queries, render_workbooks
from llm_insights_kit.local.store import QueryResult
from llm_insights_kit.stack_config.files import render_context

from .conftest import SAMPLING_PERCENT, DriftRun, Ran, TwoServices
from .truth_plan import (
    AZURE_DEPLOYMENT,
    DEPLOYMENTS,
    DRIFT_BASELINE,
    DRIFT_CURRENT,
    DRIFT_LEVELS,
    DRIFT_REFUSALS,
    MINI,
    OTHER_SERVICE,
    RETRIEVER,
    SERVICE,
    TOOL,
    UNPRICED,
    Truth,
    bucket_of,
    nearest_rank,
)

pytestmark = [pytest.mark.e2e]
# the shipped price data, as the file records its source
_SOURCE = json.loads(Path(c.__file__).with_name("_prices.json").read_text())["source"]
SHIPPED_SOURCE = f"{_SOURCE['name']} {_SOURCE['version']}"

STACK = "dev"
ITEM_COUNT = round(100 / SAMPLING_PERCENT)
CLOCK_SLACK_S = 0.05
TIMER_SLACK_S = 0.001  # the span's wall-clock timestamps next to the client's perf_counter
MEAN_TOLERANCE_S = 0.02
MEAN_TOLERANCE_REL = 0.05
GRAIN = "1d"  # one time bin for the run, so per-interval panels can be checked whole


@pytest.fixture(scope="module")
def panels() -> list[Any]:
    ctx = render_context(STACK)
    found = []
    for wb in render_workbooks(ctx):
        found.extend(iter_queries(wb.serialized_data, wb.key))
    return found


_RESULTS: dict[tuple[int, str], QueryResult] = {}


def run_query(ran: Ran, query: str, label: str) -> QueryResult:
    """Run a panel query over the run's time range (each panel once per run: results cached)."""
    key = (id(ran), query)
    if key not in _RESULTS:
        kql = bind_parameters(query, ran.time_range, grain=GRAIN)
        _RESULTS[key] = ran.store.query(kql, now=ran.time_range[1], name=label)
    return _RESULTS[key]


def rows(result: QueryResult) -> list[dict[str, Any]]:
    return result.to_dicts()


def single(result: QueryResult, label: str) -> dict[str, Any] | None:
    """The one row of a per-interval panel, or None when the run straddled a bin boundary."""
    found = rows(result)
    assert found, f"{label}: no rows"
    return found[0] if len(found) == 1 else None


def approx(expected: float, abs_tol: float = 1e-9) -> Any:
    return pytest.approx(expected, abs=abs_tol, rel=1e-9)


def assert_bucket(
    reported: float,
    values: list[float],
    percent: float,
    bounds: tuple[float, ...],
    label: str,
    slack: float = CLOCK_SLACK_S,
    floors: list[float] | None = None,
) -> None:
    """The true nearest-rank percentile lies in the bucket the panel reports: with *floors*
    (each value's lower bound, call by call), any bucket from the floors' percentile's to the
    values'; without, the values' percentile ± slack."""
    true = nearest_rank(values, percent)
    if floors is None:
        low, high = true - slack, true + slack
    else:
        assert len(floors) == len(values)
        low, high = nearest_rank(floors, percent) - TIMER_SLACK_S, true + TIMER_SLACK_S
    first, last = bucket_of(low, bounds), bucket_of(high, bounds)
    allowed = {b for b in (*map(float, bounds), math.inf) if first <= b <= last}
    assert reported in allowed, (
        f"{label}: p{percent:g} reported {reported}, but the true value {true:.4f} lies in the "
        f"bucket ending at {bucket_of(true, bounds)}"
    )


def assert_between_means(
    reported: float, values: list[float], floors: list[float], label: str
) -> None:
    """The panel's mean of the SDK's durations lies between the floors' mean and the client's."""
    low, high = sum(floors) / len(floors), sum(values) / len(values)
    assert low - TIMER_SLACK_S <= reported <= high + TIMER_SLACK_S, (label, reported, low, high)


def kql_round(value: float, digits: int = 0) -> float:
    """Kusto's round(): half away from zero (Python's round() rounds half to even)."""
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def rounded_usd(expected: float, digits: int = 6) -> Any:
    """A panel's rounded sum of many float costs: the truth's rounding, or its neighbour when the
    truth sits within 1e-9 of a rounding midpoint (float sums in another order may land on
    either side of it); i.e. within half a unit of the last digit of the exact total."""
    return pytest.approx(expected, abs=0.5 * 10**-digits + 1e-9, rel=0)


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


# ---------------------------------------------------------------------------------------------
# Per-panel truth: (workbook key, step) -> check(result, truth)
# ---------------------------------------------------------------------------------------------
Check = Callable[[QueryResult, Truth], None]
CHECKS: dict[tuple[str, str], Check] = {}


def check(workbook: str, step: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[(workbook, step)] = fn
        return fn

    return register


@check("llm-overview", "headline")
def _headline(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert (row["calls"], row["errors"], row["throttled"]) == (t.calls, t.errors, t.throttled)
    assert row["error_rate"] == approx(kql_round(t.errors / t.calls, 4))
    assert row["throttled_share"] == approx(kql_round(t.throttled / t.calls, 4))


@check("llm-overview", "call-rate")
def _call_rate(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert sum(r["calls"] for r in got) == t.calls
    assert sum(r["errors"] for r in got) == t.errors


@check("llm-overview", "error-rate")
def _error_rate(res: QueryResult, t: Truth) -> None:
    row = single(res, "error-rate")
    if row is not None:
        assert row["error_rate"] == approx(t.errors / t.calls)
        assert row["throttled_share"] == approx(t.throttled / t.calls)


@check("llm-overview", "errors-by-type")
def _errors_by_type(res: QueryResult, t: Truth) -> None:
    got = {r["error_type"]: r for r in rows(res)}
    assert {k: r["calls"] for k, r in got.items()} == dict(t.errors_by_type)
    assert {k for k, r in got.items() if r["throttling"]} == {"429"}
    for k, r in got.items():
        assert r["share_of_calls"] == approx(kql_round(t.errors_by_type[k] / t.calls, 4))


@check("llm-overview", "errors-by-model")
def _errors_by_model(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    assert set(got) == set(t.models)
    for model, m in t.models.items():
        r = got[model]
        assert (r["calls"], r["errors"]) == (m.calls, m.errors), model
        assert r["deployment"] == (AZURE_DEPLOYMENT if model == AZURE_DEPLOYMENT else "")
        assert r["error_rate"] == approx(kql_round(m.errors / m.calls, 4))
        assert r["throttled_share"] == approx(kql_round(m.throttled / m.calls, 4))


@check("llm-overview", "by-service")
def _overview_by_service(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["service"] == SERVICE
    assert (row["calls"], row["errors"]) == (t.calls, t.errors)
    assert row["error_rate"] == approx(kql_round(t.errors / t.calls, 4))
    assert row["throttled_share"] == approx(kql_round(t.throttled / t.calls, 4))
    assert_bucket(row["p95"], t.durations, 95, c.LATENCY_PERCENTILE_BOUNDS, "latency")


@check("llm-overview", "latency-percentiles")
def _latency_over_time(res: QueryResult, t: Truth) -> None:
    row = single(res, "latency-percentiles")
    if row is not None:
        for p in (50, 95, 99):
            assert_bucket(
                row[f"p{p}"], t.durations, p, c.LATENCY_PERCENTILE_BOUNDS, "latency",
                floors=t.duration_floors,
            )  # fmt: skip


@check("llm-overview", "latency-by-model")
def _latency_by_model(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    assert set(got) == set(t.models)
    for model, m in t.models.items():
        r = got[model]
        assert r["operation"] == c.OPERATION_CHAT
        assert r["calls"] == m.calls, model
        for p in (50, 95, 99):
            assert_bucket(
                r[f"p{p}"], m.durations, p, c.LATENCY_PERCENTILE_BOUNDS, model,
                floors=m.duration_floors,
            )  # fmt: skip


@check("llm-overview", "mean-duration-by-model")
def _mean_duration(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    assert set(got) == set(t.models)
    for model, m in t.models.items():
        r = got[model]
        assert r["calls"] == m.calls
        assert_between_means(r["mean_seconds"], m.durations, m.duration_floors, model)
        # the client's clock includes a little more than the SDK's: never less
        assert r["max_seconds"] <= max(m.durations) + TIMER_SLACK_S


@check("llm-overview", "ttft-percentiles")
def _ttft_over_time(res: QueryResult, t: Truth) -> None:
    row = single(res, "ttft-percentiles")
    if row is not None:
        for p in (50, 95):
            assert_bucket(
                row[f"p{p}"], t.ttfts, p, c.TTFT_PERCENTILE_BOUNDS, "ttft", floors=t.ttft_floors
            )


@check("llm-overview", "ttft-by-model")
def _ttft_by_model(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    streamed = {k: m for k, m in t.models.items() if m.streams}
    assert set(got) == set(streamed)
    for model, m in streamed.items():
        assert got[model]["streamed_calls"] == m.streams
        for p in (50, 95):
            assert_bucket(
                got[model][f"p{p}"], m.ttfts, p, c.TTFT_PERCENTILE_BOUNDS, model,
                floors=m.ttft_floors,
            )  # fmt: skip


def represents(row: dict[str, Any], column: str = "represents") -> int:
    """What a drill-down row stands for: a head-sampled span, ITEM_COUNT calls; a span kept
    because it failed or was slow (kept_for), itself."""
    assert row["kept_for"] in ("", c.KEPT_FOR_ERROR, c.KEPT_FOR_SLOW), row
    expected = 1 if row["kept_for"] else ITEM_COUNT
    assert row[column] == expected, row
    return expected


@check("llm-overview", "slowest-calls")
def _slowest(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert 0 < len(got) <= 25
    for r in got:
        represents(r, "represents_calls")
    durations = [r["duration_ms"] for r in got]
    assert durations == sorted(durations, reverse=True)
    assert durations[0] <= max(t.durations) * 1000 + 1


@check("llm-overview", "failed-calls")
def _failed(res: QueryResult, t: Truth) -> None:
    """Every failed call is listed, whatever the sampler dropped: the sampled ones stand for
    ITEM_COUNT calls, the kept ones for themselves."""
    got = rows(res)
    assert len(got) == min(25, t.errors)  # the list is full, or holds every failure
    if t.errors <= 25:
        assert Counter(r["error_type"] for r in got) == t.errors_by_type
    for r in got:
        assert represents(r, "represents_calls") == 1 or r["kept_for"] == ""
    assert any(r["kept_for"] == c.KEPT_FOR_ERROR for r in got)  # the sampler dropped some


@check("llm-overview", "not-kept")
def _not_kept(res: QueryResult, t: Truth) -> None:
    assert rows(res) == []  # the workload's failures stay under the cap: every one was kept


@check("llm-quality-safety", "filter-hits-by-category")
def _filter_hits(res: QueryResult, t: Truth) -> None:
    by_source: Counter[str] = Counter()
    for r in rows(res):
        by_source[r["source"]] += r["hits"]
    assert by_source == Counter(
        {
            c.FILTER_SOURCE_PROMPT: t.prompt_filter_hits,
            c.FILTER_SOURCE_COMPLETION: t.completion_filter_hits,
        }
    )


@check("llm-quality-safety", "filter-hits-over-time")
def _filter_hits_over_time(res: QueryResult, t: Truth) -> None:
    assert sum(r["hits"] for r in rows(res)) == t.prompt_filter_hits + t.completion_filter_hits


@check("llm-quality-safety", "blocked-prompts")
def _blocked(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    blocked = t.errors_by_type["content_filter"]
    assert {k: r["blocked_prompts"] for k, r in got.items()} == {AZURE_DEPLOYMENT: blocked}
    calls = t.models[AZURE_DEPLOYMENT].calls
    assert got[AZURE_DEPLOYMENT]["calls"] == calls
    assert got[AZURE_DEPLOYMENT]["blocked_share"] == approx(kql_round(blocked / calls, 4))


def _quality_totals(t: Truth) -> tuple[int, int, int]:
    responses = sum(len(v) for v in t.lengths.values())
    return responses, sum(t.refusals.values()), sum(t.markers.values())


@check("llm-quality-safety", "rates-over-time")
def _rates_over_time(res: QueryResult, t: Truth) -> None:
    row = single(res, "rates-over-time")
    responses, refusals, markers = _quality_totals(t)
    if row is not None:
        assert row["refusal_rate"] == approx(refusals / responses)
        assert row["hallucination_marker_rate"] == approx(markers / responses)


@check("llm-quality-safety", "rates-by-model")
def _rates_by_model(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    assert set(got) == set(t.lengths)
    for model, lengths in t.lengths.items():
        r = got[model]
        assert r["responses"] == len(lengths), model
        assert r["refusal_rate"] == approx(kql_round(t.refusals[model] / len(lengths), 4))
        assert r["hallucination_marker_rate"] == approx(
            kql_round(t.markers[model] / len(lengths), 4)
        )
        assert r["mean_length_chars"] == kql_round(sum(lengths) / len(lengths))


@check("llm-quality-safety", "length-distribution")
def _length_distribution(res: QueryResult, t: Truth) -> None:
    expected: Counter[str] = Counter()
    for lengths in t.lengths.values():
        for n in lengths:
            expected[f"<= {c.bucket_label(bucket_of(n, c.RESPONSE_LENGTH_BOUNDS))}"] += 1
    assert {r["bucket"]: r["n"] for r in rows(res)} == dict(expected)


@check("llm-quality-safety", "length-percentiles")
def _length_percentiles(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    assert set(got) == set(t.lengths)
    for model, lengths in t.lengths.items():
        assert got[model]["responses"] == len(lengths)
        for p in (50, 95):
            assert_bucket(
                got[model][f"p{p}_chars"], [float(n) for n in lengths], p,
                c.RESPONSE_LENGTH_BOUNDS, model, slack=0,
            )  # fmt: skip


@check("llm-quality-safety", "user-feedback")
def _feedback(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert sum(r["ratings"] for r in got) == len(t.feedback_scores), (
        "every rating counts, thumbs-down (-1) included"
    )
    row = single(res, "user-feedback")
    if row is not None:
        n = len(t.feedback_scores)
        assert row["mean_score"] == approx(sum(t.feedback_scores) / n)
        assert row["negative_share"] == approx(sum(1 for x in t.feedback_scores if x < 0) / n)


@check("llm-quality-safety", "feedback-distribution")
def _feedback_distribution(res: QueryResult, t: Truth) -> None:
    bounds = c.FEEDBACK_BUCKET_COUNTS.bounds
    expected = Counter(f"<= {c.bucket_label(bucket_of(x, bounds))}" for x in t.feedback_scores)
    assert {r["bucket"]: r["n"] for r in rows(res)} == dict(expected)


@check("llm-quality-safety", "evaluation-scores")
def _evaluation_scores(res: QueryResult, t: Truth) -> None:
    expected: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _rid, name, score, model in t.evaluations:
        expected[(name, model)].append(score)
    got = {(r["evaluation"], r["model"]): r for r in rows(res)}
    assert set(got) == set(expected)
    for key, scores in expected.items():
        r = got[key]
        assert r["scored"] == len(scores)
        assert r["mean_score"] == approx(kql_round(sum(scores) / len(scores), 3))
        assert (r["lowest"], r["highest"]) == (min(scores), max(scores))


@check("llm-quality-safety", "lowest-scored")
def _lowest_scored(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    all_scores = [s for *_, s, _m in t.evaluations] + t.feedback_scores
    assert 0 < len(got) <= 25
    assert got[0]["score"] == min(all_scores)
    assert [r["score"] for r in got] == sorted(r["score"] for r in got)


@check("llm-tokens-cost", "headline")
def _tokens_headline(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    with_usage = sum(len(v) for v in t.lengths.values())
    assert (row["input_tokens"], row["output_tokens"]) == (t.input_tokens, t.output_tokens)
    assert row["cost_usd"] == rounded_usd(t.cost)
    assert row["unpriced_calls"] == t.unpriced
    assert row["tokens_per_call"] == approx(
        kql_round((t.input_tokens + t.output_tokens) / with_usage, 1)
    ), "tokens per call = (input + output) / calls with usage"
    assert row["output_per_input"] == approx(kql_round(t.output_tokens / t.input_tokens, 3))


@check("llm-tokens-cost", "by-service")
def _tokens_by_service(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["service"] == SERVICE
    assert (row["input_tokens"], row["output_tokens"]) == (t.input_tokens, t.output_tokens)
    assert row["calls_with_usage"] == sum(len(v) for v in t.lengths.values())
    assert row["cost_usd"] == rounded_usd(t.cost)
    assert row["unpriced_calls"] == t.unpriced


@check("llm-tokens-cost", "tokens-over-time")
def _tokens_over_time(res: QueryResult, t: Truth) -> None:
    by_type: Counter[str] = Counter()
    for r in rows(res):
        by_type[r["token_type"]] += r["tokens"]
    assert by_type == Counter(
        {c.TOKEN_TYPE_INPUT: t.input_tokens, c.TOKEN_TYPE_OUTPUT: t.output_tokens}
    )


@check("llm-tokens-cost", "cost-over-time")
def _cost_over_time(res: QueryResult, t: Truth) -> None:
    by_model: dict[str, float] = defaultdict(float)
    for r in rows(res):
        by_model[r["model"]] += r["cost_usd"]
    # by the served model: the Azure deployment's row is the model it runs
    priced = {
        DEPLOYMENTS.get(k, k): m.cost_input + m.cost_output
        for k, m in t.models.items()
        if m.cost_input
    }
    assert set(by_model) == set(priced)
    for model, cost in priced.items():
        assert by_model[model] == approx(cost), model


@check("llm-tokens-cost", "tokens-per-call-over-time")
def _tokens_per_call(res: QueryResult, t: Truth) -> None:
    row = single(res, "tokens-per-call-over-time")
    with_usage = sum(len(v) for v in t.lengths.values())
    if row is not None:
        assert row["tokens_per_call"] == approx((t.input_tokens + t.output_tokens) / with_usage)
        assert row["output_per_input"] == approx(t.output_tokens / t.input_tokens)


@check("llm-tokens-cost", "by-model")
def _tokens_by_model(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}  # the served model
    used = {DEPLOYMENTS.get(k, k): m for k, m in t.models.items() if m.input_tokens}
    assert set(got) == set(used)
    for model, m in used.items():
        r = got[model]
        ok_calls = m.calls - m.errors
        assert r["operation"] == c.OPERATION_CHAT
        assert r["deployment_type"] == ""  # none of these is in the deployment map
        assert r["calls_with_usage"] == ok_calls
        assert (r["input_tokens"], r["output_tokens"]) == (m.input_tokens, m.output_tokens)
        assert r["cost_usd"] == rounded_usd(m.cost_input + m.cost_output)
        assert r["tokens_per_call"] == approx(
            kql_round((m.input_tokens + m.output_tokens) / ok_calls, 1)
        ), f"{model}: tokens per call = (input + output) / calls with usage"


@check("llm-tokens-cost", "unpriced-models")
def _unpriced(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    assert {k: r["unpriced_calls"] for k, r in got.items()} == {UNPRICED: t.unpriced}
    assert got[UNPRICED]["response_model"] == UNPRICED


@check("llm-tokens-cost", "by-deployment-type")
def _by_deployment_type(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)  # no call of the main workload is in the deployment map
    assert row["deployment_type"] == "(not in the deployment map: list price)"
    assert row["billing"] == "per token"
    assert (row["input_tokens"], row["output_tokens"]) == (t.input_tokens, t.output_tokens)
    assert row["cost_usd"] == rounded_usd(t.cost)


@check("llm-tokens-cost", "price-sources")
def _price_sources(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["price_source"] == SHIPPED_SOURCE
    assert row["cost_usd"] == rounded_usd(t.cost)


@check("llm-tokens-cost", "budget-burn")
def _budget_burn(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert sum(r["cost_usd"] for r in got) == approx(t.cost)
    ctx = render_context(STACK)
    assert ctx.daily_budget_usd is not None
    for r in got:
        assert r["budget_usd"] == ctx.daily_budget_usd
        assert r["burn"] == approx(kql_round(r["cost_usd"] / ctx.daily_budget_usd, 3))


@check("llm-tokens-cost", "today-projection")
def _today(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["cost_today_usd"] == approx(t.cost)
    assert row["projected_day_usd"] >= row["cost_today_usd"]


@check("llm-tokens-cost", "today-by-service")
def _today_by_service(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["service"] == SERVICE and row["cost_today_usd"] == approx(t.cost)
    assert row["projected_day_usd"] >= row["cost_today_usd"]
    assert "budget_usd" not in row  # the dev stack gives no service a budget


@check("llm-rag-tools", "retrieval-summary")
def _retrieval_summary(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["retriever"] == RETRIEVER
    assert (row["retrievals"], row["errors"]) == (t.retrievals, 0)
    assert row["empty_rate"] == approx(kql_round(t.empty_retrievals / t.retrievals, 4))
    assert row["mean_documents"] == approx(kql_round(sum(t.documents) / len(t.documents), 2))
    assert row["mean_top_score"] == approx(kql_round(sum(t.top_scores) / len(t.top_scores), 3))
    assert 0 <= row["mean_seconds"] <= row["max_seconds"] < 1


@check("llm-rag-tools", "retrieval-over-time")
def _retrieval_over_time(res: QueryResult, t: Truth) -> None:
    row = single(res, "retrieval-over-time")
    if row is not None:
        assert row["empty_rate"] == approx(t.empty_retrievals / t.retrievals)


@check("llm-rag-tools", "retrieval-latency-percentiles")
def _retrieval_latency(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    assert row["retriever"] == RETRIEVER
    assert row["represents"] == row["sampled_spans"] * ITEM_COUNT
    assert 0 <= row["p50_ms"] <= row["p95_ms"] < 1000


@check("llm-rag-tools", "documents-returned")
def _documents(res: QueryResult, t: Truth) -> None:
    row = single(res, "documents-returned")
    if row is not None:
        assert row["mean_documents"] == approx(sum(t.documents) / len(t.documents))
        assert (row["fewest"], row["most"]) == (min(t.documents), max(t.documents))


@check("llm-rag-tools", "top-score-distribution")
def _top_scores(res: QueryResult, t: Truth) -> None:
    expected: Counter[str] = Counter(
        f"<= {c.bucket_label(bucket_of(s, c.RETRIEVAL_SCORE_BOUNDS))}" for s in t.top_scores
    )
    assert {r["bucket"]: r["n"] for r in rows(res)} == dict(expected)


def _by_tool(counts: Counter[tuple[str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (tool, _agent), n in counts.items():
        out[tool] += n
    return out


@check("llm-rag-tools", "tools-summary")
def _tools_summary(res: QueryResult, t: Truth) -> None:
    got = {r["tool"]: r for r in rows(res)}
    calls, errors = _by_tool(t.tool_calls_by), _by_tool(t.tool_errors_by)
    assert set(got) == set(calls)
    assert (got[TOOL]["calls"], got[TOOL]["errors"]) == (t.tool_calls, t.tool_errors)
    for tool, r in got.items():
        assert (r["calls"], r["errors"]) == (calls[tool], errors[tool]), tool
        assert r["error_rate"] == approx(kql_round(errors[tool] / calls[tool], 4))


@check("llm-rag-tools", "tool-errors")
def _tool_errors(res: QueryResult, t: Truth) -> None:
    got = {(r["tool"], r["error_type"]): r["errors"] for r in rows(res)}
    expected = {(k, "LookupError"): n for k, n in _by_tool(t.tool_errors_by).items() if n}
    assert got == expected


@check("llm-rag-tools", "tools-over-time")
def _tools_over_time(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert {r["tool"] for r in got} == set(_by_tool(t.tool_calls_by))
    assert sum(r["calls"] for r in got) == sum(t.tool_calls_by.values())
    assert sum(r["errors"] for r in got) == sum(t.tool_errors_by.values())


@check("llm-rag-tools", "slowest-steps")
def _slowest_steps(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert got and all(r["represents"] in (1, ITEM_COUNT) for r in got)  # kept failed tools: 1
    assert {r["operation"] for r in got} <= {c.OPERATION_RETRIEVAL, c.OPERATION_EXECUTE_TOOL}


@check("llm-drift", "quality-drift")
def _quality_drift(res: QueryResult, t: Truth) -> None:
    """Needs an hour of baseline before the current hour: checked on the drift runs
    (``test_drift_panels_compare_the_last_hour_with_the_baseline``); here it must be empty."""
    assert rows(res) == [], "no baseline hour in a single run: no drift row"


@check("llm-drift", "performance-drift")
def _performance_drift(res: QueryResult, t: Truth) -> None:
    got = {r["model"]: r for r in rows(res)}
    answered = {k: v for k, v in t.by_response_model.items() if k}
    assert set(got) == set(answered)
    for model, durations in answered.items():
        r = got[model]
        assert (r["calls_last_hour"], r["baseline_calls"]) == (len(durations), 0), model
        floors = t.floors_by_response_model[model]
        assert_between_means(r["mean_seconds"], durations, floors, model)


@check("llm-drift", "latency-p95-drift")
def _latency_drift(res: QueryResult, t: Truth) -> None:
    got = {(r["model"], r["window"]): r for r in rows(res)}
    answered = {k: v for k, v in t.by_response_model.items() if k}
    assert {m for m, _w in got} == set(answered)
    assert {w for _m, w in got} == {"last hour"}
    for model, durations in answered.items():
        r = got[(model, "last hour")]
        assert r["calls"] == len(durations)
        floors = t.floors_by_response_model[model]
        assert_bucket(r["p95"], durations, 95, c.LATENCY_PERCENTILE_BOUNDS, model, floors=floors)


@check("llm-drift", "model-versions")
def _model_versions(res: QueryResult, t: Truth) -> None:
    got = Counter(
        {(r["deployment"], r["request_model"], r["response_model"]): r["calls"] for r in rows(res)}
    )
    assert got == t.versions


@check("llm-drift", "model-versions-over-time")
def _model_versions_over_time(res: QueryResult, t: Truth) -> None:
    got: Counter[str] = Counter()
    for r in rows(res):
        got[r["response_model"]] += r["calls"]
    assert got == Counter({k: len(v) for k, v in t.by_response_model.items()})


@check("llm-drift", "refusal-rate-by-model-over-time")
def _refusal_over_time(res: QueryResult, t: Truth) -> None:
    got = rows(res)
    assert {r["response_model"] for r in got} == set(t.lengths)
    if len({r["timestamp"] for r in got}) == 1:
        for r in got:
            model = r["response_model"]
            assert r["refusal_rate"] == approx(t.refusals[model] / len(t.lengths[model]))


# ---------------------------------------------------------------------------------------------
# LLM agents
# ---------------------------------------------------------------------------------------------
FAILED_RUN_ERROR = "AgentGaveUp"  # what truth_child's failing runs raise


@check("llm-agents", "runs-by-agent")
def _runs_by_agent(res: QueryResult, t: Truth) -> None:
    got = {r["agent"]: r for r in rows(res)}
    assert set(got) == set(t.agents)
    for name, a in t.agents.items():
        r = got[name]
        assert (r["runs"], r["failed"]) == (a.runs, a.failed), name
        assert r["failure_rate"] == approx(kql_round(a.failed / a.runs, 4))
        assert r["model_calls_per_run"] == approx(kql_round(a.model_calls / a.runs, 2))
        assert r["tool_calls_per_run"] == approx(kql_round(a.tool_calls / a.runs, 2))
        assert r["steps_per_run"] == approx(kql_round(sum(a.steps) / a.runs, 2))
        assert r["max_steps"] == max(a.steps)
        true_mean = sum(a.durations) / a.runs
        tol = MEAN_TOLERANCE_S + MEAN_TOLERANCE_REL * true_mean
        assert abs(r["mean_seconds"] - true_mean) <= tol, (name, r["mean_seconds"], true_mean)


@check("llm-agents", "runs-by-service")
def _runs_by_service(res: QueryResult, t: Truth) -> None:
    (row,) = rows(res)
    agents = t.agents.values()
    assert row["service"] == SERVICE
    assert (row["runs"], row["failed"]) == (
        sum(a.runs for a in agents),
        sum(a.failed for a in agents),
    )
    durations = [d for a in agents for d in a.durations]
    assert_bucket(row["p95"], durations, 95, c.AGENT_DURATION_BOUNDS, "agent runs")
    assert row["cost_usd"] == rounded_usd(sum(cost for a in agents for cost in a.costs))


@check("llm-agents", "runs-over-time")
def _runs_over_time(res: QueryResult, t: Truth) -> None:
    runs: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for r in rows(res):
        runs[r["agent"]] += r["runs"]
        failed[r["agent"]] += r["failed"]
    assert dict(runs) == {k: a.runs for k, a in t.agents.items()}
    assert dict(failed) == {k: a.failed for k, a in t.agents.items()}


@check("llm-agents", "run-duration-percentiles")
def _run_duration(res: QueryResult, t: Truth) -> None:
    got = {r["agent"]: r for r in rows(res)}
    assert set(got) == set(t.agents)
    for name, a in t.agents.items():
        assert got[name]["runs"] == a.runs
        for p in (50, 95):
            assert_bucket(got[name][f"p{p}"], a.durations, p, c.AGENT_DURATION_BOUNDS, name)


@check("llm-agents", "cost-per-run")
def _cost_per_run(res: QueryResult, t: Truth) -> None:
    got = {r["agent"]: r for r in rows(res)}
    assert set(got) == set(t.agents)
    for name, a in t.agents.items():
        r = got[name]
        assert (r["priced_runs"], r["unknown_cost_runs"]) == (len(a.costs), a.unknown_cost_runs)
        if a.costs:
            assert r["cost_usd"] == rounded_usd(sum(a.costs))
            assert r["cost_per_run_usd"] == rounded_usd(sum(a.costs) / len(a.costs))
            assert r["max_run_cost_usd"] == rounded_usd(max(a.costs))
        if a.token_runs:
            assert r["input_tokens_per_run"] == approx(kql_round(a.input_tokens / a.token_runs, 1))
            assert r["output_tokens_per_run"] == approx(
                kql_round(a.output_tokens / a.token_runs, 1)
            )
    # the billing runs with an unpriced or failed call have no cost, never a zero one
    assert t.agents["billing"].unknown_cost_runs == 3 and got["billing"]["unknown_cost_runs"] == 3


@check("llm-agents", "steps-distribution")
def _steps_distribution(res: QueryResult, t: Truth) -> None:
    expected: Counter[str] = Counter(
        f"<= {c.bucket_label(bucket_of(n, c.AGENT_STEP_BOUNDS))}"
        for a in t.agents.values()
        for n in a.steps
    )
    assert {r["bucket"]: r["n"] for r in rows(res)} == dict(expected)


@check("llm-agents", "tool-error-rate")
def _agent_tools(res: QueryResult, t: Truth) -> None:
    got = {(r["tool"], r["agent"]): r for r in rows(res)}
    assert set(got) == set(t.tool_calls_by)
    for key, calls in t.tool_calls_by.items():
        errors = t.tool_errors_by[key]
        assert (got[key]["calls"], got[key]["errors"]) == (calls, errors), key
        assert got[key]["error_rate"] == approx(kql_round(errors / calls, 4))


def _run_rows(res: QueryResult, t: Truth) -> list[dict[str, Any]]:
    """Drill-down rows: sampled invoke_agent spans, each one a run the plan made."""
    got = rows(res)
    assert 0 < len(got) <= 25
    for r in got:
        a = t.agents[r["agent"]]
        represents(r)
        assert (r["model_calls"], r["tool_calls"]) in a.shapes, r
        assert r["duration_ms"] <= max(a.durations) * 1000 + 1
        if r["cost_usd"] is not None:
            assert any(math.isclose(r["cost_usd"], x, abs_tol=1e-9) for x in a.costs), r
    return got


@check("llm-agents", "slowest-runs")
def _slowest_runs(res: QueryResult, t: Truth) -> None:
    durations = [r["duration_ms"] for r in _run_rows(res, t)]
    assert durations == sorted(durations, reverse=True)


@check("llm-agents", "most-expensive-runs")
def _expensive_runs(res: QueryResult, t: Truth) -> None:
    costs = [r["cost_usd"] for r in _run_rows(res, t)]
    assert None not in costs and costs == sorted(costs, reverse=True)


@check("llm-agents", "failed-runs")
def _failed_runs(res: QueryResult, t: Truth) -> None:
    got = _run_rows(res, t)
    assert all(not r["success"] and r["error_type"] == FAILED_RUN_ERROR for r in got)
    # every failed run, whatever the sampler dropped (the list is full, or holds them all)
    failed = {k: a.failed for k, a in t.agents.items() if a.failed}
    assert len(got) == min(25, sum(failed.values()))
    assert set(Counter(r["agent"] for r in got)) == set(failed)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_the_workload_ran_as_planned_and_each_kept_span_lies_within_its_call(
    main_run: tuple[Ran, Truth],
) -> None:
    """The truth itself: the stand-in answered every call as planned (checked in ``truth_of``),
    and every kept span lies within its call: no shorter than the answer the stand-in was told to
    hold back (it waits inside the span), no longer than what the client measured (the span
    starts after the client's clock and ends before it). Both hold on any machine; how far the
    two clocks drift apart is load, not the code's."""
    ran, truth = main_run
    assert truth.calls == len(ran.workload.calls) > 150
    measured = {m["id"]: m["duration"] for m in ran.measured}
    planned = {call.id: call.script for call in ran.workload.calls}
    spans = rows(
        ran.store.query(
            f"{c.TABLE_LLM_SPANS} | where tostring(customDimensions['{c.GEN_AI_OPERATION_NAME}'])"
            f" == '{c.OPERATION_CHAT}' | project rid = tostring(customDimensions"
            f"['{c.GEN_AI_RESPONSE_ID}']), duration"
        )
    )
    compared = 0
    for span in spans:
        if span["rid"].startswith("resp-"):
            call_id = "c" + span["rid"].removeprefix("resp-")
            script, seconds = planned[call_id], span["duration"] / 1000
            held = script.get("latency", 0.0) + (script.get("ttft") or 0.0)
            assert held - TIMER_SLACK_S <= seconds <= measured[call_id] + TIMER_SLACK_S, span
            compared += 1
    assert compared >= 10


# Panels that compare the last hour with older data: fed by the drift runs, not the main run.
NEEDS_BASELINE = {("llm-drift", "quality-drift")}
# Rows only when failures outrun the per-minute keep cap (test_kept_truth's all-failing burst).
NEEDS_CAPPED_BURST = {("llm-overview", "not-kept")}


def test_every_panel_and_dropdown_returns_rows(
    main_run: tuple[Ran, Truth], drift_runs: dict[str, DriftRun], panels: list[Any]
) -> None:
    ran, _ = main_run
    empty = []
    for q in panels:
        label = f"{q.workbook}/{q.step}"
        if (q.workbook, q.step) in NEEDS_CAPPED_BURST:
            continue
        if (q.workbook, q.step) in NEEDS_BASELINE:
            drift = drift_runs["above"]
            kql = bind_parameters(q.query, drift.time_range, grain=GRAIN)
            found = len(drift.store.query(kql, now=drift.now, name=label))
        else:
            found = len(run_query(ran, q.query, label))
        if not found:
            empty.append(label)
    assert not empty, f"panels with no rows for a workload that feeds them all: {empty}"


@pytest.mark.parametrize("level", DRIFT_LEVELS)
def test_drift_panel_compares_the_last_hour_with_the_baseline(
    level: str, drift_runs: dict[str, DriftRun], panels: list[Any]
) -> None:
    drift = drift_runs[level]
    (q,) = [q for q in panels if (q.workbook, q.step) == ("llm-drift", "quality-drift")]
    kql = bind_parameters(q.query, drift.time_range, grain=GRAIN)
    (row,) = drift.store.query(kql, now=drift.now, name="llm-drift/quality-drift").to_dicts()
    refusal_rate = DRIFT_REFUSALS[level] / DRIFT_CURRENT
    assert row["model"] == MINI
    assert (row["responses_last_hour"], row["baseline_responses"]) == (
        DRIFT_CURRENT,
        DRIFT_BASELINE,
    )
    assert (row["refusal_rate"], row["baseline_refusal_rate"]) == (
        approx(kql_round(refusal_rate, 4)),
        0,
    )
    assert row["length_change"] == 0
    assert row["drift_score"] == approx(kql_round(refusal_rate / 0.10, 2))


def test_dropdowns_offer_exactly_what_was_called(
    main_run: tuple[Ran, Truth], panels: list[Any]
) -> None:
    ran, truth = main_run
    expected = {
        "Service": {SERVICE},
        "Model": set(truth.models),
        "Deployment": {AZURE_DEPLOYMENT},
        "Operation": {c.OPERATION_CHAT},
    }
    for q in panels:
        if q.kind != "parameter":
            continue
        name = q.step.rsplit("/", 1)[1]
        got = {r["item"] for r in rows(run_query(ran, q.query, q.step))}
        assert got == expected[name], f"{q.workbook}/{q.step}"


def _panel_ids(panels: list[Any]) -> list[str]:
    return [f"{q.workbook}/{q.step}" for q in panels if q.kind == "panel"]


def test_every_panel_has_a_truth_check(panels: list[Any]) -> None:
    """A new panel needs its truth stated here (see CHECKS), or it could show anything."""
    unchecked = [p for p in _panel_ids(panels) if tuple(p.split("/", 1)) not in CHECKS]
    assert not unchecked, f"panels without a truth check in {__name__}: {unchecked}"


# Panels known to disagree with the truth, each a reported bug in another area. Strict: when
# the fix lands the test XPASSes, fails, and the entry must be removed.
KNOWN_GAPS: dict[str, str] = {}


def _truth_params() -> list[Any]:
    keys = sorted(f"{w}/{s}" for w, s in CHECKS)
    return [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[k]))
        if k in KNOWN_GAPS
        else k
        for k in keys
    ]


@pytest.mark.parametrize("key", _truth_params())
def test_panel_returns_the_truth(key: str, main_run: tuple[Ran, Truth], panels: list[Any]) -> None:
    ran, truth = main_run
    workbook, step = key.split("/", 1)
    found = [q for q in panels if (q.workbook, q.step) == (workbook, step)]
    assert found, f"{key}: the workbook no longer has this panel"
    CHECKS[(workbook, step)](run_query(ran, found[0].query, key), truth)


def _run_for(
    two: TwoServices, query: str, label: str, service: str | None, time_range: Any = None
) -> QueryResult:
    selections = {"Service": service} if service else None
    start, end = time_range or two.mine.time_range
    kql = bind_parameters(query, (start, end), selections, grain=GRAIN)
    return two.mine.store.query(kql, now=end, name=label)


@pytest.mark.parametrize("key", _truth_params())
def test_panel_filtered_to_its_service_returns_that_services_truth(
    key: str, two_services: TwoServices, panels: list[Any]
) -> None:
    """Two apps in one Application Insights: filtered to one, every panel shows its truth alone
    (the other app's identical workload, run just before, is in the store and the time range)."""
    workbook, step = key.split("/", 1)
    (q,) = [q for q in panels if (q.workbook, q.step) == (workbook, step)]
    two = two_services
    CHECKS[(workbook, step)](_run_for(two, q.query, key, SERVICE, two.time_range), two.truth)


def test_the_service_filter_and_breakdowns_name_each_service(
    two_services: TwoServices, panels: list[Any]
) -> None:
    two = two_services
    by_step = {(q.workbook, q.step): q for q in panels}
    dropdown = by_step["llm-overview", "parameters/Service"]
    got = {r["item"] for r in rows(_run_for(two, dropdown.query, "Service", None, two.time_range))}
    assert got == {SERVICE, OTHER_SERVICE}
    # all services: each row is one service's own truth
    overview = by_step["llm-overview", "by-service"].query
    both = {r["service"]: r for r in rows(_run_for(two, overview, "all", None, two.time_range))}
    assert set(both) == {SERVICE, OTHER_SERVICE}
    for service, truth in ((SERVICE, two.truth), (OTHER_SERVICE, two.their_truth)):
        assert (both[service]["calls"], both[service]["errors"]) == (truth.calls, truth.errors)
    cost = by_step["llm-tokens-cost", "by-service"].query
    usd = {
        r["service"]: r["cost_usd"] for r in rows(_run_for(two, cost, "c", None, two.time_range))
    }
    assert usd == {
        SERVICE: rounded_usd(two.truth.cost),
        OTHER_SERVICE: rounded_usd(two.their_truth.cost),
    }
    headline = by_step["llm-overview", "headline"].query
    (total,) = rows(_run_for(two, headline, "all", None, two.time_range))
    assert total["calls"] == two.truth.calls + two.their_truth.calls
    (theirs,) = rows(_run_for(two, headline, "theirs", OTHER_SERVICE, two.time_range))
    assert theirs["calls"] == two.their_truth.calls


def test_sampling_was_on_and_counts_still_exact(main_run: tuple[Ran, Truth]) -> None:
    """Head-sampled LLM spans carry itemCount 4 and are about a quarter of the calls; spans kept
    because they failed carry itemCount 1 and are marked; the metric count (what every panel
    uses) is exact regardless."""
    ran, truth = main_run
    chat = (
        f"{c.TABLE_LLM_SPANS} | where tostring(customDimensions['{c.GEN_AI_OPERATION_NAME}']) "
        f"== '{c.OPERATION_CHAT}' | extend kept_for = tostring(customDimensions"
        f"['{c.ATTR_KEPT_FOR}'])"
    )
    spans = rows(
        ran.store.query(
            f"{chat} | where isempty(kept_for) | summarize kept = count(), represented = "
            "sum(itemCount), min_ic = min(itemCount), max_ic = max(itemCount)"
        )
    )[0]
    failed = rows(
        ran.store.query(
            f"{chat} | where isnotempty(kept_for) | summarize n = count(), "
            "errors = countif(success == false), max_ic = max(itemCount)"
        )
    )[0]
    assert failed["n"] == failed["errors"] > 0 and failed["max_ic"] == 1
    assert spans["min_ic"] == spans["max_ic"] == ITEM_COUNT
    assert 0 < spans["kept"] < truth.calls
    assert math.isclose(spans["kept"] / truth.calls, SAMPLING_PERCENT / 100, abs_tol=0.15)
