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
from ._kept import KeptAnswers

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


# What prices each (table, deployment map, model names, provider, UTC day): most calls of a
# process share a handful, and choosing the price (table lookup, effective dates) is most of
# pricing's work; the usage is priced per call. Kept for the table and map it was chosen from.
_selections = KeptAnswers(limit=1024)


def price(call: Any) -> Priced:
    """Price one recorded call (a ``_record.Call``): the model that served it, at its date, on
    its deployment's rates."""
    s = _state.settings
    if s.prices is None:
        s.prices = _price_table.load()
    table, deps = s.prices, deployments()
    provider = call.provider
    provider = provider if isinstance(provider, str) and provider else None
    when = call.started_at
    if not isinstance(when, float):  # a date, a datetime, None (today): priced as given
        return _cost.price_call(
            table,
            served_model=call.response_model,
            request_model=call.request_model,
            deployment=call.deployment,
            usage=call.usage,
            when=when,
            provider=provider,
            deployments=deps,
        )
    # POSIX time has no leap seconds: whole days since the epoch are UTC dates
    key = (call.response_model, call.request_model, call.deployment, provider, when // 86400)
    chosen = _selections.get(key, table, deps)
    if chosen is None:
        chosen = _cost.select(
            table,
            served_model=call.response_model,
            request_model=call.request_model,
            deployment=call.deployment,
            day=_cost.day_of(when),
            provider=provider,
            deployments=deps,
        )
        _selections.put(key, chosen, table, deps)
    return chosen.apply(call.usage)


def run_cost(p: Priced | None) -> float | None:
    """The cost a call adds to its agent run: None (the run's cost is unknown) when the call is
    unpriced, partly priced or provisioned — a run total is never an undercount."""
    if p is None or p.cost is None or p.partial:
        return None
    return p.cost.total
