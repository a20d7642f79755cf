"""Pricing in the process: the one verb :func:`price` a recorded call goes through.

The price table (``configure(prices=...)`` over the shipped file) and the deployment map
(``configure(deployments=...)``, else ``LLM_INSIGHTS_PRICING_DEPLOYMENTS``) are loaded once,
lazily; the pricing rules themselves are pure and live in ``_cost`` (``price_call``). Every
source of calls — the kit's own and other instrumentations' spans — is priced here, so a call
costs the same whichever instrumentation saw it.
"""

from __future__ import annotations

from typing import Any

from . import _cost, _price_table, _state
from ._cost import Deployment, Priced, Usage

__all__ = ["USD_DIGITS", "Deployment", "Priced", "Usage", "deployment_entry", "price", "run_cost"]

USD_DIGITS = 12  # span cost attributes are rounded to this many decimals


def deployments() -> dict[str, Deployment]:
    """The deployment map: configure(deployments=...), else LLM_INSIGHTS_PRICING_DEPLOYMENTS."""
    s = _state.settings
    if s.deployments is None:
        s.deployments = _cost.deployments_from_env()
    return s.deployments


def deployment_entry(deployment: Any, request_model: Any) -> Deployment | None:
    """The deployment map's entry for a call (by deployment, else by the request model)."""
    return _cost.deployment_entry(deployments(), deployment, request_model)


def price(call: Any) -> Priced:
    """Price one recorded call (a ``_record.Call``): the model that served it, at its date, on
    its deployment's rates."""
    s = _state.settings
    if s.prices is None:
        s.prices = _price_table.load()
    provider = call.provider
    return _cost.price_call(
        s.prices,
        served_model=call.response_model,
        request_model=call.request_model,
        deployment=call.deployment,
        usage=call.usage,
        when=call.started_at,
        provider=provider if isinstance(provider, str) and provider else None,
        deployments=deployments(),
    )


def run_cost(p: Priced | None) -> float | None:
    """The cost a call adds to its agent run: None (the run's cost is unknown) when the call is
    unpriced, partly priced or provisioned — a run total is never an undercount."""
    if p is None or p.cost is None or p.partial:
        return None
    return p.cost.total
