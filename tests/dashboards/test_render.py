"""Workbook rendering: deterministic, golden-checked, Notebook/1.0, the panels on-call needs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from llm_insights import contract

from llm_insights_kit import emitted
from llm_insights_kit.alerts import load_rules
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.dashboards import (
    iter_queries,
    render_workbook,
    render_workbooks,
    with_fallback_resource,
)
from llm_insights_kit.dashboards.lint import lint_workbook
from llm_insights_kit.errors import KitError
from llm_insights_kit.kql import templates
from llm_insights_kit.paths import ALERTS_DIR, TEMPLATES_DIR
from llm_insights_kit.tables import TABLES

from .conftest import GOLDEN_CTX

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LLM_INSIGHTS_UPDATE_GOLDEN") == "1"
EXPECTED_KEYS = [
    "llm-agents",
    "llm-drift",
    "llm-overview",
    "llm-quality-safety",
    "llm-rag-tools",
    "llm-tokens-cost",
]


def _check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    assert path.exists(), (
        f"{path} missing: run LLM_INSIGHTS_UPDATE_GOLDEN=1 pytest tests/dashboards"
    )
    assert path.read_text(encoding="utf-8") == text + "\n", (
        f"{path.name} differs from the render; review the diff, then regenerate with "
        "LLM_INSIGHTS_UPDATE_GOLDEN=1 pytest tests/dashboards/test_render.py"
    )


def test_workbook_keys_sorted_and_complete(golden_workbooks):
    assert [w.key for w in golden_workbooks] == EXPECTED_KEYS


def test_rendering_is_deterministic(golden_workbooks):
    again = render_workbooks(GOLDEN_CTX)
    assert [w.serialized_data for w in again] == [w.serialized_data for w in golden_workbooks]
    for wb in golden_workbooks:
        data = json.loads(wb.serialized_data)
        assert wb.serialized_data == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("key", EXPECTED_KEYS)
def test_workbook_matches_golden(golden_workbooks, key):
    wb = next(w for w in golden_workbooks if w.key == key)
    _check_golden(GOLDEN / f"{key}.json", wb.serialized_data)


def test_alert_rules_match_golden():
    for rule in load_rules(RenderContext()):
        text = json.dumps(rule.arm_properties(), sort_keys=True, indent=2, ensure_ascii=False)
        _check_golden(GOLDEN / "alerts" / f"{rule.name}.json", text)


def test_golden_has_no_stale_files(golden_workbooks):
    names = {f"{w.key}.json" for w in golden_workbooks}
    assert {p.name for p in GOLDEN.glob("*.json")} == names
    rules = {f"{r.name}.json" for r in load_rules(RenderContext())}
    assert {p.name for p in (GOLDEN / "alerts").glob("*.json")} == rules


def test_every_workbook_passes_lint(golden_workbooks):
    problems = [
        str(p) for wb in golden_workbooks for p in lint_workbook(wb.key, wb.serialized_data)
    ]
    assert problems == []


def test_workbook_conventions(golden_workbooks):
    for wb in golden_workbooks:
        nb = json.loads(wb.serialized_data)
        assert nb["version"] == "Notebook/1.0"
        assert wb.display_name and wb.description
        params = next(i for i in nb["items"] if i["type"] == 9)["content"]["parameters"]
        by_name = {p["name"]: p for p in params}
        assert by_name["TimeRange"]["type"] == 4
        panels = " ".join(q.query for q in iter_queries(nb, wb.key) if q.kind == "panel")
        for name in ("Model", "Deployment", "Operation"):
            if f"{{{name}}}" not in panels:  # a filter appears only where a panel reads it
                assert name not in by_name, f"{wb.key}: unused dropdown {name}"
                continue
            assert by_name[name]["type"] == 2 and by_name[name]["query"] and by_name[name]["label"]
            assert by_name[name]["crossComponentResources"] == ["{Resource}"]
        assert by_name["Resource"]["type"] == 5 and by_name["Resource"]["value"] == "value::1"
        assert nb["fallbackResourceIds"] == []  # a local render has no component; deploy fills it
        for q in iter_queries(nb, wb.key):
            if q.kind == "panel":
                assert q.source, f"{wb.key}/{q.step} has no source note"
                assert q.visualization in {"table", "timechart", "barchart", "tiles"}
        assert not re.search(r"/subscriptions/[0-9a-f-]{36}", wb.serialized_data)


def test_ids_are_stable_per_key_and_step(golden_workbooks):
    ids = [
        p["id"]
        for wb in golden_workbooks
        for item in json.loads(wb.serialized_data)["items"]
        if item["type"] == 9
        for p in item["content"]["parameters"]
    ]
    assert len(ids) == len(set(ids))  # unique across workbooks, and unchanged by the golden test


def test_overview_answers_the_on_call_questions(golden_workbooks):
    wb = next(w for w in golden_workbooks if w.key == "llm-overview")
    steps = {q.step: q for q in iter_queries(wb.serialized_data, wb.key)}
    assert {"call-rate", "error-rate", "errors-by-type", "latency-percentiles", "ttft-percentiles",
            "slowest-calls"} <= set(steps)  # fmt: skip
    assert all(p in steps["latency-percentiles"].query for p in ("p50", "p95", "p99"))
    assert all(p in steps["ttft-percentiles"].query for p in ("p50", "p95"))
    assert "operation_Id" in steps["slowest-calls"].query
    assert "itemCount" in steps["slowest-calls"].query
    assert '"429"' in steps["errors-by-type"].query
    assert contract.ERROR_TYPE in steps["errors-by-type"].query
    assert "/applicationMap" in wb.serialized_data and "/quickPulse" in wb.serialized_data


def test_counts_come_from_metrics_not_sampled_spans(golden_workbooks):
    """Totals/rates read customMetrics; span panels are drill-downs labelled as samples."""
    for wb in golden_workbooks:
        for q in iter_queries(wb.serialized_data, wb.key):
            if contract.TABLE_LLM_SPANS in q.query and q.kind == "panel":
                assert "sampled" in q.source, f"{wb.key}/{q.step}"
                assert "itemCount" in q.query, f"{wb.key}/{q.step} must weight or show itemCount"


def test_budget_comes_from_the_stack():
    with_budget = render_workbook("llm-tokens-cost", RenderContext(daily_budget_usd=42.5))
    without = render_workbook("llm-tokens-cost", RenderContext())
    assert "budget_usd = 42.5" in with_budget.serialized_data
    assert "budget_usd" not in without.serialized_data
    assert "No daily budget is configured" in without.serialized_data


def _template_sources() -> list[Path]:
    return sorted([*TEMPLATES_DIR.rglob("*.j2"), *ALERTS_DIR.glob("*.yaml")])


def test_templates_take_names_from_the_contract_only():
    """No metric name, attribute key, event name or table name typed as a literal in templates."""
    names = {m.name for m in contract.METRICS} | set(emitted.ATTRIBUTES) | set(emitted.EVENTS)
    tables = set(TABLES)
    literal = re.compile(r"""["']([A-Za-z_][\w.]*)["']""")
    offenders = []
    for path in _template_sources():
        text = path.read_text(encoding="utf-8")
        for m in literal.finditer(text):
            if m.group(1) in names:
                offenders.append(f"{path.name}: {m.group(0)}")
        for table in tables:
            # a table name as a bare word in KQL (outside Jinja and prose): "customMetrics\n|"
            if re.search(rf"^\s*{table}\s*$|\(\s*{table}\s*\|", text, re.M):
                offenders.append(f"{path.name}: table {table}")
    assert offenders == []


def test_undefined_contract_name_fails_rendering():
    with pytest.raises(KitError, match="NOT_A_METRIC"):
        templates.render_string(
            "{{ k.metric(c.NOT_A_METRIC) }}", "alerts/x.yaml: rule x: query", {"workbook": False}
        )


def test_rag_tools_offers_no_model_filters(golden_workbooks):
    """Its panels read retrieval and tool metrics, which carry no model/deployment dimension
    (every workbook filters by service)."""
    nb = json.loads(next(w for w in golden_workbooks if w.key == "llm-rag-tools").serialized_data)
    params = next(i for i in nb["items"] if i["type"] == 9)["content"]["parameters"]
    assert [p["name"] for p in params] == ["TimeRange", "Resource", "Service"]


def test_every_query_runs_against_the_resource_parameter(golden_workbooks):
    def walk(items):
        for item in items:
            yield item
            if item["type"] == 12:
                yield from walk(item["content"]["items"])

    for wb in golden_workbooks:
        nb = json.loads(wb.serialized_data)
        for item in walk(nb["items"]):
            if item["type"] == 3:
                assert item["content"]["crossComponentResources"] == ["{Resource}"], item["name"]


COMPONENT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG-x/providers/"
    "Microsoft.Insights/components/appi-X"
)


def test_with_fallback_resource_sets_the_lowercase_component(golden_workbooks):
    wb = golden_workbooks[0]
    deployed = with_fallback_resource(wb.serialized_data, COMPONENT)
    nb = json.loads(deployed)
    assert nb["fallbackResourceIds"] == [COMPONENT.lower()]
    nb["fallbackResourceIds"] = []
    assert json.dumps(nb, sort_keys=True, indent=2, ensure_ascii=False) == wb.serialized_data


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "appi-x",
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"
        "Microsoft.OperationalInsights/workspaces/log-x",
    ],
)
def test_with_fallback_resource_rejects_what_is_not_a_component(golden_workbooks, bad):
    with pytest.raises(ValueError, match="not an Application Insights component id"):
        with_fallback_resource(golden_workbooks[0].serialized_data, bad)
