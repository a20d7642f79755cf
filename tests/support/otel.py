"""The one in-memory OpenTelemetry pipeline the SDK tests send to, and the one SDK reset.

``Telemetry`` holds a tracer, meter and logger provider with in-memory exporters and the
contract's metric views. ``genai=True`` adds what ``configure()`` installs for other
instrumentations' GenAI spans (the span processor before the exporter, the views that drop their
duplicate metrics); *sampler* is the tracer provider's. ``sending_to`` points the SDK at one
pipeline and puts every piece of process-wide SDK state back afterwards (``reset_sdk``).
The fixtures built on them are in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import llm_insights
from llm_insights import _config, _evaluation, _instrument_openai, _keep, _offload, _state
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
except ImportError:  # older SDK name
    from opentelemetry.sdk._logs.export import (  # type: ignore[no-redef]
        InMemoryLogExporter as InMemoryLogRecordExporter,
    )
    from opentelemetry.sdk._logs.export import (  # type: ignore[no-redef]
        SimpleLogRecordProcessor,
    )

from .offload import DrainingMetricReader, DrainingSpanExporter


class Telemetry:
    """What the SDK (and, with ``genai=True``, other GenAI instrumentations) emitted, read back
    from in-memory exporters."""

    def __init__(self, *, genai: bool = False, sampler: Any = None) -> None:
        # the kit records finished calls on its emit thread: every read waits for it first
        self.spans_exporter = DrainingSpanExporter()
        self.tracer_provider = TracerProvider(sampler=sampler)
        if genai:  # before the exporter, as configure() installs it before the distro's
            self.tracer_provider.add_span_processor(llm_insights.genai_span_processor())
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_exporter))
        self.reader = DrainingMetricReader()
        views = llm_insights.metric_views()
        if genai:
            views += llm_insights.foreign_metric_views()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], views=views)
        self.logs_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs_exporter))

    # spans
    def spans(self, name: str | None = None) -> list[Any]:
        spans = list(self.spans_exporter.get_finished_spans())
        return [s for s in spans if name is None or s.name == name]

    def span(self, name: str | None = None) -> Any:
        found = self.spans(name)
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    # metrics
    def metrics(self) -> dict[str, Any]:
        """One collection: metric name -> metric (the last scope's, when several emit it)."""
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
        """The data points of metric *name*, from every scope that emits it."""
        data = self.reader.get_metrics_data()
        out = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                out += [p for m in sm.metrics if m.name == name for p in m.data.data_points]
        return out

    def all_points(self) -> dict[str, list[Any]]:
        """One collection: metric name -> its data points, from every scope that emits it."""
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out.setdefault(m.name, []).extend(m.data.data_points)
        return out

    def _matching(self, name: str, where: dict[str, Any]) -> list[Any]:
        # ``gen_ai__token__type="input"`` matches the attribute ``gen_ai.token.type``
        return [
            p
            for p in self.points(name)
            if all(dict(p.attributes).get(k.replace("__", ".")) == v for k, v in where.items())
        ]

    def total(self, name: str, **where: Any) -> float:
        """Sum of counter values, or count of histogram values, over matching points."""
        return sum(
            (p.count if hasattr(p, "count") else p.value for p in self._matching(name, where)), 0.0
        )

    def sum(self, name: str, **where: Any) -> float:
        """Sum of counter values, or of histogram values, over matching points."""
        return sum(
            (p.sum if hasattr(p, "sum") else p.value for p in self._matching(name, where)), 0.0
        )

    def logs(self) -> list[Any]:
        _offload.drain()
        return list(self.logs_exporter.get_finished_logs())


def reset_sdk() -> None:
    """Every piece of process-wide SDK state back to a fresh import's: openai patches,
    evaluators, providers and settings, ``configure()``'s flags, the stream_options memory."""
    _offload.drain()  # no call of this test is recorded into the next one's providers
    llm_insights.uninstrument_openai()
    _evaluation.clear_evaluators()
    _state.reset()
    _keep.reset()
    _config._reset_for_tests()
    _instrument_openai._no_inject.clear()


@contextmanager
def sending_to(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The SDK sends to *telemetry* inside the block, from a reset state; reset afterwards."""
    _state.reset()
    _state.use_providers(
        telemetry.tracer_provider, telemetry.meter_provider, telemetry.logger_provider
    )
    try:
        yield telemetry
    finally:
        reset_sdk()


class EndedSpans(SpanProcessor):
    """Every ended span, sampled or not (the exporting processor sees sampled ones only)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def on_end(self, span: Any) -> None:
        self.spans.append(span)


def dropping_sampler() -> Any:
    """The prod stack's sampler (Azure Monitor's rate-limited one), keeping nothing."""
    from azure.monitor.opentelemetry.exporter.export.trace._rate_limited_sampling import (
        RateLimitedSampler,
    )

    return RateLimitedSampler(0.0)
