"""The ``RenderContext`` of a stack, read straight from ``Pulumi.<stack>.yaml`` (no Pulumi import).

Reads ``llm-insights:alerts`` (rule overrides, via the shared stack reader) and
``llm-insights:dashboards.dailyBudgetUsd`` (also accepted nested: ``llm-insights:dashboards:
{dailyBudgetUsd: …}``) for the cost-burn panel.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..alerts_eval.stacks import CONFIG_NAMESPACE, stack_context
from ..artifacts import RenderContext
from ..errors import KitError
from ..fsutil import read_yaml

DASHBOARDS_KEY = f"{CONFIG_NAMESPACE}:dashboards"
BUDGET_FIELD = "dailyBudgetUsd"


def _budget(config: Mapping[str, Any], config_file: str) -> float | None:
    flat = f"{DASHBOARDS_KEY}.{BUDGET_FIELD}"
    nested = config.get(DASHBOARDS_KEY)
    value = config.get(flat)
    key = flat
    if value is None and isinstance(nested, Mapping):
        value, key = nested.get(BUDGET_FIELD), f"{DASHBOARDS_KEY}.{BUDGET_FIELD}"
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise KitError(
            f"{config_file}: {key} = {value!r}", "must be a positive number of US dollars per day"
        )
    return float(value)


def render_context(stack: str | None, stack_file: Path | None = None) -> RenderContext:
    """Context for ``stack`` (None and no file: the kit's defaults, no overrides, no budget)."""
    ctx = stack_context(stack, stack_file=stack_file)
    if stack is None and stack_file is None:
        return ctx
    path = Path(ctx.config_file)
    data = read_yaml(path, "stack file") or {}
    config = data.get("config") or {} if isinstance(data, Mapping) else {}
    return dataclasses.replace(ctx, daily_budget_usd=_budget(config, ctx.config_file))
