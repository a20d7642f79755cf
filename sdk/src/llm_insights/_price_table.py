"""The price table: price data by provider and model, loaded from price files.

Prices come from ``_prices.json`` (converted from the pinned ``genai-prices`` package by
``llm-insights prices``; its source name and version travel on every priced span), then the
overrides (``LLM_INSIGHTS_PRICES_FILE``, then ``configure(prices=...)``), which win. Every rate is
USD per 1K tokens once loaded; a unit or currency the SDK cannot convert exactly is refused with
an error naming the file and field (``PriceFileError``), never guessed. The pricing rules that
read the table are in ``_cost``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from . import contract as c
from ._guard import count

logger = logging.getLogger("llm_insights")

PricesArg = Union[None, str, os.PathLike, Mapping[str, Any]]

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
# rate keys of a price entry; every rate is USD per 1K tokens once loaded
RATE_KEYS = (
    "input",
    "output",
    "cached_input",
    "cache_write",
    "input_audio",
    "output_audio",
    "input_image",
    "output_image",
)


@dataclass(frozen=True)
class Rate:
    """A per-1K-token rate that may depend on the prompt size (context tiers: the whole call is
    priced at the highest tier whose start the total input tokens exceed)."""

    base: float
    tiers: tuple[tuple[int, float], ...] = ()

    def at(self, total_input: int) -> float:
        for start, price in reversed(self.tiers):
            if total_input > start:
                return price
        return self.base


@dataclass(frozen=True)
class Price:
    """USD per 1K tokens, by token kind (None: the model has no such rate)."""

    input: float
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    input_audio: float | None = None
    output_audio: float | None = None
    input_image: float | None = None
    output_image: float | None = None
    tiers: Mapping[str, Rate] = field(default_factory=dict, compare=False, repr=False)

    def rate(self, key: str, total_input: int) -> float | None:
        tiered = self.tiers.get(key)
        if tiered is not None:
            return tiered.at(total_input)
        return getattr(self, key)


@dataclass
class _Model:
    id: str
    equals: set[str]
    patterns: list[re.Pattern[str]]
    # rate set name ("standard", "batch", "data_zone", ...) -> [(from date or "", Price)], by date
    rates: dict[str, list[tuple[str, Price]]]
    source: str


class PriceTable:
    """Price data by provider, each a list of models in match order; overrides first."""

    def __init__(self, version: str, source: str) -> None:
        self.version = version
        self.source = source  # "genai-prices 0.2.3"
        self.providers: dict[str, list[_Model]] = {}
        self.fallback: dict[str, list[str]] = {}
        self.overrides: list[_Model] = []
        self._cache: dict[tuple[str, str], _Model | None] = {}

    def find(self, model: Any, provider: str | None = None) -> _Model | None:
        """The price entry of *model* (an override, else the provider's, else its fallbacks')."""
        if not isinstance(model, str) or not model.strip():
            return None
        key = (provider or "", model)
        if key in self._cache:
            return self._cache[key]
        name = model.strip().lower()
        if "/" in name:  # "openai/gpt-4o", "models/gpt-4o"
            name = name.rsplit("/", 1)[1]
        found = self._find_override(name) or self._find_shipped(name, provider)
        if len(self._cache) < 4096:
            self._cache[key] = found
        return found

    def _find_override(self, name: str) -> _Model | None:
        for candidate in (name, _DATE_SUFFIX.sub("", name)):
            for m in self.overrides:
                if candidate in m.equals:
                    return m
        return None

    def _find_shipped(self, name: str, provider: str | None) -> _Model | None:
        pid = _PROVIDER_IDS.get(provider or "", "openai")
        order = [pid, *self.fallback.get(pid, [])]
        order += [p for p in self.providers if p not in order]
        for p in order:
            for m in self.providers.get(p, []):
                if name in m.equals or any(r.search(name) for r in m.patterns):
                    return m
        return None

    def resolve(self, model: Any, when: _dt.date | None = None) -> Price | None:
        """The list (global standard) price of *model* in force on *when* (default today)."""
        m = self.find(model)
        return in_force(m.rates.get("standard", []), when or today()) if m else None


# gen_ai.provider.name -> provider id in the price file (others: the OpenAI list, then the rest)
_PROVIDER_IDS = {c.PROVIDER_OPENAI: "openai", c.PROVIDER_AZURE_OPENAI: "azure"}


def today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def in_force(dated: list[tuple[str, Price]], when: _dt.date) -> Price | None:
    day = when.isoformat()
    price = None
    for start, p in dated:  # oldest first
        if start <= day:
            price = p
    return price


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


def _num(v: Any, key: str, divisor: int) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{key} must be a non-negative number, got {v!r}")
    return float(v) / divisor if divisor != 1 else float(v)


def _price(entry: Any, divisor: int = 1, base: Price | None = None) -> Price | None:
    """A Price from a mapping of rates; *base* supplies the rates a variant does not restate."""
    if not isinstance(entry, Mapping):
        return None
    values: dict[str, float | None] = {}
    tiers: dict[str, Rate] = dict(base.tiers) if base else {}
    for key in RATE_KEYS:
        v = entry.get(key)
        if v is None:
            values[key] = getattr(base, key) if base else None
            continue
        if isinstance(v, Mapping):  # {"base": x, "tiers": [[start, price], ...]}
            b = _num(v.get("base"), f"{key}.base", divisor)
            steps = tuple((int(s), _num(p, f"{key}.tiers", divisor)) for s, p in v["tiers"])
            tiers[key] = Rate(b, steps)
            values[key] = b
        else:
            values[key] = _num(v, key, divisor)
            tiers.pop(key, None)
    if values["input"] is None:
        raise ValueError("input (USD per 1K input tokens) is required")
    return Price(**values, tiers=tiers)  # type: ignore[arg-type]


def _dated(entries: Any, divisor: int, base: list[tuple[str, Price]] | None) -> list:
    """[(from date or "", Price)] oldest first; a variant's entries take the rates they do not
    restate from the *base* rates in force at their start. Entries without an input rate (the
    source lists no token price) are left out: such a model is unpriced, not free."""
    out: list[tuple[str, Price]] = []
    for e in entries if isinstance(entries, list) else []:
        start = e.get("from") or ""
        under = None
        if base:
            day = _dt.date.fromisoformat(start) if start else _dt.date.min
            under = in_force(base, day) or base[0][1]
        try:
            p = _price(e, divisor, under)
        except ValueError:
            continue
        if p is not None:
            out.append((start, p))
    return sorted(out, key=lambda x: x[0])


def _shipped_model(entry: Mapping[str, Any], divisor: int, source: str) -> _Model:
    standard = _dated(entry.get("prices"), divisor, None)
    rates = {"standard": standard}
    if entry.get("batch"):
        rates["batch"] = _dated(entry["batch"], divisor, standard)
    return _Model(
        id=entry["id"],
        equals={str(e).lower() for e in entry.get("equals", [])},
        patterns=[re.compile(p) for p in entry.get("patterns", [])],
        rates=rates,
        source=source,
    )


# rate sets an override entry may carry besides its own (standard) rates
_VARIANT_KEYS = ("batch", "data_zone", "regional", "data_zone_batch")


def _merge(table: PriceTable, data: Mapping[str, Any], where: str) -> None:
    """Add *data*'s prices as overrides; raises PriceFileError (nothing merged) for a unit or
    currency the SDK cannot convert exactly."""
    divisor = _per_1k_divisor(data, where) if isinstance(data, Mapping) else 1
    models = data.get("models", data) if isinstance(data, Mapping) else {}
    if not isinstance(models, Mapping):
        logger.warning("llm_insights: %s: 'models' must be a mapping; ignored", where)
        return
    version = data.get("version") if isinstance(data.get("version"), str) else None
    source = f"override {version}" if version else f"override {Path(where).name}"
    added: list[_Model] = []
    for name, entry in models.items():
        if name in {"version", "updated", "currency", "unit", "source", "aliases"}:
            continue
        try:
            price = _price(entry, divisor)
            if price is None:
                continue
            rates = {"standard": [("", price)]}
            for variant in _VARIANT_KEYS:
                if isinstance(entry.get(variant), Mapping):
                    rates[variant] = [("", _price(entry[variant], divisor, price))]
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("llm_insights: %s: models.%s: %s; entry ignored", where, name, exc)
            continue
        added.append(_Model(str(name), {str(name).lower()}, [], rates, source))  # type: ignore[arg-type]
    aliases = data.get("aliases") if isinstance(data, Mapping) else None
    if isinstance(aliases, Mapping):
        for alias, target in aliases.items():
            for m in added + table.overrides:
                if m.id.lower() == str(target).lower():
                    m.equals.add(str(alias).lower())
    table.overrides[:0] = added  # a later override wins over an earlier one
    table._cache.clear()
    if version:
        table.version = f"{table.version}+{version}"


def _read(path: str | os.PathLike) -> Mapping[str, Any] | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("llm_insights: price file %s unreadable (%s); ignored", path, exc)
        return None


def shipped() -> PriceTable:
    """The price data shipped with the SDK (converted from the pinned genai-prices)."""
    data = json.loads((Path(__file__).parent / "_prices.json").read_text(encoding="utf-8"))
    src = data["source"]
    source = f"{src['name']} {src['version']}"
    table = PriceTable(src["version"], source)
    divisor = _per_1k_divisor(data, "_prices.json")
    for pid, provider in data["providers"].items():
        table.providers[pid] = [_shipped_model(m, divisor, source) for m in provider["models"]]
        table.fallback[pid] = list(provider.get("fallback", []))
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
