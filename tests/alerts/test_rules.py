# ruff: noqa: E501  (table-driven cases read best one per line)
"""Alert rules: the shipped set, scheduledQueryRules validation, stack overrides, user rule dirs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from llm_insights import contract

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.errors import KitError
from llm_insights_kit.local.store import LocalStore

from .conftest import edit_rule

NAMES = [
    "llm-agent-failure-rate", "llm-agent-runaway-cost", "llm-agent-runaway-steps",
    "llm-content-filter-spike", "llm-cost-spike", "llm-daily-budget", "llm-daily-budget-total",
    "llm-error-rate-critical", "llm-error-rate-high",
    "llm-latency-p95-high", "llm-latency-p99-critical", "llm-quality-drift",
    "llm-retrieval-empty-rate", "llm-telemetry-silent", "llm-throttling", "llm-token-spike",
    "llm-tool-failure-rate", "llm-ttft-slow", "llm-unpriced-model",
]  # fmt: skip


@pytest.fixture(scope="module")
def rules():
    return {r.name: r for r in load_rules(RenderContext())}


def test_the_shipped_rule_set(rules):
    assert sorted(rules) == NAMES
    assert [r.name for r in load_rules(RenderContext())] == NAMES  # sorted, deterministic


@pytest.mark.parametrize(
    ("name", "severity", "route", "threshold", "column"),
    [
        ("llm-latency-p95-high", 2, "warning", 5.0, "p95"),
        ("llm-latency-p99-critical", 0, "critical", 10.0, "p99"),
        ("llm-error-rate-high", 2, "warning", 0.05, "error_rate"),
        ("llm-error-rate-critical", 0, "critical", 0.10, "error_rate"),
        ("llm-throttling", 2, "warning", 0.05, "throttled_share"),
        ("llm-cost-spike", 2, "warning", 100.0, "cost_usd"),
        ("llm-token-spike", 2, "warning", 10000.0, "tokens_per_call"),
        ("llm-quality-drift", 2, "warning", 1.0, "drift_score"),
        ("llm-unpriced-model", 3, "info", 0.0, "unpriced_calls"),
    ],
)
def test_defaults_from_the_issue(rules, name, severity, route, threshold, column):
    rule = rules[name]
    assert (rule.severity, rule.route, rule.threshold) == (severity, route, threshold)
    assert rule.metric_measure_column == column and rule.operator == "GreaterThan"


def test_quality_drift_limits_and_window(rules):
    rule = rules["llm-quality-drift"]
    assert "/ 0.1," in rule.query and "/ 0.3," in rule.query and "/ 0.15)" in rule.query
    assert rule.window_size == "P1D" and "ago(1h)" in rule.query


def test_queries_have_no_time_filter(rules):
    """Azure scopes the tables to windowSize; a rule query must not add its own range."""
    for rule in rules.values():
        assert "{TimeRange}" not in rule.query and "timestamp between" not in rule.query


def test_arm_properties_shape(rules):
    props = rules["llm-cost-spike"].arm_properties()
    assert props["autoMitigate"] is False and props["muteActionsDuration"] == "PT1H"
    (cond,) = props["criteria"]["allOf"]
    assert cond["timeAggregation"] == "Total" and cond["metricMeasureColumn"] == "cost_usd"
    assert "scopes" not in props and len(json.dumps(props)) < 64 * 1024
    p95 = rules["llm-latency-p95-high"].arm_properties()["criteria"]["allOf"][0]
    assert p95["dimensions"] == [
        {"name": "cloud_RoleName", "operator": "Include", "values": ["*"]},
        {"name": "model", "operator": "Include", "values": ["*"]},
    ]


@pytest.mark.parametrize(
    ("file", "rule", "fields", "expect"),
    [
        ("latency.yaml", "llm-ttft-slow", {"severity": 5}, "severity = 5: severity must be an integer 0-4"),
        ("latency.yaml", "llm-ttft-slow", {"evaluationFrequency": "PT2M"}, "evaluationFrequency = \"PT2M\": one of PT1M"),
        ("latency.yaml", "llm-ttft-slow", {"windowSize": "PT20M"}, "windowSize = \"PT20M\": one of"),
        ("latency.yaml", "llm-ttft-slow", {"windowSize": "PT1M"}, "PT1M is allowed only with evaluationFrequency PT1M"),
        ("cost.yaml", "llm-unpriced-model", {"evaluationFrequency": "P1D", "windowSize": "PT1H"},
         "evaluationFrequency = \"P1D\": must be at most windowSize x numberOfEvaluationPeriods"),
        ("quality.yaml", "llm-quality-drift", {"windowSize": "P2D", "failingPeriods": {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 1}},
         "lookback windowSize x numberOfEvaluationPeriods (2) must be at most P2D"),
        ("errors.yaml", "llm-throttling", {"failingPeriods": {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 3}},
         "failingPeriods.minFailingPeriodsToAlert = 3: must be an integer from 1 to numberOfEvaluationPeriods (2)"),
        ("errors.yaml", "llm-throttling", {"failingPeriods": {"numberOfEvaluationPeriods": 7}},
         "numberOfEvaluationPeriods = 7: must be an integer 1-6"),
        ("errors.yaml", "llm-throttling", {"timeAggregation": "Count"},
         "metricMeasureColumn = \"throttled_share\": not allowed with timeAggregation Count"),
        ("errors.yaml", "llm-throttling", {"metricMeasureColumn": ...},
         "metricMeasureColumn = None: required with timeAggregation Maximum"),
        ("errors.yaml", "llm-throttling", {"metricMeasureColumn": "share"}, "the query must produce this column"),
        ("errors.yaml", "llm-throttling", {"timeAggregation": "Median"}, "timeAggregation = \"Median\": one of Count"),
        ("errors.yaml", "llm-throttling", {"operator": "Above"}, "operator = \"Above\": one of Equals"),
        ("errors.yaml", "llm-throttling", {"threshold": "high"}, "threshold = \"high\": threshold must be a finite number"),
        ("errors.yaml", "llm-throttling", {"dimensions": [{"name": "tenant", "operator": "Include", "values": ["*"]}]},
         "dimensions[0].name = \"tenant\": the query must produce this column"),
        ("errors.yaml", "llm-throttling", {"dimensions": [{"name": "deployment", "operator": "Only"}]}, "one of Include, Exclude"),
        ("errors.yaml", "llm-throttling", {"muteActionsDuration": "PT1H"},
         "muteActionsDuration = \"PT1H\": cannot be combined with autoMitigate: true"),
        ("cost.yaml", "llm-cost-spike", {"muteActionsDuration": "PT3M"}, "muteActionsDuration = \"PT3M\": one of PT5M"),
        ("errors.yaml", "llm-throttling", {"route": "pager"}, "route = \"pager\": one of critical, warning, info"),
        ("latency.yaml", "llm-latency-p95-high", {"threshold": 4.5},
         "threshold = 4.5: a percentile is exact only to its bucket, so the threshold must be a bucket bound"),
        ("latency.yaml", "llm-latency-p95-high", {"thresholdBucketsOf": "OPERATION_DURATION"},
         "thresholdBucketsOf = \"OPERATION_DURATION\": must name a contract bucket counter"),
        ("errors.yaml", "llm-throttling", {"cooldown": "PT1H"}, "cooldown = \"PT1H\": unknown field"),
        ("errors.yaml", "llm-throttling", {"minWindowSize": "PT7M"}, "minWindowSize = \"PT7M\": one of PT1M"),
        ("errors.yaml", "llm-throttling", {"minWindowSize": "PT1H"}, "windowSize = \"PT15M\": must be at least PT1H"),
        ("errors.yaml", "llm-throttling", {"query": ...}, "rule llm-throttling: query: required field is missing"),
        ("errors.yaml", "llm-throttling", {"query": "{{ k.metric(c.NO_SUCH_METRIC) }}"}, "NO_SUCH_METRIC"),
        ("errors.yaml", "llm-throttling", {"name": "LLM Throttling"}, "name = 'LLM Throttling': required: lowercase"),
        ("errors.yaml", "llm-throttling", {"name": "llm-error-rate-high"}, "duplicate rule name"),
    ],
)  # fmt: skip
def test_validation_errors_name_file_rule_and_field(rules_copy, file, rule, fields, expect):
    edit_rule(rules_copy, file, rule, **fields)
    with pytest.raises(KitError) as info:
        load_rules(RenderContext(), rules_dir=rules_copy)
    message = str(info.value)
    assert expect in message
    assert file in message


def test_broken_yaml_names_line(rules_copy):
    (rules_copy / "errors.yaml").write_text("rules:\n  - name: x\n   bad: [\n", encoding="utf-8")
    with pytest.raises(KitError, match=r"errors.yaml: not valid YAML at line \d+"):
        load_rules(RenderContext(), rules_dir=rules_copy)


def test_user_rules_directory(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        """
rules:
  - name: app-slow-chat
    description: Chat p95 above 2 s.
    severity: 3
    route: info
    evaluationFrequency: PT15M
    windowSize: PT30M
    query: |
      {{ k.metric(c.DURATION_BUCKET_COUNTS) }}
      {{ k.bucket_percentiles(c.DURATION_BUCKET_COUNTS, [95]) }}
    timeAggregation: Maximum
    metricMeasureColumn: p95
    operator: GreaterThan
    threshold: 2
    thresholdBucketsOf: DURATION_BUCKET_COUNTS
""",
        encoding="utf-8",
    )
    (rule,) = load_rules(RenderContext(), rules_dir=tmp_path)
    assert rule.name == "app-slow-chat" and rule.display_name == "app-slow-chat"
    assert rule.source_file.endswith("mine.yaml") and rule.auto_mitigate is True
    assert contract.DURATION_BUCKET_COUNTS.name in rule.query
    (tmp_path / "empty").mkdir()
    with pytest.raises(KitError, match="no rule files"):
        load_rules(RenderContext(), rules_dir=tmp_path / "empty")
    with pytest.raises(KitError, match="not found"):
        load_rules(RenderContext(), rules_dir=tmp_path / "missing")


def _ctx(overrides):
    return RenderContext(stack="prod", alert_overrides=overrides, config_file="Pulumi.prod.yaml")


def test_overrides_apply(rules):
    out = {
        r.name: r
        for r in load_rules(
            _ctx(
                {
                    "llm-error-rate-high": {"threshold": 0.02, "severity": 1},
                    "llm-cost-spike": {
                        "enabled": False,
                        "windowSize": "PT2H",
                        "evaluationFrequency": "PT30M",
                    },
                    "llm-latency-p95-high": {"threshold": 8},
                }
            )
        )
    }
    assert (out["llm-error-rate-high"].threshold, out["llm-error-rate-high"].severity) == (0.02, 1)
    cost = out["llm-cost-spike"]
    assert (cost.enabled, cost.window_size, cost.evaluation_frequency) == (False, "PT2H", "PT30M")
    assert out["llm-latency-p95-high"].threshold == 8.0
    assert out["llm-throttling"] == rules["llm-throttling"]  # untouched rules unchanged


@pytest.mark.parametrize(
    ("overrides", "where", "allowed"),
    [
        ({"llm-nope": {"threshold": 1}}, "Pulumi.prod.yaml: llm-insights:alerts.llm-nope", "unknown rule; known rules: llm-agent-failure-rate"),
        ({"llm-cost-spike": {"cooldown": "PT1H"}}, "llm-insights:alerts.llm-cost-spike.cooldown", "unknown field; allowed: threshold, severity, enabled, windowSize, evaluationFrequency"),
        ({"llm-cost-spike": {"severity": 7}}, "llm-insights:alerts.llm-cost-spike.severity", "0-4"),
        ({"llm-cost-spike": {"enabled": "yes"}}, "llm-insights:alerts.llm-cost-spike.enabled", "true or false"),
        ({"llm-cost-spike": {"windowSize": "PT7H"}}, "llm-insights:alerts.llm-cost-spike.windowSize", "one of PT1M"),
        ({"llm-cost-spike": {"evaluationFrequency": "PT7M"}}, "llm-insights:alerts.llm-cost-spike.evaluationFrequency", "one of PT1M"),
        ({"llm-cost-spike": {"threshold": "lots"}}, "llm-insights:alerts.llm-cost-spike.threshold", "finite number"),
        ({"llm-cost-spike": "off"}, "llm-insights:alerts.llm-cost-spike", "must be a mapping"),
    ],
)  # fmt: skip
def test_bad_overrides_name_the_config_key(overrides, where, allowed):
    with pytest.raises(KitError) as info:
        load_rules(_ctx(overrides))
    assert info.value.where.endswith(where) and allowed in info.value.problem


def test_overrides_are_cross_checked(rules):
    with pytest.raises(KitError) as info:
        load_rules(_ctx({"llm-latency-p95-high": {"threshold": 7}}))
    assert "alerts/latency.yaml: rule llm-latency-p95-high: threshold = 7.0" in str(info.value)
    assert "bucket bound" in str(info.value) and "Pulumi.prod.yaml" in str(info.value)
    with pytest.raises(KitError, match="must be at most windowSize x numberOfEvaluationPeriods"):
        load_rules(_ctx({"llm-throttling": {"evaluationFrequency": "PT1H", "windowSize": "PT5M"}}))
    # drift compares the last hour with the rest of its window: a 1-hour window has no baseline
    with pytest.raises(KitError) as info:
        load_rules(_ctx({"llm-quality-drift": {"windowSize": "PT1H"}}))
    assert 'rule llm-quality-drift: windowSize = "PT1H": must be at least PT2H' in str(info.value)
    assert "Pulumi.prod.yaml" in str(info.value)
    assert load_rules(_ctx({"llm-quality-drift": {"windowSize": "PT2H"}}))


# -- rule queries on the local store: windows scoped like Azure, now() pinned --------------------
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _metric(spec, minutes_ago, total, count=1, **dims):
    return {
        "timestamp": NOW - timedelta(minutes=minutes_ago),
        "name": spec.name,
        "value": total,
        "valueSum": total,
        "valueCount": count,
        "customDimensions": {contract.GEN_AI_REQUEST_MODEL: "gpt-4o", **dims},
    }


def _evaluate(store, rule):
    window = {"PT15M": 15, "PT30M": 30, "PT1H": 60, "P1D": 1440}[rule.window_size]
    return store.query(
        rule.query, now=NOW, time_range=(NOW - timedelta(minutes=window), NOW)
    ).to_dicts()


def test_rule_queries_compute_what_they_claim(rules):
    le = contract.ATTR_BUCKET_LE
    et = contract.ERROR_TYPE
    with LocalStore(":memory:") as store:
        rows = [
            _metric(contract.DURATION_BUCKET_COUNTS, 5, n, **{le: b})
            for b, n in (("1", 90), ("5", 6), ("6", 4))
        ]
        rows += [
            _metric(contract.DURATION_BUCKET_COUNTS, 600, 1000, **{le: contract.INF_BOUND})
        ]  # outside window
        rows += [
            _metric(contract.OPERATION_DURATION, 5, 50.0, 90),
            _metric(contract.OPERATION_DURATION, 5, 5.0, 7, **{et: "429"}),
            _metric(contract.OPERATION_DURATION, 5, 5.0, 3, **{et: "500"}),
            _metric(contract.COST, 30, 120.5),
        ]
        store.insert(contract.TABLE_METRICS, rows)
        store.insert(
            contract.TABLE_SERVER_SPANS,
            [{"timestamp": NOW - timedelta(minutes=3), "itemCount": 50}],
        )
        (p95,) = _evaluate(store, rules["llm-latency-p95-high"])
        # 90 calls <= 1 s, 96 <= 5 s: the 95th percentile lies in (1, 5] and reads 5 (not > 5)
        assert p95["model"] == "gpt-4o" and p95["p95"] == 5.0 and p95["calls"] == 100
        (p99,) = _evaluate(store, rules["llm-latency-p99-critical"])
        assert p99["p99"] == 6.0
        (err,) = _evaluate(store, rules["llm-error-rate-high"])
        assert err["error_rate"] == 0.1 and err["calls"] == 100
        (thr,) = _evaluate(store, rules["llm-throttling"])
        assert thr["throttled_share"] == 0.07
        (cost,) = _evaluate(store, rules["llm-cost-spike"])
        assert cost["cost_usd"] == 120.5
        assert _evaluate(store, rules["llm-telemetry-silent"]) == []  # LLM metrics arrived
    with LocalStore(":memory:") as store:
        store.insert(
            contract.TABLE_SERVER_SPANS,
            [{"timestamp": NOW - timedelta(minutes=3), "itemCount": 50}],
        )
        (silent,) = _evaluate(store, rules["llm-telemetry-silent"])
        assert silent["served_without_llm_telemetry"] == 50
