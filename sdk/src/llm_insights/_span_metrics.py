"""Contract metrics from the GenAI spans of any instrumentation, each call counted once.

``configure()`` installs :class:`GenAISpanMetrics` on the tracer provider (before the exporter's
batch processor) and :class:`GenAIRecordingSampler` around the provider's sampler, so an app
whose LLM calls are traced by another instrumentation (``opentelemetry-instrumentation-genai-
openai``, Agent Framework, Semantic Kernel, ...) gets the kit's counts, duration and
time-to-first-chunk bucket counters, tokens, cost and unpriced calls, and errors — read from the
span's attributes of whatever semantic-conventions release it follows (``_semconv_compat``);
and from ``execute_tool`` spans, ``llm_insights.tool.duration`` (tool calls and failures).

Counted once (one call seen by several instrumentations, spans nested in one process):

* a span of the kit's own patch (``instrument_openai()``, ``llm_call()``) records its metrics
  itself and wins over every foreign inference span of the same call, outside or inside it;
* among foreign inference spans of one call, the innermost wins (an Agent Framework ``chat``
  span around the OpenAI instrumentor's ``chat`` span counts through the inner one).
* tool calls alike: the kit's ``tool()`` span wins, else the innermost ``execute_tool`` span.

A span that does not count is still exported, without its ``gen_ai.usage.*`` and
``microsoft.gen_ai.cost.*`` and marked ``llm_insights.counted_elsewhere``, so Azure's views that
sum usage over dependencies see the call's tokens once. The same-named metrics the foreign
instrumentation records itself (``gen_ai.client.*``) are dropped by a view
(:func:`foreign_metric_views`), so each of those names has one source in Application Insights.

Sampling-proof: the sampler wrapper turns a DROP of a GenAI span into RECORD_ONLY (recorded, so
this processor sees it; not sampled, so the batch processor never exports it), and keeps the
trace's decision for children: a span under a local parent that was not sampled is never
sampled (GenAI ones are recorded only), even where the Azure samplers would follow the parent's
recorded sample rate (``azure/monitor/opentelemetry/exporter/export/trace/_utils.py``,
``parent_context_sampling``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from . import _billing, _cost, _state
from . import _semconv_compat as sc
from . import contract as c
from ._guard import report
from ._metrics import _METER_NAME, finite_number

_MAX_OPEN = 10_000  # open inference spans tracked (spans never ended are evicted oldest first)
_STATUS_ERROR = 2  # opentelemetry.trace.StatusCode.ERROR


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    v = finite_number(value)
    return int(v) if v is not None and v >= 0 and v == int(v) else None


def _group(operation: str | None) -> str | None:
    """Which calls nest as one: model calls, or tool calls (None: neither, not tracked)."""
    if operation in sc.INFERENCE_OPERATIONS:
        return "inference"
    return "tool" if operation == c.OPERATION_EXECUTE_TOOL else None


class _Open:
    __slots__ = ("group", "has_child", "kit", "under_kit")

    def __init__(self, group: str, kit: bool, under_kit: bool) -> None:
        self.group = group
        self.kit = kit
        self.under_kit = under_kit
        self.has_child = False


class GenAISpanMetrics:
    """A span processor: completed foreign GenAI inference and tool spans -> the contract's
    metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Open] = {}

    # -- SpanProcessor --------------------------------------------------------------------------
    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            group = _group(sc.operation_of(span.attributes))
            if group is None:
                return
            scope = getattr(span, "instrumentation_scope", None)
            kit = getattr(scope, "name", None) == _METER_NAME
            parent = span.parent
            with self._lock:
                p = self._open.get(parent.span_id) if parent is not None else None
                under_kit = False
                if p is not None and p.group == group:  # a call within a call of its kind
                    p.has_child = True
                    under_kit = p.kit or p.under_kit
                self._open[span.context.span_id] = _Open(group, kit, under_kit)
                if len(self._open) > _MAX_OPEN:
                    self._open.pop(next(iter(self._open)))
        except Exception as exc:
            report("span_metrics.start", exc)

    def _on_ending(self, span: Any) -> None:  # opentelemetry-sdk >= 1.36 calls it; nothing to do
        return None

    def on_end(self, span: Any) -> None:
        try:
            attrs = span.attributes or {}
            op = sc.operation_of(attrs)
            group = _group(op)
            if group is None:
                return
            with self._lock:
                entry = self._open.pop(span.context.span_id, None)
            if entry is not None and entry.kit:
                return  # the kit's own span recorded its metrics itself
            if entry is not None and (entry.under_kit or entry.has_child):
                if group == "inference":
                    _mark_counted_elsewhere(span)
                return
            if group == "tool":
                record_tool_span(attrs, span.start_time, span.end_time, span.status)
            else:
                record_span(op, attrs, span.start_time, span.end_time, span.status)
        except Exception as exc:
            report("span_metrics.end", exc)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _mark_counted_elsewhere(span: Any) -> None:
    """Export *span* without its usage and cost (another span of its call carries them)."""
    attrs = getattr(span, "_attributes", None)
    if attrs is None:
        return
    kept = {k: v for k, v in attrs.items() if k not in sc.USAGE_AND_COST_NAMES}
    kept[c.ATTR_COUNTED_ELSEWHERE] = True
    span._attributes = kept  # the ReadableSpan every later processor (the exporter's) gets


def record_span(
    operation: str, attrs: Mapping[str, Any], start_ns: Any, end_ns: Any, status: Any
) -> None:
    """Record one inference span's call on the contract metrics (plain values in)."""
    f = sc.read(attrs)
    inst = _state.instruments()
    dims: dict[str, Any] = {c.GEN_AI_OPERATION_NAME: operation}
    for field, key in (
        (sc.PROVIDER, c.GEN_AI_PROVIDER_NAME),
        (sc.REQUEST_MODEL, c.GEN_AI_REQUEST_MODEL),
        (sc.RESPONSE_MODEL, c.GEN_AI_RESPONSE_MODEL),
        (sc.SERVER_ADDRESS, c.SERVER_ADDRESS),
    ):
        if isinstance(f.get(field), str) and f[field]:
            dims[key] = f[field]
    md = inst.model_dims(dims)

    error = f.get(sc.ERROR_TYPE)
    if not (isinstance(error, str) and error):
        code = getattr(getattr(status, "status_code", None), "value", None)
        error = c.ERROR_TYPE_OTHER if code == _STATUS_ERROR else None
    dur_dims = md if error is None else {**md, c.ERROR_TYPE: inst.capped(c.ERROR_TYPE, error)}
    if isinstance(start_ns, int) and isinstance(end_ns, int):
        duration = max(0.0, (end_ns - start_ns) / 1e9)
        inst.record_dims(c.OPERATION_DURATION, duration, dur_dims)
        inst.bucket_dims(c.DURATION_BUCKET_COUNTS, duration, dur_dims)

    input_tokens = _count(f.get(sc.INPUT_TOKENS))
    output_tokens = _count(f.get(sc.OUTPUT_TOKENS))
    for count, ttype in ((input_tokens, c.TOKEN_TYPE_INPUT), (output_tokens, c.TOKEN_TYPE_OUTPUT)):
        if count is not None:
            inst.record_dims(c.TOKEN_USAGE, float(count), {**md, c.GEN_AI_TOKEN_TYPE: ttype})

    ttft = finite_number(f.get(sc.TIME_TO_FIRST_CHUNK))
    if ttft is not None and ttft >= 0:
        inst.record_dims(c.TIME_TO_FIRST_CHUNK, ttft, md)
        inst.bucket_dims(c.TTFT_BUCKET_COUNTS, ttft, md)

    if input_tokens is None and output_tokens is None:
        return  # usage unknown: neither a cost nor an unpriced call (as for the kit's own spans)
    usage = _cost.Usage(
        input_tokens,
        output_tokens,
        _count(f.get(sc.CACHED_INPUT_TOKENS)),
        _count(f.get(sc.CACHE_CREATION_INPUT_TOKENS)),
        _count(f.get(sc.REASONING_OUTPUT_TOKENS)),
    )
    provider = f.get(sc.PROVIDER)
    p = _billing.price(
        served_model=_text(f.get(sc.RESPONSE_MODEL)),
        request_model=_text(f.get(sc.REQUEST_MODEL)),
        deployment=None,  # foreign spans name no Azure deployment but the request model
        usage=usage,
        when=start_ns / 1e9 if isinstance(start_ns, int) else None,
        provider=_text(provider),
    )
    _billing.record_cost(inst, md, p, usage)


def record_tool_span(attrs: Mapping[str, Any], start_ns: Any, end_ns: Any, status: Any) -> None:
    """Record one ``execute_tool`` span on ``llm_insights.tool.duration`` (plain values in)."""
    if not (isinstance(start_ns, int) and isinstance(end_ns, int)):
        return
    dims: dict[str, Any] = {}
    name = attrs.get(c.GEN_AI_TOOL_NAME)
    if isinstance(name, str) and name:
        dims[c.GEN_AI_TOOL_NAME] = name
    error = sc.read(attrs).get(sc.ERROR_TYPE)
    if not (isinstance(error, str) and error):
        code = getattr(getattr(status, "status_code", None), "value", None)
        error = c.ERROR_TYPE_OTHER if code == _STATUS_ERROR else None
    if error:
        dims[c.ERROR_TYPE] = error
    _state.instruments().record(c.TOOL_DURATION, max(0.0, (end_ns - start_ns) / 1e9), dims)


class GenAIRecordingSampler:
    """Wraps a sampler: GenAI spans it would drop are recorded (not sampled, never exported)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Sequence[Any] | None = None,
        trace_state: Any = None,
    ) -> Any:
        from opentelemetry.sdk.trace.sampling import Decision, SamplingResult
        from opentelemetry.trace import get_current_span

        genai = sc.operation_of(attributes) is not None
        try:
            parent = get_current_span(parent_context).get_span_context()
            if parent.is_valid and not parent.is_remote and not parent.trace_flags.sampled:
                # the trace was not sampled: none of it is exported (Azure's samplers would
                # sample a child of a recorded parent at the parent's rate)
                return SamplingResult(
                    Decision.RECORD_ONLY if genai else Decision.DROP,
                    attributes if genai else None,
                    parent.trace_state,
                )
        except Exception as exc:
            report("span_metrics.sampler", exc)
        result = self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if genai and result.decision == Decision.DROP:
            merged = {**(attributes or {}), **(result.attributes or {})}
            return SamplingResult(Decision.RECORD_ONLY, merged, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"GenAIRecording{{{self.inner.get_description()}}}"


def span_processor() -> Any:
    """A new :class:`GenAISpanMetrics` as an OpenTelemetry ``SpanProcessor`` (for apps that wire
    their own TracerProvider: add it before the exporting processor)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class _Processor(GenAISpanMetrics, SpanProcessor):
        pass

    return _Processor()


def record_genai_spans(sampler: Any) -> Any:
    """*sampler* wrapped so GenAI spans it drops are still recorded (idempotent)."""
    from opentelemetry.sdk.trace.sampling import Sampler

    if isinstance(sampler, GenAIRecordingSampler):
        return sampler

    class _Sampler(GenAIRecordingSampler, Sampler):
        pass

    return _Sampler(sampler)


def _is_shared(sampler: Any) -> bool:
    from opentelemetry.sdk.trace import sampling

    return any(
        sampler is getattr(sampling, name, None)
        for name in ("ALWAYS_ON", "ALWAYS_OFF", "DEFAULT_ON", "DEFAULT_OFF")
    )


class _Inner:
    """The original methods of a sampler wrapped in place."""

    def __init__(self, should_sample: Any, get_description: Any) -> None:
        self.should_sample = should_sample
        self.get_description = get_description


def install_sampler(tracer_provider: Any) -> bool:
    """Wrap *tracer_provider*'s sampler in place (idempotent; False if it has none).

    In place, not by replacing ``tracer_provider.sampler``: every SDK ``Tracer`` keeps the
    sampler it was made with, and the distro's instrumentations (httpx, requests, ...) made
    theirs inside ``configure_azure_monitor``; they must follow the trace rule too.
    """
    sampler = getattr(tracer_provider, "sampler", None)
    if sampler is None:
        return False
    if getattr(sampler, "_llm_insights_genai", False) or isinstance(sampler, GenAIRecordingSampler):
        return True
    if _is_shared(sampler):
        # OpenTelemetry's module-level samplers (the distro returns them for always_on/off) are
        # shared by every provider in the process: wrap by replacement, never in place. They
        # decide whole traces alike, so earlier tracers keeping them leave no orphan.
        tracer_provider.sampler = record_genai_spans(sampler)
        return True
    wrapper = GenAIRecordingSampler(_Inner(sampler.should_sample, sampler.get_description))
    sampler.should_sample = wrapper.should_sample
    sampler.get_description = wrapper.get_description
    sampler._llm_insights_genai = True
    return True


def foreign_metric_views() -> list[Any]:
    """Views dropping the ``gen_ai.client.*`` metrics of every meter but the kit's: the kit
    records them for every call it sees (from spans or its patch), so a second source would
    count calls twice. A kit instrument matches its own contract view too and is kept."""
    from opentelemetry.sdk.metrics.view import DropAggregation, View

    return [View(instrument_name="gen_ai.client.*", aggregation=DropAggregation())]
