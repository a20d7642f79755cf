"""The kit components the demo composes (stack context, alert rules, previews), in one place."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..artifacts import AlertRuleSpec, RenderContext
from ..errors import KitError

CONFIG_NAMESPACE = "llm-insights"
# What the Pulumi program passes the Container App when the stack does not say (infra config).
DEFAULT_SAMPLER = "microsoft.rate_limited"
DEFAULT_SAMPLER_ARG = {"microsoft.rate_limited": "5", "microsoft.fixed.percentage": "1.0"}
DEFAULT_SERVICE_NAME = "llm-app"


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
    """The telemetry settings the stack gives its Container App (service name, sampler)."""
    try:
        data = yaml.safe_load(Path(ctx.config_file).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        data = {}
    config = data.get("config") if isinstance(data, Mapping) else None
    config = config if isinstance(config, Mapping) else {}

    def get(key: str) -> Any:
        return config.get(f"{CONFIG_NAMESPACE}:{key}")

    sampler = str(get("telemetry.tracesSampler") or DEFAULT_SAMPLER)
    arg = get("telemetry.tracesSamplerArg")
    return {
        "OTEL_SERVICE_NAME": str(get("telemetry.serviceName") or DEFAULT_SERVICE_NAME),
        "OTEL_TRACES_SAMPLER": sampler,
        "OTEL_TRACES_SAMPLER_ARG": format(arg, "g")
        if isinstance(arg, int | float)
        else DEFAULT_SAMPLER_ARG.get(sampler, "5"),
    }


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
