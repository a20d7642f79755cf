"""Azure Monitor Logs as a check backend, and the alert rules' fired/resolved history.

Queries go to the Application Insights component through ``azure-monitor-query``
(``LogsQueryClient.query_resource``: ``POST https://api.loganalytics.io/v1{resource id}/query``,
body ``{"query", "timespan": "<start>/<end>"}``) with ``DefaultAzureCredential``; the caller needs
Log Analytics Reader (or Monitoring Reader) on the component. Limits of the query API, from
Microsoft's "Azure Monitor service limits" (azure-monitor/fundamentals/service-limits): at most
500,000 rows and ~64 MB of data per result (beyond them Azure answers a *partial* result, which
here is an error: a truncated count is not a count), a 3-minute default server timeout
(``server_timeout``, up to 10 minutes), and 200 requests per 30 seconds per user — the backend
paces itself under that and azure-core's retry policy honours a 429's ``Retry-After``.

``now``: an alert rule is evaluated at a time *t* in the past, but the query API runs ``now()``
at the moment of the request and has no documented way to set it. The backend therefore pins
``now()``/``ago()`` in the query text to *t* (``now()`` → ``datetime(t)``, ``ago(x)`` →
``(datetime(t) - (x))``), outside string literals and comments; everything else is sent as
rendered.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import KitError
from ..kql.names import tokens
from ..local.kql import query_label
from ..local.store import DUCKDB_TYPES, QueryResult

#: Limits of the Log Analytics query API (Azure Monitor service limits, "Log queries and language").
MAX_ROWS = 500_000
DEFAULT_SERVER_TIMEOUT_S = 180
MAX_SERVER_TIMEOUT_S = 600
RATE_LIMIT_REQUESTS = 200
RATE_LIMIT_WINDOW_S = 30.0
#: Kusto result column types, named as the local store names them (the evaluator reads them).
RESULT_TYPES: dict[str, str] = {
    **DUCKDB_TYPES,
    "timespan": "INTERVAL",
    "guid": "VARCHAR",
    "decimal": "DECIMAL",
}
ROLE_HINT = (
    "the signed-in identity (DefaultAzureCredential: az login, managed identity or "
    "AZURE_* variables) needs Log Analytics Reader or Monitoring Reader on the component"
)


def kusto_datetime(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return "datetime(" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + ")"


def pin_now(kql: str, at: datetime) -> str:
    """*kql* with ``now()``, ``now(offset)`` and ``ago(span)`` fixed to *at*."""
    toks = tokens(kql)
    pinned = kusto_datetime(at)
    out: list[str] = []
    last = 0
    i = 0
    while i < len(toks):
        tok = toks[i]
        is_call = (
            tok.kind == "ident"
            and tok.text in ("now", "ago")
            and i + 1 < len(toks)
            and toks[i + 1].text == "("
            and not (i > 0 and toks[i - 1].text == ".")
        )
        if not is_call:
            i += 1
            continue
        depth, j = 0, i + 1
        while j < len(toks):
            depth += {"(": 1, ")": -1}.get(toks[j].text, 0)
            if depth == 0:
                break
            j += 1
        if j >= len(toks):
            raise KitError(query_label(kql), f"unbalanced parentheses after {tok.text}(")
        inner = kql[toks[i + 1].offset + 1 : toks[j].offset].strip()
        out.append(kql[last : tok.offset])
        if tok.text == "now":
            out.append(f"({pinned} + ({inner}))" if inner else pinned)
        else:
            out.append(f"({pinned} - ({inner}))")
        last = toks[j].offset + 1
        i = j + 1
    out.append(kql[last:])
    return "".join(out)


class RateLimiter:
    """At most ``limit`` calls in any ``window`` seconds (sleeps the caller until one is free)."""

    def __init__(
        self,
        limit: int = RATE_LIMIT_REQUESTS,
        window: float = RATE_LIMIT_WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self.waited = 0.0

    def acquire(self) -> None:
        now = self._clock()
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            pause = self.window - (now - self._sent[0])
            if pause > 0:
                self.waited += pause
                self._sleep(pause)
            self._sent.popleft()
            now = self._clock()
        self._sent.append(now)


def _error_text(error: Any) -> str:
    """Azure's own words for a failed or partial query: code and the innermost message."""
    code = getattr(error, "code", "") or ""
    message = getattr(error, "message", "") or ""
    details = getattr(error, "details", None) or []
    inner: list[str] = []
    for detail in details:  # JSON objects, as mappings (not always dicts)
        node = detail if isinstance(detail, Mapping) else {}
        while isinstance(node.get("innererror"), Mapping):
            node = node["innererror"]
        text = node.get("message") or ""
        if text and text != message:
            inner.append(str(text))
    return "; ".join(x for x in [f"{code}: {message}" if code else message, *inner] if x)


class AzureLogsBackend:
    """Queries on one Application Insights component (or any resource) through the query API."""

    def __init__(
        self,
        resource_id: str,
        client: Any = None,
        *,
        server_timeout: int = DEFAULT_SERVER_TIMEOUT_S,
        limiter: RateLimiter | None = None,
    ) -> None:
        if not 1 <= server_timeout <= MAX_SERVER_TIMEOUT_S:
            raise KitError(
                "--timeout", f"{server_timeout} s: the query API allows 1..{MAX_SERVER_TIMEOUT_S}"
            )
        if client is None:
            client = logs_client()
        self.resource_id = resource_id
        self.label = f"Azure Monitor Logs on {resource_id}"
        self.client = client
        self.server_timeout = server_timeout
        self.limiter = limiter or RateLimiter()
        self.requests = 0

    def query(
        self,
        kql: str,
        *,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        name: str | None = None,
    ) -> QueryResult:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
        from azure.monitor.query import LogsQueryPartialResult

        label = query_label(kql, name)
        text = pin_now(kql, now) if now is not None else kql
        self.limiter.acquire()
        self.requests += 1
        try:
            result = self.client.query_resource(
                self.resource_id,
                text,
                timespan=time_range,
                server_timeout=self.server_timeout,
            )
        except ClientAuthenticationError as exc:
            raise KitError(
                label, f"Azure refused the credentials: {exc.message}; {ROLE_HINT}"
            ) from None
        except HttpResponseError as exc:
            detail = _error_text(exc.model) if exc.model is not None else exc.message
            status = exc.status_code
            hint = f"; {ROLE_HINT}" if status in (401, 403) else ""
            raise KitError(label, f"Azure answered HTTP {status}: {detail}{hint}") from None
        if isinstance(result, LogsQueryPartialResult):
            rows = sum(len(t.rows) for t in result.partial_data)
            raise KitError(
                label,
                f"Azure returned a partial result ({rows} rows): "
                f"{_error_text(result.partial_error)} (limits: {MAX_ROWS:,} rows, ~64 MB, "
                f"{self.server_timeout} s)",
            )
        tables = list(result.tables)
        if not tables:
            return QueryResult([], [], [], text)
        return _result(tables[0], text)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


def _result(table: Any, text: str) -> QueryResult:
    kinds = list(table.columns_types)
    rows = [
        tuple(_value(kind, v) for kind, v in zip(kinds, row, strict=True)) for row in table.rows
    ]
    types = [RESULT_TYPES.get(kind, kind.upper()) for kind in kinds]
    return QueryResult(list(table.columns), rows, types, text)


_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _value(kind: str, value: Any) -> Any:
    """Values as the local store gives them: aware UTC datetimes, dynamic values parsed,
    timespans as ``timedelta`` (Kusto writes ``[-][d.]hh:mm:ss[.fffffff]``)."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if kind == "dynamic" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if kind == "timespan" and isinstance(value, str):
        match = _TIMESPAN.match(value)
        if match:
            sign, days, hours, minutes, seconds = match.groups()
            delta = timedelta(
                days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds)
            )
            return -delta if sign else delta
    if kind == "real" and isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    return value


def logs_client(credential: Any = None, **kwargs: Any) -> Any:
    """``LogsQueryClient`` with ``DefaultAzureCredential`` (a clear error when not installed)."""
    try:
        from azure.identity import DefaultAzureCredential
        from azure.monitor.query import LogsQueryClient
    except ImportError as exc:
        raise KitError(
            "azure-monitor-query", f"not installed ({exc}); run `make setup` (requirements.lock)"
        ) from None
    return LogsQueryClient(credential or DefaultAzureCredential(), **kwargs)


# -- what Azure itself fired ----------------------------------------------------------------------
#: Alerts management keeps alerts for 30 days ("Permissible values is within 30 days from query
#: time", alerts get_all customTimeRange in the Microsoft.AlertsManagement REST spec).
HISTORY_LIMIT = timedelta(days=30)


@dataclass(frozen=True)
class FiredAlert:
    """One alert instance Azure created for a rule."""

    rule_id: str
    started: datetime
    condition: str  # Fired | Resolved
    resolved: datetime | None


def subscription_of(resource_id: str) -> str:
    parts = [p for p in resource_id.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "subscriptions":
            return parts[i + 1]
    raise KitError(
        "appInsightsId", f"{resource_id!r} is not an Azure resource id (no subscription)"
    )


def alert_history(
    target_resource: str,
    rule_ids: Iterable[str],
    time_range: tuple[datetime, datetime],
    client: Any = None,
) -> tuple[dict[str, list[FiredAlert]], str]:
    """Alerts Azure fired on *target_resource* in the range, by rule id (lower case), and a note
    when the range had to be cut to the 30 days alerts are kept."""
    start, end = time_range
    note = ""
    if end - start > HISTORY_LIMIT:
        start = end - HISTORY_LIMIT
        note = "Azure keeps alerts 30 days: history covers the last 30 days of the window"
    if client is None:
        client = alerts_client(subscription_of(target_resource))
    wanted = {r.lower() for r in rule_ids}
    found: dict[str, list[FiredAlert]] = {r: [] for r in wanted}
    span = f"{_iso(start)}/{_iso(end)}"
    for alert in client.alerts.get_all(target_resource=target_resource, custom_time_range=span):
        essentials = alert.properties.essentials
        rule = (essentials.alert_rule or "").lower()
        if rule not in wanted:
            continue
        found[rule].append(
            FiredAlert(
                rule,
                _aware(essentials.start_date_time),
                str(essentials.monitor_condition or ""),
                _aware(essentials.monitor_condition_resolved_date_time),
            )
        )
    return found, note


def alerts_client(subscription: str) -> Any:
    """``AlertsManagementClient`` with ``DefaultAzureCredential`` (a clear error when not
    installed)."""
    try:
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.alertsmanagement import AlertsManagementClient
    except ImportError as exc:
        raise KitError(
            "azure-mgmt-alertsmanagement",
            f"not installed ({exc}); run `make setup` (requirements.lock)",
        ) from None
    return AlertsManagementClient(DefaultAzureCredential(), subscription)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(moment: datetime | None) -> Any:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__: Sequence[str] = (
    "AzureLogsBackend",
    "FiredAlert",
    "RateLimiter",
    "alert_history",
    "alerts_client",
    "logs_client",
    "pin_now",
    "subscription_of",
)
