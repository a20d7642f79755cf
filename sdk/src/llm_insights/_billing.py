"""Price a finished call with the process's price table and deployment map, and record its cost.

One home for both sources of calls — the kit's own (``_call``) and other instrumentations'
spans (``_span_metrics``) — so a call costs the same whichever instrumentation saw it. The
pricing rules themselves are pure and live in ``_cost.price_call``.
"""

from __future__ import annotations

from typing import Any

from . import _cost, _state
from . import contract as c
from ._metrics import finite_number

USD_DIGITS = 12  # span cost attributes are rounded to this many decimals


def deployments() -> dict[str, _cost.Deployment]:
    """The deployment map: configure(deployments=...), else LLM_INSIGHTS_PRICING_DEPLOYMENTS."""
    s = _state.settings
    if s.deployments is None:
        s.deployments = _cost.deployments_from_env()
    return s.deployments


def price(
    *,
    served_model: str | None,
    request_model: str | None,
    deployment: str | None,
    usage: _cost.Usage,
    when: Any,
    provider: str | None,
) -> _cost.Priced:
    s = _state.settings
    if s.prices is None:
        s.prices = _cost.load()
    return _cost.price_call(
        s.prices,
        served_model=served_model,
        request_model=request_model,
        deployment=deployment,
        usage=usage,
        when=when,
        provider=provider,
        deployments=deployments(),
    )


def record_cost(inst: Any, md: dict[str, Any], p: _cost.Priced, usage: _cost.Usage) -> dict:
    """Record *p* on the cost and unpriced-calls metrics (dimensions *md*); return the span
    attributes that say how the call was priced."""
    sa: dict[str, Any] = {}
    if p.provisioned:  # billed by the hour: tokens kept, no per-token cost
        sa[c.ATTR_PROVISIONED] = True
        return sa
    if p.unpriced_reason:
        sa[c.ATTR_UNPRICED_REASON] = p.unpriced_reason
    if p.cost is None:
        sa[c.ATTR_UNPRICED] = True
        inst.add_dims(c.UNPRICED_CALLS, 1.0, md)
        return sa
    if p.partial:
        sa[c.ATTR_COST_PARTIAL] = True
        inst.add_dims(c.UNPRICED_CALLS, 1.0, md)
    if p.source:
        sa[c.ATTR_PRICE_SOURCE] = p.source
    cost = p.cost
    if usage.input_tokens is not None:
        sa[c.MS_COST_INPUT] = round(cost.input, USD_DIGITS)
    if usage.output_tokens is not None:
        sa[c.MS_COST_OUTPUT] = round(cost.output, USD_DIGITS)
    for count, value, ttype in (
        (usage.input_tokens, cost.input, c.TOKEN_TYPE_INPUT),
        (usage.output_tokens, cost.output, c.TOKEN_TYPE_OUTPUT),
    ):
        v = finite_number(value)
        if count is not None and v is not None and v >= 0:
            dims = {**md, c.GEN_AI_TOKEN_TYPE: ttype}
            if p.source:
                dims[c.ATTR_PRICE_SOURCE] = p.source
            inst.add_dims(c.COST, v, dims)
    return sa


def run_cost(p: _cost.Priced | None) -> float | None:
    """The cost a call adds to its agent run: None (the run's cost is unknown) when the call is
    unpriced, partly priced or provisioned — a run total is never an undercount."""
    if p is None or p.cost is None or p.partial:
        return None
    return p.cost.total
