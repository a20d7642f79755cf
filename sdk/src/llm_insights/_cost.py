"""USD cost from a versioned price table (per 1K tokens), overridable by file or mapping.

A model missing from the table is *unpriced*: the call is counted in
``llm_insights.client.unpriced_calls`` and its cost left unset, never recorded as 0. Dated model
versions (``gpt-4o-2024-08-06``) resolve to their family's price; Azure deployments resolve
through the response's model field, which names the real model.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from . import contract as c
from ._guard import count

logger = logging.getLogger("llm_insights")

PricesArg = Union[None, str, os.PathLike, Mapping[str, Any]]

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


@dataclass(frozen=True)
class Price:
    """USD per 1K tokens."""

    input: float
    output: float | None = None
    cached_input: float | None = None


@dataclass(frozen=True)
class Cost:
    input: float
    output: float

    @property
    def total(self) -> float:
        return self.input + self.output


class PriceTable:
    def __init__(
        self, models: dict[str, Price], aliases: dict[str, str], version: str, updated: str
    ) -> None:
        self.models = models
        self.aliases = aliases
        self.version = version
        self.updated = updated

    def resolve(self, model: Any) -> Price | None:
        """The price of *model*, or None when unpriced (also for non-string models)."""
        if not isinstance(model, str) or not model:
            return None
        name = model.strip().lower()
        if "/" in name:  # "openai/gpt-4o", "models/gpt-4o"
            name = name.rsplit("/", 1)[1]
        for candidate in (name, _DATE_SUFFIX.sub("", name)):
            candidate = self.aliases.get(candidate, candidate)
            if candidate in self.models:
                return self.models[candidate]
        return None


class PriceFileError(ValueError):
    """A price file or mapping the SDK will not guess at (its unit or currency); names where
    and which field, and what is allowed."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        super().__init__(f"{where}: {field}: {problem}")
        self.where = where
        self.field = field


_UNITS = {" ".join(k.lower().split()): v for k, v in c.PRICE_UNITS.items()}


def _per_1k_divisor(data: Mapping[str, Any], where: str) -> int:
    """How much to divide the file's prices by to get USD per 1K tokens (1: no unit given)."""
    unit = data.get("unit")
    divisor = 1
    if unit is not None:
        key = " ".join(unit.lower().split()) if isinstance(unit, str) else None
        if key not in _UNITS:
            allowed = ", ".join(repr(u) for u in c.PRICE_UNITS)
            raise PriceFileError(where, "unit", f"{unit!r} is not supported; allowed: {allowed}")
        divisor = _UNITS[key]
    currency = data.get("currency")
    if currency is not None and (
        not isinstance(currency, str) or currency.strip().upper() != c.PRICE_CURRENCY
    ):
        raise PriceFileError(
            where,
            "currency",
            f"{currency!r} is not supported; prices must be in {c.PRICE_CURRENCY} "
            "(costs are recorded in USD)",
        )
    return divisor


def _price(entry: Any, divisor: int = 1) -> Price | None:
    if not isinstance(entry, Mapping):
        return None

    def num(key: str) -> float | None:
        v = entry.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{key} must be a non-negative number, got {v!r}")
        return float(v) / divisor if divisor != 1 else float(v)

    inp = num("input")
    if inp is None:
        raise ValueError("input (USD per 1K input tokens) is required")
    return Price(inp, num("output"), num("cached_input"))


def _merge(table: PriceTable, data: Mapping[str, Any], where: str) -> None:
    """Add *data*'s prices; raises PriceFileError (nothing merged) for a unit or currency the
    SDK cannot convert exactly."""
    divisor = _per_1k_divisor(data, where) if isinstance(data, Mapping) else 1
    models = data.get("models", data) if isinstance(data, Mapping) else {}
    if not isinstance(models, Mapping):
        logger.warning("llm_insights: %s: 'models' must be a mapping; ignored", where)
        return
    for name, entry in models.items():
        if name in {"version", "updated", "currency", "unit", "source", "aliases"}:
            continue
        try:
            price = _price(entry, divisor)
        except ValueError as exc:
            logger.warning("llm_insights: %s: models.%s: %s; entry ignored", where, name, exc)
            continue
        if price is not None:
            table.models[str(name).lower()] = price
    aliases = data.get("aliases") if isinstance(data, Mapping) else None
    if isinstance(aliases, Mapping):
        table.aliases.update({str(k).lower(): str(v).lower() for k, v in aliases.items()})
    if isinstance(data, Mapping) and isinstance(data.get("version"), str):
        table.version = f"{table.version}+{data['version']}"


def _read(path: str | os.PathLike) -> Mapping[str, Any] | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("llm_insights: price file %s unreadable (%s); ignored", path, exc)
        return None


def shipped() -> PriceTable:
    data = json.loads((Path(__file__).parent / "_prices.json").read_text(encoding="utf-8"))
    table = PriceTable({}, {}, data["version"], data["updated"])
    _merge(table, {"models": data["models"], "aliases": data.get("aliases", {})}, "_prices.json")
    return table


def _merge_or_ignore(table: PriceTable, data: Mapping[str, Any], where: str, strict: bool) -> None:
    try:
        _merge(table, data, where)
    except PriceFileError as exc:
        if strict:
            raise
        logger.warning("llm_insights: price file %s; the whole file is ignored", exc)
        count(c.SDK_COMPONENT_PRICES_INVALID)


def load(prices: PricesArg = None, *, strict: bool = False) -> PriceTable:
    """The shipped table, then ``LLM_INSIGHTS_PRICES_FILE``, then *prices* (file or mapping).

    A file with a unit or currency that cannot be converted exactly is ignored whole (logged,
    counted under ``prices.invalid``), or raises PriceFileError when *strict*.
    """
    table = shipped()
    env_file = os.environ.get(c.ENV_PRICES_FILE)
    if env_file:
        data = _read(env_file)
        if data is not None:
            _merge_or_ignore(table, data, env_file, strict)
    if isinstance(prices, Mapping):
        _merge_or_ignore(table, prices, "configure(prices=...)", strict)
    elif prices is not None:
        data = _read(prices)
        if data is not None:
            _merge_or_ignore(table, data, str(prices), strict)
    return table


def compute(
    price: Price, input_tokens: int | None, output_tokens: int | None, cached: int | None = None
) -> Cost:
    """Cost of known token counts; cached input tokens use the cached price when there is one."""
    cin = 0.0
    if input_tokens is not None:
        cached_n = min(cached or 0, input_tokens) if price.cached_input is not None else 0
        cin = (
            (input_tokens - cached_n) * price.input + cached_n * (price.cached_input or 0)
        ) / 1000
    cout = 0.0
    if output_tokens is not None and price.output is not None:
        cout = output_tokens * price.output / 1000
    return Cost(cin, cout)
