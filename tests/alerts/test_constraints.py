# ruff: noqa: E501  (table-driven cases read best one per line)
"""Every row of the Azure constraint table, broken once by a rule and (where overridable) by a
stack override: the message names the file, rule, field, constraint id and its source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.alerts import schema as s
from llm_insights_kit.alerts.constraints import BY_ID, CONSTRAINTS, WINDOW_MINUTES
from llm_insights_kit.alerts.durations import iso_duration
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.errors import KitError
from llm_insights_kit.kql import service
from llm_insights_kit.kql.templates import tidy
from llm_insights_kit.paths import KIT_ROOT
from llm_insights_kit.stack_config.files import render_context

MODEL = 'tostring(customDimensions["gen_ai.request.model"])'
BASE_QUERY = f"customMetrics\n| summarize v = sum(valueSum) by model = {MODEL}"
TIMED_QUERY = f"customMetrics\n| summarize v = sum(valueSum) by model = {MODEL}, timestamp = bin(timestamp, 5m)"
BASE: dict[str, Any] = {
    "name": "t-rule",
    "description": "A rule to break.",
    "severity": 2,
    "route": "warning",
    "evaluationFrequency": "PT5M",
    "windowSize": "PT15M",
    "query": BASE_QUERY,
    "timeAggregation": "Maximum",
    "metricMeasureColumn": "v",
    "operator": "GreaterThan",
    "threshold": 1,
    "dimensions": [{"name": "model", "operator": "Include", "values": ["*"]}],
}


def write_rule(directory: Path, **changes: Any) -> Path:
    rule = {**BASE, **changes}
    for key in [k for k, v in rule.items() if v is ...]:
        del rule[key]
    directory.mkdir(exist_ok=True)
    (directory / "mine.yaml").write_text(yaml.safe_dump({"rules": [rule]}), encoding="utf-8")
    return directory


def _query(tail: str, head: str = BASE_QUERY) -> str:
    return head + "\n" + tail


# constraint id -> rule changes that break it (one case per row; a few rows get two)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("window-size", {"windowSize": "PT20M"}, 'windowSize = "PT20M": one of PT1M'),
    ("window-pt1m", {"windowSize": "PT1M"}, "PT1M is allowed only with evaluationFrequency PT1M"),
    ("frequency-set", {"evaluationFrequency": "PT2M"}, 'evaluationFrequency = "PT2M": one of PT1M'),
    ("failing-periods", {"failingPeriods": {"numberOfEvaluationPeriods": 7}}, "numberOfEvaluationPeriods = 7: must be an integer 1-6"),
    ("failing-periods", {"failingPeriods": {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 3}}, "minFailingPeriodsToAlert = 3: must be an integer from 1 to numberOfEvaluationPeriods (2)"),
    ("frequency-within-lookback", {"evaluationFrequency": "PT1H", "windowSize": "PT5M"}, "must be at most windowSize x numberOfEvaluationPeriods (PT5M x 1)"),
    ("lookback-48h", {"windowSize": "P2D", "evaluationFrequency": "P1D", "autoMitigate": False, "failingPeriods": {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 1}, "query": TIMED_QUERY}, "must be at most P2D"),
    ("mute-excludes-auto-mitigate", {"muteActionsDuration": "PT1H", "autoMitigate": True}, "cannot be combined with autoMitigate: true"),
    ("frequency-within-mute", {"autoMitigate": False, "muteActionsDuration": "PT5M", "evaluationFrequency": "PT15M"}, 'evaluationFrequency = "PT15M": must be at most muteActionsDuration (PT5M)'),
    ("stateful-frequency", {"evaluationFrequency": "P1D", "windowSize": "P1D", "autoMitigate": True}, "cannot run less often than every 12 hours"),
    ("measure-with-aggregation", {"timeAggregation": "Count"}, "not allowed with timeAggregation Count"),
    ("measure-with-aggregation", {"metricMeasureColumn": ...}, "required with timeAggregation Maximum"),
    ("dimension-count", {"dimensions": [{"name": f"d{i}"} for i in range(7)]}, "dimensions = 7: at most 6 dimensions"),
    ("properties-64kb", {"description": "word " * 14000}, "rule properties must be at most 64 KB"),
    ("query-compiles", {"query": _query("| where nosuch > 1")}, "KS142 The name 'nosuch' does not refer"),
    ("query-tabular", {"query": "let x = 1;"}, "the query must end in a tabular expression"),
    ("no-search-union", {"query": _query(f"| union (customMetrics | summarize v = sum(valueSum) by model = {MODEL})")}, 'query = "union": the union operator is not supported'),
    ("no-search-union", {"query": 'search "gen_ai" | summarize v = count() by model = "x"'}, 'query = "search": the search operator is not supported'),
    ("no-bag-unpack-pivot-narrow", {"query": _query("| evaluate pivot(model)")}, 'query = "evaluate pivot()": not supported'),
    ("no-bag-unpack-pivot-narrow", {"query": "customMetrics | evaluate bag_unpack(customDimensions) | summarize v = sum(valueSum) by model = name"}, 'query = "evaluate bag_unpack()"'),
    ("pt1m-operators", {"evaluationFrequency": "PT1M", "windowSize": "PT1M", "query": _query("| take 10")}, 'query = "take": not supported at evaluationFrequency PT1M'),
    ("aggregated-value-reserved", {"query": _query("| extend AggregatedValue = v")}, 'query = "AggregatedValue": a reserved word'),
    ("ago-literal", {"query": f'customMetrics\n| where timestamp > ago(totimespan("1h"))\n| summarize v = sum(valueSum) by model = {MODEL}'}, "ago() takes a timespan literal only"),
    ("periods-need-time-column", {"failingPeriods": {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 2}}, "needs exactly one datetime column in the query result"),
    ("periods-need-time-column", {"failingPeriods": {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 2}, "query": _query("| extend t2 = now()", TIMED_QUERY)}, "(result columns: model:string, timestamp:datetime, v:real, t2:datetime)"),
    ("dimension-columns", {"dimensions": [{"name": "tenant"}]}, 'dimensions[0].name = "tenant": the query must produce this column (result columns: model:string, v:real)'),
    ("dimension-columns", {"query": TIMED_QUERY, "dimensions": [{"name": "timestamp"}]}, "a dimension must be a string or numeric column, not datetime"),
    ("measure-column", {"metricMeasureColumn": "share"}, 'metricMeasureColumn = "share": the query must produce this column'),
    ("measure-column", {"metricMeasureColumn": "model"}, "the measure must be a numeric column, not string"),
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _one_language_service_run():
    """Analyse every case's query in one node run (the service caches by text), not one each."""
    texts = {BASE_QUERY, TIMED_QUERY, _query("| take 5")}
    texts |= {c["query"] for _, c, _ in CASES if "query" in c}
    service.analyze([service.KqlQuery("warm-up", tidy(t)) for t in sorted(texts)])


@pytest.mark.parametrize(("constraint", "changes", "expect"), CASES)
def test_each_constraint_rejects_a_rule_that_breaks_it(tmp_path, constraint, changes, expect):
    write_rule(tmp_path / "rules", **changes)
    with pytest.raises(KitError) as info:
        load_rules(RenderContext(), rules_dir=tmp_path / "rules")
    message = str(info.value)
    assert "mine.yaml: rule t-rule: " in message
    assert expect in message
    source = BY_ID[constraint].source
    assert f"[Azure constraint {constraint}; source: {source}]" in message


def test_every_constraint_has_a_breaking_case():
    assert {c for c, _, _ in CASES} == {c.id for c in CONSTRAINTS}
    assert all(c.source and c.rule for c in CONSTRAINTS)


def test_the_base_rule_and_words_inside_literals_and_comments_pass(tmp_path):
    (rule,) = load_rules(RenderContext(), rules_dir=write_rule(tmp_path / "ok"))
    assert rule.name == "t-rule"
    tricky = (
        "// union search take AggregatedValue evaluate pivot()\n"
        'customMetrics\n| where name != "union" and name != "search | take 1"\n'
        "| where timestamp > ago(1h)\n"
        f"| summarize v = sum(valueSum) by model = {MODEL}"
    )
    write_rule(tmp_path / "ok", query=tricky, evaluationFrequency="PT1M", windowSize="PT1M")
    assert load_rules(RenderContext(), rules_dir=tmp_path / "ok")


def test_window_sizes_are_the_services_granularities():
    """schema.WINDOW_SIZES = the minutes in the service error, plus PT1M (with PT1M frequency)."""
    minutes = {int(iso_duration(w).total_seconds() // 60) for w in s.WINDOW_SIZES}
    assert minutes - {1} == set(WINDOW_MINUTES)


# -- stack overrides pass through the same checks -------------------------------------------------
def _stack_file(tmp_path: Path, alerts: dict[str, Any]) -> Path:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {"llm-insights:alerts": alerts}}), encoding="utf-8")
    return path


OVERRIDE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("llm-cost-spike", {"evaluationFrequency": "PT2H", "windowSize": "PT2H"}, "frequency-within-mute", "llm-insights:alerts.llm-cost-spike.evaluationFrequency"),
    ("llm-throttling", {"evaluationFrequency": "P1D", "windowSize": "P1D"}, "stateful-frequency", "llm-insights:alerts.llm-throttling.evaluationFrequency"),
    ("llm-error-rate-critical", {"windowSize": "P2D", "evaluationFrequency": "P1D"}, "lookback-48h", "llm-insights:alerts.llm-error-rate-critical.windowSize"),
    ("llm-throttling", {"evaluationFrequency": "PT1H", "windowSize": "PT5M"}, "frequency-within-lookback", "llm-insights:alerts.llm-throttling.windowSize"),
    ("llm-throttling", {"windowSize": "PT1M"}, "window-pt1m", "llm-insights:alerts.llm-throttling.windowSize"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "fields", "constraint", "key"), OVERRIDE_CASES)
def test_a_stack_override_that_breaks_a_constraint_is_a_config_error(
    tmp_path, rule, fields, constraint, key
):
    ctx = render_context(None, _stack_file(tmp_path, {rule: fields}))
    with pytest.raises(KitError) as info:
        load_rules(ctx)
    message = str(info.value)
    assert f"rule {rule}: " in message and "Pulumi.bad.yaml" in message and key in message
    assert f"[Azure constraint {constraint}; source: {BY_ID[constraint].source}]" in message


def test_an_override_to_one_minute_meets_the_query_constraints(tmp_path):
    """PT1M is fine for a plain query, and refused once the query takes rows."""
    rules = write_rule(tmp_path / "rules")
    fields = {"evaluationFrequency": "PT1M", "windowSize": "PT1M"}
    ctx = render_context(None, _stack_file(tmp_path, {"t-rule": fields}))
    (rule,) = load_rules(ctx, rules_dir=rules)
    assert rule.window_size == "PT1M"
    write_rule(tmp_path / "rules", query=_query("| take 5"))
    with pytest.raises(KitError) as info:
        load_rules(ctx, rules_dir=rules)
    assert "llm-insights:alerts.t-rule.evaluationFrequency" in str(info.value)
    assert "Azure constraint pt1m-operators" in str(info.value)


def test_a_bad_override_value_names_the_constraint(tmp_path):
    ctx = render_context(None, _stack_file(tmp_path, {"llm-cost-spike": {"windowSize": "PT7H"}}))
    with pytest.raises(KitError) as info:
        load_rules(ctx)
    assert info.value.where.endswith(
        "Pulumi.bad.yaml: llm-insights:alerts.llm-cost-spike.windowSize"
    )
    assert "[Azure constraint window-size; source: " in info.value.problem


def test_the_docs_name_every_constraint():
    """docs/alerts.md "What Azure checks, and the kit checks first" lists each row by its id."""
    doc = (KIT_ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    section = doc.split("## What Azure checks, and the kit checks first", 1)[1].split("\n## ", 1)[0]
    assert [c.id for c in CONSTRAINTS if f"`{c.id}`" not in section] == []
