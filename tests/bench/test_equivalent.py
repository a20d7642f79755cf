"""The bench's ``equivalent`` configuration ("same telemetry by hand") must emit exactly what
llm_insights emits for the benchmarked call — else "llm_insights ÷ equivalent" would not isolate
the SDK's own logic. Both run against the loopback stand-in with in-memory pipelines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm_insights
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo's bench/ (not installed)
from llm_insights import _state
from llm_insights import contract as c

from bench import configs, servers
from llm_insights_kit.fake_openai.scripted import Scripted
from llm_insights_kit.fake_openai.server import FakeOpenAI

# differ per call or with timing, not with the instrumentation
_PER_CALL = {c.GEN_AI_RESPONSE_ID}
_TIMED = {c.OPERATION_DURATION.name}


class _Pipeline:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(
            metric_readers=[self.reader], views=llm_insights.metric_views()
        )

    def span(self) -> Any:
        (span,) = self.spans.get_finished_spans()
        return span

    def points(self) -> dict[tuple[str, tuple[tuple[str, Any], ...]], Any]:
        """(metric, attributes) -> value (counters) or count (histograms); bucket labels of
        timed metrics are dropped (they depend on the call's duration)."""
        out: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.data.data_points:
                        attrs = dict(p.attributes)
                        if m.name == c.DURATION_BUCKET_COUNTS.name:
                            attrs.pop(c.ATTR_BUCKET_LE)
                        value = p.count if hasattr(p, "count") else p.value
                        if m.name not in _TIMED and hasattr(p, "sum"):
                            value = (p.count, p.sum)
                        out[(m.name, tuple(sorted(attrs.items())))] = value
        return out


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    s = FakeOpenAI().start()
    # the bench's chat scenario (bench/servers.py)
    s.scenarios[servers.CHAT] = Scripted(input_tokens=412, output_tokens=96, cached_tokens=128)
    yield s
    s.stop()


def _client(fake_openai: FakeOpenAI) -> Any:
    return openai.OpenAI(base_url=fake_openai.base_url, api_key="bench", max_retries=0)


@pytest.fixture
def sdk(fake_openai: FakeOpenAI) -> Iterator[_Pipeline]:
    pipe = _Pipeline()
    _state.reset()
    _state.use_providers(pipe.tracer_provider, pipe.meter_provider)
    assert llm_insights.instrument_openai()
    try:
        configs.chat_call(_client(fake_openai), lambda call: call())()
    finally:
        llm_insights.uninstrument_openai()
        _state.reset()
    return pipe


@pytest.fixture
def by_hand(fake_openai: FakeOpenAI) -> _Pipeline:
    pipe = _Pipeline()
    wrap = configs._equivalent_wrapper(
        fake_openai.base_url, pipe.tracer_provider, pipe.meter_provider
    )
    configs.chat_call(_client(fake_openai), wrap)()
    return pipe


def test_same_span(sdk: _Pipeline, by_hand: _Pipeline) -> None:
    mine, theirs = by_hand.span(), sdk.span()
    assert (mine.name, mine.kind, mine.instrumentation_scope.name) == (
        theirs.name,
        theirs.kind,
        theirs.instrumentation_scope.name,
    )
    strip = lambda a: {k: v for k, v in a.items() if k not in _PER_CALL}  # noqa: E731
    assert strip(mine.attributes) == strip(theirs.attributes)
    assert set(mine.attributes) >= _PER_CALL
    assert len(mine.events) == len(theirs.events) == 0


def test_same_measurements(sdk: _Pipeline, by_hand: _Pipeline) -> None:
    theirs = sdk.points()
    # the eight measurements of the bench call, one series each
    assert len(theirs) == 8
    assert by_hand.points() == theirs


def test_the_prod_regime_reads_the_prod_stacks_sampler() -> None:
    """The production regime samples as Pulumi.prod.yaml says (the kit's own reader)."""
    from pathlib import Path

    import yaml

    from bench.configs import prod_sampler_setting

    stack = Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml"
    config = yaml.safe_load(stack.read_text())["config"]
    assert prod_sampler_setting() == (
        config["llm-insights:telemetry.tracesSampler"],
        float(config["llm-insights:telemetry.tracesSamplerArg"]),
    )
