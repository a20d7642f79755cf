"""Workbook queries as data: list every panel's KQL, and bind workbook parameters for local runs.

``iter_queries(workbook)`` lists each log query step (the dropdown parameter queries too) so local
previews and truth tests can run every panel against the local store; ``bind_parameters`` turns the
workbook's ``{Parameter}`` placeholders into plain KQL the same way the portal does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .workbook import (
    ALL,
    FILTERS,
    ITEM_GROUP,
    ITEM_PARAMETERS,
    ITEM_QUERY,
    SERVICE,
    SOURCE_PREFIX,
    TIME_RANGE,
)


@dataclass(frozen=True)
class PanelQuery:
    """One workbook query: a panel (``kind="panel"``) or a dropdown's choices (``"parameter"``)."""

    workbook: str
    step: str
    title: str
    query: str
    visualization: str
    source: str
    kind: str = "panel"
    # A panel with its own time context (e.g. 30 days for budget burn) instead of {TimeRange}:
    # local runs should scope it to [end - fixed_time_ms, end).
    fixed_time_ms: int | None = None


def iter_queries(workbook: str | Mapping[str, Any], key: str = "") -> list[PanelQuery]:
    """Every log query in a ``Notebook/1.0`` workbook (JSON text or parsed), in document order."""
    notebook = json.loads(workbook) if isinstance(workbook, str) else workbook
    found: list[PanelQuery] = []

    def walk(items: Sequence[Mapping[str, Any]]) -> None:
        for item in items:
            content = item.get("content", {})
            if item.get("type") == ITEM_GROUP:
                walk(content.get("items", []))
            elif item.get("type") == ITEM_QUERY:
                message = content.get("noDataMessage", "")
                source = message.split(SOURCE_PREFIX, 1)[1] if SOURCE_PREFIX in message else ""
                found.append(
                    PanelQuery(
                        key,
                        item.get("name", ""),
                        content.get("title", ""),
                        content.get("query", ""),
                        content.get("visualization", ""),
                        source,
                        fixed_time_ms=content.get("timeContext", {}).get("durationMs"),
                    )
                )
            elif item.get("type") == ITEM_PARAMETERS:
                for param in content.get("parameters", []):
                    if param.get("query"):
                        found.append(
                            PanelQuery(
                                key,
                                f"{item.get('name', '')}/{param.get('name', '')}",
                                param.get("label", ""),
                                param["query"],
                                "dropdown",
                                "",
                                "parameter",
                            )
                        )

    walk(notebook.get("items", []))
    return found


_PARAM = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<fmt>[A-Za-z]+))?\}")
# Grain the portal picks for a time range (roughly 100-300 points per chart).
_GRAINS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(hours=1), "1m"),
    (timedelta(hours=4), "5m"),
    (timedelta(hours=12), "10m"),
    (timedelta(days=1), "15m"),
    (timedelta(days=3), "1h"),
    (timedelta(days=7), "2h"),
    (timedelta(days=31), "6h"),
)


def _kql_datetime(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"datetime({text})"


def grain_for(span: timedelta) -> str:
    """The ``{TimeRange:grain}`` timespan for a time range of this length."""
    for limit, grain in _GRAINS:
        if span <= limit:
            return grain
    return "1d"


def bind_parameters(
    query: str,
    time_range: tuple[datetime, datetime],
    selections: Mapping[str, str | Sequence[str] | None] | None = None,
    *,
    grain: str | None = None,
) -> str:
    """Substitute workbook parameters so a query runs outside the portal (local store, Kusto LS).

    - ``{TimeRange}`` → ``between (datetime(start) .. datetime(end))`` (used as ``timestamp
      {TimeRange}``); ``{TimeRange:start}``/``{TimeRange:end}`` → ``datetime(...)``;
      ``{TimeRange:grain}`` → a timespan (``grain`` or one picked from the range's length).
    - Dropdowns (``{Service}``, ``{Model}``, ``{Deployment}``, ``{Operation}``) → ``'*'`` (all)
      unless ``selections`` names values: ``{"Service": "chat-api"}`` or ``{"Model": ["a", "b"]}``.
    - ``{Resource}`` → an empty string (only portal links use it).
    Unknown parameters raise ``KeyError`` naming the parameter (a template typo).
    """
    start, end = time_range
    selections = dict(selections or {})
    step = grain or grain_for(end - start)
    dropdowns = {SERVICE} | {name for name, _label, _attr in FILTERS}

    def replace(match: re.Match[str]) -> str:
        name, fmt = match.group("name"), match.group("fmt")
        if name == TIME_RANGE:
            if fmt is None:
                return f"between ({_kql_datetime(start)} .. {_kql_datetime(end)})"
            if fmt == "start":
                return _kql_datetime(start)
            if fmt == "end":
                return _kql_datetime(end)
            if fmt == "grain":
                return step
            raise KeyError(f"{{{TIME_RANGE}:{fmt}}}")
        if name in dropdowns:
            chosen = selections.get(name)
            values = (
                [ALL]
                if chosen in (None, "", ALL)
                else [chosen]
                if isinstance(chosen, str)
                else list(chosen)
            )
            return ",".join(
                "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values
            )
        if name == "Resource":
            return ""
        raise KeyError(f"{{{name}}}")

    return _PARAM.sub(replace, query)
