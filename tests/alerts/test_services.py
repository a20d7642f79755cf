# ruff: noqa: E501  (table-driven cases read best one per line)
"""Alert rules per service: every rule splits by cloud_RoleName, per-service overrides become
rules Azure can run (one threshold each), and the evaluator decides per service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from llm_insights import contract

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.alerts.evaluator import evaluate
from llm_insights_kit.artifacts import Dimension, RenderContext
from llm_insights_kit.errors import KitError
from llm_insights_kit.local.store import LocalStore

SERVICE = "cloud_RoleName"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules():
    return {r.name: r for r in load_rules(RenderContext())}


def _ctx(overrides, services=None):
    return RenderContext(
        stack="prod", alert_overrides=overrides, config_file="Pulumi.prod.yaml", services=services
    )


def test_every_shipped_rule_splits_by_service_first(rules):
    for rule in rules.values():
        if rule.name == "llm-daily-budget-total":  # the environment's total, all services
            assert rule.dimensions == ()
            continue
        assert rule.dimensions[0] == Dimension(SERVICE), rule.name
        assert len(rule.dimensions) <= 6  # Azure: up to six dimensions per rule
    # alongside model where the rule has one
    assert [d.name for d in rules["llm-error-rate-high"].dimensions] == [SERVICE, "model"]


def test_per_service_overrides_become_rules_azure_can_run(rules):
    out = {
        r.name: r
        for r in load_rules(
            _ctx(
                {
                    "llm-error-rate-high": {
                        "threshold": 0.02,
                        "services": {
                            "batch-worker": {"threshold": 0.2, "severity": 3},
                            "triage-agent": {"enabled": False},
                        },
                    }
                }
            )
        )
    }
    base = out["llm-error-rate-high"]
    assert base.threshold == 0.02
    assert base.dimensions[0] == Dimension(SERVICE, "Exclude", ("batch-worker", "triage-agent"))
    worker = out["llm-error-rate-high-batch-worker"]
    assert (worker.threshold, worker.severity, worker.enabled) == (0.2, 3, True)
    assert worker.dimensions == (
        Dimension(SERVICE, "Include", ("batch-worker",)),
        Dimension("model"),
    )
    assert worker.display_name == "LLM error rate high (batch-worker)"
    assert worker.query == base.query and worker.route == base.route
    assert "llm-error-rate-high-triage-agent" not in out  # disabled: excluded, no rule of its own
    assert out["llm-throttling"] == rules["llm-throttling"]


@pytest.mark.parametrize(
    ("services", "declared", "where", "problem"),
    [
        ({"nope": {"threshold": 1}}, frozenset({"chat-api"}), "llm-error-rate-high.services.nope", "unknown service; this stack's services: chat-api"),
        ({"chat-api": {"windowSize": "PT1H"}}, None, "llm-error-rate-high.services.chat-api.windowSize", "unknown field; allowed: threshold, severity, enabled"),
        ({"chat-api": {"threshold": "high"}}, None, "llm-error-rate-high.services.chat-api.threshold", "finite number"),
        ({"bad name!": {"threshold": 1}}, None, "llm-error-rate-high.services.bad name!", "service name"),
        ({}, None, "llm-error-rate-high.services", "mapping of service name"),
    ],
)  # fmt: skip
def test_bad_service_overrides_name_the_config_key(services, declared, where, problem):
    with pytest.raises(KitError) as info:
        load_rules(_ctx({"llm-error-rate-high": {"services": services}}, declared))
    assert info.value.where.endswith(where), info.value.where
    assert problem in info.value.problem


def test_any_service_name_is_accepted_when_the_stack_declares_none():
    names = [
        r.name
        for r in load_rules(_ctx({"llm-cost-spike": {"services": {"x.y": {"threshold": 5}}}}))
    ]
    assert "llm-cost-spike-x-y" in names


def test_a_service_threshold_is_checked_like_the_rule_threshold():
    with pytest.raises(KitError, match="bucket bound"):
        load_rules(_ctx({"llm-latency-p95-high": {"services": {"chat-api": {"threshold": 7}}}}))


def _calls(service, minutes_ago, calls, errors):
    rows = []
    for count, error in ((calls - errors, None), (errors, "500")):
        dims = {contract.GEN_AI_REQUEST_MODEL: "gpt-4o"}
        if error:
            dims[contract.ERROR_TYPE] = error
        rows.append(
            {
                "timestamp": NOW - timedelta(minutes=minutes_ago),
                "name": contract.OPERATION_DURATION.name,
                "value": 1.0,
                "valueSum": 1.0,
                "valueCount": count,
                "customDimensions": dims,
                "cloud_RoleName": service,
            }
        )
    return rows


def test_the_evaluator_decides_per_service():
    """chat-api fails 10 %, batch-worker 15 %: with the shipped 5 % both fire, each its own
    series; with batch-worker's own 20 % threshold only chat-api's rule fires."""
    with LocalStore(":memory:") as store:
        store.insert(
            contract.TABLE_METRICS,
            _calls("chat-api", 5, 100, 10) + _calls("batch-worker", 5, 100, 15),
        )
        shipped = {r.name: r for r in load_rules(RenderContext())}
        fired = {
            dict(d.series)[SERVICE]: d.firing
            for d in evaluate(store, shipped["llm-error-rate-high"], NOW)
        }
        assert fired == {"chat-api": True, "batch-worker": True}

        split = {
            r.name: r
            for r in load_rules(
                _ctx({"llm-error-rate-high": {"services": {"batch-worker": {"threshold": 0.2}}}})
            )
        }
        base = evaluate(store, split["llm-error-rate-high"], NOW)
        assert [(dict(d.series)[SERVICE], d.firing) for d in base] == [("chat-api", True)]
        worker = evaluate(store, split["llm-error-rate-high-batch-worker"], NOW)
        assert [(dict(d.series)[SERVICE], d.value, d.firing) for d in worker] == [
            ("batch-worker", 0.15, False)
        ]


def test_telemetry_silent_names_the_silent_service(rules):
    with LocalStore(":memory:") as store:
        store.insert(contract.TABLE_METRICS, _calls("chat-api", 5, 30, 0))
        store.insert(
            contract.TABLE_SERVER_SPANS,
            [
                {"timestamp": NOW - timedelta(minutes=3), "itemCount": 50, "cloud_RoleName": s}
                for s in ("chat-api", "triage-agent")
            ],
        )
        decisions = evaluate(store, rules["llm-telemetry-silent"], NOW)
        assert [(dict(d.series)[SERVICE], d.value, d.firing) for d in decisions] == [
            ("triage-agent", 50, True)
        ]
