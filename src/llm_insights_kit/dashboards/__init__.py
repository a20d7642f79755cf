"""Azure Monitor workbooks rendered from the Jinja templates in ``dashboards/workbooks/``.

- ``render_workbooks(ctx)`` → ``WorkbookArtifact`` per workbook, sorted by key, deterministic.
- ``iter_queries(serialized_data)`` → every panel's KQL (``PanelQuery``) for local runs.
- ``bind_parameters(query, time_range=(start, end), selections={...})`` → runnable KQL.
- ``with_fallback_resource(serialized_data, component_id)`` → what deploys (the Pulumi program).
"""

from .queries import PanelQuery, bind_parameters, grain_for, iter_queries
from .render import render_workbook, render_workbooks, workbook_keys
from .workbook import with_fallback_resource

__all__ = [
    "PanelQuery",
    "bind_parameters",
    "grain_for",
    "iter_queries",
    "render_workbook",
    "render_workbooks",
    "with_fallback_resource",
    "workbook_keys",
]
