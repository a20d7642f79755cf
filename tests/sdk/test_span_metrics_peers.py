"""Spans of the peer instrumentations pinned in requirements.lock (the bench's peers) give the
kit's metrics: ``opentelemetry-instrumentation-openai-v2`` (util-genai 1.1b0) and OpenLLMetry's
``opentelemetry-instrumentation-openai``, each writing error.type its own way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llm_insights
import openai
import pytest
from llm_insights import _state
from llm_insights import contract as c
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from llm_insights_kit.local.llm_standin import LLMStandin, Scripted


@pytest.fixture(scope="module")
def peer_llm() -> Iterator[LLMStandin]:  # not the `standin` fixture: no openai 1.x/2.x run
    with LLMStandin() as srv:
        yield srv


def _instrumentor(name: str) -> Any:
    if name == "openai_v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    return OpenAIInstrumentor()


@pytest.mark.parametrize("peer", ["openai_v2", "openllmetry"])
def test_peer_instrumentation_spans_give_the_kits_metrics(peer_llm: LLMStandin, peer: str) -> None:
    tp = TracerProvider()
    tp.add_span_processor(llm_insights.genai_span_processor())
    reader = InMemoryMetricReader()
    meters = MeterProvider(
        metric_readers=[reader],
        views=llm_insights.metric_views() + llm_insights.foreign_metric_views(),
    )
    _state.reset()
    _state.use_providers(tp, meters)
    instrumentor = _instrumentor(peer)
    instrumentor.instrument(tracer_provider=tp, meter_provider=meters)
    try:
        peer_llm.reset()
        peer_llm.script(Scripted(input_tokens=100, output_tokens=20), Scripted(status=429))
        client = openai.OpenAI(base_url=peer_llm.base_url, api_key="t", max_retries=0)
        msg = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="gpt-4o", messages=msg)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o", messages=msg)
    finally:
        instrumentor.uninstrument()
        _state.reset()
    points: dict[str, list[Any]] = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                points.setdefault(m.name, []).extend(m.data.data_points)
    durations = points[c.OPERATION_DURATION.name]
    assert sum(p.count for p in durations) == 2  # the peer's own histogram is dropped
    assert [dict(p.attributes).get(c.ERROR_TYPE) for p in durations if p.attributes.get(
        c.ERROR_TYPE)] == [c.ERROR_TYPE_THROTTLED]  # fmt: skip
    cost = sum(p.value for p in points[c.COST.name])
    assert cost == pytest.approx((100 * 0.0025 + 20 * 0.01) / 1000, rel=1e-9)
