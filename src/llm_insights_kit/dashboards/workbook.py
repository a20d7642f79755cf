"""Builders for Azure Monitor workbook items (``Notebook/1.0``), exposed to the Jinja templates.

Templates call these to assemble items; the KQL itself comes from the shared macros. Ids are
UUIDv5 of the workbook key and step name, so renders are byte-for-byte stable.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from llm_insights import contract

NOTEBOOK_VERSION = "Notebook/1.0"
SCHEMA_URL = (
    "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json"
)
RESOURCE_TYPE = (
    "microsoft.insights/components"  # queries scoped to the Application Insights component
)
QUERY_TYPE_LOGS = 0
ITEM_MARKDOWN, ITEM_QUERY, ITEM_PARAMETERS, ITEM_GROUP = 1, 3, 9, 12
PARAM_TEXT, PARAM_DROPDOWN, PARAM_TIME_RANGE, PARAM_RESOURCE = 1, 2, 4, 5
TIME_RANGE = "TimeRange"
# The resource parameter every query runs against. Microsoft's gallery workbooks declare it as a
# type-5 parameter defaulting to the workbook's own resource ("value::1") and point each query at it
# with ``crossComponentResources: ["{Resource}"]`` (e.g. Workbooks/KeyVault/Overview and the HEART
# Analytics workbooks in microsoft/Application-Insights-Workbooks at 1ea1c77). With the deployed
# ``fallbackResourceIds`` holding the component, a workbook opened from a share link or a pin (no
# resource context) still resolves "value::1" to the component.
RESOURCE = "Resource"
RESOURCE_REF = "{Resource}"
SOURCE_PREFIX = "Source: "
ALL = "*"

# The service dropdown every workbook offers, first: a multi-select over ``cloud_RoleName`` (the
# exporter's ``service.namespace``.``service.name``), all by default. It follows the "Application"
# parameter of Microsoft's Foundry dashboard workbook (microsoft/Application-Insights-Workbooks,
# Workbooks/Azure Machine Learning/AI Studio/FoundryDashboard/FoundryDashboard.workbook at 00de54d:
# type 2, multiSelect, quote "'", additionalResourceOptions ["value::all"], selectAllValue "*",
# panels filtered by `'*' in ({Application}) or cloud_RoleName in ({Application})`).
SERVICE = "Service"
SERVICE_COLUMN = "cloud_RoleName"
# Dropdown filters every workbook offers: (parameter name, label, attribute it filters on).
FILTERS: tuple[tuple[str, str, str], ...] = (
    ("Model", "Model", contract.GEN_AI_REQUEST_MODEL),
    ("Deployment", "Deployment", contract.ATTR_DEPLOYMENT),
    ("Operation", "Operation", contract.GEN_AI_OPERATION_NAME),
)
# Time ranges offered (ms); the default is one day.
TIME_RANGES_MS: tuple[int, ...] = (
    900_000, 3_600_000, 14_400_000, 43_200_000, 86_400_000, 259_200_000, 604_800_000, 2_592_000_000,
)  # fmt: skip
DEFAULT_TIME_RANGE_MS = 86_400_000

# Where numbers come from; every query panel names one (shown in its no-data message).
SOURCES = {
    "metrics": "customMetrics (never sampled): exact counts and sums.",
    "buckets": "customMetrics bucket counters (never sampled): percentile exact to its bucket.",
    "spans": "dependencies spans (sampled): counts weighted by itemCount; for drill-down.",
    "span-sample": "dependencies spans (sampled, and failed/slow ones kept: kept_for): "
    "individual calls; not a total.",
    "events": "customEvents (sampled with their trace): counts weighted by itemCount.",
    "requests": "requests (sampled): counts weighted by itemCount.",
    "config": "the stack config (daily budgets) and customMetrics cost (exact).",
}


class WorkbookBuilder:
    """Item factories bound to one workbook key (for stable ids)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def _id(self, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"llm-insights/{self.key}/{name}"))

    def markdown(self, name: str, text: str) -> dict[str, Any]:
        return {"type": ITEM_MARKDOWN, "name": name, "content": {"json": text.strip()}}

    def query(
        self,
        name: str,
        title: str,
        query: str,
        visualization: str,
        source: str,
        *,
        size: int = 0,
        width: int | None = None,
        chart: dict[str, Any] | None = None,
        fixed_time_ms: int | None = None,
    ) -> dict[str, Any]:
        """A log query step; ``source`` is a key of SOURCES (or free text) naming the data.

        ``fixed_time_ms`` gives the panel its own time context (e.g. 30 days for budget burn)
        instead of the TimeRange parameter."""
        note = SOURCES.get(source, source)
        content: dict[str, Any] = {
            "version": "KqlItem/1.0",
            "query": _tidy(query),
            "size": size,
            "title": title,
            "noDataMessage": f"No data in this time range. {SOURCE_PREFIX}{note}",
            "queryType": QUERY_TYPE_LOGS,
            "resourceType": RESOURCE_TYPE,
            "crossComponentResources": [RESOURCE_REF],
            "visualization": visualization,
        }
        if fixed_time_ms:
            content["timeContext"] = {"durationMs": fixed_time_ms}
        else:
            content["timeContextFromParameter"] = TIME_RANGE
        if chart:
            content.update(chart)
        item: dict[str, Any] = {"type": ITEM_QUERY, "name": name, "content": content}
        if width:
            item["customWidth"] = str(width)
        return item

    def group(self, name: str, title: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {
            "type": ITEM_GROUP,
            "name": name,
            "content": {
                "version": "NotebookGroup/1.0",
                "groupType": "editable",
                "title": title,
                "items": list(items),
            },
        }

    def parameters(self, dropdown_query: Any) -> dict[str, Any]:
        """Time range, the current component, and Service/Model/Deployment/Operation dropdowns.

        ``dropdown_query(attr)`` renders the KQL listing an attribute's values (from metrics;
        ``SERVICE_COLUMN`` for the services). ``notebook()`` later drops each dropdown no panel
        query of the workbook reads.
        """
        params: list[dict[str, Any]] = [
            {
                "id": self._id("param/TimeRange"),
                "version": "KqlParameterItem/1.0",
                "name": TIME_RANGE,
                "label": "Time range",
                "type": PARAM_TIME_RANGE,
                "isRequired": True,
                "value": {"durationMs": DEFAULT_TIME_RANGE_MS},
                "typeSettings": {
                    "selectableValues": [{"durationMs": ms} for ms in TIME_RANGES_MS],
                    "allowCustom": True,
                },
            },
            {
                "id": self._id("param/Resource"),
                "version": "KqlParameterItem/1.0",
                "name": RESOURCE,
                "label": "Application Insights",
                "type": PARAM_RESOURCE,
                "isRequired": True,
                "isHiddenWhenLocked": True,
                "value": "value::1",
                "typeSettings": {
                    "additionalResourceOptions": ["value::1"],
                    "resourceTypeFilter": {RESOURCE_TYPE: True},
                },
            },
        ]
        for name, label, attr in ((SERVICE, SERVICE, SERVICE_COLUMN), *FILTERS):
            params.append(
                {
                    "id": self._id(f"param/{name}"),
                    "version": "KqlParameterItem/1.0",
                    "name": name,
                    "label": label,
                    "type": PARAM_DROPDOWN,
                    "multiSelect": True,
                    "quote": "'",
                    "delimiter": ",",
                    "query": _tidy(dropdown_query(attr)),
                    "crossComponentResources": [RESOURCE_REF],
                    "value": ["value::all"],
                    "typeSettings": {
                        "additionalResourceOptions": ["value::all"],
                        "selectAllValue": ALL,
                        "showDefault": False,
                    },
                    "timeContextFromParameter": TIME_RANGE,
                    "queryType": QUERY_TYPE_LOGS,
                    "resourceType": RESOURCE_TYPE,
                }
            )
        return {
            "type": ITEM_PARAMETERS,
            "name": "parameters",
            "content": {
                "version": "KqlParameterItem/1.0",
                "crossComponentResources": [RESOURCE_REF],
                "parameters": params,
                "style": "pills",
                "queryType": QUERY_TYPE_LOGS,
                "resourceType": RESOURCE_TYPE,
            },
        }

    def notebook(
        self, display_name: str, description: str, items: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """The workbook, with only the dropdowns its panels read.

        ``fallbackResourceIds`` stays empty here (a render has no component): the deploy path
        fills it with ``with_fallback_resource`` (25 gallery templates in
        microsoft/Application-Insights-Workbooks at 1ea1c77 ship it empty the same way)."""
        items = [dict(item) for item in items]
        used = panel_parameters(items)
        for item in items:
            if item.get("type") == ITEM_PARAMETERS:
                content = dict(item["content"])
                content["parameters"] = [
                    p
                    for p in content["parameters"]
                    if p.get("type") != PARAM_DROPDOWN or p.get("name") in used
                ]
                item["content"] = content
        return {
            "_meta": {"displayName": display_name, "description": description},
            "version": NOTEBOOK_VERSION,
            "items": items,
            "fallbackResourceIds": [],
            "$schema": SCHEMA_URL,
        }


_PARAM_REF = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}")
# A component id as ARM returns it: /subscriptions/<guid>/resourceGroups/<rg>/providers/
# Microsoft.Insights/components/<name> (compared lowercase).
_COMPONENT_ID = re.compile(
    r"/subscriptions/[0-9a-f-]{36}/resourcegroups/[^/]+/providers/microsoft\.insights/components/[^/]+"
)


def panel_parameters(items: Sequence[dict[str, Any]]) -> set[str]:
    """Names of the parameters the panel (type 3) queries reference, groups included."""
    used: set[str] = set()
    for item in items:
        content = item.get("content", {})
        if item.get("type") == ITEM_GROUP:
            used |= panel_parameters(content.get("items", []))
        elif item.get("type") == ITEM_QUERY:
            used |= {m.group("name") for m in _PARAM_REF.finditer(str(content.get("query", "")))}
    return used


def with_fallback_resource(serialized: str, component_id: str) -> str:
    """``serialized`` with ``fallbackResourceIds`` = the component id, lowercase (what deploys).

    Microsoft's schema (schema/workbook.json): resource ids "used if the workbook is loaded later
    from a place with no explicit context passed in (like from a share link or a pin)". Lowercase
    as the portal stores ids (terraform-provider-azurerm#27755 for ``sourceId``)."""
    resource = component_id.lower()
    if not _COMPONENT_ID.fullmatch(resource):
        raise ValueError(
            f"fallback resource {component_id!r} is not an Application Insights component id "
            "(/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Insights/components/<name>)"
        )
    notebook = json.loads(serialized)
    notebook["fallbackResourceIds"] = [resource]
    return serialize(notebook)


def serialize(notebook: dict[str, Any]) -> str:
    """The deterministic serialization: sorted keys, two-space indent, no trailing newline."""
    return json.dumps(notebook, sort_keys=True, indent=2, ensure_ascii=False)


def _tidy(query: str) -> str:
    lines = [line.rstrip() for line in str(query).strip().splitlines()]
    return "\n".join(line for line in lines if line)
