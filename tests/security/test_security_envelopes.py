"""Checked on what the real Azure Monitor exporter sends (envelopes at the loopback endpoint):
content is off by default, the redaction hook is applied when it is on, and metric dimensions
stay inside each metric's allow-list whatever the app passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import llm_insights
import pytest
from faults.conftest import QUIET, llm_client
from llm_insights import _config, _offload, _state
from llm_insights import contract as c

from llm_insights_kit import emitted
from llm_insights_kit.local.ingest import IngestServer

SECRET_PROMPT = "my card is 4111 1111 1111 1111, what is the max dose?"
CARD = "4111 1111 1111 1111"
ANSWER = "ok"


class Exported:
    def __init__(self, ingest: IngestServer, tp: Any, mp: Any) -> None:
        self.ingest, self.tp, self.mp = ingest, tp, mp

    def flush(self) -> list[dict[str, Any]]:
        _offload.drain()  # the kit's calls end their spans on the emit thread
        self.tp.force_flush(10_000)
        self.mp.force_flush(10_000)
        return self.ingest.envelopes


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[Exported]:
    from azure.monitor.opentelemetry.exporter import (
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    for k, v in QUIET.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv(c.ENV_CAPTURE_CONTENT, raising=False)
    monkeypatch.delenv(c.ENV_CONNECTION_STRING, raising=False)
    with IngestServer() as ingest:
        kw = {"connection_string": ingest.connection_string, "disable_offline_storage": True}
        tp = TracerProvider()
        tp.add_span_processor(SimpleSpanProcessor(AzureMonitorTraceExporter(**kw)))
        reader = PeriodicExportingMetricReader(
            AzureMonitorMetricExporter(**kw), export_interval_millis=3_600_000
        )
        mp = MeterProvider(metric_readers=[reader], views=llm_insights.metric_views())
        _state.reset()
        _config._reset_for_tests()
        _state.use_providers(tp, mp, None)
        llm_insights.instrument_openai()
        try:
            yield Exported(ingest, tp, mp)
        finally:
            llm_insights.uninstrument_openai()
            tp.shutdown()
            mp.shutdown()
            _state.reset()
            _config._reset_for_tests()


def _ask(client: Any) -> None:
    client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": SECRET_PROMPT}]
    )


def test_content_off_by_default(exported) -> None:
    _ask(llm_client())
    envelopes = exported.flush()
    assert any(e["data"]["baseType"] == "RemoteDependencyData" for e in envelopes)
    wire = json.dumps(envelopes)
    assert CARD not in wire and "max dose" not in wire
    for e in envelopes:
        props = e["data"]["baseData"].get("properties") or {}
        assert c.GEN_AI_INPUT_MESSAGES not in props and c.GEN_AI_OUTPUT_MESSAGES not in props


def test_redaction_applied_when_capture_is_on(exported) -> None:
    llm_insights.configure("svc", capture_content=True, redact=lambda t: t.replace(CARD, "[card]"))
    _ask(llm_client())
    envelopes = exported.flush()
    wire = json.dumps(envelopes)
    assert CARD not in wire
    deps = [e for e in envelopes if e["data"]["baseType"] == "RemoteDependencyData"]
    props = deps[0]["data"]["baseData"]["properties"]
    assert "[card]" in props[c.GEN_AI_INPUT_MESSAGES]
    assert "max dose" in props[c.GEN_AI_INPUT_MESSAGES]  # captured, redacted, not dropped
    assert ANSWER in props[c.GEN_AI_OUTPUT_MESSAGES]


@pytest.mark.slow  # ~19 s
def test_metric_dimensions_stay_in_the_allow_list(exported) -> None:
    """The app passes ids, free-form attributes and 200 model names; customMetrics rows carry
    only each metric's contract dimensions, each with at most MAX_DIMENSION_VALUES values."""
    client = llm_client()
    for i in range(200):
        with llm_insights.attributes(user_id=f"u{i}", session_id=f"s{i}", tenant_id=f"t{i}"):
            client.chat.completions.create(
                model=f"model-{i}",
                messages=[{"role": "user", "content": "hi"}],
                temperature=0.1 + i / 1000,
                max_tokens=100 + i,
            )
        with llm_insights.llm_call(
            provider=f"prov-{i}", model=f"m-{i}", customer_email=f"a{i}@example.com", row=i
        ) as call:
            call.record_usage(3, 4)
    envelopes = exported.flush()
    metrics = [e for e in envelopes if e["data"]["baseType"] == "MetricData"]
    assert metrics
    seen: dict[tuple[str, str], set[Any]] = {}
    for env in metrics:
        base = env["data"]["baseData"]
        props = base.get("properties") or {}
        for m in base["metrics"]:
            spec = emitted.METRICS_BY_NAME.get(m["name"])
            assert spec is not None, f"{m['name']} is not a contract metric"
            allowed = set(spec.dimensions) | {c.ATTR_BUCKET_LE}
            extra = set(props) - allowed
            assert not extra, f"{m['name']} carries {sorted(extra)}"
            for k, v in props.items():
                seen.setdefault((m["name"], k), set()).add(v)
    for (name, key), values in seen.items():
        if key != c.ATTR_BUCKET_LE:
            assert len(values) <= c.MAX_DIMENSION_VALUES + 1, (name, key, len(values))
    models = seen[(c.OPERATION_DURATION.name, c.GEN_AI_REQUEST_MODEL)]
    assert c.OVERFLOW_VALUE in models  # the 51st model onwards is folded, still counted
