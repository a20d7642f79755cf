"""The one home of the metric dimension cap (``contract.MAX_DIMENSION_VALUES`` distinct values
per capped dimension, then ``contract.OVERFLOW_VALUE``) and of the allow-list it works with: what
the app passes never grows customMetrics cardinality, and nothing is lost on spans or counts.
(What the exporter sends to Azure is checked again in ``tests/security``.)"""

from __future__ import annotations

import llm_insights
import pytest
from badinput.conftest import MESSAGES, client_answering, completion
from llm_insights import contract as c
from support.otel import Telemetry

from llm_insights_kit import emitted


def test_metric_attributes_are_allow_listed(telemetry):
    with llm_insights.llm_call(
        provider="openai", model="gpt-4o", **{"request.prompt_hash": "abc", "user.email": "x@y"}
    ) as call:
        call.record_usage(3, 4)
    span = telemetry.span()
    assert span.attributes["user.email"] == "x@y"  # the app put it on the span
    for m in telemetry.metrics().values():
        spec = emitted.METRICS_BY_NAME[m.name]
        for p in m.data.data_points:
            assert set(p.attributes) <= set(spec.dimensions), m.name


def test_model_dimension_values_are_capped(telemetry):
    for i in range(c.MAX_DIMENSION_VALUES + 5):
        with llm_insights.llm_call(provider="openai", model=f"ft-model-{i}") as call:
            call.record_usage(1, 1)
    models = {
        p.attributes[c.GEN_AI_REQUEST_MODEL] for p in telemetry.points(c.OPERATION_DURATION.name)
    }
    assert len(models) == c.MAX_DIMENSION_VALUES + 1
    assert c.OVERFLOW_VALUE in models
    assert telemetry.total(c.OPERATION_DURATION.name) == c.MAX_DIMENSION_VALUES + 5
    # spans keep the real names
    assert len({s.attributes[c.GEN_AI_REQUEST_MODEL] for s in telemetry.spans()}) == 55


def test_agent_names_are_capped_on_metrics_not_spans(telemetry):
    for i in range(c.MAX_DIMENSION_VALUES + 5):
        with llm_insights.agent(f"agent-{i}"):
            pass
    names = {p.attributes[c.GEN_AI_AGENT_NAME] for p in telemetry.points(c.AGENT_DURATION.name)}
    assert len(names) == c.MAX_DIMENSION_VALUES + 1 and c.OVERFLOW_VALUE in names
    assert len(telemetry.spans()) == c.MAX_DIMENSION_VALUES + 5


@pytest.mark.slow  # ~11 s
def test_2500_user_ids_never_reach_metric_dimensions(instrumented_openai: Telemetry) -> None:
    telemetry = instrumented_openai
    client = client_answering(completion())
    for i in range(2500):
        with llm_insights.attributes(user_id=f"user-{i}", session_id=f"s-{i}", tenant_id=f"t{i}"):
            client.chat.completions.create(model=f"model-{i % 120}", messages=MESSAGES)
    spans = telemetry.spans()
    assert len(spans) == 2500  # nothing lost: every call has its span with its user id
    assert len({s.attributes[c.ENDUSER_ID] for s in spans}) == 2500
    for name, points in telemetry.all_points().items():
        allowed = set(emitted.METRICS_BY_NAME[name].dimensions) | {c.ATTR_BUCKET_LE}
        for key in {k for p in points for k in p.attributes}:
            assert key not in c.SPAN_ONLY_ATTRIBUTES, (name, key)
            assert key in allowed, (name, key)
        models = {p.attributes.get(c.GEN_AI_REQUEST_MODEL) for p in points}
        assert len(models - {None}) <= c.MAX_DIMENSION_VALUES + 1, (name, len(models))
    durations = telemetry.all_points()[c.OPERATION_DURATION.name]
    assert sum(p.count for p in durations) == 2500  # overflowed models still counted
