"""Run a rendered workbook against the local store, step by step, the way the portal would.

Every query step is bound (``{TimeRange}``, dropdowns = all) with the dashboards' own
``bind_parameters`` and run with the workbook time range as the query's time scope (steps carry
``timeContextFromParameter: TimeRange``; a step with its own ``timeContext`` spans that duration
ending where the range ends) and ``now()`` pinned to the range's end, so previews of past data
read as they did then. Results keep the workbook's structure (groups, markdown, widths)
for the page renderer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ...artifacts import WorkbookArtifact
from ...dashboards import bind_parameters
from ...dashboards.workbook import (
    ITEM_GROUP,
    ITEM_MARKDOWN,
    ITEM_PARAMETERS,
    ITEM_QUERY,
    PARAM_TIME_RANGE,
    SOURCE_PREFIX,
)
from ...errors import KitError
from ..store import LocalStore

State = Literal["ok", "empty", "error"]


@dataclass
class QueryOutcome:
    """What one query returned (or why it failed)."""

    query: str
    state: State
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    error: str = ""


@dataclass
class Panel:
    """One query step of a workbook with its outcome."""

    step: str
    title: str
    visualization: str
    source: str
    width: str
    content: Mapping[str, Any]
    outcome: QueryOutcome

    @property
    def state(self) -> State:
        return self.outcome.state


@dataclass
class Markdown:
    step: str
    text: str


@dataclass
class Parameter:
    """A workbook parameter as the preview applied it (dropdown choices when it has a query)."""

    name: str
    label: str
    applied: str
    outcome: QueryOutcome | None = None


@dataclass
class Group:
    step: str
    title: str
    items: list[Panel | Markdown | Group | list[Parameter]]


@dataclass
class WorkbookRun:
    key: str
    display_name: str
    description: str
    time_range: tuple[datetime, datetime]
    items: list[Panel | Markdown | Group | list[Parameter]]

    def panels(self) -> list[Panel]:
        found: list[Panel] = []

        def walk(items: Sequence[Any]) -> None:
            for item in items:
                if isinstance(item, Panel):
                    found.append(item)
                elif isinstance(item, Group):
                    walk(item.items)

        walk(self.items)
        return found

    def counts(self) -> dict[str, int]:
        counts = {"ok": 0, "empty": 0, "error": 0}
        for panel in self.panels():
            counts[panel.state] += 1
        return counts


def run_query(
    store: LocalStore, query: str, time_range: tuple[datetime, datetime], name: str
) -> QueryOutcome:
    """Bind and run one workbook query; failures become an ``error`` outcome, never raise."""
    try:
        bound = bind_parameters(query, time_range)
    except KeyError as exc:
        return QueryOutcome(query, "error", error=f"unknown workbook parameter {exc.args[0]}")
    try:
        result = store.query(bound, now=time_range[1], time_range=time_range, name=name)
    except KitError as exc:
        return QueryOutcome(bound, "error", error=str(exc))
    state: State = "ok" if result.rows else "empty"
    return QueryOutcome(bound, state, result.columns, result.types, result.rows)


def run_workbook(
    store: LocalStore, workbook: WorkbookArtifact, time_range: tuple[datetime, datetime]
) -> WorkbookRun:
    """Run every step of *workbook* on *store* over *time_range*."""
    try:
        notebook = json.loads(workbook.serialized_data)
    except json.JSONDecodeError as exc:
        raise KitError(f"workbook {workbook.key}", f"serialized_data is not JSON: {exc}") from None
    start, end = time_range
    applied_range = f"{start:%Y-%m-%d %H:%M}Z – {end:%Y-%m-%d %H:%M}Z"  # noqa: RUF001

    def walk(items: Sequence[Mapping[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            kind = item.get("type")
            content = item.get("content") or {}
            step = str(item.get("name", ""))
            if kind == ITEM_MARKDOWN:
                out.append(Markdown(step, str(content.get("json", ""))))
            elif kind == ITEM_GROUP:
                out.append(
                    Group(step, str(content.get("title", "")), walk(content.get("items", [])))
                )
            elif kind == ITEM_QUERY:
                message = str(content.get("noDataMessage", ""))
                source = message.split(SOURCE_PREFIX, 1)[1] if SOURCE_PREFIX in message else ""
                # a panel with its own time context (budget burn: 30 days) ends where the range
                # ends but spans its own duration, as the portal runs it
                fixed_ms = (content.get("timeContext") or {}).get("durationMs")
                panel_range = (
                    (end - timedelta(milliseconds=fixed_ms), end) if fixed_ms else time_range
                )
                outcome = run_query(
                    store, str(content.get("query", "")), panel_range, f"{workbook.key}/{step}"
                )
                out.append(
                    Panel(
                        step,
                        str(content.get("title", "")) or step,
                        str(content.get("visualization", "table") or "table"),
                        source,
                        str(item.get("customWidth", "")),
                        content,
                        outcome,
                    )
                )
            elif kind == ITEM_PARAMETERS:
                params = []
                for p in content.get("parameters", []):
                    name = str(p.get("name", ""))
                    label = str(p.get("label", name))
                    if p.get("type") == PARAM_TIME_RANGE:
                        params.append(Parameter(name, label, applied_range))
                    elif p.get("query"):
                        outcome = run_query(
                            store, str(p["query"]), time_range, f"{workbook.key}/{step}/{name}"
                        )
                        params.append(Parameter(name, label, "All", outcome))
                    elif not p.get("isHiddenWhenLocked"):
                        params.append(Parameter(name, label, str(p.get("value", ""))))
                out.append(params)
        return out

    return WorkbookRun(
        workbook.key,
        workbook.display_name,
        workbook.description,
        time_range,
        walk(notebook.get("items", [])),
    )
