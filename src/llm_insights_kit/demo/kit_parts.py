"""The kit components the demo composes (alert rules, the app's telemetry settings, previews)."""

from __future__ import annotations

from pathlib import Path

from ..alerts import load_rules
from ..artifacts import AlertRuleSpec, RenderContext
from ..check import CheckReport, open_local, run_check
from ..dashboards import render_workbooks
from ..errors import KitError
from ..local.preview import PreviewResult, data_time_range, render_previews
from ..local.store import LocalStore
from ..stack_config.files import read_stack_file
from ..stack_config.schema import KEYS_BY_NAME, app_telemetry_env

# What the Pulumi program passes the Container App when the stack does not say (the schema).
DEFAULT_SERVICE_NAME: str = KEYS_BY_NAME["telemetry.serviceName"].default


def load_alert_rules(ctx: RenderContext) -> list[AlertRuleSpec]:
    rules = list(load_rules(ctx))
    if not rules:
        raise KitError("alerts/", "no alert rules were loaded; the demo evaluates every rule")
    return rules


def telemetry_env(ctx: RenderContext) -> dict[str, str]:
    """The telemetry settings the stack gives its Container App (service name, environment,
    sampler), from the same definition the Pulumi program uses."""
    telemetry = read_stack_file(Path(ctx.config_file), ctx.stack).telemetry
    return app_telemetry_env(ctx.environment, telemetry)


def write_previews(ctx: RenderContext, store_path: Path, out_dir: Path) -> PreviewResult:
    """Every workbook of the stack rendered over the demo's store."""
    with LocalStore(store_path, read_only=True) as store:
        return render_previews(
            store,
            render_workbooks(ctx),
            out_dir,
            stack=ctx.stack,
            store_label=str(store_path),
        )


def check_store(
    ctx: RenderContext,
    store_path: Path,
    rules: list[AlertRuleSpec],
    preview: PreviewResult | None = None,
) -> CheckReport:
    """``llm-insights check --local`` on the demo's store: the checks a deployed stack gets (the
    panels as *preview* just ran them, over its time range, when given)."""
    backend = open_local(store_path)
    try:
        return run_check(
            backend,
            render_workbooks(ctx),
            rules,
            preview.time_range if preview else data_time_range(backend),
            stack=ctx.stack,
            label=f"local store {store_path}",
            runs=preview.runs if preview else None,
        )
    finally:
        backend.close()
