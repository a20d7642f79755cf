"""The instrumentation configurations compared, each set up the same way in a fresh process.

Every instrumented configuration gets identical OpenTelemetry providers: an always-on sampler
(the heaviest case: every call exported), a batch span processor, a periodic metric reader and a
batch log processor, all with the Azure Monitor exporters sending to the loopback ingestion
endpoint. Only the instrumentation differs:

- ``baseline``: no telemetry at all (the app as it is).
- ``floor``: the least any GenAI instrumentation can do, written by hand: one CLIENT span with
  the GenAI attributes and the two GenAI histograms (duration, token usage).
- ``llm_insights``: ``llm_insights.instrument_openai()`` with its defaults.
- ``openai_v2``: OpenTelemetry's ``opentelemetry-instrumentation-openai-v2``.
- ``traceloop``: Traceloop's ``opentelemetry-instrumentation-openai`` (OpenLLMetry), defaults
  (it records prompts and completions unless ``TRACELOOP_TRACE_CONTENT=false``).
- ``traceloop_nocontent``: the same with content capture off (volume comparison only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from . import servers

BASELINE = "baseline"
FLOOR = "floor"
LLM_INSIGHTS = "llm_insights"
OPENAI_V2 = "openai_v2"
TRACELOOP = "traceloop"
TRACELOOP_NOCONTENT = "traceloop_nocontent"

#: Overhead and streaming are compared across these; volume adds TRACELOOP_NOCONTENT.
CONFIGS = (BASELINE, FLOOR, LLM_INSIGHTS, OPENAI_V2, TRACELOOP)
PEERS = (OPENAI_V2, TRACELOOP)
VOLUME_CONFIGS = (FLOOR, LLM_INSIGHTS, OPENAI_V2, TRACELOOP, TRACELOOP_NOCONTENT)

#: Keep the exporter on loopback: Microsoft's statsbeat/control-plane endpoints are not reachable.
QUIET_EXPORTER_ENV = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}

MODEL = "gpt-4o"
MESSAGES = [
    {"role": "system", "content": "You answer questions about medicines, briefly."},
    {"role": "user", "content": "What is the maximum daily dose of ibuprofen for adults?"},
]


class Setup:
    """The providers of one benchmark process (None for the baseline)."""

    def __init__(self) -> None:
        self.providers: list[Any] = []

    def flush(self) -> None:
        for p in self.providers:
            p.force_flush()

    def shutdown(self) -> None:
        for p in self.providers:
            p.shutdown()


def _providers(ingest_url: str, setup: Setup, metric_interval_ms: int, sampling: float) -> None:
    import llm_insights
    from azure.monitor.opentelemetry.exporter import (
        ApplicationInsightsSampler,
        AzureMonitorLogExporter,
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from llm_insights_kit.local.ingest import connection_string_for

    kw = {"connection_string": connection_string_for(ingest_url), "disable_offline_storage": True}
    resource = Resource.create({"service.name": "bench-app", "service.version": "1.0.0"})
    tracer_provider = TracerProvider(
        resource=resource, sampler=ApplicationInsightsSampler(sampling_ratio=sampling)
    )
    tracer_provider.add_span_processor(BatchSpanProcessor(AzureMonitorTraceExporter(**kw)))
    reader = PeriodicExportingMetricReader(
        AzureMonitorMetricExporter(**kw), export_interval_millis=metric_interval_ms
    )
    # llm_insights' views match its own meter only, so every configuration can share them.
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[reader], views=llm_insights.metric_views()
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(AzureMonitorLogExporter(**kw)))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _logs.set_logger_provider(logger_provider)
    setup.providers = [tracer_provider, meter_provider, logger_provider]


def _floor_wrapper() -> Callable[[Callable[[], Any]], Any]:
    """One span + the two GenAI histograms, by hand, around a non-streaming chat call."""
    from llm_insights import contract as c
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("bench.floor")
    meter = metrics.get_meter("bench.floor")
    duration = meter.create_histogram(c.OPERATION_DURATION.name, unit=c.OPERATION_DURATION.unit)
    tokens = meter.create_histogram(c.TOKEN_USAGE.name, unit=c.TOKEN_USAGE.unit)
    base = {
        c.GEN_AI_OPERATION_NAME: c.OPERATION_CHAT,
        c.GEN_AI_PROVIDER_NAME: c.PROVIDER_OPENAI,
        c.GEN_AI_REQUEST_MODEL: MODEL,
    }

    def wrap(call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        with tracer.start_as_current_span(
            f"{c.OPERATION_CHAT} {MODEL}", kind=SpanKind.CLIENT, attributes=base
        ) as span:
            resp = call()
            usage = getattr(resp, "usage", None)
            if usage is not None:  # a stream has no usage here: it is consumed by the caller
                span.set_attribute(c.GEN_AI_RESPONSE_MODEL, resp.model)
                span.set_attribute(c.GEN_AI_RESPONSE_ID, resp.id)
                span.set_attribute(c.GEN_AI_USAGE_INPUT_TOKENS, usage.prompt_tokens)
                span.set_attribute(c.GEN_AI_USAGE_OUTPUT_TOKENS, usage.completion_tokens)
        duration.record(time.perf_counter() - start, base)
        if usage is not None:
            tokens.record(usage.prompt_tokens, {**base, c.GEN_AI_TOKEN_TYPE: c.TOKEN_TYPE_INPUT})
            tokens.record(
                usage.completion_tokens, {**base, c.GEN_AI_TOKEN_TYPE: c.TOKEN_TYPE_OUTPUT}
            )
        return resp

    return wrap


def setup(
    config: str, ingest_url: str, *, metric_interval_ms: int = 60_000, sampling: float = 1.0
) -> tuple[Setup, Callable[[Callable[[], Any]], Any]]:
    """Wire *config* in this process; return its providers and a wrapper for each app call
    (identity except for the hand-written floor). Call before the openai client is created."""
    os.environ.update(QUIET_EXPORTER_ENV)
    if config == TRACELOOP_NOCONTENT:
        os.environ["TRACELOOP_TRACE_CONTENT"] = "false"
    s = Setup()
    if config == BASELINE:
        return s, lambda call: call()
    _providers(ingest_url, s, metric_interval_ms, sampling)
    if config == FLOOR:
        return s, _floor_wrapper()
    if config == LLM_INSIGHTS:
        import llm_insights

        if not llm_insights.instrument_openai():
            raise RuntimeError("llm_insights.instrument_openai() found no openai client")
    elif config == OPENAI_V2:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif config in (TRACELOOP, TRACELOOP_NOCONTENT):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as TraceloopInstrumentor

        TraceloopInstrumentor().instrument()
    else:
        raise ValueError(f"unknown configuration {config!r}; known: {', '.join(CONFIGS)}")
    return s, lambda call: call()


def client(standin_url: str) -> Any:
    import openai

    return openai.OpenAI(base_url=standin_url, api_key="bench", max_retries=0)


def chat_call(cl: Any, wrap: Callable[[Callable[[], Any]], Any]) -> Callable[[], Any]:
    """One non-streaming chat completion, as the app would make it."""
    headers = {servers.SCENARIO_HEADER: servers.CHAT}

    def call() -> Any:
        return wrap(
            lambda: cl.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                max_tokens=256,
                temperature=0.2,
                extra_headers=headers,
            )
        )

    return call


def stream_call(
    cl: Any, wrap: Callable[[Callable[[], Any]], Any], scenario: str
) -> Callable[[], int]:
    """One streamed chat completion, iterated to the end (returns the chunks seen)."""
    headers = {servers.SCENARIO_HEADER: scenario}

    def consume() -> int:
        n = 0
        for _ in cl.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, extra_headers=headers
        ):
            n += 1
        return n

    return lambda: wrap(consume)
