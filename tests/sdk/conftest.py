"""SDK test fixtures: in-memory span/metric/log pipelines and the loopback LLM stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
except ImportError:  # older SDK name
    from opentelemetry.sdk._logs.export import (  # type: ignore[no-redef]
        InMemoryLogExporter as InMemoryLogRecordExporter,
    )
    from opentelemetry.sdk._logs.export import (  # type: ignore[no-redef]
        SimpleLogRecordProcessor,
    )

import llm_insights
from llm_insights import _config, _evaluation, _instrument_openai, _offload, _state


class Telemetry:
    """What the SDK emitted, read back from in-memory exporters."""

    def __init__(self) -> None:
        self.spans_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(
            metric_readers=[self.reader], views=llm_insights.metric_views()
        )
        self.logs_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs_exporter))

    # spans
    def spans(self, name: str | None = None) -> list[Any]:
        _offload.drain()  # finished calls are recorded on the emit thread
        spans = list(self.spans_exporter.get_finished_spans())
        return [s for s in spans if name is None or s.name == name]

    def span(self, name: str | None = None) -> Any:
        found = self.spans(name)
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    # metrics
    def metrics(self) -> dict[str, Any]:
        _offload.drain()
        data = self.reader.get_metrics_data()
        out: dict[str, Any] = {}
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out[m.name] = m
        return out

    def points(self, name: str) -> list[Any]:
        m = self.metrics().get(name)
        return list(m.data.data_points) if m is not None else []

    def total(self, name: str, **where: Any) -> float:
        """Sum of counter values, or count of histogram values, over matching points."""
        tot = 0.0
        for p in self.points(name):
            attrs = dict(p.attributes)
            if all(attrs.get(k.replace("__", ".")) == v for k, v in where.items()):
                tot += p.count if hasattr(p, "count") else p.value
        return tot

    def logs(self) -> list[Any]:
        return list(self.logs_exporter.get_finished_logs())


# Tests that drive the real openai client against the loopback stand-in: the ones the openai
# 1.x/2.x compatibility run selects (`-m openai_compat` with another openai first on PYTHONPATH).
_STANDIN_FIXTURES = frozenset({"stand", "standin", "openai_client", "azure_client"})


_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[Any]) -> None:
    # a conftest hook sees the whole session's items: mark only this folder's
    for item in items:
        if not Path(str(item.path)).is_relative_to(_HERE):
            continue
        if _STANDIN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.openai_compat)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    _state.reset()
    _state.use_providers(t.tracer_provider, t.meter_provider, t.logger_provider)
    yield t
    llm_insights.uninstrument_openai()
    _evaluation.clear_evaluators()
    _state.reset()
    _config._reset_for_tests()
    _instrument_openai._no_inject.clear()


@pytest.fixture
def instrumented_openai(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The openai client patched for this test (the telemetry fixture removes the patches)."""
    assert llm_insights.instrument_openai()
    yield telemetry


@pytest.fixture(scope="session")
def standin() -> Iterator[Any]:
    from llm_insights_kit.local.llm_standin import LLMStandin

    with LLMStandin(deployments={"chat-prod": "gpt-4o-2024-08-06"}) as srv:
        yield srv


@pytest.fixture
def stand(standin: Any) -> Iterator[Any]:
    standin.reset()
    yield standin
    standin.reset()


@pytest.fixture
def openai_client(stand: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=stand.base_url, api_key="test", max_retries=0)


@pytest.fixture
def azure_client(stand: Any) -> Any:
    import openai

    return openai.AzureOpenAI(
        azure_endpoint=stand.azure_endpoint,
        api_key="test",
        api_version="2024-10-21",
        max_retries=0,
    )
