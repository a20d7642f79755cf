"""Queries read only names the SDK emits: a renamed metric or moved attribute fails here."""

from __future__ import annotations

import pytest
from llm_insights import contract

from llm_insights_kit import emitted
from llm_insights_kit.alerts import load_rules
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.dashboards import iter_queries
from llm_insights_kit.kql.names import check_query, names_read


def _all_queries(workbooks):
    found = [
        (f"{w.key}/{q.step}", q.query)
        for w in workbooks
        for q in iter_queries(w.serialized_data, w.key)
    ]
    found += [(r.name, r.query) for r in load_rules(RenderContext())]
    return found


def test_every_query_reads_only_contract_names(golden_workbooks):
    queries = _all_queries(golden_workbooks)
    assert len(queries) >= 70
    problems = [str(p) for where, q in queries for p in check_query(where, q)]
    assert problems == []


def test_names_read_finds_attributes_and_metric_names():
    q = """customMetrics
    | where name in ("a.b", 'c.d') or name == @"e.f"
    // customDimensions["in.a.comment"]
    | extend x = tostring(customDimensions["gen_ai.request.model"])
    | extend y = customMeasurements['m.x']"""
    read = names_read(q)
    assert read.names == ("a.b", "c.d", "e.f")
    assert read.attributes == ("gen_ai.request.model", "m.x")
    assert read.tables == ("customMetrics",)


@pytest.mark.parametrize(
    ("query", "kind", "name"),
    [
        ('customMetrics | where name == "gen_ai.client.operation.duraton"', "metric-or-event",
         "gen_ai.client.operation.duraton"),
        ('customEvents | where name == "gen_ai.evaluation.reslt"', "metric-or-event",
         "gen_ai.evaluation.reslt"),
        ('dependencies | extend m = customDimensions["gen_ai.request.modle"]', "attribute",
         "gen_ai.request.modle"),
        # a real attribute the metric does not carry: the panel would be empty forever
        ('customMetrics | where name == "gen_ai.client.operation.duration" '
         '| summarize by t = tostring(customDimensions["gen_ai.tool.name"])', "dimension",
         "gen_ai.tool.name"),
    ],
)  # fmt: skip
def test_unknown_names_are_caught(query, kind, name):
    problems = check_query("q", query)
    assert [(p.kind, p.name) for p in problems] == [(kind, name)]


def test_span_queries_must_not_read_error_type():
    q = 'dependencies | where isnotempty(tostring(customDimensions["error.type"]))'
    (problem,) = check_query("q", q)
    assert problem.name == contract.ERROR_TYPE and contract.ATTR_ERROR_TYPE in problem.problem


def test_sdk_no_longer_emitting_a_metric_breaks_the_check(golden_workbooks, monkeypatch):
    """Simulate the SDK renaming the duration metric: every query still reading it is reported."""
    renamed = contract.OPERATION_DURATION.name + ".v2"
    by_name = dict(emitted.METRICS_BY_NAME)
    spec = by_name.pop(contract.OPERATION_DURATION.name)
    by_name[renamed] = spec
    monkeypatch.setattr(emitted, "METRICS_BY_NAME", by_name)
    problems = [p for where, q in _all_queries(golden_workbooks) for p in check_query(where, q)]
    wheres = {p.where for p in problems}
    assert "llm-overview/call-rate" in wheres and "llm-error-rate-high" in wheres
    assert all(p.name == contract.OPERATION_DURATION.name for p in problems)


def test_sdk_dropping_an_attribute_breaks_the_check(golden_workbooks, monkeypatch):
    monkeypatch.setattr(
        emitted,
        "ATTRIBUTES",
        tuple(a for a in emitted.ATTRIBUTES if a != contract.ATTR_DEPLOYMENT),
    )
    problems = [p for where, q in _all_queries(golden_workbooks) for p in check_query(where, q)]
    assert problems and {p.name for p in problems} == {contract.ATTR_DEPLOYMENT}
    assert "llm-throttling" in {p.where for p in problems}
