"""One LLM call's telemetry: the span, and every metric, recorded exactly once at the end.

Both the openai instrumentation and ``llm_call()`` (for clients the kit does not patch) fill an
:class:`LLMCall` and ``finish()`` it; its metrics and cost are recorded by ``_record.record``
from the :class:`_record.Call` it fills, as every other source's are. Usage that was never
reported stays *unknown* (no token metric, no usage attributes,
``llm_insights.usage.known=false``), which is different from zero tokens
(``gen_ai.usage.*_tokens=0``).

Spans carry what queries and Azure's views read, and flags only when they say something: every
call pays ingestion for every byte, so ``usage.known`` appears only as ``false`` (reported usage
shows as the usage attributes themselves), refusal and hallucination-marker flags only as
``true``, and nothing derivable twice over or already exact in a metric (total cost =
``microsoft.gen_ai.cost.input`` + ``.output``; output/input ratio from the usage attributes;
response length and its distribution are metrics; finish reasons only as the semantic-convention
array, which the Azure Monitor exporter writes as a Python tuple repr such as ``('stop',)`` —
query it with ``has``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _agent, _evaluation, _keep, _offload, _pricing, _record, _sampler, _state
from . import contract as c
from ._content import input_messages, output_messages, serialize, should_capture
from ._errors import error_type_of
from ._fields import get
from ._guard import guarded, report, report_invalid
from ._metrics import Series, count_of
from ._pricing import Usage
from ._quality import assess, clean_text
from ._safety import CONTENT_FILTER_REASON, FilterHits
from ._spans import current_span_attributes
from ._tally import SumAdd

_MAX_INTERVALS = 10_000
# Span attributes travel as text: float noise ("0.0009599999999999999") costs ingestion bytes on
# every call and says nothing. Span costs keep 1e-12 USD; metrics are exact.


# the fields of Usage, in order: where each set_usage() argument goes
USAGE_KINDS = Usage._fields
# where each set_usage() argument came from, for the invalid-value log line, in the order of
# USAGE_KINDS (None: that API does not report it)
USAGE_FIELDS_OPENAI = (
    "usage.prompt_tokens",
    "usage.completion_tokens",
    "usage.prompt_tokens_details.cached_tokens",
    "usage.prompt_tokens_details.cache_write_tokens",
    "usage.completion_tokens_details.reasoning_tokens",
    "usage.prompt_tokens_details.audio_tokens",
    "usage.completion_tokens_details.audio_tokens",
    None,
    None,
)
USAGE_FIELDS_RESPONSES = (
    "usage.input_tokens",
    "usage.output_tokens",
    "usage.input_tokens_details.cached_tokens",
    "usage.input_tokens_details.cache_write_tokens",
    "usage.output_tokens_details.reasoning_tokens",
    None,
    None,
    None,
    None,
)
_NO_USAGE = Usage()  # a call's usage until reported (frozen: shared)
# the keys along each field path below `usage.`, split once per tuple of fields
_usage_keys: dict[tuple, tuple] = {}
USAGE_FIELDS_LLM_CALL = tuple(
    f"record_usage({'cached_input_tokens' if k == 'cache_read_input_tokens' else k})"
    for k in USAGE_KINDS
)


class _Late:
    """A call whose span the head sampler dropped and nothing needs recorded: what its span is
    made of if the keep policy keeps the call (failed or slow, known at its end) — the start's
    name, attributes, parent context and time, and what happened to it on the way, in order."""

    __slots__ = ("attributes", "context", "name", "start_ns", "steps")

    def __init__(self, name: str, attributes: dict[str, Any], context: Any, start_ns: int) -> None:
        self.name = name
        self.attributes = attributes
        self.context = context
        self.start_ns = start_ns
        # (event name | "" (exception), value, time); a list once there is one (most have none)
        self.steps: list[tuple[str, Any, int]] | tuple[()] = ()

    def step(self, event: str, value: Any) -> None:
        """Something that happened to the call now: an event, or ("", exception)."""
        if not self.steps:
            self.steps = []
        self.steps.append((event, value, time.time_ns()))


def _usable_count(value: Any, field: str) -> int | None:
    """count_of(value); an unusable value is reported as a counted degradation."""
    n = count_of(value)
    if n is None:
        report_invalid(c.SDK_COMPONENT_USAGE_INVALID, field, value, "unknown")
    return n


class LLMCall:
    """Telemetry of one call in progress. Every method is safe to call with any input."""

    def __init__(
        self,
        *,
        operation: str,
        provider: str,
        request_model: str | None,
        server_address: str | None = None,
        server_port: int | None = None,
        deployment: str | None = None,
        streaming: bool = False,
        request_attributes: dict[str, Any] | None = None,
        messages: Any = None,
        lazy: bool = False,
    ) -> None:
        self.operation = operation
        self.provider = provider
        self.request_model = request_model if isinstance(request_model, str) else None
        self.server_address = server_address
        self.deployment = deployment
        self.streaming = streaming
        self.messages = messages
        self.response_model: str | None = None
        self.response_id: str | None = None
        self.finish_reasons: list[str | None] = []
        self._parts: list[list[str] | None] = []  # completion text pieces per choice
        self.usage = _NO_USAGE  # as reported; None counts: not reported (unknown)
        # what record() did with the call, set at finish(): pricing outcome, run share
        self._recorded: _record.Recorded | None = None
        self.queued = False  # finished, its recording queued on the emit thread (_offload)
        self.started_at = time.time()  # prices are effective-dated: the call's date picks them
        self.error_type: str | None = None
        self.filters = FilterHits()
        self.ttft: float | None = None
        self.chunks = 0
        self.intervals: list[float] | tuple[()] = ()  # a list once a gap is kept
        # per-chunk gaps are kept (and recorded) only when chunk metrics are on
        self._max_intervals = _MAX_INTERVALS if _state.settings.chunk_metrics else 0
        self._last_chunk: float | None = None
        self.stream_end: str | None = None
        self.done = False
        self._finish_lock = threading.Lock()
        self.start = time.perf_counter()
        attrs: dict[str, Any] = {
            c.GEN_AI_OPERATION_NAME: operation,
            c.GEN_AI_PROVIDER_NAME: provider,
            c.GEN_AI_SYSTEM: provider,
        }
        if self.request_model:
            attrs[c.GEN_AI_REQUEST_MODEL] = self.request_model
        if server_address:
            attrs[c.SERVER_ADDRESS] = server_address
        if server_port:
            attrs[c.SERVER_PORT] = server_port
        # the conventions' sampling-relevant attributes go on the span at its start; the rest
        # is collected now (the context's ids belong to the caller) and set with the response's
        # attributes when the call is recorded — off the caller's thread (see _offload)
        late: dict[str, Any] = {}
        if deployment:
            late[c.ATTR_DEPLOYMENT] = deployment
        entry = _pricing.deployment_entry(deployment, self.request_model)
        if entry is not None:
            late[c.ATTR_DEPLOYMENT_TYPE] = entry.type
        if streaming:
            late[c.GEN_AI_REQUEST_STREAM] = True
        late.update(current_span_attributes())
        for k, v in (request_attributes or {}).items():
            if v is not None and isinstance(v, (str, bool, int, float)):
                late[k] = v
        self._request_attributes = late
        name = f"{operation} {self.request_model}" if self.request_model else operation
        self._late: _Late | None = None
        self._kept_late = False  # a dropped call's span made at its end (see _make_late_span)
        if lazy and not _state.foreign_genai and _agent.current_run() is None:
            self.span = self._start_lazy(name, attrs)
        else:
            self.span = _state.tracer().start_span(name, kind=SpanKind.CLIENT, attributes=attrs)

    def _start_lazy(self, name: str, attrs: dict[str, Any]) -> Any:
        """The span of a call nothing needs recorded while it runs: non-recording when the head
        sampler drops it. *lazy* callers guarantee that no other instrumentation's GenAI span
        can start inside the call (``_instrument_openai``); here: no kit agent run counts it
        (``_agent``), no other GenAI span was ever seen (its de-duplication in
        ``_span_metrics`` reads the kit's span), and the current span is not recorded (an
        agent, tool or framework span a recorded child would count for, or be kept with)."""
        tracer = _state.tracer()
        context = otel_context.get_current()
        if trace.get_current_span(context).is_recording():
            return tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attrs)
        start_ns = time.time_ns()
        dropped = [False]
        token = _sampler.kit_start.set(dropped)
        try:
            span = tracer.start_span(
                name, kind=SpanKind.CLIENT, attributes=attrs, start_time=start_ns
            )
        finally:
            _sampler.kit_start.reset(token)
        if dropped[0] and not span.is_recording():
            self._late = _Late(name, attrs, context, start_ns)
        return span

    def _make_late_span(self, late: _Late) -> None:
        """The span of a dropped call the keep policy may keep: started now with the call's
        start time and parent, recorded only (``_keep.on_end`` decides at its end, as for any
        dropped span), with everything that happened to the call replayed in order."""
        token = _sampler.kit_start.set(_sampler.LATE)
        try:
            span = _state.tracer().start_span(
                late.name,
                context=late.context,
                kind=SpanKind.CLIENT,
                attributes=late.attributes,
                start_time=late.start_ns,
            )
        finally:
            _sampler.kit_start.reset(token)
        for event, value, ts in late.steps:
            if event:
                span.add_event(event, value, ts)
            else:
                span.record_exception(value, timestamp=ts)
        if self.error_type:
            span.set_attributes({c.ERROR_TYPE: self.error_type, c.ATTR_ERROR_TYPE: self.error_type})
            span.set_status(Status(StatusCode.ERROR, self.error_type))
        self.span = span
        self._kept_late = True

    @property
    def texts(self) -> list[str | None]:
        """Completion text per choice (None: no text seen for that choice)."""
        return [None if p is None else "".join(p) for p in self._parts]

    # -- filling in ------------------------------------------------------------------------
    def activate(self) -> Any:
        """Make this call's span current (so HTTP spans nest under it); the token goes back to
        ``opentelemetry.context.detach``. The SDK records the call's exception itself, once."""
        return otel_context.attach(trace.set_span_in_context(self.span))

    def set_usage(self, *counts: Any, fields: tuple = USAGE_FIELDS_OPENAI) -> None:
        """Usage counts as reported, in the order of ``USAGE_KINDS``; *fields* name where each
        came from (for the log line).

        None means "not reported" and changes nothing; any other value that is not a usable
        count becomes unknown and is reported (logged once per field, counted).
        """
        changed = {
            kind: _usable_count(value, field or kind)
            for kind, value, field in zip(USAGE_KINDS, counts, fields)
            if value is not None
        }
        if changed:
            self.usage = self.usage._replace(**changed)

    def set_counts(self, counts: tuple[int | None, ...]) -> None:
        """``set_usage`` with counts already checked (each None or an int >= 0), in the order
        of ``USAGE_KINDS``."""
        if self.usage is _NO_USAGE:
            self.usage = Usage(*counts)
        else:
            self.set_usage(*counts)

    def set_usage_from(self, usage: Any, fields: tuple) -> None:
        """``set_usage`` with the counts read from a provider's usage object along *fields*
        (dotted paths from ``usage.``, e.g. ``USAGE_FIELDS_OPENAI``)."""
        if usage is None:
            return
        keys = _usage_keys.get(fields)
        if keys is None:
            keys = _usage_keys[fields] = tuple(
                tuple(f.split(".")[1:]) if f else None for f in fields
            )
        counts = []
        for path in keys:
            value = usage if path else None
            for key in path or ():
                value = get(value, key)
                if value is None:
                    break
            counts.append(value)
        self.set_usage(*counts, fields=fields)

    def set_response(self, model: Any = None, response_id: Any = None) -> None:
        if isinstance(model, str) and model:
            self.response_model = model
        if isinstance(response_id, str) and response_id:
            self.response_id = response_id

    def add_text(self, text: Any, index: int = 0, finish_reason: Any = None) -> None:
        """Append completion text of choice *index* (streams call this per chunk)."""
        while len(self._parts) <= index:
            self._parts.append(None)
            self.finish_reasons.append(None)
        t = clean_text(text)
        if t is not None:
            parts = self._parts[index]
            if parts is None:
                self._parts[index] = [t]
            else:
                parts.append(t)
        if isinstance(finish_reason, str):
            self.finish_reasons[index] = finish_reason[: c.FINISH_REASON_MAX_CHARS]

    def chunk(self, has_content: bool) -> None:
        """A streamed chunk arrived; content chunks time the first token and the gaps."""
        if not has_content:
            return
        now = time.perf_counter()
        self.chunks += 1
        if self.ttft is None:
            self.ttft = now - self.start
            if self._late is not None:
                self._late.step(c.EVENT_FIRST_CHUNK, None)
            else:
                self.span.add_event(c.EVENT_FIRST_CHUNK)
        elif self._last_chunk is not None and len(self.intervals) < self._max_intervals:
            if not self.intervals:
                self.intervals = []
            self.intervals.append(now - self._last_chunk)
        self._last_chunk = now

    def fail(self, exc: BaseException) -> None:
        self.error_type = error_type_of(exc)
        body = getattr(exc, "body", None)
        if self.error_type == "400" and self.filters.add_error_body(body):
            self.error_type = c.ERROR_TYPE_CONTENT_FILTER
        try:
            if self._late is not None:
                self._late.step("", exc)
            else:
                self.span.record_exception(exc)
        except Exception as e:
            report("llm_call.record_exception", e)

    # -- the end -----------------------------------------------------------------------------
    @guarded("llm_call.finish")
    def finish(self, end: float | None = None) -> None:
        """Record everything once; later calls do nothing."""
        with self._finish_lock:  # a GC finalizer and the app's thread may race here
            if self.done:
                return
            self.done = True
        now = time.perf_counter()
        end = now if end is None else end
        if self.error_type and self._late is None:
            # first, so a failure in cost/quality/filter processing (caught by the guard)
            # never ships a failed call's span without its error status
            try:
                self.span.set_attributes(
                    {c.ERROR_TYPE: self.error_type, c.ATTR_ERROR_TYPE: self.error_type}
                )
                self.span.set_status(Status(StatusCode.ERROR, self.error_type))
            except Exception as exc:
                report("llm_call.error_status", exc)
        # The rest need not block the caller (see _offload): unless a kit agent() run is open
        # here — it must count this call's cost before it ends — it runs on the emit thread,
        # and the span ends there with the caller's end time.
        end_ns = time.time_ns() - int((now - end) * 1e9)
        if _agent.current_run() is None:
            self.queued = True
            # the job is a bound method reading the end times from the call: it holds fewer
            # objects the cyclic GC tracks than a closure would (see _offload)
            self._end, self._end_ns = end, end_ns
            if _offload.submit(self._finish_queued):
                return
            self.queued = False
        self._finish_emit(end, None if self._late is None else end_ns)

    def _finish_queued(self) -> None:
        self._finish_emit(self._end, self._end_ns)

    def _finish_emit(self, end: float, end_ns: int | None) -> None:
        try:
            late = self._late
            if late is not None:
                self._late = None
                # kept only if failed or slow (``_keep.on_end``, on the span's own times)
                seconds = ((end_ns or time.time_ns()) - late.start_ns) / 1e9
                if self.error_type or seconds > _keep.policy.slow_seconds:
                    try:
                        self._make_late_span(late)
                    except Exception as exc:
                        report("llm_call.late_span", exc)
            self._emit(end)
        except Exception as exc:
            report("llm_call.finish", exc)
        finally:
            self.queued = False
            try:
                self.span.end(end_ns)
            except Exception as exc:
                report("llm_call.span_end", exc)

    def _emit(self, end: float) -> None:
        """Everything a finished call records: span attributes (set at once, usage before
        anything long, content last), metrics with cost, quality assessment, evaluators."""
        call = self.record_value(end)
        series = _record.series_of(call)  # shared by every measurement of the call
        reasons = [r for r in self.finish_reasons if r]
        # a span no exporter will see needs no attributes (its metrics are recorded all the same)
        exported = self._kept_late or _keep.may_export(
            self.span, bool(self.error_type), end - self.start
        )
        sa = self._response_attributes(reasons) if exported else {}
        texts = self.texts
        adds: list[SumAdd] = []  # the call's counter adds, summed under one lock at the end
        try:
            self._record_metrics(call, series, sa, adds)
            self._record_stream(sa)
            if self.filters.hits or CONTENT_FILTER_REASON in reasons:
                self._record_filters(series, reasons)
            text = self._assess(texts, sa, adds)
        finally:  # a failure after the metrics (reported by the caller) keeps their counts
            _state.instruments().series_add(series, adds)
        if exported:
            self.span.set_attributes(sa)  # error.type and status were set first, in finish()
            if should_capture(bool(self.error_type)):
                self._capture(self.span, texts)
        if text is not None:
            _evaluation.submit(self.response_id, self.response_model or self.request_model, text)

    def _response_attributes(self, reasons: list[str]) -> dict[str, Any]:
        """The request's attributes collected at start, then the response's: model, id, finish
        reasons, usage as reported."""
        sa: dict[str, Any] = dict(self._request_attributes)
        if self.response_model:
            sa[c.GEN_AI_RESPONSE_MODEL] = self.response_model
        if self.response_id:
            sa[c.GEN_AI_RESPONSE_ID] = self.response_id
        if reasons:
            sa[c.GEN_AI_RESPONSE_FINISH_REASONS] = reasons  # OpenTelemetry: a string array
        u = self.usage
        if not self.usage_known:  # known usage shows as the gen_ai.usage.* attributes themselves
            sa[c.ATTR_USAGE_KNOWN] = False
        for value, key in (
            (u.input_tokens, c.GEN_AI_USAGE_INPUT_TOKENS),
            (u.output_tokens, c.GEN_AI_USAGE_OUTPUT_TOKENS),
        ):
            if value is not None:
                sa[key] = value
        # cached, cache-write and reasoning tokens are inside these counts and priced into
        # microsoft.gen_ai.cost.*; no panel, rule or Azure view reads them from a span
        return sa

    @property
    def usage_known(self) -> bool:
        return self.usage.input_tokens is not None or self.usage.output_tokens is not None

    def record_value(self, end: float) -> _record.Call:
        """What this call was, as every source describes a call to ``_record.record``."""
        # by position, in the fields' order (one per call: keywords would cost it half again;
        # tests/sdk/test_series.py compares it with the keyword form)
        return _record.Call(
            self.operation,
            self.provider,
            self.request_model,
            self.response_model,
            self.server_address,
            self.deployment,
            self.usage,
            max(0.0, end - self.start),  # duration
            self.ttft,
            self.intervals,  # chunk_gaps
            self.error_type,
            self.started_at,
            _record.SOURCE_KIT,
        )

    def _record_metrics(
        self, call: _record.Call, series: Series, sa: dict, adds: list[SumAdd]
    ) -> None:
        """Every metric of the call (``_record.record``; its counter adds appended to *adds*),
        and its share of the agent run."""
        recorded = self._recorded = _record.record(call, series, adds)
        sa.update(recorded.span_attributes)
        _agent.note_model_call(recorded)
        _record.note_kit_span(self.span, recorded)

    def _record_stream(self, sa: dict[str, Any]) -> None:
        """Chunks and how the stream ended, time to first chunk, on the span."""
        if self.streaming:
            sa[c.ATTR_STREAM_CHUNKS] = self.chunks
            if self.stream_end:
                sa[c.ATTR_STREAM_END] = self.stream_end
        if self.ttft is not None:
            sa[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.ttft

    def _record_filters(self, series: Series, reasons: list[str]) -> None:
        """Content-filter hits (the results and a content_filter finish reason) as metric and
        span events."""
        for reason in reasons:
            self.filters.add_finish_reason(reason)
        inst = _state.instruments()
        for hit in self.filters.items():
            inst.add(c.CONTENT_FILTER_HITS, 1, {**series.dims, **hit})
            self.span.add_event(c.EVENT_CONTENT_FILTER, hit)

    def _assess(
        self, texts: list[str | None], sa: dict[str, Any], adds: list[SumAdd]
    ) -> str | None:
        """A successful chat completion's text, assessed: length, refusal, hallucination
        markers (flags set only when true: absent = not flagged), their counter adds appended
        to *adds* (the call's series'). Returns the text."""
        if self.operation != c.OPERATION_CHAT or self.error_type:
            return None
        parts = [t for t in texts if t is not None]
        if not parts:
            return None
        text = "".join(parts)
        s = _state.settings
        q = assess(text, s.refusal_patterns, s.hallucination_patterns)
        inst = _state.instruments()
        # characters summed in process; the bucket counter counts the responses (no histogram)
        adds.append((inst.key(c.RESPONSE_LENGTH), float(q.length)))
        adds.append((inst.bucket_key(c.RESPONSE_LENGTH_BUCKET_COUNTS, q.length), 1.0))
        if q.refusal:
            sa[c.ATTR_REFUSAL] = True
            adds.append((inst.key(c.REFUSALS), 1.0))
        if q.hallucination_marker:
            sa[c.ATTR_HALLUCINATION_MARKER] = True
            adds.append((inst.key(c.HALLUCINATION_MARKERS), 1.0))
        return text

    def recorded(self) -> _record.Recorded | None:
        """What recording did with the call once finished (None: not yet, or it failed). When
        its recording is queued on the emit thread, this waits for it — call it off the hot
        path only (tests, ``llm_call.cost_usd``)."""
        if self.queued and not _offload.on_worker():
            _offload.drain()
        return self._recorded

    @property
    def cost_usd(self) -> float | None:
        """The call's total USD cost once finished (None: unpriced, provisioned or not yet)."""
        r = self.recorded()
        return r.cost_usd if r is not None else None

    def _capture(self, span: Any, texts: list[str | None]) -> None:
        truncated = False
        if self.messages is not None:
            text, cut = serialize(input_messages(self.messages))
            span.set_attribute(c.GEN_AI_INPUT_MESSAGES, text)
            truncated |= cut
        if any(t is not None for t in texts):
            text, cut = serialize(output_messages(texts, self.finish_reasons))
            span.set_attribute(c.GEN_AI_OUTPUT_MESSAGES, text)
            truncated |= cut
        if truncated:
            span.set_attribute(c.ATTR_CONTENT_TRUNCATED, True)
