"""Contract metrics from the GenAI spans of any instrumentation, each call and run counted once.

``configure()`` installs :class:`GenAISpanMetrics` on the tracer provider (before the exporter's
batch processor) and the sampler wrap (``_sampler``) around the provider's sampler, so an app
whose LLM calls are traced by another instrumentation (``opentelemetry-instrumentation-genai-
openai``, Agent Framework, Semantic Kernel, ...) gets the kit's metrics: each finished inference
span fills a ``_record.Call`` (read from the attributes of whatever semantic-conventions release
it follows, ``_semconv_compat``) that ``_record.record`` records exactly as the kit's own calls
are; ``execute_tool`` spans record ``llm_insights.tool.duration``; ``invoke_agent`` spans are
agent runs (``_agent.Run``, recorded as the kit's ``agent()`` runs are).

Decided at the end: what a span is — a call, a tool call, an agent run, or none — is read from
all its attributes when it ends, since frameworks start spans bare and set attributes later
(Agent Framework's ``start_span(name, kind)`` then ``set_attributes``). At start the processor
only keeps track of spans that may matter: GenAI by attributes or by their conventional name
(``chat gpt-4o``), and every span under one (so a call finds its run through the non-GenAI
spans a framework puts between them, such as Semantic Kernel's ``AutoFunctionInvocationLoop``).

Runs: a call or tool call belongs to the nearest enclosing agent run, whatever lies between: a
framework's ``invoke_agent`` span (its run), or the kit's ``agent()`` run of the context. A kit
``agent()`` run inside a framework's agent is linked to that run, so the kit's own tally reaches
it; a kit call directly inside a framework's agent adds what it was recorded with to the
framework runs up to the first kit run (which the kit's tally already reaches). A framework run
records the same metrics and exports the same run totals on its span as a kit run.

Counted once (one call seen by several instrumentations, spans nested in one process):

* a span of the kit's own patch (``instrument_openai()``, ``llm_call()``) records its metrics
  itself and wins over every foreign inference span of the same call, outside or inside it;
* among foreign inference spans of one call, the innermost wins (an Agent Framework ``chat``
  span around the OpenAI instrumentor's ``chat`` span counts through the inner one);
* tool calls alike: the kit's ``tool()`` span wins, else the innermost ``execute_tool`` span;
* usage a framework sums on its ``invoke_agent`` span (Agent Framework does) is never a call;
  the run's tokens are its calls'.

A span that does not count is still exported, without its ``gen_ai.usage.*`` and
``microsoft.gen_ai.cost.*`` and marked ``llm_insights.counted_elsewhere``, so Azure's views that
sum usage over dependencies see each call's tokens once; an agent span whose calls were seen
loses its summed usage the same way. The same-named metrics the foreign instrumentation records
itself (``gen_ai.client.*``) are dropped by a view (:func:`foreign_metric_views`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any

from . import _agent, _errors, _keep, _offload, _record, _sampler, _state
from . import _semconv_compat as sc
from . import contract as c
from ._guard import report
from ._metrics import _METER_NAME, FOREIGN_GENAI_METRICS, count_of, finite_number
from ._pricing import Usage
from ._sampler import install_sampler, is_genai_at_start, record_genai_spans

__all__ = [
    "GenAISpanMetrics",
    "foreign_metric_views",
    "install_sampler",
    "record_genai_spans",
    "span_processor",
]

_MAX_OPEN = 10_000  # open spans tracked (spans never ended are evicted oldest first)
_RUN_WAIT_S = 5.0  # longest an ending framework run waits for its kit calls being recorded


def _text(value: Any) -> str | None:
    return sc.plain(value) if isinstance(value, str) and value else None


class _Open:
    """A span being tracked while it is open: where it is in the tree, whose it is, and (a
    framework's agent span) its run."""

    __slots__ = ("ctx_run", "has_child", "kit", "parent", "run", "span", "waits_for_kit")

    def __init__(self, parent: _Open | None, span: Any, kit: bool, ctx_run: Any) -> None:
        self.parent = parent
        self.span = span  # the live span: its name and attributes as they are now
        self.kit = kit
        self.ctx_run = ctx_run  # the kit agent() run of the context at its start
        self.has_child = False  # a call of its kind inside it counts instead
        self.run: _agent.Run | None = None  # a framework's agent span: its run, once needed
        self.waits_for_kit = False  # a kit call inside this agent run may still be recording

    def operation(self) -> str | None:
        """What the span is as far as known now (attributes, else its conventional name)."""
        span = self.span
        return sc.operation_of(getattr(span, "attributes", None)) or sc.operation_of_name(
            getattr(span, "name", None)
        )


def _usage_of(fields: Mapping[str, Any]) -> Usage:
    return Usage(
        input_tokens=count_of(fields.get(sc.INPUT_TOKENS)),
        output_tokens=count_of(fields.get(sc.OUTPUT_TOKENS)),
        cache_read_input_tokens=count_of(fields.get(sc.CACHED_INPUT_TOKENS)),
        cache_creation_input_tokens=count_of(fields.get(sc.CACHE_CREATION_INPUT_TOKENS)),
        reasoning_output_tokens=count_of(fields.get(sc.REASONING_OUTPUT_TOKENS)),
    )


def _duration(span: Any) -> float | None:
    start, end = span.start_time, span.end_time
    if isinstance(start, int) and isinstance(end, int):
        return max(0.0, (end - start) / 1e9)
    return None


def call_of_span(
    operation: str, span: Any, error_type: str | None, fields: Mapping[str, Any] | None = None
) -> _record.Call:
    """The ``_record.Call`` a finished foreign inference span describes (*fields*: its
    attributes as ``sc.read`` reads them, when the caller has them)."""
    f = fields if fields is not None else sc.read(span.attributes or {})
    start = span.start_time
    return _record.Call(
        operation=operation,
        provider=_text(f.get(sc.PROVIDER)),
        request_model=_text(f.get(sc.REQUEST_MODEL)),
        response_model=_text(f.get(sc.RESPONSE_MODEL)),
        server_address=_text(f.get(sc.SERVER_ADDRESS)),
        usage=_usage_of(f),
        duration=_duration(span),
        ttft=finite_number(f.get(sc.TIME_TO_FIRST_CHUNK)),
        error_type=error_type,
        started_at=start / 1e9 if isinstance(start, int) else None,
        source=_record.SOURCE_SPAN,
    )


def _export_attributes(span: Any, drop: tuple[str, ...] = (), add: Mapping[str, Any] = ()) -> None:
    """Export *span* with *drop* removed and *add* set.

    OpenTelemetry offers no way to change an ended span's attributes (``_on_ending`` comes after
    the span is read-only), and the SDK hands one ``ReadableSpan`` per end to every processor in
    order. So the end record's ``_attributes`` is replaced by a changed copy — what the
    exporting processor after this one reads; the live span's own attributes are never touched.
    """
    attrs = getattr(span, "_attributes", None)
    if attrs is None:
        return
    kept = {k: v for k, v in attrs.items() if k not in drop}
    kept.update(add)
    span._attributes = kept


def _failed(span: Any, in_flight: Any, fields: Mapping[str, Any] | None = None) -> str | None:
    return _errors.error_type_of_span(
        span.attributes or {}, span.status, getattr(span, "events", ()) or (), in_flight, fields
    )


class GenAISpanMetrics:
    """A span processor: finished foreign GenAI inference, tool and agent spans -> the
    contract's metrics and run totals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, _Open] = {}

    # -- SpanProcessor --------------------------------------------------------------------------
    def on_start(self, span: Any, parent_context: Any = None) -> None:
        try:
            parent = span.parent
            p = self._open.get(parent.span_id) if parent is not None else None
            if p is None and not is_genai_at_start(span.name, span.attributes):
                return
            scope = getattr(span, "instrumentation_scope", None)
            kit = getattr(scope, "name", None) == _METER_NAME
            if kit and p is None and type(_sampler.kit_start.get()) is list:
                # a kit call that checked nothing needs its span (_call.LLMCall._start_lazy):
                # no run to count it for, nothing around it, nothing foreign to start under it
                return
            entry = _Open(p, span, kit, _agent.current_run())
            group = sc.group_of(entry.operation())
            if not kit and group is not None and not _state.foreign_genai:
                _state.foreign_genai = True  # the kit's own call spans are recorded from now on
            with self._lock:
                if group is not None and group != sc.GROUP_AGENT:
                    self._mark_outer(entry, group)  # known now: a kit span ends late
                if p is not None and p.kit and p.operation() == c.OPERATION_INVOKE_AGENT:
                    self._link_kit_run(entry)
                if kit and group is not None and group != sc.GROUP_AGENT:
                    self._expect_kit_call(entry, span)
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
            in_flight = sys.exc_info()[1]  # the exception ending the span, if it is propagating
            with self._lock:
                entry = self._open.pop(span.context.span_id, None)
            if entry is None and self._untracked_kit_span(span):
                return
            attrs = span.attributes or {}
            op = sc.operation_of(attrs)
            if op is None:
                return
            group = sc.group_of(op)
            if group is None:
                return
            with self._lock:
                if entry is None:  # untracked at start: placed by its parent, if tracked
                    parent = span.parent
                    p = self._open.get(parent.span_id) if parent is not None else None
                    scope = getattr(span, "instrumentation_scope", None)
                    entry = _Open(p, span, getattr(scope, "name", None) == _METER_NAME, None)
                if group == sc.GROUP_AGENT:
                    if not entry.kit:
                        run = self._run_of_agent(entry)
                        waits = entry.waits_for_kit
                    else:
                        return
                else:
                    under_kit = self._mark_outer(entry, group)
                    run = self._run_of(entry)
            if group == sc.GROUP_AGENT:
                self._end_agent(span, attrs, run, waits, in_flight)
            elif entry.kit:
                self._note_kit_call(run, group, span)
            elif under_kit or entry.has_child:
                if group == sc.GROUP_INFERENCE:
                    _export_attributes(
                        span, sc.USAGE_AND_COST_NAMES, {c.ATTR_COUNTED_ELSEWHERE: True}
                    )
            else:
                self._end_call(op, group, span, run, in_flight)
        except Exception as exc:
            report("span_metrics.end", exc)

    def _untracked_kit_span(self, span: Any) -> bool:
        """A kit span untracked at its start under an untracked parent: the kit counts it itself
        and no run or span around it needs it (what the rest of ``on_end`` would conclude)."""
        scope = getattr(span, "instrumentation_scope", None)
        if getattr(scope, "name", None) != _METER_NAME:
            return False
        parent = span.parent
        return parent is None or parent.span_id not in self._open

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        # the provider flushes its processors in order and this one comes before the exporting
        # one: the kit's calls still being recorded end their spans first, then get exported
        return _offload.drain(timeout_millis / 1000)

    # -- the tree (under self._lock) -------------------------------------------------------------
    @staticmethod
    def _mark_outer(entry: _Open, group: str) -> bool:
        """Mark the spans of *group* around *entry* (up to its agent run) as counted by it;
        whether one of them is the kit's own (which then counts the call instead)."""
        under_kit = False
        a = entry.parent
        while a is not None:
            g = sc.group_of(a.operation())
            if g == sc.GROUP_AGENT:
                break
            if g == group:
                a.has_child = True
                under_kit = under_kit or a.kit
            a = a.parent
        return under_kit

    def _run_of(self, entry: _Open) -> _agent.Run | None:
        """The innermost agent run *entry* belongs to: the nearest enclosing agent span's (a
        framework's: its run; the kit's: the kit run of the context), else the context's."""
        a = entry.parent
        while a is not None:
            if a.operation() == c.OPERATION_INVOKE_AGENT:
                return entry.ctx_run if a.kit else self._run_of_agent(a)
            a = a.parent
        return entry.ctx_run

    def _run_of_agent(self, agent: _Open) -> _agent.Run:
        """A framework agent span's run, made when first needed (a child's end or its own)."""
        if agent.run is None:
            attrs = getattr(agent.span, "attributes", None) or {}
            name = _text(attrs.get(c.GEN_AI_AGENT_NAME)) or _agent_name_of(agent.span)
            agent.run = _agent.Run(name, self._run_of(agent), foreign=True)
        return agent.run

    def _link_kit_run(self, entry: _Open) -> None:
        """A kit ``agent()`` span's first child: link its run (the context's now: a kit run
        starts after its span) to the framework run around it."""
        kit_run = entry.ctx_run
        if kit_run is None or kit_run.parent is not None or entry.parent is None:
            return
        outer = self._run_of(entry.parent)
        if outer is not None and outer.foreign:
            kit_run.parent = outer
            if outer.main:
                kit_run.main = outer.main

    def _expect_kit_call(self, entry: _Open, span: Any) -> None:
        """A kit call or tool inside framework runs only: have its recording kept for them."""
        run = self._run_of(entry)
        if run is None or not run.foreign:
            return
        _record.expect(span.context.span_id)
        a = entry.parent
        while a is not None:
            if a.run is not None and not a.kit:
                a.waits_for_kit = True
            a = a.parent

    # -- recording (outside the lock) ------------------------------------------------------------
    def _end_call(
        self, op: str, group: str, span: Any, run: _agent.Run | None, in_flight: Any
    ) -> None:
        fields = sc.read(span.attributes or {})
        error = _failed(span, in_flight, fields)
        if error is not None:  # span queries read the kit's copy (the exporter drops error.type)
            _export_attributes(span, (), {c.ATTR_ERROR_TYPE: error})
        if group == sc.GROUP_TOOL:
            duration = _duration(span)
            if duration is not None:
                _agent.record_tool_call(
                    _text((span.attributes or {}).get(c.GEN_AI_TOOL_NAME)),
                    duration,
                    error,
                    run.name if run is not None else None,
                )
            if run is not None:
                run.add_tool_call()
            return
        recorded = _record.record(call_of_span(op, span, error, fields))
        if run is not None:
            run.add_model_call(recorded.input_tokens, recorded.output_tokens, recorded.run_cost)

    @staticmethod
    def _note_kit_call(run: _agent.Run | None, group: str, span: Any) -> None:
        """Count a call of the kit's own in the framework agent runs around it (up to the first
        kit run, which the kit's own tally already reaches), as it was recorded."""
        recorded = _record.take(span.context.span_id)
        foreign = []
        while run is not None and run.foreign:
            foreign.append(run)
            run = run.parent
        for r in foreign:
            if group == sc.GROUP_TOOL:
                r.add_tool_call(chain=False)
            elif recorded is not None:
                r.add_model_call(
                    recorded.input_tokens, recorded.output_tokens, recorded.run_cost, chain=False
                )
            else:  # its recording failed: counted, with unknown usage and cost
                r.add_model_call(None, None, None, chain=False)

    @staticmethod
    def _end_agent(
        span: Any, attrs: Mapping[str, Any], run: _agent.Run, waits: bool, in_flight: Any
    ) -> None:
        """A framework's agent run ended: record it, and export its span with the run totals
        and without usage its calls already carry."""
        if waits and not _offload.on_worker():
            _offload.drain(_RUN_WAIT_S)  # its kit calls are recorded on the emit thread
        name = _text(attrs.get(c.GEN_AI_AGENT_NAME))
        if name:
            run.name = name  # the name may be set after the span started
        if run.parent is None:
            run.main = run.name
        usage = _usage_of(sc.read(attrs))
        run.reported_input_tokens, run.reported_output_tokens = (
            usage.input_tokens,
            usage.output_tokens,
        )
        error = _failed(span, in_flight)
        duration = _duration(span)
        if duration is not None:
            _agent.finish_run(run, duration, error)
        add: dict[str, Any] = _agent.run_attributes(run)
        if c.ATTR_MAIN_AGENT_NAME not in attrs:
            add[c.ATTR_MAIN_AGENT_NAME] = run.main
        if error is not None:
            add[c.ATTR_ERROR_TYPE] = error
        drop: tuple[str, ...] = ()
        if run.model_calls and any(k in attrs for k in sc.USAGE_AND_COST_NAMES):
            # the framework's sum of its calls' usage: the calls carry it, once
            drop = sc.USAGE_AND_COST_NAMES
            add[c.ATTR_COUNTED_ELSEWHERE] = True
        _export_attributes(span, drop, add)


def _agent_name_of(span: Any) -> str:
    """An agent's name from its span's conventional name (``invoke_agent triage``)."""
    name = getattr(span, "name", None)
    if isinstance(name, str) and " " in name:
        return name.split(" ", 1)[1] or name
    return name if isinstance(name, str) and name else c.OPERATION_INVOKE_AGENT


def span_processor() -> Any:
    """A new :class:`GenAISpanMetrics` as an OpenTelemetry ``SpanProcessor`` (for apps that wire
    their own TracerProvider: add it before the exporting processor)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class _Processor(GenAISpanMetrics, SpanProcessor):
        pass

    return _Processor()


def foreign_metric_views() -> list[Any]:
    """Views dropping the ``gen_ai.client.*`` metrics of every meter but the kit's: the kit
    records them for every call it sees (from spans or its patch), so a second source would
    count calls twice. A kit instrument matches its own contract view too and is kept.

    A view cannot exclude a meter: a kit instrument under its contract name passes through this
    one too (with the kit's views in the provider it has an internal name this one does not
    match: ``_metrics.internal_name``). With no attribute keys, such a pass copies the
    attributes and keys them as empty instead of hashing every dimension (what it drops needs
    none)."""
    from opentelemetry.sdk.metrics.view import DropAggregation, View

    return [
        View(
            instrument_name=FOREIGN_GENAI_METRICS,
            aggregation=DropAggregation(),
            attribute_keys=set(),
        )
    ]
