"""Envelope → row mapping: what Application Insights makes of each envelope the exporter sends.

Follows the Azure Monitor exporter ``azure-monitor-opentelemetry-exporter`` 1.0.0b58 (the wire
shapes are its ``_generated/exporter/models/_models.py``) and the documented classic table columns
(``llm_insights_kit.tables.TABLES``):

=====================  ================  ====================================================
``data.baseType``      table             from (exporter file)
=====================  ================  ====================================================
RequestData            ``requests``      SERVER/CONSUMER spans (``export/trace/_exporter.py``)
RemoteDependencyData   ``dependencies``  CLIENT/PRODUCER/INTERNAL spans (same file)
MetricData             ``customMetrics`` metric points (``export/metrics/_exporter.py``)
EventData              ``customEvents``  logs with ``microsoft.custom_event.name``
                                         (``export/logs/_exporter.py``)
MessageData            ``traces``        logs and span events (logs + trace exporters)
ExceptionData          ``exceptions``    logs with exception attributes, exception span events
=====================  ================  ====================================================

Columns:

- ``timestamp`` ← envelope ``time`` (UTC). ``duration`` ← ``d.hh:mm:ss.ffffff`` in milliseconds;
  ``performanceBucket`` is Azure's bucket of that duration (``<250ms`` … ``>=5min``).
- ``itemCount`` ← ``round(100 / sampleRate)``; ``sampleRate`` absent means 100 (metrics and logs
  never carry it). Counts over sampled tables must therefore be ``sum(itemCount)``.
- requests: ``id``, ``name``, ``url``, ``source``, ``success``, ``resultCode`` ← ``responseCode``.
  dependencies: ``id``, ``name``, ``type``, ``target``, ``data``, ``success``, ``resultCode``.
- customMetrics: one row per entry of ``metrics[]`` (the exporter sends exactly one). The exporter
  sends a counter point as ``value`` with ``count`` 1, and a histogram point as ``value`` = sum,
  ``count``, ``min``, ``max`` (buckets are dropped). As in Application Insights, ``value`` and
  ``valueSum`` are that sum, ``valueCount`` the count, ``valueMin``/``valueMax`` fall back to the
  value when absent, ``valueStdDev`` to 0. Metric points are never sampled: ``itemCount`` is 1.
- traces: ``message``, ``severityLevel`` (0 Verbose … 4 Critical; the exporter sends the number,
  older SDKs the name). customEvents: ``name``.
- exceptions: the ``exceptions[]`` chain, outermost first — ``type``/``message``/``outerType``/
  ``outerMessage`` from the first, ``innermost*`` from the last; ``method``/``assembly`` from the
  top parsed stack frame; ``problemId`` as sent, else ``type`` (+ `` at `` method); ``details``
  the chain as a dynamic array; ``handledAt`` ``UserCode`` (the exporter does not send it).
- ``properties`` → ``customDimensions``, ``measurements`` → ``customMeasurements`` (dynamic).
- What else the exporter sends lands as Application Insights stores it: the trace exporter's
  ``_OTELRESOURCE_`` metric (resource attributes, value 0) and the exporter's customer SDK stats
  metrics (``APPLICATIONINSIGHTS_SDKSTATS_DISABLED``) are ``customMetrics`` rows like any other,
  so queries select metrics by ``name``. Availability, page views and unknown base types are
  skipped (no table in the contract).
- Context columns from the envelope tags (``_TAG_COLUMNS``), ``iKey`` from the envelope,
  ``itemType`` per table, ``itemId`` a fresh GUID (Azure assigns one at ingestion), and
  ``client_IP`` ``0.0.0.0`` when no ``ai.location.ip`` was sent, like Azure.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from llm_insights import contract

BASE_TYPE_TABLE: dict[str, str] = {
    "RequestData": contract.TABLE_SERVER_SPANS,
    "RemoteDependencyData": contract.TABLE_LLM_SPANS,
    "MetricData": contract.TABLE_METRICS,
    "EventData": contract.TABLE_EVENTS,
    "MessageData": contract.TABLE_SPAN_EVENTS,
    "ExceptionData": contract.TABLE_EXCEPTIONS,
}
ITEM_TYPES: dict[str, str] = {
    "requests": "request",
    "dependencies": "dependency",
    "customMetrics": "customMetric",
    "customEvents": "customEvent",
    "traces": "trace",
    "exceptions": "exception",
}
#: Envelope tag → context column (ContextTagKeys in the exporter's _generated/exporter/models).
_TAG_COLUMNS: dict[str, str] = {
    "ai.operation.name": "operation_Name",
    "ai.operation.id": "operation_Id",
    "ai.operation.parentId": "operation_ParentId",
    "ai.operation.syntheticSource": "operation_SyntheticSource",
    "ai.session.id": "session_Id",
    "ai.user.id": "user_Id",
    "ai.user.authUserId": "user_AuthenticatedId",
    "ai.user.accountId": "user_AccountId",
    "ai.application.ver": "application_Version",
    "ai.device.type": "client_Type",
    "ai.device.model": "client_Model",
    "ai.device.osVersion": "client_OS",
    "ai.location.ip": "client_IP",
    "ai.location.city": "client_City",
    "ai.location.province": "client_StateOrProvince",
    "ai.location.country": "client_CountryOrRegion",
    "ai.cloud.role": "cloud_RoleName",
    "ai.cloud.roleInstance": "cloud_RoleInstance",
    "ai.internal.sdkVersion": "sdkVersion",
}
SEVERITY_LEVELS: dict[str, int] = {
    "verbose": 0,
    "information": 1,
    "warning": 2,
    "error": 3,
    "critical": 4,
}
#: Azure's performanceBucket labels: (upper bound in ms, label).
_PERFORMANCE_BUCKETS: tuple[tuple[float, str], ...] = (
    (250, "<250ms"),
    (500, "250ms-500ms"),
    (1_000, "500ms-1sec"),
    (3_000, "1sec-3sec"),
    (7_000, "3sec-7sec"),
    (15_000, "7sec-15sec"),
    (30_000, "15sec-30sec"),
    (60_000, "30sec-1min"),
    (120_000, "1min-2min"),
    (300_000, "2min-5min"),
)
LOCAL_APP_NAME = "llm-insights-local"

_DURATION = re.compile(r"^(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)$")


class EnvelopeError(ValueError):
    """An envelope that cannot become a row; the message names the field."""


def parse_duration_ms(value: Any) -> float:
    """``d.hh:mm:ss.ffffff`` (or ``hh:mm:ss``) → milliseconds. Numbers are taken as ms."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise EnvelopeError(f"duration {value!r} is not d.hh:mm:ss.ffffff")
    days = int(match["d"] or 0)
    seconds = days * 86_400 + int(match["h"]) * 3_600 + int(match["m"]) * 60 + float(match["s"])
    return round(seconds * 1_000, 6)


def parse_time(value: Any) -> datetime:
    """Envelope ``time`` (ISO 8601, usually ``…Z``) → naive UTC datetime (the store is UTC)."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip()
        if not text:
            raise EnvelopeError("time is missing")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python < 3.11-style fractions with more than 6 digits (.NET sends 7): trim them.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise EnvelopeError(f"time {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def performance_bucket(duration_ms: float) -> str:
    for bound, label in _PERFORMANCE_BUCKETS:
        if duration_ms < bound:
            return label
    return ">=5min"


def item_count(sample_rate: Any) -> int:
    """``itemCount`` for a sample rate in percent (100 = unsampled)."""
    if sample_rate is None:
        return 1
    try:
        rate = float(sample_rate)
    except (TypeError, ValueError):
        raise EnvelopeError(f"sampleRate {sample_rate!r} is not a number") from None
    if not 0 < rate <= 100 or math.isnan(rate):
        raise EnvelopeError(f"sampleRate {sample_rate!r} must be in (0, 100]")
    return max(1, round(100.0 / rate))


def severity_level(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key in SEVERITY_LEVELS:
        return SEVERITY_LEVELS[key]
    try:
        return int(key)
    except ValueError:
        raise EnvelopeError(
            f"severityLevel {value!r} is not one of {', '.join(SEVERITY_LEVELS)} or 0-4"
        ) from None


def _dynamic(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _context(envelope: Mapping[str, Any], table: str) -> dict[str, Any]:
    tags = envelope.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise EnvelopeError("tags is not an object")
    row: dict[str, Any] = {column: _text(tags.get(tag)) for tag, column in _TAG_COLUMNS.items()}
    if not row["client_IP"]:
        row["client_IP"] = "0.0.0.0"
    row["iKey"] = _text(envelope.get("iKey"))
    row["appName"] = LOCAL_APP_NAME
    row["itemType"] = ITEM_TYPES[table]
    row["itemId"] = str(uuid.uuid4())
    row["itemCount"] = item_count(envelope.get("sampleRate"))
    row["timestamp"] = parse_time(envelope.get("time"))
    return row


def _span_row(base: Mapping[str, Any], row: dict[str, Any], request: bool) -> None:
    duration = parse_duration_ms(base.get("duration"))
    success = base.get("success")
    row.update(
        id=_text(base.get("id")),
        name=_text(base.get("name")),
        success=True if success is None else bool(success),
        resultCode=_text(base.get("responseCode" if request else "resultCode")),
        duration=duration,
        performanceBucket=performance_bucket(duration),
        customDimensions=_dynamic(base.get("properties")),
        customMeasurements=_dynamic(base.get("measurements")),
    )
    if request:
        row.update(source=_text(base.get("source")), url=_text(base.get("url")))
    else:
        row.update(
            type=_text(base.get("type")),
            target=_text(base.get("target")),
            data=_text(base.get("data")),
        )


def _exception_row(base: Mapping[str, Any], row: dict[str, Any]) -> None:
    chain = [e for e in base.get("exceptions") or [] if isinstance(e, Mapping)]
    if not chain:
        raise EnvelopeError("ExceptionData has no exceptions[]")
    outer, inner = chain[0], chain[-1]

    def frame(detail: Mapping[str, Any]) -> Mapping[str, Any]:
        stack = detail.get("parsedStack") or []
        return stack[0] if stack and isinstance(stack[0], Mapping) else {}

    type_ = _text(outer.get("typeName"))
    method = _text(frame(outer).get("method"))
    row.update(
        problemId=_text(base.get("problemId")) or (f"{type_} at {method}" if method else type_),
        handledAt="UserCode",
        type=type_,
        message=_text(outer.get("message")),
        assembly=_text(frame(outer).get("assembly")),
        method=method,
        outerType=type_,
        outerMessage=_text(outer.get("message")),
        outerAssembly=_text(frame(outer).get("assembly")),
        outerMethod=method,
        innermostType=_text(inner.get("typeName")),
        innermostMessage=_text(inner.get("message")),
        innermostAssembly=_text(frame(inner).get("assembly")),
        innermostMethod=_text(frame(inner).get("method")),
        severityLevel=severity_level(base.get("severityLevel")),
        details=[
            {
                "id": d.get("id"),
                "outerId": d.get("outerId"),
                "type": _text(d.get("typeName")),
                "message": _text(d.get("message")),
                "hasFullStack": bool(d.get("hasFullStack", False)),
                "rawStack": _text(d.get("stack")),
                "parsedStack": list(d.get("parsedStack") or []),
            }
            for d in chain
        ],
        customDimensions=_dynamic(base.get("properties")),
        customMeasurements=_dynamic(base.get("measurements")),
    )


def envelope_rows(envelope: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The ``(table, row)`` pairs one envelope becomes; ``[]`` for kinds with no table here.

    Availability, page views and performance counters other than metrics are not LLM telemetry
    and have no table in the contract: they are skipped, not errors.
    """
    if not isinstance(envelope, Mapping):
        raise EnvelopeError(f"envelope is {type(envelope).__name__}, expected an object")
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        raise EnvelopeError("data is missing or not an object")
    base_type = data.get("baseType")
    base = data.get("baseData")
    if not isinstance(base, Mapping):
        raise EnvelopeError(f"data.baseData of {base_type!r} is missing or not an object")
    table = BASE_TYPE_TABLE.get(str(base_type))
    if table is None:
        return []
    if table == "customMetrics":
        rows = []
        for point in base.get("metrics") or []:
            row = _context(envelope, table)
            row["itemCount"] = 1  # metrics are never sampled
            value = float(point.get("value") or 0.0)
            count = point.get("count")
            row.update(
                name=_text(point.get("name")),
                value=value,
                valueSum=value,
                valueCount=1 if count is None else int(count),
                valueMin=value if point.get("min") is None else float(point["min"]),
                valueMax=value if point.get("max") is None else float(point["max"]),
                valueStdDev=float(point.get("stdDev") or 0.0),
                customDimensions=_dynamic(base.get("properties")),
            )
            rows.append((table, row))
        return rows
    row = _context(envelope, table)
    if table in ("requests", "dependencies"):
        _span_row(base, row, request=table == "requests")
    elif table == "customEvents":
        row.update(
            name=_text(base.get("name")),
            customDimensions=_dynamic(base.get("properties")),
            customMeasurements=_dynamic(base.get("measurements")),
        )
    elif table == "traces":
        row.update(
            message=_text(base.get("message")),
            severityLevel=severity_level(base.get("severityLevel")),
            customDimensions=_dynamic(base.get("properties")),
            customMeasurements=_dynamic(base.get("measurements")),
        )
    else:
        _exception_row(base, row)
    return [(table, row)]


def rows_by_table(envelopes: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group the rows of many envelopes by table. Raises :class:`EnvelopeError` naming the index."""
    out: dict[str, list[dict[str, Any]]] = {}
    for index, envelope in enumerate(envelopes):
        try:
            pairs = envelope_rows(envelope)
        except EnvelopeError as exc:
            raise EnvelopeError(f"envelope {index}: {exc}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise EnvelopeError(f"envelope {index}: malformed ({exc})") from None
        for table, row in pairs:
            out.setdefault(table, []).append(row)
    return out
