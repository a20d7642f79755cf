"""Cost truth end to end: a workload with known billing — OpenAI and Azure paths, dated versions
(one priced apart), Azure's model router, an unknown served model, reasoning and cached tokens, a
Data Zone deployment priced by an override file, a provisioned (PTU) deployment — goes through
the REAL openai client, SDK and exporter into the local store; the tokens-and-cost panels and the
cost and unpriced-model rules must show the bill to 1e-6 USD and the exact counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from llm_insights import contract as c

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.alerts.evaluator import evaluate
from llm_insights_kit.artifacts import RenderContext

from .conftest import Ran, TruthHarness
from .test_workbook_truth import SHIPPED_SOURCE, rows, run_query
from .truth_plan import (
    OVERRIDE_VERSION,
    PTU,
    ROUTER,
    SERVICE,
    UNKNOWN_SERVED,
    CostTruth,
    cost_workload,
)

pytestmark = [pytest.mark.e2e]
USD = 1e-6  # the bar; the panels round to 1e-6, so allow one rounding step
PTU_TYPE = c.DEPLOYMENT_TYPES_PROVISIONED[-1]


@pytest.fixture(scope="module")
def cost_run(truth_harness: TruthHarness) -> tuple[Ran, CostTruth]:
    workload, truth = cost_workload()
    ran = truth_harness.run(workload)
    assert [m["error"] for m in ran.measured] == [None] * len(workload.calls)
    return ran, truth


@pytest.fixture(scope="module")
def panels() -> dict[str, str]:
    from llm_insights_kit.dashboards import iter_queries, render_workbooks
    from llm_insights_kit.stack_config.files import render_context

    (wb,) = [w for w in render_workbooks(render_context("dev")) if w.key == "llm-tokens-cost"]
    return {q.step: q.query for q in iter_queries(wb.serialized_data, wb.key)}


def panel(name: str, cost_run: tuple[Ran, CostTruth], panels: dict[str, str]) -> list[dict]:
    return rows(run_query(cost_run[0], panels[name], f"llm-tokens-cost/{name}"))


def test_headline_shows_the_bill(cost_run, panels) -> None:
    _, t = cost_run
    (row,) = panel("headline", cost_run, panels)
    assert row["cost_usd"] == pytest.approx(t.cost, abs=USD)
    assert row["unpriced_calls"] == sum(t.unpriced.values()) == 5
    assert row["input_tokens"] == sum(r.input_tokens for r in t.rows.values())


def test_by_model_prices_what_was_served(cost_run, panels) -> None:
    _, t = cost_run
    got = {
        (r["model"], r["deployment"], r["deployment_type"]): r
        for r in panel("by-model", cost_run, panels)
    }
    assert set(got) == set(t.rows)
    for key, want in t.rows.items():
        r = got[key]
        assert (r["calls_with_usage"], r["input_tokens"], r["output_tokens"]) == (
            want.calls, want.input_tokens, want.output_tokens
        ), key  # fmt: skip
        if key[2] == PTU_TYPE:
            assert r["cost_usd"] is None, "PTU: no per-token cost"
        else:
            assert r["cost_usd"] == pytest.approx(want.cost, abs=USD), key
    # the router: one row per served model, each at its own price
    routed = {k[0] for k in t.rows if k[1] == ROUTER}
    assert len(routed) == 3
    # the unknown served model has tokens and no cost — never gpt-4o's
    assert got[(UNKNOWN_SERVED, "", "")]["cost_usd"] == 0


def test_unpriced_panel_and_rule_name_the_served_model(cost_run, panels) -> None:
    ran, t = cost_run
    got = panel("unpriced-models", cost_run, panels)
    assert [(r["model"], r["response_model"], r["unpriced_calls"]) for r in got] == [
        ("gpt-4o", UNKNOWN_SERVED, t.unpriced[UNKNOWN_SERVED])
    ]
    rules = {r.name: r for r in load_rules(RenderContext())}
    (e,) = evaluate(ran.store, rules["llm-unpriced-model"], ran.end + timedelta(minutes=1))
    assert e.condition_met and e.labels == {"cloud_RoleName": SERVICE, "model": UNKNOWN_SERVED}
    assert e.value == t.unpriced[UNKNOWN_SERVED] == 5


def test_cost_rule_measures_the_bill(cost_run) -> None:
    ran, t = cost_run
    rules = {r.name: r for r in load_rules(RenderContext())}
    (e,) = evaluate(ran.store, rules["llm-cost-spike"], ran.end + timedelta(minutes=1))
    assert e.value == pytest.approx(t.cost, abs=1e-9)  # the rule does not round


def test_deployment_types_and_ptu_apart(cost_run, panels) -> None:
    _, t = cost_run
    got = {r["deployment_type"]: r for r in panel("by-deployment-type", cost_run, panels)}
    ptu = got[PTU_TYPE]
    assert ptu["billing"] == "per hour (PTU): no per-token cost" and ptu["cost_usd"] is None
    want = t.rows[("gpt-4o-2024-11-20", PTU, PTU_TYPE)]
    assert (ptu["input_tokens"], ptu["output_tokens"]) == (want.input_tokens, want.output_tokens)
    dz = got[c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD]
    assert dz["cost_usd"] == pytest.approx(
        sum(r.cost for k, r in t.rows.items() if k[2] == c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD),
        abs=USD,
    )
    assert set(got) == {
        PTU_TYPE,
        c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD,
        c.DEPLOYMENT_TYPE_GLOBAL_STANDARD,
        "(not in the deployment map: list price)",
    }


def test_price_data_panel_names_each_source(cost_run, panels) -> None:
    _, t = cost_run
    got = {r["price_source"]: r["cost_usd"] for r in panel("price-sources", cost_run, panels)}
    want: dict[str, Any] = {
        SHIPPED_SOURCE: t.by_source["shipped"],
        f"override {OVERRIDE_VERSION}": t.by_source[OVERRIDE_VERSION],
    }
    assert set(got) == set(want)
    for source, usd in want.items():
        assert got[source] == pytest.approx(usd, abs=USD), source


def test_spans_carry_reasoning_tokens_and_the_ptu_marker(cost_run) -> None:
    ran, _ = cost_run
    q = f"""{c.TABLE_LLM_SPANS}
| extend reasoning = toint(customDimensions["{c.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS}"]),
         output = toint(customDimensions["{c.GEN_AI_USAGE_OUTPUT_TOKENS}"]),
         ptu = tostring(customDimensions["{c.ATTR_PROVISIONED}"]),
         reason = tostring(customDimensions["{c.ATTR_UNPRICED_REASON}"]),
         deployment = tostring(customDimensions["{c.ATTR_DEPLOYMENT}"])
| project reasoning, output, ptu, reason, deployment"""
    spans = ran.store.query(q, now=ran.end).to_dicts()
    assert spans, "25 % of traces are kept"
    for s in spans:
        if s["reasoning"] is not None:
            assert 0 <= s["reasoning"] <= s["output"]
        assert (s["ptu"] == "True") == (s["deployment"] == PTU)
        if s["reason"]:
            assert UNKNOWN_SERVED in s["reason"]
