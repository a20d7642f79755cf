"""Bad-input fixtures: in-memory OpenTelemetry pipelines for the SDK, and an openai client whose
HTTP answers are whatever JSON (or bytes) a test hands it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import llm_insights
import openai
import pytest
from llm_insights import _config, _instrument_openai, _state
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from support.offload import DrainingMetricReader, DrainingSpanExporter


class Pipeline:
    """Where the SDK's spans and metrics go in these tests."""

    def __init__(self) -> None:
        self.spans = DrainingSpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = DrainingMetricReader()
        self.meter_provider = MeterProvider(
            metric_readers=[self.reader], views=llm_insights.metric_views()
        )

    def points(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out.setdefault(m.name, []).extend(m.data.data_points)
        return out


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    p = Pipeline()
    _state.reset()
    _state.use_providers(p.tracer_provider, p.meter_provider, None)
    llm_insights.instrument_openai()
    yield p
    llm_insights.uninstrument_openai()
    _state.reset()
    _config._reset_for_tests()
    _instrument_openai._no_inject.clear()


def completion(**over: Any) -> dict[str, Any]:
    """A well-formed chat completion body; keyword arguments replace top-level fields."""
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Take 200 mg."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
    }
    body.update(over)
    return body


def client_answering(body: Any) -> openai.OpenAI:
    """An openai client whose every request is answered 200 with *body* (JSON, or raw bytes)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=raw, headers={"content-type": "application/json"})

    return openai.OpenAI(
        base_url="http://llm.invalid/v1",
        api_key="test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


MESSAGES = [{"role": "user", "content": "max dose?"}]
