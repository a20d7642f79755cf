"""The instrumentation configurations compared, each set up the same way in a fresh process.

Every instrumented configuration gets identical OpenTelemetry providers: the regime's sampler
(``all``: every trace kept, the heaviest case; ``prod``: the distro's sampler at the prod stack's
setting, ``Pulumi.prod.yaml``, i.e. 5 traces/s rate-limited), a batch span processor, a periodic
metric reader and a batch log processor, all with the Azure Monitor exporters sending to the
loopback ingestion endpoint. llm_insights also gets what ``configure()`` adds to the distro: its
GenAI span processor, the sampler wrapper that records dropped GenAI spans for metrics, and the
metric view dropping other meters' ``gen_ai.client.*`` metrics. Each peer runs from its own
``pip install --no-deps --target`` directory (``bench/peers.py``). Only the instrumentation
differs:

- ``baseline``: no telemetry at all (the app as it is).
- ``floor``: the least any GenAI instrumentation can do, written by hand: one CLIENT span with
  the GenAI attributes and the two GenAI histograms (duration, token usage).
- ``llm_insights``: ``llm_insights.instrument_openai()`` with its defaults.
- ``equivalent`` ("same telemetry by hand"): exactly the span attributes and metric
  measurements llm_insights emits for a non-streaming chat call (same span, same instruments on
  the same meter, same dimensions and values), written by hand around the call. llm_insights
  minus this is the cost of the SDK's own logic; this minus ``floor`` is the cost of the extra
  telemetry. Not a peer and not a target: information. Non-streaming only (the streaming
  table leaves it out: a wrapper around the app's loop cannot see the chunks).
- ``llm_insights_inline``: the same, with everything recorded on the caller's thread
  (``LLM_INSIGHTS_EMIT_INLINE=1``): what the emit thread saves the
  caller, measured.
- ``genai_openai``: OpenTelemetry's current ``opentelemetry-instrumentation-genai-openai`` (the
  successor of openai-v2).
- ``openai_v2``: OpenTelemetry's ``opentelemetry-instrumentation-openai-v2`` (deprecated, kept for
  comparison).
- ``traceloop``: Traceloop's ``opentelemetry-instrumentation-openai`` (OpenLLMetry), defaults
  (it records prompts and completions unless ``TRACELOOP_TRACE_CONTENT=false``).
- ``traceloop_nocontent``: the same with content capture off (volume comparison only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

from llm_insights_kit.local.ingest import LOOPBACK_EXPORTER_ENV

from . import servers

BASELINE = "baseline"
FLOOR = "floor"
LLM_INSIGHTS = "llm_insights"
LLM_INSIGHTS_INLINE = "llm_insights_inline"
EQUIVALENT = "equivalent"
GENAI_OPENAI = "genai_openai"
OPENAI_V2 = "openai_v2"
TRACELOOP = "traceloop"
TRACELOOP_NOCONTENT = "traceloop_nocontent"

#: Overhead is compared across these; streaming leaves EQUIVALENT out (non-streaming only);
#: volume adds TRACELOOP_NOCONTENT.
CONFIGS = (
    BASELINE, FLOOR, EQUIVALENT, LLM_INSIGHTS, LLM_INSIGHTS_INLINE, GENAI_OPENAI, OPENAI_V2,
    TRACELOOP,
)  # fmt: skip
STREAM_CONFIGS = tuple(cfg for cfg in CONFIGS if cfg != EQUIVALENT)
PEERS = (GENAI_OPENAI, OPENAI_V2, TRACELOOP)
VOLUME_CONFIGS = (
    FLOOR, EQUIVALENT, LLM_INSIGHTS, GENAI_OPENAI, OPENAI_V2, TRACELOOP, TRACELOOP_NOCONTENT,
)  # fmt: skip
#: The peer environment (``bench/peers.py``) each configuration runs in (None: the venv alone).
PEER_ENV = {
    GENAI_OPENAI: "genai_openai",
    OPENAI_V2: "openai_v2",
    TRACELOOP: "traceloop",
    TRACELOOP_NOCONTENT: "traceloop",
}
#: How the report names a configuration (the key is what ``--config`` takes).
LABELS = {
    EQUIVALENT: "equivalent (same telemetry by hand)",
    LLM_INSIGHTS_INLINE: "llm_insights_inline (all on the caller)",
}
#: Sampling regimes: every trace kept, and the production default.
ALL, PROD = "all", "prod"
REGIMES = (ALL, PROD)
#: Every trace dropped by the head sampler: what nearly every call costs at the prod sampler,
#: for measurements that cannot run at the real rate (``bench.instructions``: the prod
#: sampler's share kept depends on how fast calls run, and callgrind runs them ~50x slower).
DROPPED = "dropped"


def prod_sampler_setting() -> tuple[str, float]:
    """The prod stack's OTEL_TRACES_SAMPLER and its argument, as the kit validates them."""
    from pathlib import Path

    from llm_insights_kit.stack_config.files import read_stack_file

    path = Path(__file__).resolve().parents[1] / "Pulumi.prod.yaml"
    t = read_stack_file(path).telemetry
    return t.traces_sampler, t.traces_sampler_arg


def _sampler(regime: str) -> Any:
    from azure.monitor.opentelemetry.exporter import (
        ApplicationInsightsSampler,
        RateLimitedSampler,
    )

    if regime == ALL:
        return ApplicationInsightsSampler(sampling_ratio=1.0)
    if regime == DROPPED:
        return ApplicationInsightsSampler(sampling_ratio=0.0)
    name, arg = prod_sampler_setting()
    if name == "microsoft.rate_limited":
        return RateLimitedSampler(target_spans_per_second_limit=arg)
    return ApplicationInsightsSampler(sampling_ratio=arg)


class _SampledCounter(SpanProcessor):
    """Counts the CLIENT spans the sampler kept (the same in every configuration)."""

    def __init__(self) -> None:
        self.sampled = 0

    def on_end(self, span: Any) -> None:
        if span.context.trace_flags.sampled and span.kind.name == "CLIENT":
            self.sampled += 1


def label(config: str) -> str:
    return LABELS.get(config, config)


#: Keep the exporter on loopback: Microsoft's statsbeat/control-plane endpoints are not reachable.
QUIET_EXPORTER_ENV = LOOPBACK_EXPORTER_ENV

MODEL = "gpt-4o"
MAX_TOKENS = 256
TEMPERATURE = 0.2
MESSAGES = [
    {"role": "system", "content": "You answer questions about medicines, briefly."},
    {"role": "user", "content": "What is the maximum daily dose of ibuprofen for adults?"},
]


class Setup:
    """The providers of one benchmark process (None for the baseline)."""

    def __init__(self) -> None:
        self.providers: list[Any] = []
        self.counter = _SampledCounter()
        self.before_flush: list[Callable[[], Any]] = []  # work still queued in the process

    def flush(self) -> None:
        for fn in self.before_flush:
            fn()
        for p in self.providers:
            p.force_flush()

    def flush_per_call_telemetry(self) -> None:
        """Export the queued spans and log records now (not metrics: those are exported once
        per interval whatever the call rate, so they are no per-call cost)."""
        for fn in self.before_flush:
            fn()
        for p in self.providers:
            if not hasattr(p, "get_meter"):
                p.force_flush()

    def shutdown(self) -> None:
        for p in self.providers:
            p.shutdown()


def _providers(
    ingest_url: str, setup: Setup, metric_interval_ms: int, regime: str, kit: bool
) -> None:
    import llm_insights
    from azure.monitor.opentelemetry.exporter import (
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
    tracer_provider = TracerProvider(resource=resource, sampler=_sampler(regime))
    if kit:  # what configure() adds to the distro's pipeline, before its exporting processor
        from llm_insights._span_metrics import install_sampler, span_processor

        install_sampler(tracer_provider)
        tracer_provider.add_span_processor(span_processor())
    tracer_provider.add_span_processor(setup.counter)
    tracer_provider.add_span_processor(BatchSpanProcessor(AzureMonitorTraceExporter(**kw)))
    reader = PeriodicExportingMetricReader(
        AzureMonitorMetricExporter(**kw), export_interval_millis=metric_interval_ms
    )
    # llm_insights' views match its own meter only, so every configuration can share them; the
    # kit also gets the view configure() adds that drops other meters' gen_ai.client.* metrics
    # (its own gen_ai.client.* instruments pass through that view too, so their records pay it)
    views = llm_insights.metric_views()
    if kit:
        views = views + llm_insights.foreign_metric_views()
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], views=views)
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


def _equivalent_wrapper(
    standin_url: str, tracer_provider: Any = None, meter_provider: Any = None
) -> Callable[[Callable[[], Any]], Any]:
    """What llm_insights records for one non-streaming chat call, by hand: its span (name,
    kind, attributes at start and at the end) and its eight measurements (duration and its
    bucket counter, input/output tokens, input/output cost, response characters and the
    response-length bucket counter) on the same instruments of the same meter, so its views
    apply alike.

    Everything that does not depend on the response is prepared once here, as a careful
    hand-written integration would; per call it reads the response and records.
    ``tests/bench/test_equivalent.py`` proves the output equals llm_insights' own.
    """
    from bisect import bisect_left
    from urllib.parse import urlsplit

    from llm_insights import _price_table
    from llm_insights import contract as c
    from llm_insights._metrics import _METER_NAME, _version
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(_METER_NAME, _version())
    meter = (meter_provider or metrics.get_meter_provider()).get_meter(_METER_NAME, _version())

    def histogram(spec: c.MetricSpec) -> Any:
        return meter.create_histogram(
            spec.name,
            unit=spec.unit,
            description=spec.description,
            explicit_bucket_boundaries_advisory=list(spec.bounds),
        )

    def counter(spec: c.MetricSpec) -> Any:
        return meter.create_counter(spec.name, unit=spec.unit, description=spec.description)

    duration, tokens = (histogram(s) for s in (c.OPERATION_DURATION, c.TOKEN_USAGE))
    cost, length = (counter(s) for s in (c.COST, c.RESPONSE_LENGTH))
    duration_le, length_le = (
        counter(s) for s in (c.DURATION_BUCKET_COUNTS, c.RESPONSE_LENGTH_BUCKET_COUNTS)
    )

    def labels(spec: c.MetricSpec) -> tuple[str, ...]:
        return (*(c.bucket_label(b) for b in spec.bounds), c.INF_BOUND)

    duration_labels = labels(c.DURATION_BUCKET_COUNTS)
    length_labels = labels(c.RESPONSE_LENGTH_BUCKET_COUNTS)
    duration_bounds = c.DURATION_BUCKET_COUNTS.bounds
    length_bounds = c.RESPONSE_LENGTH_BUCKET_COUNTS.bounds
    prices = _price_table.load()  # the app's price list, read once
    price, source = prices.resolve(MODEL), prices.source
    if price is None or price.cached_input is None or price.output is None:
        raise RuntimeError(f"the bench model {MODEL!r} needs input, cached and output prices")
    url = urlsplit(standin_url)
    base = {  # the metric dimensions
        c.GEN_AI_OPERATION_NAME: c.OPERATION_CHAT,
        c.GEN_AI_PROVIDER_NAME: c.PROVIDER_OPENAI,
        c.GEN_AI_REQUEST_MODEL: MODEL,
        c.SERVER_ADDRESS: url.hostname,
    }
    start_attrs = {
        **base,
        c.GEN_AI_SYSTEM: c.PROVIDER_OPENAI,
        c.SERVER_PORT: url.port,
        c.GEN_AI_REQUEST_MAX_TOKENS: MAX_TOKENS,
        c.GEN_AI_REQUEST_TEMPERATURE: TEMPERATURE,
    }
    name = f"{c.OPERATION_CHAT} {MODEL}"
    token_in, token_out = (
        {c.GEN_AI_TOKEN_TYPE: t} for t in (c.TOKEN_TYPE_INPUT, c.TOKEN_TYPE_OUTPUT)
    )

    def wrap(call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=start_attrs)
        try:
            with trace.use_span(span, end_on_exit=False):
                resp = call()
            end = time.perf_counter()
            usage = resp.usage
            n_in, n_out = usage.prompt_tokens, usage.completion_tokens
            cached = usage.prompt_tokens_details.cached_tokens
            choice = resp.choices[0]
            text = choice.message.content
            dims = {**base, c.GEN_AI_RESPONSE_MODEL: resp.model}
            c_in = ((n_in - cached) * price.input + cached * price.cached_input) / 1000
            c_out = n_out * price.output / 1000
            span.set_attributes(
                {
                    c.GEN_AI_RESPONSE_MODEL: resp.model,
                    c.GEN_AI_RESPONSE_ID: resp.id,
                    c.GEN_AI_RESPONSE_FINISH_REASONS: [choice.finish_reason],
                    c.GEN_AI_USAGE_INPUT_TOKENS: n_in,
                    c.GEN_AI_USAGE_OUTPUT_TOKENS: n_out,
                    c.MS_COST_INPUT: round(c_in, 12),
                    c.MS_COST_OUTPUT: round(c_out, 12),
                }
            )
            seconds = end - start
            duration.record(seconds, dims)
            duration_le.add(
                1,
                {**dims, c.ATTR_BUCKET_LE: duration_labels[bisect_left(duration_bounds, seconds)]},
            )
            tokens.record(n_in, {**dims, **token_in})
            tokens.record(n_out, {**dims, **token_out})
            cost.add(c_in, {**dims, **token_in, c.ATTR_PRICE_SOURCE: source})
            cost.add(c_out, {**dims, **token_out, c.ATTR_PRICE_SOURCE: source})
            length.add(len(text), dims)
            length_le.add(
                1,
                {**dims, c.ATTR_BUCKET_LE: length_labels[bisect_left(length_bounds, len(text))]},
            )
            return resp
        finally:
            span.end()

    return wrap


def setup(
    config: str,
    ingest_url: str,
    *,
    metric_interval_ms: int = 60_000,
    regime: str = ALL,
    standin_url: str = "",
) -> tuple[Setup, Callable[[Callable[[], Any]], Any]]:
    """Wire *config* in this process; return its providers and a wrapper for each app call
    (identity except for the hand-written floor and equivalent; the equivalent needs
    *standin_url* for its server attributes). Call before the openai client is created."""
    os.environ.update(QUIET_EXPORTER_ENV)
    if config == TRACELOOP_NOCONTENT:
        os.environ["TRACELOOP_TRACE_CONTENT"] = "false"
    s = Setup()
    if config == BASELINE:
        return s, lambda call: call()
    kit = config in (LLM_INSIGHTS, LLM_INSIGHTS_INLINE)
    _providers(ingest_url, s, metric_interval_ms, regime, kit)
    if config == FLOOR:
        return s, _floor_wrapper()
    if config == EQUIVALENT:
        return s, _equivalent_wrapper(standin_url)
    if kit:
        import llm_insights
        from llm_insights import _offload

        _offload.inline = config == LLM_INSIGHTS_INLINE
        s.before_flush.append(_offload.drain)  # the emit thread's queue, like flush() does
        if not llm_insights.instrument_openai():
            raise RuntimeError("llm_insights.instrument_openai() found no openai client")
    elif config == GENAI_OPENAI:
        from opentelemetry.instrumentation.genai.openai import (
            OpenAIInstrumentor as GenAIInstrumentor,
        )

        GenAIInstrumentor().instrument()
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


#: How long the model of the latency benchmark takes to answer: a fast real model call.
MODEL_SECONDS = 0.020


def model_response(n: int, cached_tokens: int = 0) -> dict[str, Any]:
    """A chat completion body like the stand-in's bench scenario (412 in, 96 out tokens)."""
    usage: dict[str, Any] = {"prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508}
    if cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Up to 1,200 mg a day."},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def model_transport(seconds: float = 0.0, slept: list[float] | None = None) -> Any:
    """An in-process ``httpx2.MockTransport`` answering every request with ``model_response``
    after sleeping *seconds* (the model's time); the time actually slept is added to
    ``slept[0]``, so a caller can take the sleep's own jitter out of a wall-clock time."""
    import httpx2

    counter = {"n": 0}

    def handler(request: httpx2.Request) -> httpx2.Response:
        counter["n"] += 1
        if seconds:
            t0 = time.perf_counter()
            time.sleep(seconds)
            if slept is not None:
                slept[0] += time.perf_counter() - t0
        return httpx2.Response(200, json=model_response(counter["n"], cached_tokens=128))

    return httpx2.MockTransport(handler)


def model_client(seconds: float, slept: list[float]) -> Any:
    """An openai client whose model answers after *seconds* (see ``model_transport``)."""
    import httpx2
    import openai

    return openai.OpenAI(
        base_url="http://fake_openai.invalid/v1",
        api_key="bench",
        max_retries=0,
        http_client=httpx2.Client(transport=model_transport(seconds, slept)),
    )


def chat_call(cl: Any, wrap: Callable[[Callable[[], Any]], Any]) -> Callable[[], Any]:
    """One non-streaming chat completion, as the app would make it."""
    headers = {servers.SCENARIO_HEADER: servers.CHAT}

    def call() -> Any:
        return wrap(
            lambda: cl.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                max_tokens=MAX_TOKENS,
                temperature=TEMPERATURE,
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
