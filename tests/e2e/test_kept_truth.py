"""Truth test: every failure and the true slowest calls reach the drill-downs under the samplers
the stacks ship (prod: rate-limited 5 traces/s; staging: 10/s) and the distro's default, through
the REAL SDK, openai client and Azure Monitor exporter, with every count unchanged; an
all-failing burst stays within the stack's cap, and the overview says what the cap left out.

The child (``kept_child.py``) gets exactly the environment the stack gives its Container App
(``app_telemetry_env``); its calls go out in a burst of 16 at a time, so the rate-limited
sampler drops most traces.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_insights import contract as c

from llm_insights_kit import app_env
from llm_insights_kit.dashboards import bind_parameters, iter_queries, render_workbooks
from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV, IngestServer
from llm_insights_kit.local.store import LocalStore
from llm_insights_kit.stack_config.files import read_stack_file, render_context
from llm_insights_kit.stack_config.schema import app_telemetry_env

from . import kept_child as plan

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("kept_child.py")
CLOCK_SLACK_S = 0.05  # the client's clock against the SDK's (as in the workbook truth tests)
BURST = 80


@dataclass
class Run:
    store: LocalStore
    measured: list[dict[str, Any]]
    start: datetime
    end: datetime
    env: dict[str, str]

    def panel(self, workbook: str, step: str) -> list[dict[str, Any]]:
        (query,) = [q.query for q in PANELS if (q.workbook, q.step) == (workbook, step)]
        time_range = (self.start - timedelta(minutes=1), self.end + timedelta(minutes=1))
        kql = bind_parameters(query, time_range, grain="1d")
        return self.store.query(kql, now=time_range[1], name=step).to_dicts()

    def rows(self, kql: str) -> list[dict[str, Any]]:
        return self.store.query(kql).to_dicts()


PANELS = [
    q
    for wb in render_workbooks(render_context("prod"))
    for q in iter_queries(wb.serialized_data, wb.key)
]


def stack_env(stack: str | None) -> dict[str, str]:
    """What the stack's Container App gets (None: an app on the distro's defaults)."""
    if stack is None:
        return {}
    settings = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return app_telemetry_env(settings.environment, settings.telemetry)


def run_child(stack: str | None, mode: str, arg: float, tmp: Path) -> Run:
    store = LocalStore()
    stack_settings = stack_env(stack)
    with IngestServer(store) as ingest:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_", "LLM_INSIGHTS_"))
        }
        env.update(stack_settings)
        env.update(LOOPBACK_EXPORTER_ENV)
        env[c.ENV_LOCAL_ENDPOINT] = ingest.url
        env[app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL] = "3600000"  # the flush exports them, once
        start = datetime.now(UTC)
        proc = subprocess.run(
            [sys.executable, str(CHILD), mode, str(arg)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        end = datetime.now(UTC)
    (tmp / f"{stack}-{mode}.log").write_text(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-3000:]
    measured = json.loads(proc.stdout.strip().splitlines()[-1])
    return Run(store, measured, start, end, stack_settings)


def slow_seconds(stack: str | None) -> float:
    env = stack_env(stack)
    return float(env.get(c.ENV_KEEP_SLOW_SECONDS, c.DEFAULT_KEEP_SLOW_SECONDS))


@pytest.fixture(
    scope="module", params=["prod", "staging", None], ids=["prod", "staging", "default"]
)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    stack = request.param
    ran = run_child(stack, "workload", slow_seconds(stack), tmp_path_factory.mktemp("kept"))
    yield stack, ran
    ran.store.close()


def _chat_spans(ran: Run) -> list[dict[str, Any]]:
    return ran.rows(
        f"{c.TABLE_LLM_SPANS} | where tostring(customDimensions['{c.GEN_AI_OPERATION_NAME}']) "
        f"== '{c.OPERATION_CHAT}' | project kept_for = tostring(customDimensions"
        f"['{c.ATTR_KEPT_FOR}']), itemCount, success, duration"
    )


def test_the_sampler_dropped_traces_and_counts_stay_exact(run: tuple[Any, Run]) -> None:
    _, ran = run
    calls = len(ran.measured) + plan.AGENT_RUNS
    errors = sum(1 for m in ran.measured if m["error"])
    assert errors == sum(plan.FAILURES.values()) + plan.BROKEN_STREAMS
    spans = _chat_spans(ran)
    sampled = [s for s in spans if not s["kept_for"]]
    assert len(sampled) < calls / 2, "the head sampler kept most traces: nothing to prove"
    assert all(s["itemCount"] == 1 for s in spans if s["kept_for"])  # each kept span: itself
    (headline,) = ran.panel("llm-overview", "headline")
    assert (headline["calls"], headline["errors"]) == (calls, errors)
    assert ran.panel("llm-overview", "not-kept") == []  # nothing capped at this volume


def test_every_failed_call_is_listed(run: tuple[Any, Run]) -> None:
    _, ran = run
    got = ran.panel("llm-overview", "failed-calls")
    by_type = {r["error_type"]: r["calls"] for r in ran.panel("llm-overview", "errors-by-type")}
    assert Counter(r["error_type"] for r in got) == by_type  # every failure: one row each
    assert len(got) == sum(1 for m in ran.measured if m["error"])
    for r in got:
        if r["kept_for"]:
            assert (r["kept_for"], r["represents_calls"]) == (c.KEPT_FOR_ERROR, 1)
    assert any(r["kept_for"] for r in got), "no failure needed keeping: nothing proved"


def test_the_slowest_calls_are_the_true_slowest(run: tuple[Any, Run]) -> None:
    stack, ran = run
    threshold = slow_seconds(stack)
    slow = sorted(
        (m["duration"] for m in ran.measured if m["id"].startswith("slow-")), reverse=True
    )
    assert len(slow) == plan.SLOW and min(slow) > threshold
    got = ran.panel("llm-overview", "slowest-calls")
    top = [r["duration_ms"] / 1000 for r in got[: plan.SLOW]]
    assert top == pytest.approx(slow, abs=CLOCK_SLACK_S)
    assert all(r["duration_ms"] / 1000 <= threshold for r in got[plan.SLOW :])
    assert {r["kept_for"] for r in got[: plan.SLOW]} <= {"", c.KEPT_FOR_SLOW}


def test_the_failed_agent_run_is_listed(run: tuple[Any, Run]) -> None:
    _, ran = run
    (row,) = ran.panel("llm-agents", "failed-runs")
    assert (row["agent"], row["success"], row["error_type"]) == (
        plan.AGENT,
        False,
        plan.AgentGaveUp.__name__,
    )
    assert row["represents"] == (1 if row["kept_for"] else row["represents"])
    (runs,) = ran.panel("llm-agents", "runs-by-agent")
    assert (runs["runs"], runs["failed"]) == (plan.AGENT_RUNS, 1)


def test_an_all_failing_burst_stays_within_the_cap(tmp_path: Path) -> None:
    ran = run_child("prod", "burst", BURST, tmp_path)
    try:
        cap = int(ran.env[c.ENV_KEEP_PER_MINUTE])
        assert 2 * cap < BURST
        spans = _chat_spans(ran)
        kept = [s for s in spans if s["kept_for"]]
        sampled = [s for s in spans if not s["kept_for"]]
        assert len(kept) == min(cap, BURST - len(sampled))  # the burst took well under a minute
        (not_kept,) = ran.panel("llm-overview", "not-kept")
        assert (not_kept["kept_for"], not_kept["error_type"], not_kept["model"]) == (
            c.KEPT_FOR_ERROR,
            "503",
            plan.BURST_MODEL,
        )
        assert len(kept) + len(sampled) + not_kept["not_kept"] == BURST  # every call accounted
        (headline,) = ran.panel("llm-overview", "headline")
        assert headline["calls"] == headline["errors"] == BURST
    finally:
        ran.store.close()
