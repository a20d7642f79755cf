"""The kit components the demo composes (stack context, alert rules, previews), in one place."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..artifacts import AlertRuleSpec, RenderContext
from ..errors import KitError


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise KitError(module, f"{name} is not available ({exc})") from None


def render_context(stack: str) -> RenderContext:
    """The stack's render context (its config file's alert overrides, budget, environment)."""
    return _attr("llm_insights_kit.stack", "render_context")(stack)


def load_alert_rules(ctx: RenderContext) -> list[AlertRuleSpec]:
    rules = list(_attr("llm_insights_kit.alerts", "load_rules")(ctx))
    if not rules:
        raise KitError("alerts/", "no alert rules were loaded; the demo evaluates every rule")
    return rules


def write_previews(stack: str, store_path: Path) -> Path:
    """Workbook previews over the demo's store; returns the index page."""
    return Path(_attr("llm_insights_kit.preview", "write_previews")(stack, store_path))
