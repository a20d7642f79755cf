"""Fault-injection fixtures: the SDK wired to the real Azure Monitor exporters, posting to a
loopback ingestion endpoint whose faults the test scripts, with offline storage in a tmp dir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import llm_insights
import openai
import pytest
from llm_insights import _config, _evaluation, _instrument_openai, _state

from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV, IngestServer

QUIET = LOOPBACK_EXPORTER_ENV


@dataclass
class Wired:
    ingest: IngestServer
    storage: Path
    tracer_provider: Any
    meter_provider: Any
    span_exporter: Any

    def flush(self) -> None:
        self.tracer_provider.force_flush(10_000)
        self.meter_provider.force_flush(10_000)

    def blobs(self) -> list[Path]:
        return sorted(p for p in self.storage.rglob("*") if p.is_file())


def exporter_options(ingest: IngestServer, storage: Path, **over: Any) -> dict[str, Any]:
    """The exporter's documented knobs, shortened so a test stays under a minute: network
    timeout 1 s (default 10 s), stored batches retried after 1 s (default 60 s)."""
    return {
        "connection_string": ingest.connection_string,
        "storage_directory": str(storage),
        "storage_min_retry_interval": 1,
        "timeout": 1.0,
        **over,
    }


@pytest.fixture
def wired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wired]:
    from azure.monitor.opentelemetry.exporter import (
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    for k, v in QUIET.items():
        monkeypatch.setenv(k, v)
    storage = tmp_path / "offline"
    with IngestServer() as ingest:
        kw = exporter_options(ingest, storage)
        span_exporter = AzureMonitorTraceExporter(**kw)
        tp = TracerProvider()
        tp.add_span_processor(BatchSpanProcessor(span_exporter, schedule_delay_millis=200))
        reader = PeriodicExportingMetricReader(
            AzureMonitorMetricExporter(**kw), export_interval_millis=500
        )
        mp = MeterProvider(metric_readers=[reader], views=llm_insights.metric_views())
        _state.reset()
        _state.use_providers(tp, mp, None)
        llm_insights.instrument_openai()
        try:
            yield Wired(ingest, storage, tp, mp, span_exporter)
        finally:
            llm_insights.uninstrument_openai()
            ingest.set_fault()
            tp.shutdown()
            mp.shutdown()
            _evaluation.clear_evaluators()
            _state.reset()
            _config._reset_for_tests()
            _instrument_openai._no_inject.clear()


def _completion(n: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def llm_client(async_: bool = False) -> Any:
    """An openai client whose LLM answers at once, each with a new response id."""
    counter = _Counter()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=json.dumps(_completion(counter.next())).encode())

    transport = httpx2.MockTransport(handler)
    if async_:
        return openai.AsyncOpenAI(
            base_url="http://llm.invalid/v1",
            api_key="t",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=transport),
        )
    return openai.OpenAI(
        base_url="http://llm.invalid/v1",
        api_key="t",
        max_retries=0,
        http_client=httpx2.Client(transport=transport),
    )


MESSAGES = [{"role": "user", "content": "hi"}]
