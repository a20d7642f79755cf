"""Contract metrics from the GenAI spans of any instrumentation, each call counted once.

``configure()`` installs :class:`GenAISpanMetrics` on the tracer provider (before the exporter's
batch processor) and :class:`GenAIRecordingSampler` around the provider's sampler, so an app
whose LLM calls are traced by another instrumentation (``opentelemetry-instrumentation-genai-
openai``, Agent Framework, Semantic Kernel, ...) gets the kit's counts, duration and
time-to-first-chunk bucket counters, tokens, cost and unpriced calls, and errors — read from the
span's attributes of whatever semantic-conventions release it follows (``_semconv_compat``);
from ``execute_tool`` spans, ``llm_insights.tool.duration`` (tool calls and failures); and
from ``invoke_agent`` spans, agent runs (``_agent.Run``, recorded as the kit's ``agent()`` runs
are): the calls that count below an agent span, through GenAI spans, count for its run and for
every run around it. A kit ``agent()`` run inside a framework's agent is linked to that run, so
the kit's own tally reaches it; a kit call directly inside a framework's agent is added here to
the framework runs up to the first kit run (which the kit's tally already reaches).

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

from . import _agent, _billing, _cost, _keep, _offload, _state
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
    """Which calls nest as one: model calls, or tool calls; agent runs; None: neither."""
    if operation in sc.INFERENCE_OPERATIONS:
        return "inference"
    if operation == c.OPERATION_EXECUTE_TOOL:
        return "tool"
    return "agent" if operation == c.OPERATION_INVOKE_AGENT else None


class _Open:
    """An open GenAI span: its kind of call, whose it is, and the agent run it belongs to."""

    __slots__ = ("child_run", "group", "has_child", "kit", "run", "under_kit")

    def __init__(
        self, group: str | None, kit: bool, under_kit: bool, run: _agent.Run | None
    ) -> None:
        self.group = group
        self.kit = kit
        self.under_kit = under_kit
        self.has_child = False
        self.run = run  # the innermost agent run this span is part of
        self.child_run = run  # the run of its children (a foreign agent: its own run)


class GenAISpanMetrics:
    """A span processor: completed foreign GenAI inference, tool and agent spans -> the
    contract's metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Open] = {}

    # -- SpanProcessor --------------------------------------------------------------------------
    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            op = sc.operation_of(span.attributes)
            if op is None:
                return
            group = _group(op)
            scope = getattr(span, "instrumentation_scope", None)
            kit = getattr(scope, "name", None) == _METER_NAME
            parent = span.parent
            current = _agent.current_run()  # the kit agent() run of this context, if any
            with self._lock:
                p = self._open.get(parent.span_id) if parent is not None else None
                under_kit = False
                if p is not None and group is not None and p.group == group:
                    p.has_child = True  # a call within a call of its kind
                    under_kit = p.kit or p.under_kit
                run = _run_of_child(p, current)
                entry = _Open(group, kit, under_kit, run)
                if group == "agent" and not kit:
                    name = _text(span.attributes.get(c.GEN_AI_AGENT_NAME)) or span.name
                    entry.child_run = _agent.Run(name, run, foreign=True)
                self._open[span.context.span_id] = entry
                if len(self._open) > _MAX_OPEN:
                    self._open.pop(next(iter(self._open)))
        except Exception as exc:
            report("span_metrics.start", exc)

    def _on_ending(self, span: Any) -> None:  # opentelemetry-sdk >= 1.36 calls it; nothing to do
        return None

    def on_end(self, span: Any) -> None:
        _keep.on_end(span)  # first: the processors after this one export what it keeps
        try:
            attrs = span.attributes or {}
            op = sc.operation_of(attrs)
            if op is None:
                return
            with self._lock:
                entry = self._open.pop(span.context.span_id, None)
            group = _group(op)
            if group == "agent":
                if entry is not None and not entry.kit and entry.child_run is not None:
                    # the kit calls inside it may still be recording on the emit thread: the
                    # run is recorded after them there (one FIFO thread), never waited for here
                    run, start, end, status = (
                        entry.child_run,
                        span.start_time,
                        span.end_time,
                        span.status,
                    )

                    def finish() -> None:
                        _finish_foreign_run(run, attrs, start, end, status)

                    if not _offload.submit(finish):
                        _offload.drain()
                        finish()
                return
            if group is None:
                return
            run = entry.run if entry is not None else None
            if entry is not None and entry.kit:
                # the kit's own span recorded its metrics, and its kit agent run counted it;
                # the framework runs between that kit run and this call have not
                _note_in_foreign_runs(run, group, attrs)
                return
            if entry is not None and (entry.under_kit or entry.has_child):
                if group == "inference":
                    _mark_counted_elsewhere(span)
                return
            if group == "tool":
                record_tool_span(attrs, span.start_time, span.end_time, span.status, run)
                if run is not None:
                    run.add_tool_call()
            else:
                priced = record_span(op, attrs, span.start_time, span.end_time, span.status)
                if run is not None:
                    f = sc.read(attrs)
                    run.add_model_call(
                        _count(f.get(sc.INPUT_TOKENS)), _count(f.get(sc.OUTPUT_TOKENS)), priced
                    )
        except Exception as exc:
            report("span_metrics.end", exc)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        # the provider flushes its processors in order and this one comes before the exporting
        # one: the kit's calls still being recorded end their spans first, then get exported
        return _offload.drain(timeout_millis / 1000)


def _run_of_child(parent: _Open | None, current: _agent.Run | None) -> _agent.Run | None:
    """The agent run a new GenAI span belongs to: its parent span's (a framework's agent span:
    that agent's run), else the kit ``agent()`` run of the context. A kit run started inside a
    framework's agent is linked to that agent's run, so the kit's own tally reaches it."""
    if parent is None:
        return current
    if parent.kit and parent.group == "agent":
        # a kit agent() span: its run starts after its span, so it is the context's run now
        outer = parent.run
        if current is not None and current.parent is None and outer is not None and outer.foreign:
            current.parent = outer
        return current
    return parent.child_run if parent.child_run is not None else current


def _note_in_foreign_runs(run: _agent.Run | None, group: str, attrs: Mapping[str, Any]) -> None:
    """Count a call of the kit's own in the framework agent runs around it (the foreign runs of
    the chain up to the first kit run, which the kit's own tally already reaches)."""
    foreign = []
    while run is not None and run.foreign:
        foreign.append(run)
        run = run.parent
    if not foreign:
        return
    if group == "tool":
        for r in foreign:
            r.add_tool_call(chain=False)
        return
    input_tokens = _count(attrs.get(c.GEN_AI_USAGE_INPUT_TOKENS))
    output_tokens = _count(attrs.get(c.GEN_AI_USAGE_OUTPUT_TOKENS))
    costs = [finite_number(attrs.get(k)) for k in (c.MS_COST_INPUT, c.MS_COST_OUTPUT)]
    known = [v for v in costs if v is not None]
    priced = bool(known) and not attrs.get(c.ATTR_COST_PARTIAL)
    cost = sum(known) if priced else None
    for r in foreign:
        r.add_model_call(input_tokens, output_tokens, cost, chain=False)


def _finish_foreign_run(
    run: _agent.Run, attrs: Mapping[str, Any], start_ns: Any, end_ns: Any, status: Any
) -> None:
    if not (isinstance(start_ns, int) and isinstance(end_ns, int)):
        return
    name = _text(attrs.get(c.GEN_AI_AGENT_NAME))
    if name:
        run.name = name  # the name may be set after the span started
    _agent.finish_run(run, max(0.0, (end_ns - start_ns) / 1e9), _error_of(attrs, status))


def _error_of(attrs: Mapping[str, Any], status: Any) -> str | None:
    """The span's error.type (any release's name), else "_OTHER" for an error status."""
    error = sc.read(attrs).get(sc.ERROR_TYPE)
    if isinstance(error, str) and error:
        return error
    code = getattr(getattr(status, "status_code", None), "value", None)
    return c.ERROR_TYPE_OTHER if code == _STATUS_ERROR else None


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
) -> float | None:
    """Record one inference span's call on the contract metrics (plain values in); return its
    USD cost as an agent run adds it (None: unknown — no usage, unpriced, partial, PTU)."""
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

    error = _error_of(attrs, status)
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
        return None  # usage unknown: neither a cost nor an unpriced call (as for the kit's own)
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
    return _billing.run_cost(p)


def record_tool_span(
    attrs: Mapping[str, Any], start_ns: Any, end_ns: Any, status: Any, run: _agent.Run | None
) -> None:
    """Record one ``execute_tool`` span on ``llm_insights.tool.duration`` (plain values in), by
    the agent run it belongs to."""
    if not (isinstance(start_ns, int) and isinstance(end_ns, int)):
        return
    _agent.record_tool_call(
        _text(attrs.get(c.GEN_AI_TOOL_NAME)),
        max(0.0, (end_ns - start_ns) / 1e9),
        _error_of(attrs, status),
        run.name if run is not None else None,
    )


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
