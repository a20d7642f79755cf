"""The one table of sample dimension values, and the per-metric dimension rule, for synthetic rows.

Both the dashboard tests (``tests/dashboards/telemetry.py``) and the local preview data
(``tests/local/synthetic.py``) build customMetrics rows from it, so a new contract dimension is
given a value in one place and both suites see the same shape of data.
"""

from __future__ import annotations

from collections.abc import Mapping

from llm_insights import contract

MODEL, DEPLOYMENT = "gpt-4o", "chat-main"
UNKNOWN_VALUE = "x"  # a dimension with no sample value below (e.g. the bucket label, set per row)

VALUES: dict[str, str] = {
    contract.GEN_AI_OPERATION_NAME: contract.OPERATION_CHAT,
    contract.GEN_AI_PROVIDER_NAME: contract.PROVIDER_AZURE_OPENAI,
    contract.GEN_AI_SYSTEM: contract.PROVIDER_AZURE_OPENAI,
    contract.GEN_AI_REQUEST_MODEL: MODEL,
    contract.GEN_AI_RESPONSE_MODEL: f"{MODEL}-2024-11-20",
    contract.SERVER_ADDRESS: "contoso.openai.azure.com",
    contract.ATTR_DEPLOYMENT: DEPLOYMENT,
    contract.ERROR_TYPE: "",
    contract.GEN_AI_TOKEN_TYPE: contract.TOKEN_TYPE_INPUT,
    contract.ATTR_RETRIEVAL_NAME: "docs",
    contract.GEN_AI_TOOL_NAME: "get_price",
    contract.ATTR_SDK_COMPONENT: "openai.wrapper",
    contract.ATTR_FILTER_CATEGORY: "violence",
    contract.ATTR_FILTER_SEVERITY: "medium",
    contract.ATTR_FILTER_SOURCE: contract.FILTER_SOURCE_COMPLETION,
    contract.ATTR_FILTER_FILTERED: "true",
    contract.GEN_AI_EVALUATION_NAME: "relevance",
}


def metric_dimensions(
    spec: contract.MetricSpec, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Exactly the metric's own dimensions, valued from *overrides* then ``VALUES``.

    Empty values are left out, as OTel leaves out an unset attribute (e.g. ``error.type`` of a
    successful call). Overrides for keys the metric does not carry are ignored.
    """
    overrides = overrides or {}
    out = {k: overrides.get(k, VALUES.get(k, UNKNOWN_VALUE)) for k in spec.dimensions}
    return {k: v for k, v in out.items() if v != ""}
