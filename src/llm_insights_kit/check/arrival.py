"""Telemetry arrival: which contract names the workbooks and rules read arrived in the window.

The names a query reads come from ``kql.names.names_read`` (metric and event names compared with
``name``, attribute keys of ``customDimensions``/``customMeasurements``), gathered over every panel
and rule, each remembering who reads it. A handful of queries over the window then tell which
arrived, how many rows carried them, from which services (``cloud_RoleName``) and exporter
versions (``sdkVersion``). A name never seen gets its likely cause, judged from what did arrive.

Required (the exit code fails without them): the metrics the SDK records for every LLM call it
sees — call duration (and its bucket counter) and token usage. The other names depend on what the
app does (streaming, agents, retrieval, feedback…): missing, they are reported, not failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llm_insights import contract

from .. import emitted
from ..errors import KitError
from ..kql.names import names_read
from ..tables import TABLES
from .backend import QueryBackend

REQUIRED_METRICS: tuple[str, ...] = (
    contract.OPERATION_DURATION.name,
    contract.DURATION_BUCKET_COUNTS.name,
    contract.TOKEN_USAGE.name,
)
KIT_PREFIX = f"{contract.NS}."
_BAGGED = tuple(t for t, cols in TABLES.items() if any(c == "customDimensions" for c, _ in cols))
_ARRIVAL_TABLES = tuple(TABLES)
#: How many queries check_arrival sends: sources, rows per table, metric/event/span-event names,
#: attribute counts per table with customDimensions.
ARRIVAL_QUERIES = 1 + len(_ARRIVAL_TABLES) + 3 + len(_BAGGED)


@dataclass
class NameArrival:
    """One name the kit reads: whether it arrived, where from, and why not."""

    name: str
    kind: str  # metric | event | attribute
    read_by: list[str] = field(default_factory=list)
    rows: int = 0
    services: list[str] = field(default_factory=list)
    cause: str = ""

    @property
    def seen(self) -> bool:
        return self.rows > 0

    @property
    def required(self) -> bool:
        return self.kind == "metric" and self.name in REQUIRED_METRICS

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "seen": self.seen,
            "required": self.required,
            "rows": self.rows,
            "services": self.services,
            "read_by": self.read_by,
            "cause": self.cause,
        }


@dataclass(frozen=True)
class Source:
    service: str
    sdk_version: str
    rows: int
    first: datetime | None
    last: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "sdk_version": self.sdk_version,
            "rows": self.rows,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


@dataclass
class Arrival:
    rows_by_table: dict[str, int]
    sources: list[Source]
    names: list[NameArrival]
    other_metrics: dict[str, int]  # metric names that arrived but no query reads
    error: str = ""

    @property
    def missing_required(self) -> list[NameArrival]:
        """Required names that never arrived (none when arrival could not be checked)."""
        if self.error:
            return []
        return [n for n in self.names if n.required and not n.seen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_by_table": self.rows_by_table,
            "sources": [s.to_dict() for s in self.sources],
            "names": [n.to_dict() for n in self.names],
            "other_metrics": self.other_metrics,
            "error": self.error,
        }


def names_needed(queries: Iterable[tuple[str, str]]) -> dict[tuple[str, str], NameArrival]:
    """(kind, name) → NameArrival with ``read_by``, from (reader, KQL) pairs."""
    needed: dict[tuple[str, str], NameArrival] = {}
    events = set(emitted.EVENTS)

    def add(kind: str, name: str, reader: str) -> None:
        entry = needed.setdefault((kind, name), NameArrival(name, kind))
        if reader not in entry.read_by:
            entry.read_by.append(reader)

    for reader, kql in queries:
        read = names_read(kql)
        for name in read.names:
            add("event" if name in events else "metric", name, reader)
        for attr in read.attributes:
            add("attribute", attr, reader)
    for name in REQUIRED_METRICS:
        needed.setdefault(("metric", name), NameArrival(name, "metric", ["(every LLM call)"]))
    return needed


def _string_list(values: Iterable[str]) -> str:
    return (
        "("
        + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + ")"
    )


def check_arrival(
    backend: QueryBackend,
    queries: Iterable[tuple[str, str]],
    time_range: tuple[datetime, datetime],
    advance: Callable[[int], None] = lambda _: None,
) -> Arrival:
    """What arrived in *time_range*; a failed arrival query is reported in ``error``."""
    needed = names_needed(queries)
    end = time_range[1]

    def run(kql: str, name: str) -> list[dict[str, Any]]:
        """Result rows by column name (``summarize`` puts the by-columns first)."""
        result = backend.query(kql, now=end, time_range=time_range, name=f"arrival/{name}")
        advance(1)
        return result.to_dicts()

    try:
        sources_rows = run(
            f"union {', '.join(_ARRIVAL_TABLES)}\n"
            "| summarize rows = count(), first_seen = min(timestamp), last_seen = max(timestamp) "
            "by service = cloud_RoleName, sdk_version = sdkVersion",
            "sources",
        )
        rows_by_table = {}
        for table in _ARRIVAL_TABLES:
            counted = run(f"{table} | summarize rows = count()", f"{table} rows")
            rows_by_table[table] = int(counted[0]["rows"] or 0) if counted else 0
        by_name = "| summarize rows = count() by name, service = cloud_RoleName"
        metric_rows = run(f"{contract.TABLE_METRICS}\n{by_name}", "metric names")
        event_rows = run(f"{contract.TABLE_EVENTS}\n{by_name}", "event names")
        span_event_rows = run(
            f"{contract.TABLE_SPAN_EVENTS}\n| where message in {_string_list(emitted.EVENTS)}\n"
            "| summarize rows = count() by name = message, service = cloud_RoleName",
            "span event names",
        )
        attributes = sorted(
            {n.name for (k, _), n in needed.items() if k == "attribute"}
            | {contract.GEN_AI_OPERATION_NAME}
        )
        attr_rows: dict[str, int] = dict.fromkeys(attributes, 0)
        attr_services: dict[str, set[str]] = {a: set() for a in attributes}
        for table in _BAGGED:
            counts = ", ".join(
                f"a{i} = countif(isnotempty(tostring(customDimensions[{_string_list([a])[1:-1]}])))"
                for i, a in enumerate(attributes)
            )
            for row in run(
                f"{table}\n| summarize {counts} by service = cloud_RoleName", f"{table} attributes"
            ):
                for i, attr in enumerate(attributes):
                    if row[f"a{i}"]:
                        attr_rows[attr] += int(row[f"a{i}"])
                        attr_services[attr].add(row["service"] or "")
    except KitError as exc:
        return Arrival({}, [], sorted(needed.values(), key=_order), {}, error=str(exc))

    sources = sorted(
        (
            Source(
                r["service"] or "",
                r["sdk_version"] or "",
                int(r["rows"] or 0),
                r["first_seen"],
                r["last_seen"],
            )
            for r in sources_rows
        ),
        key=lambda s: (-s.rows, s.service, s.sdk_version),
    )
    seen_names: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for kind, found in (("metric", metric_rows), ("event", event_rows + span_event_rows)):
        for r in found:
            count, services = seen_names.setdefault((kind, r["name"]), (0, set()))
            seen_names[(kind, r["name"])] = (
                count + int(r["rows"] or 0),
                services | {r["service"] or ""},
            )
    for attr in attributes:
        seen_names[("attribute", attr)] = (attr_rows[attr], attr_services[attr])
    for key, entry in needed.items():
        rows, services = seen_names.get(key, (0, set()))
        entry.rows, entry.services = rows, sorted(services)
    context = _Context(rows_by_table, seen_names)
    for entry in needed.values():
        if not entry.seen:
            entry.cause = context.cause(entry)
    read_metrics = {n for k, n in needed if k == "metric"}
    other = {
        name: rows
        for (k, name), (rows, _) in seen_names.items()
        if k == "metric" and name not in read_metrics
    }
    return Arrival(
        rows_by_table, sources, sorted(needed.values(), key=_order), dict(sorted(other.items()))
    )


def _order(entry: NameArrival) -> tuple[int, int, str]:
    return (
        {"metric": 0, "event": 1, "attribute": 2}[entry.kind],
        0 if entry.seen else 1,
        entry.name,
    )


@dataclass
class _Context:
    rows_by_table: Mapping[str, int]
    seen: Mapping[tuple[str, str], tuple[int, set[str]]]

    def _rows(self, kind: str, predicate: Callable[[str], bool]) -> int:
        return sum(rows for (k, n), (rows, _) in self.seen.items() if k == kind and predicate(n))

    def cause(self, entry: NameArrival) -> str:
        total = sum(self.rows_by_table.values())
        if total == 0:
            return (
                "no telemetry at all arrived in the window: is the app running, and does its "
                f"{contract.ENV_CONNECTION_STRING} point at this component?"
            )
        kit_metrics = self._rows("metric", lambda n: n.startswith(KIT_PREFIX))
        genai_metrics = self._rows("metric", lambda n: n.startswith("gen_ai."))
        genai_spans = self.seen.get(("attribute", contract.GEN_AI_OPERATION_NAME), (0, set()))[0]
        kit_metric = entry.kind == "metric" and entry.name.startswith(KIT_PREFIX)
        if kit_metric and not kit_metrics and (genai_metrics or genai_spans):
            return (
                "LLM calls arrive (gen_ai.* metrics or spans) but no llm_insights.* metric: "
                "the app is traced by another instrumentation and llm_insights.configure() "
                "was not called"
            )
        if not (kit_metrics or genai_metrics or genai_spans):
            served = self.rows_by_table.get(contract.TABLE_SERVER_SPANS, 0)
            return (
                f"no LLM telemetry at all ({served} requests arrived): llm_insights.configure() "
                "was not called in the app, or it made no LLM call in the window"
            )
        if entry.kind == "metric":
            spec = emitted.METRICS_BY_NAME.get(entry.name)
            if entry.name == contract.COST.name and self.seen.get(
                ("metric", contract.UNPRICED_CALLS.name)
            ):
                return (
                    "every call in the window was to a model without a price (see "
                    f"{contract.UNPRICED_CALLS.name}): add it to the price table"
                )
            if spec is None:
                return "the SDK emits no metric of this name (a renamed or misspelt metric?)"
            return f"no call in the window recorded it ({spec.description})"
        if entry.kind == "event":
            return "no call in the window emitted this event"
        return "LLM telemetry arrived, but no row carried this attribute"
