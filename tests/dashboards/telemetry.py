"""Synthetic customMetrics/spans/events rows shaped like the exporter's, for dashboard tests.

Every metric in the contract gets rows with exactly its own dimensions (bucket counters one row per
bound), so "every panel shows data" is checked against what the SDK can emit, nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from llm_insights import contract
from support.telemetry import DEPLOYMENT, MODEL, metric_dimensions


def dims(spec: contract.MetricSpec, **overrides: str) -> dict[str, str]:
    """The metric's own dimensions with sample values (empty values are left out, like OTel)."""
    unknown = set(overrides) - set(spec.dimensions)
    assert not unknown, f"{spec.name} has no dimension {unknown}"
    return metric_dimensions(spec, overrides)


def metric_row(
    spec: contract.MetricSpec, at: datetime, total: float, count: int = 1, **dimensions: str
) -> dict[str, Any]:
    return {
        "timestamp": at,
        "name": spec.name,
        "value": total,
        "valueSum": total,
        "valueCount": count,
        "valueMin": total / max(count, 1),
        "valueMax": total / max(count, 1),
        "customDimensions": dims(spec, **dimensions),
    }


def bucket_rows(
    spec: contract.MetricSpec, at: datetime, counts: Mapping[str, float], **dimensions: str
) -> list[dict[str, Any]]:
    """Rows of a bucket counter: ``counts`` maps a bucket label (``bucket_label``) to calls."""
    return [
        metric_row(spec, at, n, 1, **{contract.ATTR_BUCKET_LE: le, **dimensions})
        for le, n in counts.items()
    ]


def every_metric(at: datetime) -> list[dict[str, Any]]:
    """One plausible row for every contract metric (bucket counters: every bucket)."""
    rows: list[dict[str, Any]] = []
    for spec in contract.METRICS:
        if contract.ATTR_BUCKET_LE in spec.dimensions:
            labels = [contract.bucket_label(b) for b in spec.bounds] + [contract.INF_BOUND]
            # 6 per bucket: 66 responses per time, past the drift panel's minimum sample sizes
            rows += bucket_rows(spec, at, {le: 6.0 for le in labels})
        elif spec.instrument == "histogram":
            rows.append(metric_row(spec, at, 120.0, 60))
            if contract.GEN_AI_TOKEN_TYPE in spec.dimensions:
                extra = {contract.GEN_AI_TOKEN_TYPE: contract.TOKEN_TYPE_OUTPUT}
                rows.append(metric_row(spec, at, 300.0, 60, **extra))
            if contract.ERROR_TYPE in spec.dimensions:
                for error in ("429", contract.ERROR_TYPE_CONTENT_FILTER):
                    rows.append(metric_row(spec, at, 2.0, 1, **{contract.ERROR_TYPE: error}))
        else:
            rows.append(metric_row(spec, at, 2.0))
    return rows


def spans(at: datetime, n: int = 5) -> list[dict[str, Any]]:
    """Sampled LLM, retrieval, tool and agent spans (itemCount 4: each stands for four calls)."""
    rows = []
    for i in range(n):
        for op in (
            contract.OPERATION_CHAT,
            contract.OPERATION_RETRIEVAL,
            contract.OPERATION_EXECUTE_TOOL,
            contract.OPERATION_INVOKE_AGENT,
        ):
            rows.append(
                {
                    "timestamp": at + timedelta(seconds=i),
                    "name": f"{op} {MODEL}",
                    "duration": 100.0 * (i + 1),
                    "success": i != 0,
                    "itemCount": 4,
                    "operation_Id": f"op{i}",
                    "customDimensions": {
                        contract.GEN_AI_OPERATION_NAME: op,
                        contract.GEN_AI_REQUEST_MODEL: MODEL,
                        contract.ATTR_DEPLOYMENT: DEPLOYMENT,
                        contract.ATTR_RETRIEVAL_NAME: "docs",
                        contract.GEN_AI_TOOL_NAME: "get_price",
                        contract.ATTR_ERROR_TYPE: "500" if i == 0 else "",
                        contract.GEN_AI_AGENT_NAME: "triage",
                        contract.ATTR_AGENT_MODEL_CALLS: str(i + 1),
                        contract.ATTR_AGENT_TOOL_CALLS: str(i),
                        contract.ATTR_AGENT_TOKENS: str(100 * (i + 1)),
                        contract.ATTR_AGENT_COST: str(0.001 * (i + 1)),
                    },
                }
            )
    return rows


def events(at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": at,
            "name": contract.EVENT_EVALUATION_RESULT,
            "operation_Id": "op1",
            "customDimensions": {
                contract.GEN_AI_EVALUATION_NAME: "relevance",
                contract.GEN_AI_EVALUATION_SCORE_VALUE: 0.25,
                contract.GEN_AI_EVALUATION_SCORE_LABEL: "low",
            },
        }
    ]


# The exporter sets cloud_RoleName on every row (service.name; OpenTelemetry's default when unset).
SERVICE = "chat-api"


def populate(store: Any, times: Iterable[datetime], service: str = SERVICE) -> None:
    def of_service(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**row, "cloud_RoleName": service} for row in rows]

    for at in times:
        store.insert(contract.TABLE_METRICS, of_service(every_metric(at)))
        store.insert(contract.TABLE_LLM_SPANS, of_service(spans(at)))
        store.insert(contract.TABLE_EVENTS, of_service(events(at)))
        store.insert(
            contract.TABLE_SERVER_SPANS,
            of_service([{"timestamp": at, "name": "POST /chat", "itemCount": 2}]),
        )
