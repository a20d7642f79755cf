"""In-memory OpenTelemetry readers that first wait for the SDK's emit thread.

The kit records a finished call off the caller's thread (``llm_insights._offload``); a test that
reads spans or metrics right after a call waits for that work the way ``llm_insights.flush()``
does.
"""

from __future__ import annotations

from typing import Any

from llm_insights import _offload
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class DrainingSpanExporter(InMemorySpanExporter):
    def get_finished_spans(self) -> Any:
        _offload.drain()
        return super().get_finished_spans()


class DrainingMetricReader(InMemoryMetricReader):
    def get_metrics_data(self) -> Any:
        _offload.drain()
        return super().get_metrics_data()
