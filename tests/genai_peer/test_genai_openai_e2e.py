"""The kit's panels on an app traced by the real ``opentelemetry-instrumentation-genai-openai``:
real openai client, real Azure Monitor exporter (via ``configure()``) into the local store, and
the traffic, latency, time-to-first-token, token and cost panels' KQL (rendered from
``dashboards/``) must return the known truth — with trace sampling rate-limited to 0.5 traces/s
(metrics come from every call's span, sampled or not), and with ``instrument_openai()`` on as
well, patched before or after the peer (each call counted once, its tokens on one exported
span)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_insights import contract as c
from llm_insights._metrics import bucket_for

from llm_insights_kit import app_env
from llm_insights_kit.dashboards import bind_parameters, iter_queries, render_workbooks
from llm_insights_kit.fake_openai.scripted import Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI
from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV, IngestServer
from llm_insights_kit.local.store import LocalStore
from llm_insights_kit.stack_config.files import render_context

pytestmark = [pytest.mark.e2e]

APP = Path(__file__).with_name("peer_app.py")
ROOT = Path(__file__).resolve().parents[2]
TIMER_SLACK_S = 0.001  # the span's wall-clock timestamps next to the client's perf_counter

# the stand-in's answers, in peer_app.PLAN's order
SCRIPT = [
    *[Scripted(input_tokens=100, output_tokens=20, latency=0.6)] * 4,
    *[Scripted(input_tokens=50, output_tokens=10, ttft=0.4)] * 3,
    Scripted(status=500),
    Scripted(status=429),
    Scripted(input_tokens=10, output_tokens=5),
]
CALLS, ERRORS, THROTTLED, UNPRICED = 10, 2, 1, 1
INPUT_TOKENS = 4 * 100 + 3 * 50 + 10
OUTPUT_TOKENS = 4 * 20 + 3 * 10 + 5
# list prices (genai-prices, as the kit ships them), USD per 1M tokens: gpt-4o 2.5 / 10,
# gpt-4o-mini 0.15 / 0.6
COST = {
    "gpt-4o": (400 * 2.5 + 80 * 10.0) / 1e6,
    "gpt-4o-mini": (150 * 0.15 + 30 * 0.6) / 1e6,
}
# peer: the distro's rate-limited sampler at 0.5 traces/s keeps a few of the ~10 traces (the
# metrics must still count every call), and decides for the distro's httpx spans on its own
# (they pass no parent context), so an orphan would show; both-instrumentation runs keep all
SAMPLING = {
    "peer": ("microsoft.rate_limited", "0.5"),
    "kit-first": ("microsoft.fixed.percentage", "1.0"),
    "peer-first": ("microsoft.fixed.percentage", "1.0"),
}


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture(scope="module")
def panels() -> dict[tuple[str, str], str]:
    out = {}
    for wb in render_workbooks(render_context("dev")):
        for q in iter_queries(wb.serialized_data, wb.key):
            out[(q.workbook, q.step)] = q.query
    return out


def _run(mode: str, fake_openai: FakeOpenAI, store: LocalStore) -> tuple[list[dict[str, Any]], Any]:
    fake_openai.reset()
    fake_openai.script(*SCRIPT)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))
    }
    with IngestServer(store) as ingest:
        env.update(
            {
                **LOOPBACK_EXPORTER_ENV,
                c.ENV_LOCAL_ENDPOINT: ingest.url,
                "STANDIN_BASE_URL": fake_openai.base_url,
                "PEER_MODE": mode,
                app_env.ENV_OTEL_TRACES_SAMPLER: SAMPLING[mode][0],
                app_env.ENV_OTEL_TRACES_SAMPLER_ARG: SAMPLING[mode][1],
                app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL: "3600000",  # only the final flush
            }
        )
        start = datetime.now(UTC)
        proc = subprocess.run(
            [sys.executable, str(APP)], env=env, cwd=ROOT, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        end = datetime.now(UTC)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), (
        start - timedelta(minutes=1),
        end + timedelta(minutes=1),
    )


def _nearest_rank(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * percent // 100) - 1).__int__()]


def _held(script: Scripted) -> float:
    """What the stand-in holds back before the answer (a stream's first content chunk): inside
    the instrumentation's span, so no more than it measures (as in tests/e2e)."""
    return script.latency + (script.ttft or 0.0 if script.status == 200 else 0.0)


def _assert_bucket(
    reported: float, values: list[float], floors: list[float], percent: float, bounds: Any
) -> None:
    """Each call's measured value lies between its floor and the client's clock, so the reported
    bucket lies between the floors' percentile's and the client's — whatever the machine's load."""
    low = _nearest_rank(floors, percent) - TIMER_SLACK_S
    high = _nearest_rank(values, percent) + TIMER_SLACK_S
    labels = [c.bucket_label(b) for b in (*bounds, float("inf"))]
    first, last = labels.index(bucket_for(low, bounds)), labels.index(bucket_for(high, bounds))
    assert c.bucket_label(reported) in labels[first : last + 1], (percent, reported, low, high)


@pytest.mark.parametrize("mode", ["peer", "kit-first", "peer-first"])
def test_panels_return_the_truth(
    mode: str, fake_openai: FakeOpenAI, panels: dict[tuple[str, str], str]
) -> None:
    store = LocalStore()
    measured, time_range = _run(mode, fake_openai, store)

    def query(workbook: str, step: str) -> list[dict[str, Any]]:
        kql = bind_parameters(panels[(workbook, step)], time_range, grain="1d")
        return store.query(kql, now=time_range[1], name=f"{workbook}/{step}").to_dicts()

    (head,) = query("llm-overview", "headline")
    assert (head["calls"], head["errors"], head["throttled"]) == (CALLS, ERRORS, THROTTLED)

    latency = query("llm-overview", "latency-percentiles")
    if len(latency) == 1:  # two rows: the run straddled midnight (a 1-day bin)
        durations = [m["duration"] for m in measured]
        floors = [_held(s) for s in SCRIPT]
        for p in (50, 95, 99):
            _assert_bucket(latency[0][f"p{p}"], durations, floors, p, c.LATENCY_PERCENTILE_BOUNDS)
    ttft = query("llm-overview", "ttft-percentiles")
    if len(ttft) == 1:
        ttfts = [m["ttft"] for m in measured if m["ttft"] is not None]
        assert len(ttfts) == 3
        floors = [_held(s) for s in SCRIPT if s.ttft is not None]
        for p in (50, 95):
            _assert_bucket(ttft[0][f"p{p}"], ttfts, floors, p, c.TTFT_PERCENTILE_BOUNDS)

    (tok,) = query("llm-tokens-cost", "headline")
    assert (tok["input_tokens"], tok["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert tok["unpriced_calls"] == UNPRICED
    # the headline rounds to 6 digits: within half a unit of the last digit
    assert tok["cost_usd"] == pytest.approx(sum(COST.values()), abs=0.5e-6 + 1e-9, rel=0)
    by_type: dict[str, float] = {}
    for r in query("llm-tokens-cost", "tokens-over-time"):
        by_type[r["token_type"]] = by_type.get(r["token_type"], 0) + r["tokens"]
    assert by_type == {c.TOKEN_TYPE_INPUT: INPUT_TOKENS, c.TOKEN_TYPE_OUTPUT: OUTPUT_TOKENS}
    cost: dict[str, float] = {}
    for r in query("llm-tokens-cost", "cost-over-time"):
        cost[r["model"]] = cost.get(r["model"], 0) + r["cost_usd"]
    assert cost == pytest.approx(COST, abs=1e-12)

    # exported spans: no call's tokens twice (Azure's views sum them over dependencies)
    usage_rows = store.query(
        f"{c.TABLE_LLM_SPANS} | where isnotempty(customDimensions['{c.GEN_AI_USAGE_INPUT_TOKENS}'])"
        f" | summarize rows = count() by operation_Id"
    ).to_dicts()
    assert all(r["rows"] == 1 for r in usage_rows), usage_rows
    if mode != "peer":  # sampled at 100 %: every call with usage is there, once
        assert len(usage_rows) == CALLS - ERRORS
        # the drill-down lists show each call once (the peer's span of it is counted elsewhere)
        assert len(query("llm-overview", "slowest-calls")) == CALLS
        assert len(query("llm-overview", "failed-calls")) == ERRORS
    # every failed call is listed whatever the sampler dropped (a kept span stands for itself)
    failed = query("llm-overview", "failed-calls")
    assert sorted(r["error_type"] for r in failed) == ["429", "500"]
    assert all(r["represents_calls"] == 1 for r in failed if r["kept_for"])
    # whole traces only: no exported span's parent is a span that was recorded but not exported
    deps = store.query(f"{c.TABLE_LLM_SPANS} | project id, operation_ParentId").to_dicts()
    ids = {d["id"] for d in deps}
    assert all(not d["operation_ParentId"] or d["operation_ParentId"] in ids for d in deps), deps
