"""The SDK's shipped price file, converted from the pinned ``genai-prices`` package.

``genai-prices`` (pydantic/genai-prices) is a maintained, effective-dated price database with
per-model match rules (dated snapshots priced apart where the provider prices them apart, e.g.
``gpt-4o-2024-05-13``), cache-read/cache-write, audio and image rates, context tiers and batch
variants. It needs Python >= 3.11 and pydantic, so the SDK (Python >= 3.9, no pydantic) does not
import it: this module converts its ``openai`` and ``azure`` providers into plain JSON
(``sdk/src/llm_insights/_prices.json``), recording the source name and version, and
``llm-insights prices --check`` (and a test) proves the shipped file equals what the pinned
package gives.

Kept per model: the match rules (equals / starts-with / contains / regex, in the source's order),
token rates per 1M tokens, effective dates (``from``), the ``batch`` variant. Dropped, and said so
in the file's ``not_priced`` note: per-request fees (web/file searches), per-hour and
per-character units, service tiers (priority/flex), which the SDK cannot see per call.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import KitError
from .paths import SHIPPED_PRICES_FILE

SOURCE = "genai-prices"
PROVIDERS = ("openai", "azure")

# genai-prices ModelPrice field -> the SDK's rate key (USD per 1M tokens)
RATE_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cached_input",
    "cache_write_mtok": "cache_write",
    "input_audio_mtok": "input_audio",
    "output_audio_mtok": "output_audio",
    "input_image_mtok": "input_image",
    "output_image_mtok": "output_image",
}
NOT_PRICED = (
    "Per-request fees (web and file searches), per-hour and per-character units, and service "
    "tiers (priority, flex, fast) are not in this file: the SDK cannot see them per call."
)


def _number(value: Decimal) -> float | int:
    f = float(value)
    return int(f) if f == int(f) else f


def _rate(value: Any) -> Any:
    from genai_prices.types import TieredPrices

    if isinstance(value, TieredPrices):
        return {
            "base": _number(value.base),
            "tiers": [[t.start, _number(t.price)] for t in value.tiers],
        }
    return _number(value)


def _rates(model_price: Any) -> dict[str, Any]:
    return {
        ours: _rate(getattr(model_price, theirs))
        for theirs, ours in RATE_KEYS.items()
        if getattr(model_price, theirs, None) is not None
    }


def _dated(prices: Any, where: str) -> list[dict[str, Any]]:
    """Effective-dated rate sets, oldest first (``from`` null = since always)."""
    from genai_prices.types import ConditionalPrice, StartDateConstraint

    entries = prices if isinstance(prices, list) else [prices]
    out = []
    for entry in entries:
        start = None
        model_price = entry
        if isinstance(entry, ConditionalPrice):
            model_price = entry.prices
            if entry.constraint is not None:
                if not isinstance(entry.constraint, StartDateConstraint):
                    raise KitError(f"{SOURCE} {where}", f"unsupported price constraint {entry!r}")
                start = entry.constraint.start_date.isoformat()
        out.append({"from": start, **_rates(model_price)})
    return out


def _match(clause: Any, where: str) -> tuple[list[str], list[str]]:
    """(exact names, regexes) equivalent to a genai-prices match clause."""
    import re

    from genai_prices import types as t

    if isinstance(clause, t.ClauseEquals):
        return [clause.equals], []
    if isinstance(clause, t.ClauseRegex):
        return [], [clause.regex]
    if isinstance(clause, t.ClauseStartsWith):
        return [], ["^" + re.escape(clause.starts_with)]
    if isinstance(clause, t.ClauseEndsWith):
        return [], [re.escape(clause.ends_with) + "$"]
    if isinstance(clause, t.ClauseContains):
        return [], [re.escape(clause.contains)]
    if isinstance(clause, t.ClauseOr):
        equals: list[str] = []
        patterns: list[str] = []
        for sub in clause.or_:
            e, p = _match(sub, where)
            equals += e
            patterns += p
        return equals, patterns
    raise KitError(f"{SOURCE} {where}", f"unsupported match clause {clause!r}")


def _model(model: Any, provider: str) -> dict[str, Any]:
    where = f"{provider}/{model.id}"
    equals, patterns = _match(model.match, where)
    entry: dict[str, Any] = {"id": model.id, "equals": equals}
    if patterns:
        entry["patterns"] = patterns
    entry["prices"] = _dated(model.prices, where)
    batch = []
    for variant in model.price_variants or []:
        if variant.when == {"processing": "batch"}:
            start = variant.constraint.start_date.isoformat() if variant.constraint else None
            batch.append({"from": start, **_rates(variant.prices)})
    if batch:
        entry["batch"] = sorted(batch, key=lambda b: b["from"] or "")
    return entry


def build() -> dict[str, Any]:
    """The shipped price file's content, from the installed (pinned) genai-prices."""
    try:
        from genai_prices.data import providers
    except ImportError as exc:
        raise KitError(SOURCE, "not installed; pinned in requirements.lock (make setup)") from exc
    version = importlib.metadata.version(SOURCE)
    out: dict[str, Any] = {}
    for provider in providers:
        if provider.id not in PROVIDERS:
            continue
        out[provider.id] = {
            "fallback": [p for p in provider.fallback_model_providers or [] if p in PROVIDERS],
            "models": [_model(m, provider.id) for m in provider.models],
        }
    missing = [p for p in PROVIDERS if p not in out]
    if missing:
        raise KitError(f"{SOURCE} {version}", f"providers {missing} not found")
    return {
        "format": 2,
        "source": {"name": SOURCE, "version": version},
        "currency": "USD",
        "unit": "per 1M tokens",
        "not_priced": NOT_PRICED,
        "providers": out,
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def write(path: Path = SHIPPED_PRICES_FILE) -> Path:
    path.write_text(render(build()), encoding="utf-8")
    return path


def differs(path: Path = SHIPPED_PRICES_FILE) -> bool:
    """True when *path* is not exactly what the pinned source gives."""
    try:
        return path.read_text(encoding="utf-8") != render(build())
    except OSError:
        return True


def today() -> str:
    return _dt.date.today().isoformat()
