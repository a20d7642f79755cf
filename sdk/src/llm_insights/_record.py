"""One LLM call, recorded once: the :class:`Call` every source fills, and :func:`record`.

The kit's openai patch and ``llm_call()`` (``_call.LLMCall``) fill a :class:`Call` from what they
saw; the span processor (``_span_metrics``) fills one from another instrumentation's finished
GenAI span. :func:`record` prices it (``_pricing``) and records every metric of the call —
duration and its bucket counter (by error type), tokens by type, time to first chunk and its
bucket counter, gaps between chunks, cost and unpriced calls — and answers the span attributes
that say how it was priced and what it adds to an agent run. The two sources differ only in how
they fill the value, so the same call costs and counts the same whichever saw it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import _pricing, _state
from . import contract as c
from ._kept import KeptAnswers
from ._metrics import Series, finite_number
from ._pricing import Usage
from ._tally import SumAdd

SOURCE_KIT = "kit"  # the kit's openai patch or llm_call()
SOURCE_SPAN = "span"  # another instrumentation's GenAI span


@dataclass
class Call:
    """What one model call was: everything its metrics and cost are derived from."""

    operation: str
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    server_address: str | None = None
    deployment: str | None = None  # the Azure deployment the call went to, when known
    usage: Usage = field(default_factory=Usage)
    duration: float | None = None  # seconds, request to the end of the response
    ttft: float | None = None  # seconds to the first streamed chunk
    chunk_gaps: Sequence[float] = ()  # seconds between streamed chunks after the first
    error_type: str | None = None
    started_at: float | None = None  # epoch seconds: prices are effective-dated
    source: str = SOURCE_KIT

    @property
    def usage_known(self) -> bool:
        return self.usage.input_tokens is not None or self.usage.output_tokens is not None

    def dimensions(self) -> dict[str, Any]:
        """The call's metric dimensions before allow-listing and capping."""
        dims: dict[str, Any] = {c.GEN_AI_OPERATION_NAME: self.operation}
        for value, key in (
            (self.provider, c.GEN_AI_PROVIDER_NAME),
            (self.request_model, c.GEN_AI_REQUEST_MODEL),
            (self.response_model, c.GEN_AI_RESPONSE_MODEL),
            (self.server_address, c.SERVER_ADDRESS),
            (self.deployment, c.ATTR_DEPLOYMENT),
        ):
            if isinstance(value, str) and value:
                dims[key] = value
        entry = _pricing.deployment_entry(self.deployment, self.request_model)
        if entry is not None:
            dims[c.ATTR_DEPLOYMENT_TYPE] = entry.type
        return dims


class Recorded(NamedTuple):
    """What :func:`record` did with a call: its pricing outcome, the span attributes saying how
    it was priced, and its share of an agent run."""

    priced: _pricing.Priced | None  # None: usage unknown, so not priced
    span_attributes: dict[str, Any]
    input_tokens: int | None
    output_tokens: int | None

    @property
    def run_cost(self) -> float | None:
        """The USD cost the call adds to its agent run (None: unknown — never taken as zero)."""
        return _pricing.run_cost(self.priced)

    @property
    def cost_usd(self) -> float | None:
        p = self.priced
        return p.cost.total if p is not None and p.cost is not None else None


# The Series of each call shape (operation, provider, model names, server, deployment): a
# process makes a handful, and allow-listing, capping and keying the dimensions is most of a
# call's metric work apart from OpenTelemetry's own. Kept for the instruments and deployment
# map (which gives the deployment type) they were built with.
_series = KeptAnswers(limit=1024)


def series_of(call: Call) -> Series:
    """The metric ``Series`` of *call* (``Instruments.series`` of ``call.dimensions()``), kept
    per call shape."""
    inst = _state.instruments()
    deps = _pricing.deployments()
    shape = (
        call.operation,
        call.provider,
        call.request_model,
        call.response_model,
        call.server_address,
        call.deployment,
    )
    s = _series.get(shape, inst, deps)
    if s is None:
        s = inst.series(call.dimensions())
        _series.put(shape, s, inst, deps)
    return s


def record(call: Call, series: Series | None = None, adds: list[SumAdd] | None = None) -> Recorded:
    """Price *call* and record every metric of it (never sampled; dimensions capped).

    *series*: ``series_of(call)`` when the caller already has it (it shares it with the call's
    other measurements). *adds*: a list the caller sums under that series itself
    (``Instruments.series_add``), with its own adds of the call, once it is done with the call:
    the counter adds are appended to it. Without it they are summed here.
    """
    inst = _state.instruments()
    s = series if series is not None else series_of(call)
    summed_here = adds is None
    adds = [] if adds is None else adds
    if call.duration is not None:
        duration = max(0.0, call.duration)
        if call.error_type:
            error = (c.ERROR_TYPE, inst.capped(c.ERROR_TYPE, call.error_type))
            inst.record_dims(c.OPERATION_DURATION, duration, s.error_dims(error))
            adds.append((inst.bucket_key(c.DURATION_BUCKET_COUNTS, duration, (error,)), 1.0))
        else:
            inst.record_dims(c.OPERATION_DURATION, duration, s.dims)
            adds.append((inst.bucket_key(c.DURATION_BUCKET_COUNTS, duration), 1.0))
    u = call.usage
    for count, ttype in (
        (u.input_tokens, c.TOKEN_TYPE_INPUT),
        (u.output_tokens, c.TOKEN_TYPE_OUTPUT),
    ):
        if count is not None:
            inst.record_dims(c.TOKEN_USAGE, float(count), s.token_dims[ttype])
    ttft = finite_number(call.ttft)
    if ttft is not None and ttft >= 0:
        inst.record_dims(c.TIME_TO_FIRST_CHUNK, ttft, s.dims)
        adds.append((inst.bucket_key(c.TTFT_BUCKET_COUNTS, ttft), 1.0))
    for gap in call.chunk_gaps:
        inst.record_dims(c.TIME_PER_OUTPUT_CHUNK, gap, s.dims)
    try:
        if not call.usage_known:  # usage unknown: neither a cost nor an unpriced call
            return Recorded(None, {}, None, None)
        priced = _pricing.price(call)
        sa = _record_cost(inst, priced, u, adds)
    finally:  # a pricing failure (reported by the caller's guard) keeps the counts above
        if summed_here:
            inst.series_add(s, adds)
    return Recorded(priced, sa, u.input_tokens, u.output_tokens)


def _record_cost(inst: Any, p: _pricing.Priced, usage: Usage, adds: list[SumAdd]) -> dict:
    """*p*'s counter adds on the cost and unpriced-calls metrics, appended to *adds*; return
    the span attributes that say how the call was priced."""
    sa: dict[str, Any] = {}
    if p.provisioned:  # billed by the hour: tokens kept, no per-token cost
        sa[c.ATTR_PROVISIONED] = True
        return sa
    if p.unpriced_reason:
        sa[c.ATTR_UNPRICED_REASON] = p.unpriced_reason
    if p.cost is None:
        sa[c.ATTR_UNPRICED] = True
        adds.append((inst.key(c.UNPRICED_CALLS), 1.0))
        return sa
    if p.partial:
        sa[c.ATTR_COST_PARTIAL] = True
        adds.append((inst.key(c.UNPRICED_CALLS), 1.0))
    cost = p.cost  # which price data priced it is a dimension of the cost metric, not on spans
    if usage.input_tokens is not None:
        sa[c.MS_COST_INPUT] = round(cost.input, _pricing.USD_DIGITS)
    if usage.output_tokens is not None:
        sa[c.MS_COST_OUTPUT] = round(cost.output, _pricing.USD_DIGITS)
    keys = inst.cost_keys(p.source)
    for count, value, key in (
        (usage.input_tokens, cost.input, keys[0]),
        (usage.output_tokens, cost.output, keys[1]),
    ):
        v = finite_number(value)
        if count is not None and v is not None and v >= 0:
            adds.append((key, v))
    return sa


# Kit calls inside another framework's agent run: the span processor asks at the call span's
# start (``expect``) for what the call is recorded with, and takes it at the span's end
# (``take``), so the framework's run adds the recorded tokens and cost, not span attributes.
_expected: dict[int, Recorded | None] = {}
_MAX_EXPECTED = 10_000


def expect(span_id: int) -> None:
    _expected[span_id] = None
    if len(_expected) > _MAX_EXPECTED:  # spans never ended: oldest first
        with contextlib.suppress(RuntimeError, StopIteration):  # changed by another thread
            _expected.pop(next(iter(_expected)), None)


def note_kit_span(span: Any, recorded: Recorded) -> None:
    """The kit call of *span* was recorded as *recorded* (kept only when expected)."""
    if _expected:
        span_id = span.get_span_context().span_id
        if span_id in _expected:
            _expected[span_id] = recorded


def take(span_id: int) -> Recorded | None:
    return _expected.pop(span_id, None)
