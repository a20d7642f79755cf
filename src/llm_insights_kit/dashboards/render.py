"""Render the workbook templates under ``dashboards/workbooks/`` to ``Notebook/1.0`` JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llm_insights import contract

from ..artifacts import RenderContext, WorkbookArtifact
from ..errors import KitError
from ..kql.templates import render_file
from ..paths import WORKBOOKS_DIR
from .workbook import FILTERS, SERVICE, SERVICE_COLUMN, SOURCES, WorkbookBuilder, serialize

TEMPLATE_SUFFIX = ".json.j2"


def workbook_keys(directory: Path = WORKBOOKS_DIR) -> list[str]:
    """Workbook keys: the template file stems, sorted."""
    return sorted(p.name[: -len(TEMPLATE_SUFFIX)] for p in directory.glob(f"*{TEMPLATE_SUFFIX}"))


def template_variables(ctx: RenderContext, *, workbook: bool) -> dict[str, Any]:
    """Variables every KQL template sees (workbook panels and alert rules alike)."""
    return {
        "workbook": workbook,
        "filters": [(name, attr) for name, _label, attr in FILTERS],
        "service": SERVICE_COLUMN,
        "service_param": SERVICE,
        "throttled": contract.ERROR_TYPE_THROTTLED,
        "daily_budget_usd": ctx.daily_budget_usd,
        "service_budgets": dict(sorted(ctx.service_budgets.items())),
        "environment": ctx.environment,
    }


def render_workbook(key: str, ctx: RenderContext) -> WorkbookArtifact:
    name = f"workbooks/{key}{TEMPLATE_SUFFIX}"
    variables = template_variables(ctx, workbook=True)
    variables.update(wb=WorkbookBuilder(key), sources=SOURCES)
    text = render_file(name, variables)
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KitError(f"dashboards/{name}", f"did not render to JSON: {exc}") from exc
    meta = notebook.pop("_meta", None)
    if not isinstance(meta, dict):
        raise KitError(
            f"dashboards/{name}",
            "must end with {{ wb.notebook(title, description, items) | tojson }}",
        )
    return WorkbookArtifact(
        key=key,
        display_name=str(meta["displayName"]),
        description=str(meta["description"]),
        serialized_data=serialize(notebook),
    )


def render_workbooks(ctx: RenderContext) -> list[WorkbookArtifact]:
    """Every workbook for a stack, sorted by key; identical input gives identical bytes."""
    return [render_workbook(key, ctx) for key in workbook_keys()]
