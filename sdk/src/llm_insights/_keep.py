"""Failed and slow GenAI spans kept whatever the head sampler decided, bounded, counts exact.

A head sampler decides at a trace's start; a responder needs the traces that failed or were slow,
known only at their end. The kit's sampler wrap already records every GenAI span the sampler
drops (RECORD_ONLY, ``_sampler``); when such a span ends, :func:`on_end` keeps it when

* it failed (error status or ``error.type``): an LLM call, a tool call, an agent run;
* it is an LLM call slower than the slow threshold (``DEFAULT_KEEP_SLOW_SECONDS``, the stack's
  ``llm-latency-p95-high`` threshold through ``LLM_INSIGHTS_KEEP_SLOW_SECONDS``, or
  ``configure(keep_slow_seconds=...)``);
* a span under it was kept (the agent run or tool call around a failed call, where that span is
  recorded and ends after its child),

and the cap allows it: at most ``per_minute`` kept spans in any 60 seconds per reason (the
error type, or slow) and model (tool or agent name for tool and agent spans), per process. The
rest are counted in ``llm_insights.kept.dropped`` (by why they would have been kept), so an outage
costs a bounded ingestion and the overview workbook says when drill-down rows were capped.

How a kept span is exported: the GenAI span processor runs before the exporting processors (the
Azure Monitor distro adds its batch processor after the processors ``configure()`` passes), and
OpenTelemetry's SDK hands every processor of the provider the same end-of-span record in order
(``SynchronousMultiSpanProcessor.on_end``; ``Span.end`` builds it with ``_readable_span()``, a
fresh ``ReadableSpan`` per end). The record of a kept span is re-stamped there — its span context
flagged sampled, so the ``BatchSpanProcessor`` after this one exports it — never the live span.

Counts stay exact: the record carries ``_MS.sampleRate = 100``, which the Azure Monitor exporter
turns into the envelope's ``sampleRate`` (``export/trace/_exporter.py``:
``envelope.sample_rate = span.attributes[_SAMPLE_RATE_KEY]``), and Application Insights into
``itemCount = 100 / sampleRate = 1`` — the rate the sampler had stamped on the dropped span
(12.5 %: ``itemCount`` 8) would count the one call eight times. And it carries
``llm_insights.kept_for = error|slow``, so span panels can tell kept spans from sampled ones.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any

from . import _errors, _state
from . import _semconv_compat as sc
from . import contract as c
from ._guard import report

# azure-monitor-opentelemetry-exporter's _constants._SAMPLE_RATE_KEY: the attribute its samplers
# set and its trace exporter copies into the envelope's sampleRate (percent kept)
SAMPLE_RATE_KEY = "_MS.sampleRate"
_ALL_KEPT = 100.0
_STATUS_ERROR = 2  # opentelemetry.trace.StatusCode.ERROR
_WINDOW_S = 60.0
_MAX_KEYS = 256  # distinct (reason, model) keys within a minute; the rest share one key
_MAX_PENDING_PARENTS = 4_096  # parents of kept spans still open (oldest forgotten first)
_ERROR_NAMES = tuple(sc.NAMES[sc.ERROR_TYPE])
# what the cap counts per, besides the model of a call
_NAME_OF = {sc.GROUP_TOOL: c.GEN_AI_TOOL_NAME, sc.GROUP_AGENT: c.GEN_AI_AGENT_NAME}


class Policy:
    """What is kept: the per-minute cap per (reason, model) and the slow threshold (seconds)."""

    __slots__ = ("per_minute", "slow_seconds")

    def __init__(self, per_minute: int, slow_seconds: float) -> None:
        self.per_minute = per_minute
        self.slow_seconds = slow_seconds


def _per_minute_ok(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _seconds_ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and v != float("inf")


# configure() argument -> (environment variable, parse, check, what is allowed, default)
_SETTINGS: dict[str, tuple[str, Callable[[str], Any], Callable[[Any], bool], str, Any]] = {
    "keep_per_minute": (
        c.ENV_KEEP_PER_MINUTE, int, _per_minute_ok,
        "a whole number >= 0 (kept spans per minute per reason and model; 0 keeps none)",
        c.DEFAULT_KEEP_PER_MINUTE,
    ),
    "keep_slow_seconds": (
        c.ENV_KEEP_SLOW_SECONDS, float, _seconds_ok,
        "a number of seconds > 0 (LLM calls longer than this are kept)",
        c.DEFAULT_KEEP_SLOW_SECONDS,
    ),
}  # fmt: skip


def _setting(name: str, value: Any) -> Any:
    """The argument when given (ValueError naming it when not allowed), else its environment
    variable (a bad value is logged and ignored), else the default."""
    env, parse, ok, allowed, default = _SETTINGS[name]
    if value is not None:
        if not ok(value):
            raise ValueError(f"configure({name}={value!r}): {allowed}")
        return parse(value)
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or not ok(value):
        logging.getLogger("llm_insights").warning(
            "llm_insights: %s=%r is not allowed (%s); the default is used", env, raw, allowed
        )
        return default
    return value


def policy_from(per_minute: Any = None, slow_seconds: Any = None) -> Policy:
    """The policy of ``configure(keep_per_minute=, keep_slow_seconds=)``: an argument wins, then
    ``LLM_INSIGHTS_KEEP_PER_MINUTE`` / ``LLM_INSIGHTS_KEEP_SLOW_SECONDS``, then the defaults.
    Raises ValueError naming the argument and what is allowed."""
    return Policy(
        _setting("keep_per_minute", per_minute), _setting("keep_slow_seconds", slow_seconds)
    )


class Limiter:
    """At most *per_minute* admissions per key in any 60 seconds of *clock* (a sliding log of the
    last admissions per key, so a burst never gets twice the cap across a minute boundary);
    thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._log: dict[tuple[str, str], deque[float]] = {}

    def admit(self, key: tuple[str, str], per_minute: int) -> bool:
        if per_minute <= 0:
            return False
        now = self._clock()
        with self._lock:
            log = self._log.get(key)
            if log is None:
                if len(self._log) >= _MAX_KEYS:
                    self._forget_idle(now)
                if len(self._log) >= _MAX_KEYS:
                    key = (c.OVERFLOW_VALUE, c.OVERFLOW_VALUE)  # one shared allowance
                log = self._log.setdefault(key, deque())
            while log and now - log[0] >= _WINDOW_S:
                log.popleft()
            if len(log) >= per_minute:
                return False
            log.append(now)
            return True

    def _forget_idle(self, now: float) -> None:
        for k in [k for k, log in self._log.items() if not log or now - log[-1] >= _WINDOW_S]:
            del self._log[k]


policy = policy_from()
limiter = Limiter()
_parents_lock = threading.Lock()
# span id of an open recorded span -> why a span under it was kept
_kept_under: OrderedDict[int, str] = OrderedDict()


def configure(per_minute: Any = None, slow_seconds: Any = None) -> None:
    """Set the policy (see :func:`policy_from`); raises ValueError on a bad argument."""
    global policy
    policy = policy_from(per_minute, slow_seconds)


def reset() -> None:
    """Defaults from the environment, a fresh limiter, no open parents (tests)."""
    global policy, limiter
    policy = policy_from()
    limiter = Limiter()
    with _parents_lock:
        _kept_under.clear()


def _failed(attrs: Mapping[str, Any], status: Any) -> bool:
    """An error status or an error.type (any release's name): cheap, read on every span."""
    code = getattr(getattr(status, "status_code", None), "value", None)
    return code == _STATUS_ERROR or any(attrs.get(name) for name in _ERROR_NAMES)


def _slow(group: str | None, span: Any) -> bool:
    start, end = span.start_time, span.end_time
    timed = group == sc.GROUP_INFERENCE and isinstance(start, int) and isinstance(end, int)
    return timed and (end - start) / 1e9 > policy.slow_seconds


def on_end(span: Any) -> None:
    """Keep *span* (an ended span's record, before the exporting processors see it) when it
    qualifies and the cap allows. Never raises."""
    try:
        ctx = span.context
        if ctx is None or ctx.trace_flags.sampled:
            return  # exported anyway (or nothing to export)
        attrs = span.attributes or {}
        op = sc.operation_of(attrs)
        group = sc.group_of(op)
        if group is None:
            return
        child_reason = None
        if _kept_under:
            with _parents_lock:
                child_reason = _kept_under.pop(ctx.span_id, None)
        if _failed(attrs, span.status):
            kept_for = c.KEPT_FOR_ERROR
        elif _slow(group, span):
            kept_for = c.KEPT_FOR_SLOW
        elif child_reason is not None:
            kept_for = child_reason
        else:
            return
        _keep_or_count(span, ctx, attrs, op, group, kept_for)
    except Exception as exc:
        report("keep.on_end", exc)


def _keep_or_count(
    span: Any, ctx: Any, attrs: Mapping[str, Any], op: str, group: str, kept_for: str
) -> None:
    reason = kept_for
    if kept_for == c.KEPT_FOR_ERROR:  # as the call's metrics name it (its HTTP status, ...)
        error = _errors.error_type_of_span(attrs, span.status, span.events)
        reason = error or c.ERROR_TYPE_OTHER
    model = sc.read(attrs).get(sc.REQUEST_MODEL)
    names = {key: attrs.get(key) for key in (c.GEN_AI_TOOL_NAME, c.GEN_AI_AGENT_NAME)}
    subject = model if group == sc.GROUP_INFERENCE else names.get(_NAME_OF.get(group, ""))
    subject = subject if isinstance(subject, str) and subject else span.name
    if not limiter.admit((reason, subject), policy.per_minute):
        dims: dict[str, Any] = {c.ATTR_KEPT_FOR: kept_for, c.GEN_AI_OPERATION_NAME: op}
        if kept_for == c.KEPT_FOR_ERROR:
            dims[c.ERROR_TYPE] = reason
        for key, value in ((c.GEN_AI_REQUEST_MODEL, model), *names.items()):
            if isinstance(value, str) and value:
                dims[key] = value
        _state.instruments().add(c.KEPT_DROPPED, 1, dims)
        return
    _export(span, ctx, attrs, kept_for)
    parent = span.parent
    if parent is not None and not parent.is_remote:
        with _parents_lock:
            _kept_under[parent.span_id] = kept_for
            if len(_kept_under) > _MAX_PENDING_PARENTS:
                _kept_under.popitem(last=False)


def _export(span: Any, ctx: Any, attrs: Mapping[str, Any], kept_for: str) -> None:
    """Re-stamp the end record: sampled, counted once, marked (see the module docstring)."""
    from opentelemetry.trace import SpanContext, TraceFlags

    span._context = SpanContext(
        ctx.trace_id,
        ctx.span_id,
        is_remote=ctx.is_remote,
        trace_flags=TraceFlags(ctx.trace_flags | TraceFlags.SAMPLED),
        trace_state=ctx.trace_state,
    )
    span._attributes = {**attrs, SAMPLE_RATE_KEY: _ALL_KEPT, c.ATTR_KEPT_FOR: kept_for}
