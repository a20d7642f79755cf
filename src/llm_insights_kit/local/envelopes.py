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

Every value is checked against its column before anything is written, so one bad envelope is
one per-item error, never a failed batch:

- Strings are made valid Unicode the way the store behind Application Insights does: "Invalid
  (non-UTF8) characters are replaced with U+FFFD Unicode replacement characters at ingestion
  time" (Kusto ``string`` data type, learn.microsoft.com/kusto/query/scalar-data-types/string).
  A JSON ``\\uD83D`` escape with no partner (an emoji split by a client) is such a character.
- ``datetime`` is 0001-01-01 … 9999-12-31 (Kusto ``datetime`` data type); ``int`` columns
  (``itemCount``, ``valueCount``, ``severityLevel``) are 32-bit, ``long`` 64-bit, ``real``
  finite doubles (JSON has no NaN or Infinity; Kusto ``int``/``long``/``real`` data types).
- ``success`` is a JSON boolean or ``"true"``/``"false"``; ``severityLevel`` 0-4 (the
  exporter's ``SeverityLevel`` enum); durations and counts are never negative; ``sampleRate``
  is in (0, 100] and its ``itemCount`` must fit the column.
- A ``baseType`` with no table here (availability, page views, or a name Application Insights
  does not know) is a per-item error, so it is never counted as accepted.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from llm_insights import contract

from ..times import parse_iso_time

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
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Kusto ``int`` (32-bit), ``long`` (64-bit) and ``timespan`` (±10,675,199 days) ranges.
INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
MAX_DURATION_MS = 10_675_199 * 86_400_000.0
#: Nesting a dynamic value may have here (JSON parsers, Python's included, stop near 1,000).
MAX_DYNAMIC_DEPTH = 64
#: Base types Application Insights stores in tables this store does not have.
_NO_LOCAL_TABLE = ("AvailabilityData", "PageViewData", "PageViewPerformanceData")


class EnvelopeError(ValueError):
    """An envelope that cannot become a row; the message names the field."""


class OutOfRange:
    """A JSON number no column can hold (``Infinity``, ``NaN``, ``1e400``, a 30-digit integer).

    The body decoder returns it in the number's place, so the envelope holding it is refused
    with a per-item error naming the field instead of failing the whole body.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text if len(text) <= 24 else text[:20] + "…"

    def __repr__(self) -> str:
        return self.text


def clean_text(value: str) -> str:
    """*value* with every unpaired surrogate replaced by U+FFFD (valid UTF-8 from then on)."""
    if value.isascii():
        return value
    return _SURROGATE.sub("\ufffd", value)


def clean_dynamic(value: Any, where: str, depth: int = 0) -> Any:
    """A dynamic value with keys and strings made valid and every number checked."""
    if depth > MAX_DYNAMIC_DEPTH:
        raise EnvelopeError(f"{where} is nested deeper than {MAX_DYNAMIC_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _in_range(value, LONG_RANGE, where, "long")
    if isinstance(value, float):
        return finite(value, where)
    if isinstance(value, OutOfRange):
        raise EnvelopeError(f"{where} is {value!r}, not a finite number")
    if isinstance(value, Mapping):
        return {
            clean_text(str(k)): clean_dynamic(v, f"{where}.{k}", depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_dynamic(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise EnvelopeError(f"{where} is {type(value).__name__}, not a JSON value")


def _in_range(value: int, bounds: tuple[int, int], where: str, kind: str) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise EnvelopeError(f"{where} {value} is outside the Kusto {kind} range {bounds}")
    return value


def finite(value: Any, where: str) -> float:
    """*value* as a finite float, or an EnvelopeError naming *where*."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EnvelopeError(f"{where} is {value!r}, not a number")
    number = float(value) if abs(value) < 1e308 else math.inf
    if not math.isfinite(number):
        raise EnvelopeError(f"{where} is {value!r}, not a finite number")
    return number


def whole(value: Any, where: str, bounds: tuple[int, int] = INT_RANGE) -> int:
    """*value* as a non-negative integer within *bounds* (counts), or an EnvelopeError."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EnvelopeError(f"{where} is {value!r}, not a whole number")
    if value < 0:
        raise EnvelopeError(f"{where} is {value}; a count is never negative")
    return _in_range(value, bounds, where, "int")


def parse_bool(value: Any, where: str) -> bool:
    """JSON ``true``/``false`` or the strings ``"true"``/``"false"`` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise EnvelopeError(f"{where} is {value!r}; expected true or false")


def parse_duration_ms(value: Any) -> float:
    """``d.hh:mm:ss.ffffff`` (or ``hh:mm:ss``) → milliseconds. Numbers are taken as ms.

    Never negative and within Kusto's ``timespan`` range."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, int | float | OutOfRange) and not isinstance(value, bool):
        ms = finite(value, "duration")
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            raise EnvelopeError(f"duration {value!r} is not d.hh:mm:ss.ffffff")
        days = int(match["d"]) if match["d"] and len(match["d"]) <= 9 else 0
        if match["d"] and len(match["d"]) > 9:
            raise EnvelopeError(f"duration {value!r} is beyond the Kusto timespan range")
        seconds = days * 86_400 + int(match["h"]) * 3_600 + int(match["m"]) * 60 + float(match["s"])
        ms = round(seconds * 1_000, 6)
    if ms < 0:
        raise EnvelopeError(f"duration {value!r} is negative")
    if ms > MAX_DURATION_MS:
        raise EnvelopeError(f"duration {value!r} is beyond the Kusto timespan range")
    return ms


def parse_time(value: Any) -> datetime:
    """Envelope ``time`` (ISO 8601, usually ``…Z``) → naive UTC datetime (the store is UTC)."""
    if isinstance(value, datetime):
        moment: datetime | None = value
    else:
        text = str(value or "").strip()
        if not text:
            raise EnvelopeError("time is missing")
        moment = parse_iso_time(text)
        if moment is None:
            raise EnvelopeError(f"time {value!r} is not an ISO 8601 timestamp")
    assert moment is not None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise EnvelopeError(
                f"time {value!r} is outside the Kusto datetime range 0001-01-01 to 9999-12-31"
            ) from None
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
    rate = finite(sample_rate, "sampleRate")
    if not 0 < rate <= 100:
        raise EnvelopeError(f"sampleRate {sample_rate!r} must be in (0, 100]")
    count = max(1, round(100.0 / rate))
    if count > INT_RANGE[1]:
        raise EnvelopeError(
            f"sampleRate {sample_rate!r} gives itemCount {count}, beyond the int column"
        )
    return count


def severity_level(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key in SEVERITY_LEVELS:
            return SEVERITY_LEVELS[key]
        value = int(key) if key.isascii() and key.isdigit() and len(key) < 3 else value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4:
        return value
    raise EnvelopeError(
        f"severityLevel {value!r} is not one of {', '.join(SEVERITY_LEVELS)} or 0-4"
    )


def _dynamic(value: Any, where: str = "properties") -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return clean_dynamic(value, where)


def _text(value: Any, where: str = "a string field") -> str:
    if value is None:
        return ""
    if isinstance(value, OutOfRange):
        raise EnvelopeError(f"{where} is the number {value!r}, which no column can hold")
    return clean_text(value if isinstance(value, str) else str(value))


def _context(envelope: Mapping[str, Any], table: str) -> dict[str, Any]:
    tags = envelope.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise EnvelopeError("tags is not an object")
    row: dict[str, Any] = {
        column: _text(tags.get(tag), f"tags.{tag}") for tag, column in _TAG_COLUMNS.items()
    }
    if not row["client_IP"]:
        row["client_IP"] = "0.0.0.0"
    row["iKey"] = _text(envelope.get("iKey"), "iKey")
    row["appName"] = LOCAL_APP_NAME
    row["itemType"] = ITEM_TYPES[table]
    row["itemId"] = str(uuid.uuid4())
    row["itemCount"] = item_count(envelope.get("sampleRate"))
    row["timestamp"] = parse_time(envelope.get("time"))
    return row


def _span_row(base: Mapping[str, Any], row: dict[str, Any], request: bool) -> None:
    duration = parse_duration_ms(base.get("duration"))
    success = base.get("success")
    code = "responseCode" if request else "resultCode"
    row.update(
        id=_text(base.get("id"), "id"),
        name=_text(base.get("name"), "name"),
        success=True if success is None else parse_bool(success, "success"),
        resultCode=_text(base.get(code), code),
        duration=duration,
        performanceBucket=performance_bucket(duration),
        customDimensions=_dynamic(base.get("properties")),
        customMeasurements=_measurements(base.get("measurements")),
    )
    fields = ("source", "url") if request else ("type", "target", "data")
    row.update({name: _text(base.get(name), name) for name in fields})


def _measurements(value: Any) -> dict[str, Any]:
    """``measurements``: name → finite double (the exporter's ``Dict[str, float]``)."""
    if not isinstance(value, Mapping):
        return {}
    return {clean_text(str(k)): finite(v, f"measurements.{k}") for k, v in value.items()}


def _exception_row(base: Mapping[str, Any], row: dict[str, Any]) -> None:
    chain = [e for e in base.get("exceptions") or [] if isinstance(e, Mapping)]
    if not chain:
        raise EnvelopeError("ExceptionData has no exceptions[]")

    def frame(detail: Mapping[str, Any]) -> Mapping[str, Any]:
        stack = detail.get("parsedStack") or []
        return stack[0] if stack and isinstance(stack[0], Mapping) else {}

    chain = [clean_dynamic(e, f"exceptions[{i}]") for i, e in enumerate(chain)]
    outer, inner = chain[0], chain[-1]
    type_ = _text(outer.get("typeName"))
    method = _text(frame(outer).get("method"))
    row.update(
        problemId=_text(base.get("problemId"), "problemId")
        or (f"{type_} at {method}" if method else type_),
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
        customMeasurements=_measurements(base.get("measurements")),
    )


def envelope_rows(envelope: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The ``(table, row)`` pairs one envelope becomes, every value checked for its column.

    Raises :class:`EnvelopeError` naming the field for anything the tables cannot hold, including
    base types with no table here (availability and page views are not LLM telemetry and have
    no table in the contract; an unknown name is not telemetry at all).
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
        if base_type in _NO_LOCAL_TABLE:
            raise EnvelopeError(f"baseType {base_type} has no table in the local store")
        raise EnvelopeError(f"baseType {base_type!r} is not one of {', '.join(BASE_TYPE_TABLE)}")
    if table == "customMetrics":
        return _metric_rows(envelope, base)
    row = _context(envelope, table)
    if table in ("requests", "dependencies"):
        _span_row(base, row, request=table == "requests")
    elif table == "customEvents":
        row.update(
            name=_text(base.get("name"), "name"),
            customDimensions=_dynamic(base.get("properties")),
            customMeasurements=_measurements(base.get("measurements")),
        )
    elif table == "traces":
        row.update(
            message=_text(base.get("message"), "message"),
            severityLevel=severity_level(base.get("severityLevel")),
            customDimensions=_dynamic(base.get("properties")),
            customMeasurements=_measurements(base.get("measurements")),
        )
    else:
        _exception_row(base, row)
    return [(table, row)]


def _metric_rows(
    envelope: Mapping[str, Any], base: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    table = contract.TABLE_METRICS
    points = base.get("metrics") or []
    if not isinstance(points, list):
        raise EnvelopeError("metrics is not an array")
    rows = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise EnvelopeError(f"metrics[{i}] is not an object")
        row = _context(envelope, table)
        row["itemCount"] = 1  # metrics are never sampled
        value = finite(point.get("value") or 0.0, f"metrics[{i}].value")
        count = point.get("count")

        def bound(key: str, point: Mapping[str, Any] = point, i: int = i, v: float = value):
            given = point.get(key)
            return v if given is None else finite(given, f"metrics[{i}].{key}")

        row.update(
            name=_text(point.get("name"), f"metrics[{i}].name"),
            value=value,
            valueSum=value,
            valueCount=1 if count is None else whole(count, f"metrics[{i}].count"),
            valueMin=bound("min"),
            valueMax=bound("max"),
            valueStdDev=finite(point.get("stdDev") or 0.0, f"metrics[{i}].stdDev"),
            customDimensions=_dynamic(base.get("properties")),
        )
        rows.append((table, row))
    return rows


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
