"""One real framework from PyPI (``LLM_INSIGHTS_FRAMEWORK``), the kit only configured, under the
three trace samplers the kit ships: every trace kept, the dev stack's and the prod stack's (read
from ``Pulumi.dev.yaml`` / ``Pulumi.prod.yaml`` through the kit's stack reader; samplers with one
setting share one run). The app runs
``plan.py``'s workload against the fake OpenAI server in a child process; the real Azure Monitor
exporter posts to the loopback ingest server, and the workbooks' and alert rules' own KQL runs on
the local store. What the kit counts must equal the truth the server handed out, and the panels
and rules with data must be exactly those ``docs/frameworks.md`` says the source lights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_insights import contract as c

from llm_insights_kit import app_env
from llm_insights_kit.alerts import load_rules
from llm_insights_kit.alerts.evaluator import evaluate
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.dashboards import bind_parameters, iter_queries, render_workbooks
from llm_insights_kit.dashboards.workbook import SOURCES
from llm_insights_kit.fake_openai.server import FakeOpenAI
from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV, IngestServer
from llm_insights_kit.local.store import LocalStore
from llm_insights_kit.stack_config.files import read_stack_file, render_context
from llm_insights_kit.stack_config.schema import sampler_arg_text

from .conftest import FRAMEWORK_ENV
from .documented import documented_keys, documented_lit
from .plan import AGENT, Truth, runs, script

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK = os.environ.get(FRAMEWORK_ENV, "")
TOOLS = {"semantic-kernel": "drugs-lookup"}  # the name the framework gives the tool
# What each framework's telemetry describes (read in its spans, see docs/frameworks.md): agent
# runs (``invoke_agent`` spans) and tool calls (``execute_tool`` spans). The counts the kit must
# get right follow from it; which panels then have data is the documented table's.
DESCRIBES = {
    "agent-framework": {"agents", "tools"},
    "semantic-kernel": {"agents", "tools"},
    "openai-agents": {"agents", "tools"},
    "langchain": {"agents", "tools"},
    "genai-openai": set(),
}
CHILD_TIMEOUT_S = 240
# after the flush: every rule's window (PT15M and longer) still holds the workload
EVALUATE_AFTER = timedelta(minutes=6)
# The rules read customMetrics only (never sampled): they are evaluated under the sampler that
# keeps the fewest spans, where a metric lost with its span would show.
RULES_SAMPLER = "prod"
WORKBOOKS = ("llm-overview", "llm-tokens-cost", "llm-agents", "llm-rag-tools")


def _stack_sampler(stack: str) -> tuple[str, str]:
    t = read_stack_file(ROOT / f"Pulumi.{stack}.yaml").telemetry
    return t.traces_sampler, sampler_arg_text(t.traces_sampler_arg)


SAMPLERS = {
    "all": ("microsoft.fixed.percentage", sampler_arg_text(1.0)),
    "dev": _stack_sampler("dev"),
    "prod": _stack_sampler("prod"),
}
# one run per distinct setting (the dev stack keeps every trace today: "all+dev")
RUNS = {
    "+".join(n for n in SAMPLERS if SAMPLERS[n] == setting): setting
    for setting in dict.fromkeys(SAMPLERS.values())
}


@dataclass
class Ran:
    store: LocalStore
    app: dict[str, Any]  # what the app saw: runs, failed runs, tool executions
    truth: Truth
    samplers: tuple[str, ...]  # the SAMPLERS names whose setting this run used
    start: datetime
    end: datetime
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # panel → its rows

    @property
    def time_range(self) -> tuple[datetime, datetime]:
        return self.start - timedelta(minutes=1), self.end + timedelta(minutes=1)


def _panel_queries() -> list[Any]:
    return [
        q
        for wb in render_workbooks(render_context("dev"))
        for q in iter_queries(wb.serialized_data, wb.key)
        if q.workbook in WORKBOOKS
    ]


@pytest.fixture(scope="module")
def panels() -> dict[str, str]:
    return {f"{q.workbook}/{q.step}": q.query for q in _panel_queries()}


@pytest.fixture(scope="module")
def sampled_panels() -> set[str]:
    """Drill-down lists of individual kept spans: whether one of a kind was kept is the
    sampler's choice, so under a sampler that drops traces they may be empty."""
    return {
        f"{q.workbook}/{q.step}" for q in _panel_queries() if q.source == SOURCES["span-sample"]
    }


@pytest.fixture(scope="module", params=list(RUNS))
def ran(request: pytest.FixtureRequest) -> Iterator[Ran]:
    sampler, arg = RUNS[request.param]
    plan = runs(TOOLS.get(FRAMEWORK, "lookup"))
    store = LocalStore()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))
    }
    with FakeOpenAI() as fake_openai, IngestServer(store) as ingest:
        fake_openai.script(*script(plan))
        env.update(
            {
                **LOOPBACK_EXPORTER_ENV,
                c.ENV_LOCAL_ENDPOINT: ingest.url,
                "STANDIN_BASE_URL": fake_openai.base_url,
                "FRAMEWORK": FRAMEWORK,
                "PYTHONPATH": os.pathsep.join([env.get("PYTHONPATH", ""), str(ROOT / "tests")]),
                app_env.ENV_OTEL_TRACES_SAMPLER: sampler,
                app_env.ENV_OTEL_TRACES_SAMPLER_ARG: arg,
                app_env.ENV_OTEL_METRIC_EXPORT_INTERVAL: "3600000",  # only the final flush
            }
        )
        start = datetime.now(UTC)
        proc = subprocess.run(
            [sys.executable, "-m", "frameworks.child"], env=env, cwd=ROOT, capture_output=True,
            text=True, timeout=CHILD_TIMEOUT_S,
        )  # fmt: skip
        end = datetime.now(UTC)
        assert proc.returncode == 0, proc.stderr[-3000:]
        bodies = [r.body for r in fake_openai.requests]
    assert len(bodies) == len(script(plan)), "every scripted answer was asked for, no more"
    truth = Truth.of(plan, bodies)
    app = json.loads(proc.stdout.strip().splitlines()[-1])
    yield Ran(store, app, truth, tuple(request.param.split("+")), start, end)
    store.close()


def _query(ran: Ran, panels: dict[str, str], key: str) -> list[dict[str, Any]]:
    if key not in ran.rows:
        kql = bind_parameters(panels[key], ran.time_range, grain="1d")
        ran.rows[key] = ran.store.query(kql, now=ran.time_range[1], name=key).to_dicts()
    return ran.rows[key]


def test_the_app_ran_the_plan(ran: Ran) -> None:
    """The framework did what the plan says (the truth the other tests hold the kit to)."""
    t = ran.truth
    assert ran.app == {"runs": t.runs, "failed": t.failed_runs, "tools": t.tool_calls}


def test_calls_failures_tokens_and_cost(ran: Ran, panels: dict[str, str]) -> None:
    t = ran.truth
    (head,) = _query(ran, panels, "llm-overview/headline")
    assert (head["calls"], head["errors"], head["throttled"]) == (t.calls, t.errors, t.throttled)
    errors = _query(ran, panels, "llm-overview/errors-by-type")
    by_type = {r["error_type"]: r["calls"] for r in errors}
    assert by_type == {"429": t.throttled, "500": t.errors - t.throttled}
    (tok,) = _query(ran, panels, "llm-tokens-cost/headline")
    assert (tok["input_tokens"], tok["output_tokens"]) == (t.input_tokens, t.output_tokens)
    assert tok["unpriced_calls"] == 0
    # the headline rounds to 6 digits: within half a unit of the last digit
    assert tok["cost_usd"] == pytest.approx(t.cost, abs=0.5e-6 + 1e-9, rel=0)


def test_agent_runs(ran: Ran, panels: dict[str, str]) -> None:
    t = ran.truth
    rows = _query(ran, panels, "llm-agents/runs-by-agent")
    if "agents" not in DESCRIBES[FRAMEWORK]:
        assert rows == []
        return
    ((run,),) = ([r for r in rows if r["agent"] == AGENT],)
    assert (run["runs"], run["failed"]) == (t.runs, t.failed_runs)
    assert run["model_calls_per_run"] == round(t.calls / t.runs, 2)
    assert run["tool_calls_per_run"] == round(t.tool_calls / t.runs, 2)
    assert run["steps_per_run"] == round((t.calls + t.tool_calls) / t.runs, 2)
    assert [r["agent"] for r in rows] == [AGENT], "no other span counted as an agent run"

    (cost,) = _query(ran, panels, "llm-agents/cost-per-run")
    # a failed run made a call with no usage: its cost is unknown, never zero
    assert (cost["priced_runs"], cost["unknown_cost_runs"]) == (
        t.runs - t.failed_runs,
        t.failed_runs,
    )
    assert cost["cost_usd"] == pytest.approx(t.cost, abs=0.5e-6 + 1e-9, rel=0)
    ok_runs = t.runs - t.failed_runs
    assert cost["input_tokens_per_run"] == round(t.input_tokens / ok_runs, 1)


def test_tool_calls(ran: Ran, panels: dict[str, str]) -> None:
    t = ran.truth
    rows = _query(ran, panels, "llm-rag-tools/tools-summary")
    if "tools" not in DESCRIBES[FRAMEWORK]:
        assert rows == []
        return
    tool = TOOLS.get(FRAMEWORK, "lookup")
    assert [(r["tool"], r["calls"], r["errors"]) for r in rows] == [(tool, t.tool_calls, 0)]
    if "agents" in DESCRIBES[FRAMEWORK]:
        by_agent = _query(ran, panels, "llm-agents/tool-error-rate")
        assert [(r["tool"], r["agent"], r["calls"]) for r in by_agent] == [
            (tool, AGENT, t.tool_calls)
        ]


def test_exported_usage_once(ran: Ran) -> None:
    """Azure's views sum usage over ``dependencies``: the kept rows' tokens add up to no more
    than the calls' (all of them when every trace is kept), and no agent row carries usage of
    its own (the Agents view sums the spans below it)."""
    rows = ran.store.query(
        f"{c.TABLE_LLM_SPANS}"
        f" | where isnotempty(customDimensions['{c.GEN_AI_USAGE_INPUT_TOKENS}'])"
        f" | project op = tostring(customDimensions['{c.GEN_AI_OPERATION_NAME}']),"
        f" tokens = tolong(customDimensions['{c.GEN_AI_USAGE_INPUT_TOKENS}']), itemCount"
    ).to_dicts()
    assert [r for r in rows if r["op"] == c.OPERATION_INVOKE_AGENT] == []
    kept = sum(r["tokens"] for r in rows)
    if "all" in ran.samplers:
        assert kept == ran.truth.input_tokens
    assert kept <= ran.truth.input_tokens


def test_whole_traces_only(ran: Ran) -> None:
    """No exported span's parent is a span that was recorded but not exported — except a span
    kept for its failure or slowness (``llm_insights.kept_for``), which comes without the rest of
    the trace the head sampler dropped."""
    deps = ran.store.query(
        f"{c.TABLE_LLM_SPANS} | project id, operation_ParentId, "
        f'kept = tostring(customDimensions["{c.ATTR_KEPT_FOR}"])'
    ).to_dicts()
    ids = {d["id"] for d in deps}
    orphans = [
        d
        for d in deps
        if d["operation_ParentId"] and d["operation_ParentId"] not in ids and not d["kept"]
    ]
    assert orphans == []


def test_panels_and_rules_with_data_are_the_documented_ones(
    ran: Ran, panels: dict[str, str], sampled_panels: set[str]
) -> None:
    """Measured, not assumed: the panels and rules that have data are exactly those
    ``docs/frameworks.md`` marks for this source."""
    lit = {key for key in panels if _query(ran, panels, key)}
    documented = documented_lit(FRAMEWORK)
    rules = {rule.name: rule for rule in load_rules(RenderContext())}
    assert documented_keys(FRAMEWORK) == set(panels) | set(rules), "one row per panel and rule"
    if RULES_SAMPLER in ran.samplers:
        at = ran.end + EVALUATE_AFTER
        for name, rule in rules.items():
            if any(d.value is not None for d in evaluate(ran.store, rule, at)):
                lit.add(name)
    else:
        documented -= set(rules)
    if "all" not in ran.samplers:
        documented -= sampled_panels - lit
    print(f"{FRAMEWORK} ({'+'.join(ran.samplers)}): lit {sorted(lit)}")
    assert (sorted(lit - documented), sorted(documented - lit)) == ([], [])
