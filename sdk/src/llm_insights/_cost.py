"""USD cost of a call, the way it is billed: the served model's price in force on the call's date.

:func:`price_call` is the one pricing rule, pure (no telemetry, no global state), over the price
table (``_price_table``) and the deployment map (``parse_deployments``):

- the **served** model (the response's model) decides; the deployment map's model, then the
  request model, only when the response names none. A served model with no price makes the call
  *unpriced* (cost unset, a reason given) — never priced as the requested model or deployment;
- the deployment type (from the deployment map) picks the rate set: ``GlobalStandard`` (and no
  map entry) the list price, ``GlobalBatch``/``DataZoneBatch`` the batch variant,
  ``DataZoneStandard``/``Standard`` (regional) their own rates, which only an override file
  provides; provisioned (PTU) deployments are billed by the hour: no per-token cost, not unpriced;
- tokens as billed: cached input at the cache-read rate, cache writes at the cache-write rate,
  audio/image tokens at theirs (input rate for cache reads/writes when a model has no such rate,
  as providers without a cache discount bill them); reasoning tokens are inside the output count
  and priced as output once. Audio or image tokens without a rate leave the call *partly
  unpriced*: the text part is priced and the reason says what is missing — never a silent 0.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import contract as c
from ._guard import count
from ._price_table import Price, PriceTable, in_force, today

logger = logging.getLogger("llm_insights")

# Azure deployment SKU name -> the rate set that prices it (None: billed by the hour)
DEPLOYMENT_RATES: dict[str, str | None] = {
    c.DEPLOYMENT_TYPE_GLOBAL_STANDARD: "standard",
    c.DEPLOYMENT_TYPE_DATA_ZONE_STANDARD: "data_zone",
    c.DEPLOYMENT_TYPE_STANDARD: "regional",
    c.DEPLOYMENT_TYPE_GLOBAL_BATCH: "batch",
    c.DEPLOYMENT_TYPE_DATA_ZONE_BATCH: "data_zone_batch",
    **{t: None for t in c.DEPLOYMENT_TYPES_PROVISIONED},
}


# The per-call values (Usage, Cost, Priced) are named tuples: immutable like a frozen dataclass,
# and several times cheaper to make, which every call does.
class Usage(NamedTuple):
    """Token counts as the API reported them (None: not reported). ``input_tokens`` includes the
    cached, cache-write, audio and image input tokens; ``output_tokens`` includes reasoning and
    audio/image output tokens (OpenAI's and Azure's usage objects count them that way)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    input_audio_tokens: int | None = None
    output_audio_tokens: int | None = None
    input_image_tokens: int | None = None
    output_image_tokens: int | None = None


class Cost(NamedTuple):
    input: float
    output: float

    @property
    def total(self) -> float:
        return self.input + self.output


@dataclass(frozen=True)
class Deployment:
    """One entry of the deployment map: the model a deployment runs and its Azure SKU name."""

    model: str | None
    type: str


class Priced(NamedTuple):
    """The outcome of pricing one call.

    ``cost`` None: no per-token cost (``unpriced_reason`` says why, or ``provisioned``). ``cost``
    set with an ``unpriced_reason``: partly unpriced (some reported tokens had no rate).
    """

    cost: Cost | None
    model: str | None  # the model whose price was looked up
    source: str | None = None  # which price data priced it
    unpriced_reason: str | None = None
    provisioned: bool = False
    deployment_type: str | None = None

    @property
    def unpriced(self) -> bool:
        """No cost, and not because the deployment is billed by the hour."""
        return self.cost is None and not self.provisioned

    @property
    def partial(self) -> bool:
        return self.cost is not None and self.unpriced_reason is not None


def compute(price: Price, usage: Usage) -> tuple[Cost, list[str]]:
    """Cost of *usage* at *price*, and the token kinds reported without a rate (unpriced part)."""
    missing: list[str] = []
    total_in = usage.input_tokens or 0
    cin = 0.0
    if usage.input_tokens is not None:
        rest = usage.input_tokens
        for n, key, fallback in (
            (usage.cache_read_input_tokens, "cached_input", "input"),
            (usage.cache_creation_input_tokens, "cache_write", "input"),
            (usage.input_audio_tokens, "input_audio", None),
            (usage.input_image_tokens, "input_image", None),
        ):
            n = min(n or 0, rest)
            if not n:
                continue
            rate = price.rate(key, total_in)
            if rate is None and fallback:
                rate = price.rate(fallback, total_in)
            rest -= n
            if rate is None:
                missing.append(f"{n} {key} tokens")
                continue
            cin += n * rate
        cin = (cin + rest * (price.rate("input", total_in) or 0.0)) / 1000
    cout = 0.0
    if usage.output_tokens:
        rest = usage.output_tokens
        for n, key in (
            (usage.output_audio_tokens, "output_audio"),
            (usage.output_image_tokens, "output_image"),
        ):
            n = min(n or 0, rest)
            if not n:
                continue
            rate = price.rate(key, total_in)
            rest -= n
            if rate is None:
                missing.append(f"{n} {key} tokens")
                continue
            cout += n * rate
        out_rate = price.rate("output", total_in)
        if out_rate is None:
            if rest:
                missing.append(f"{rest} output tokens")
        else:
            cout += rest * out_rate  # reasoning tokens are inside the output count: once
        cout /= 1000
    return Cost(cin, cout), missing


def deployment_entry(
    deployments: Mapping[str, Deployment] | None, deployment: Any, request_model: Any
) -> Deployment | None:
    """The deployment map's entry for a call: by deployment name, else by the request model
    (the OpenAI v1 API on Azure sends the deployment name as the model)."""
    if not deployments:
        return None
    for key in (deployment, request_model):
        if isinstance(key, str) and key in deployments:
            return deployments[key]
    return None


@dataclass(frozen=True)
class Selection:
    """What prices a call, decided before its usage is looked at: the price in force (``price``)
    or, when there is none, the final outcome (``outcome``, no cost)."""

    outcome: Priced  # the model, source and deployment type; no cost
    price: Price | None = None
    # (input, cache read, cache write, output) rates when the price has no context tiers: most
    # calls (text tokens, cached or not) are then priced by arithmetic alone, as ``compute``
    # would, in the same order of operations (so to the same float)
    flat: tuple[float, float, float, float | None] | None = field(
        init=False, default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        p = self.price
        if p is not None and not p.tiers and p.input is not None:
            read = p.cached_input if p.cached_input is not None else p.input
            write = p.cache_write if p.cache_write is not None else p.input
            object.__setattr__(self, "flat", (p.input, read, write, p.output))

    def apply(self, usage: Usage) -> Priced:
        """The call's outcome for *usage*."""
        if self.price is None:
            return self.outcome
        o = self.outcome
        flat = self.flat
        if (
            flat is not None
            and not (
                usage.input_audio_tokens
                or usage.input_image_tokens
                or usage.output_audio_tokens
                or usage.output_image_tokens
            )
            and (flat[3] is not None or not usage.output_tokens)
        ):
            r_in, r_read, r_write, r_out = flat
            cin = cout = 0.0
            if usage.input_tokens is not None:
                rest = usage.input_tokens
                n = min(usage.cache_read_input_tokens or 0, rest)
                if n:
                    rest -= n
                    cin += n * r_read
                n = min(usage.cache_creation_input_tokens or 0, rest)
                if n:
                    rest -= n
                    cin += n * r_write
                cin = (cin + rest * r_in) / 1000
            if usage.output_tokens:
                cout = usage.output_tokens * r_out / 1000
            return Priced(Cost(cin, cout), o.model, o.source, None, False, o.deployment_type)
        cost, missing = compute(self.price, usage)
        reason = f"no rate for {', '.join(missing)} of {o.model!r}" if missing else None
        return Priced(cost, o.model, o.source, reason, deployment_type=o.deployment_type)


def day_of(when: _dt.date | _dt.datetime | float | None) -> _dt.date:
    """The UTC date of *when* (a datetime, a date, or epoch seconds; None: today)."""
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return _dt.datetime.fromtimestamp(when, _dt.timezone.utc).date()
    if isinstance(when, _dt.datetime):
        return when.astimezone(_dt.timezone.utc).date() if when.tzinfo else when.date()
    if isinstance(when, _dt.date):
        return when
    return today()


def select(
    table: PriceTable,
    *,
    served_model: str | None,
    request_model: str | None,
    deployment: str | None,
    day: _dt.date,
    provider: str | None = None,
    deployments: Mapping[str, Deployment] | None = None,
) -> Selection:
    """The pricing rule up to the usage: which model, which rate set, which price on *day*.
    Pure: reads only its arguments (so its answer can be kept per argument set)."""
    entry = deployment_entry(deployments, deployment, request_model)
    dtype = entry.type if entry else None
    model = served_model or (entry.model if entry else None) or request_model
    if dtype is not None and DEPLOYMENT_RATES.get(dtype, "") is None:
        return Selection(Priced(None, model, provisioned=True, deployment_type=dtype))
    if not isinstance(model, str) or not model:
        unnamed = Priced(None, None, unpriced_reason="no model named", deployment_type=dtype)
        return Selection(unnamed)
    found = table.find(model, provider)
    if found is None:
        reason = f"no price for model {model!r} in {table.source}"
        return Selection(Priced(None, model, unpriced_reason=reason, deployment_type=dtype))
    rate_set = DEPLOYMENT_RATES.get(dtype, "standard") if dtype else "standard"
    price = in_force(found.rates.get(rate_set or "standard", []), day)
    if price is None:
        what = f"{dtype} " if dtype else ""
        reason = f"no {what}price for model {model!r} on {day.isoformat()} in {found.source}"
        return Selection(Priced(None, model, found.source, reason, deployment_type=dtype))
    return Selection(Priced(None, model, found.source, deployment_type=dtype), price)


def price_call(
    table: PriceTable,
    *,
    served_model: str | None,
    request_model: str | None,
    deployment: str | None,
    usage: Usage,
    when: _dt.date | _dt.datetime | float | None = None,
    provider: str | None = None,
    deployments: Mapping[str, Deployment] | None = None,
) -> Priced:
    """Price one call: see the module docstring for the rules.

    *served_model* is the response's model, *request_model* what the app asked for (an Azure
    deployment name on Azure), *deployment* the Azure deployment from the URL, *when* the call's
    time (a datetime, a date, or epoch seconds; default now — prices are effective-dated),
    *provider* ``gen_ai.provider.name`` (picks the price list), *deployments* the deployment map
    (deployment name -> :class:`Deployment`; ``configure(deployments=...)``). Pure: reads only
    its arguments.
    """
    chosen = select(
        table,
        served_model=served_model,
        request_model=request_model,
        deployment=deployment,
        day=day_of(when),
        provider=provider,
        deployments=deployments,
    )
    return chosen.apply(usage)


def parse_deployments(value: Any, where: str) -> dict[str, Deployment]:
    """The deployment map from JSON text or a mapping ``{name: {"model": m, "type": sku}}``;
    raises ValueError naming *where*, the deployment and what is allowed."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise ValueError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must be a mapping of deployment name -> {{model, type}}")
    out: dict[str, Deployment] = {}
    allowed = ", ".join(c.DEPLOYMENT_TYPES)
    for name, spec in value.items():
        if not isinstance(name, str) or not name or not isinstance(spec, Mapping):
            raise ValueError(f"{where}.{name}: must be a mapping with 'model' and 'type'")
        unknown = set(spec) - {"model", "type"}
        if unknown:
            raise ValueError(
                f"{where}.{name}: unknown keys {sorted(unknown)}; allowed: model, type"
            )
        dtype = spec.get("type")
        if dtype not in c.DEPLOYMENT_TYPES:
            raise ValueError(f"{where}.{name}.type: {dtype!r} is not allowed; allowed: {allowed}")
        model = spec.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ValueError(f"{where}.{name}.model: must be a model name, got {model!r}")
        out[name] = Deployment(model, dtype)
    return out


def deployments_from_env() -> dict[str, Deployment]:
    """The deployment map from ``LLM_INSIGHTS_PRICING_DEPLOYMENTS`` (empty when unset); a bad
    value is logged (naming the variable, the deployment and what is allowed) and ignored."""
    raw = os.environ.get(c.ENV_PRICING_DEPLOYMENTS)
    if not raw:
        return {}
    try:
        return parse_deployments(raw, c.ENV_PRICING_DEPLOYMENTS)
    except ValueError as exc:
        logger.warning("llm_insights: %s; the deployment map is ignored", exc)
        count(c.SDK_COMPONENT_PRICES_INVALID)
        return {}
