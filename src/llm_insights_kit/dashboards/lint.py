"""Workbook lint: the checks microsoft/Application-Insights-Workbooks CI applies, plus the kit's.

Rules are a table (id → check → message) so adding one is one line; each check yields
``(step, detail)`` pairs for the offending places.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .queries import _PARAM
from .workbook import (
    ITEM_GROUP,
    ITEM_PARAMETERS,
    ITEM_QUERY,
    NOTEBOOK_VERSION,
    PARAM_DROPDOWN,
    PARAM_RESOURCE,
    QUERY_TYPE_LOGS,
    RESOURCE,
    RESOURCE_REF,
    RESOURCE_TYPE,
    SOURCE_PREFIX,
    panel_parameters,
)

MAX_QUERIES = 40
MAX_QUERY_CHARS = 3000
_SUBSCRIPTION = re.compile(
    r"/subscriptions/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@dataclass(frozen=True)
class LintProblem:
    workbook: str
    rule: str
    step: str
    message: str

    def __str__(self) -> str:
        return f"{self.workbook}: {self.rule} step {self.step or '-'}: {self.message}"


Found = Iterator[tuple[str, str]]


def _items(notebook: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    def walk(items: Any) -> Iterator[Mapping[str, Any]]:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping):
                yield item
                if item.get("type") == ITEM_GROUP:
                    yield from walk(item.get("content", {}).get("items"))

    yield from walk(notebook.get("items"))


def _queries(notebook: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for item in _items(notebook):
        if item.get("type") == ITEM_QUERY:
            yield item.get("name", ""), item.get("content", {}).get("query", "")
        elif item.get("type") == ITEM_PARAMETERS:
            for p in item.get("content", {}).get("parameters", []):
                if p.get("query"):
                    yield f"{item.get('name', '')}/{p.get('name', '')}", p["query"]


def _params(notebook: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for item in _items(notebook):
        if item.get("type") == ITEM_PARAMETERS:
            yield from item.get("content", {}).get("parameters", [])


def version(nb: Mapping[str, Any]) -> Found:
    if nb.get("version") != NOTEBOOK_VERSION:
        yield "", f"version is {nb.get('version')!r}, expected {NOTEBOOK_VERSION!r}"


def named_steps(nb: Mapping[str, Any]) -> Found:
    seen: set[str] = set()
    for item in _items(nb):
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            yield "", f"a type-{item.get('type')} item has no name"
        elif name in seen:
            yield name, "step name used twice"
        else:
            seen.add(name)


def query_count(nb: Mapping[str, Any]) -> Found:
    count = sum(1 for item in _items(nb) if item.get("type") == ITEM_QUERY)
    if count > MAX_QUERIES:
        yield "", f"{count} log queries; at most {MAX_QUERIES} per workbook (split it)"


def query_length(nb: Mapping[str, Any]) -> Found:
    for step, query in _queries(nb):
        if len(query) > MAX_QUERY_CHARS:
            yield step, f"query is {len(query)} characters; at most {MAX_QUERY_CHARS}"


def labelled_params(nb: Mapping[str, Any]) -> Found:
    for p in _params(nb):
        if not str(p.get("label", "")).strip():
            yield f"parameters/{p.get('name', '')}", "parameter has no label"


def no_hardcoded_ids(nb: Mapping[str, Any]) -> Found:
    text = json.dumps(nb)
    for match in sorted(set(_SUBSCRIPTION.findall(text))):
        yield "", f"hard-coded resource id {match}…; use parameters or the workbook's resource"


def query_settings(nb: Mapping[str, Any]) -> Found:
    for item in _items(nb):
        if item.get("type") != ITEM_QUERY:
            continue
        content = item.get("content", {})
        if content.get("queryType") != QUERY_TYPE_LOGS:
            yield item.get("name", ""), f"queryType must be {QUERY_TYPE_LOGS} (logs)"
        if content.get("resourceType") != RESOURCE_TYPE:
            yield item.get("name", ""), f"resourceType must be {RESOURCE_TYPE}"
        if not content.get("visualization"):
            yield item.get("name", ""), "no visualization"
        if not str(content.get("title", "")).strip():
            yield item.get("name", ""), "no title (say what question the panel answers)"


def source_notes(nb: Mapping[str, Any]) -> Found:
    for item in _items(nb):
        note = str(item.get("content", {}).get("noDataMessage", ""))
        if item.get("type") == ITEM_QUERY and SOURCE_PREFIX not in note:
            yield item.get("name", ""), "no 'Source:' note saying where its numbers come from"


def declared_params(nb: Mapping[str, Any]) -> Found:
    declared = {p.get("name") for p in _params(nb)}
    for step, query in _queries(nb):
        for m in _PARAM.finditer(query):
            if m.group("name") not in declared:
                yield step, f"query uses {{{m.group('name')}}} but no parameter declares it"


def resource_scoped(nb: Mapping[str, Any]) -> Found:
    """Every query runs against the ``{Resource}`` parameter, which defaults to the workbook's
    resource: opened from a link with no context, the workbook falls back to
    ``fallbackResourceIds`` (filled with the component at deploy) instead of asking for one."""
    pickers = [p for p in _params(nb) if p.get("name") == RESOURCE]
    if not pickers:
        yield "", f"no {RESOURCE!r} parameter (type {PARAM_RESOURCE}) for queries to run against"
    for p in pickers:
        settings = p.get("typeSettings", {})
        if (
            p.get("type") != PARAM_RESOURCE
            or p.get("value") != "value::1"
            or RESOURCE_TYPE not in settings.get("resourceTypeFilter", {})
        ):
            yield (
                f"parameters/{RESOURCE}",
                f"must be type {PARAM_RESOURCE}, value 'value::1' (the workbook's own resource), "
                f"filtered to {RESOURCE_TYPE}",
            )
    for item in _items(nb):
        content = item.get("content", {})
        scoped = [(item.get("name", ""), content)] if item.get("type") == ITEM_QUERY else []
        if item.get("type") == ITEM_PARAMETERS:
            scoped += [
                (f"{item.get('name', '')}/{p.get('name', '')}", p)
                for p in content.get("parameters", [])
                if p.get("query")
            ]
        for step, holder in scoped:
            if holder.get("crossComponentResources") != [RESOURCE_REF]:
                yield step, f'crossComponentResources must be ["{RESOURCE_REF}"]'


def used_dropdowns(nb: Mapping[str, Any]) -> Found:
    """A filter no panel reads would change nothing on screen: offer only the ones used."""
    used = panel_parameters(nb.get("items", []))
    for p in _params(nb):
        if p.get("type") == PARAM_DROPDOWN and p.get("name") not in used:
            yield f"parameters/{p.get('name', '')}", "dropdown that no panel query reads"


RULES: dict[str, tuple[Callable[[Mapping[str, Any]], Found], str]] = {
    "WB002": (version, "workbook version is Notebook/1.0"),
    "WB003": (named_steps, "every step has a unique name"),
    "WB004": (query_count, f"at most {MAX_QUERIES} log queries per workbook"),
    "WB005": (query_length, f"each query at most {MAX_QUERY_CHARS} characters"),
    "WB006": (labelled_params, "every parameter has a label"),
    "WB007": (no_hardcoded_ids, "no hard-coded /subscriptions/<guid>"),
    "WB008": (query_settings, "query steps are component-scoped log queries with a title"),
    "WB009": (source_notes, "every panel says where its numbers come from"),
    "WB010": (declared_params, "every {Parameter} a query uses is declared"),
    "WB011": (resource_scoped, "every query runs against {Resource} = the workbook's resource"),
    "WB012": (used_dropdowns, "every dropdown is read by a panel query"),
}


def lint_workbook(key: str, serialized: str) -> list[LintProblem]:
    """All lint problems of one workbook's serialized JSON (WB001 when it is not JSON)."""
    try:
        notebook = json.loads(serialized)
    except json.JSONDecodeError as exc:
        return [LintProblem(key, "WB001", "", f"not valid JSON: {exc}")]
    if not isinstance(notebook, Mapping):
        return [LintProblem(key, "WB001", "", "top level must be a JSON object")]
    problems = []
    for rule_id, (check, _summary) in RULES.items():
        problems += [LintProblem(key, rule_id, step, msg) for step, msg in check(notebook)]
    return problems
