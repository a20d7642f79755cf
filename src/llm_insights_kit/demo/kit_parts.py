"""The kit components the demo composes (stack context, alert rules, previews), in one place."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..artifacts import AlertRuleSpec, RenderContext
from ..errors import KitError
from ..stack_config import KEYS_BY_NAME, app_telemetry_env, read_stack_file

# What the Pulumi program passes the Container App when the stack does not say (the schema).
DEFAULT_SERVICE_NAME: str = KEYS_BY_NAME["telemetry.serviceName"].default


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise KitError(module, f"{name} is not available ({exc})") from None


def render_context(stack: str) -> RenderContext:
    """The stack's render context (alert overrides, budget, environment) from its config file."""
    return _attr("llm_insights_kit.dashboards.stack", "render_context")(stack)


def load_alert_rules(ctx: RenderContext) -> list[AlertRuleSpec]:
    rules = list(_attr("llm_insights_kit.alerts", "load_rules")(ctx))
    if not rules:
        raise KitError("alerts/", "no alert rules were loaded; the demo evaluates every rule")
    return rules


def telemetry_env(ctx: RenderContext) -> dict[str, str]:
    """The telemetry settings the stack gives its Container App (service name, environment,
    sampler), from the same definition the Pulumi program uses."""
    telemetry = read_stack_file(Path(ctx.config_file), ctx.stack).telemetry
    return app_telemetry_env(ctx.environment, telemetry)


def write_previews(ctx: RenderContext, store_path: Path, out_dir: Path) -> Any:
    """Every workbook of the stack rendered over the demo's store (``PreviewResult``)."""
    render_workbooks = _attr("llm_insights_kit.dashboards", "render_workbooks")
    render_previews = _attr("llm_insights_kit.local.preview", "render_previews")
    from ..local.store import LocalStore

    with LocalStore(store_path, read_only=True) as store:
        return render_previews(
            store,
            render_workbooks(ctx),
            out_dir,
            stack=ctx.stack,
            store_label=str(store_path),
        )
