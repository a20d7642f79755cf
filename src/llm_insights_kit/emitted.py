"""What the SDK emits, as the catalogs the kit's checks read.

Every metric by name, every event name and every attribute key, built from the names the SDK's
contract (``llm_insights.contract``) defines. The SDK needs none of these catalogs; the query
checks (``kql.names``), the alert-test fixtures and ``llm-insights check`` do: a dashboard or rule
may read only names that are here.
"""

from __future__ import annotations

from llm_insights import contract as _c

METRICS_BY_NAME: dict[str, _c.MetricSpec] = {m.name: m for m in _c.METRICS}

EVENTS: tuple[str, ...] = (
    _c.EVENT_EVALUATION_RESULT,
    _c.EVENT_CONTENT_FILTER,
    _c.EVENT_FIRST_CHUNK,
)

# The contract names attribute keys GEN_AI_*, ATTR_*, MS_COST_* plus a few semconv keys whose
# names carry no prefix.
_UNPREFIXED_KEYS = {"SERVER_ADDRESS", "SERVER_PORT", "ERROR_TYPE", "ENDUSER_ID", "SESSION_ID"}

ATTRIBUTES: tuple[str, ...] = tuple(
    sorted(
        {
            value
            for name, value in vars(_c).items()
            if isinstance(value, str)
            and (name.startswith(("GEN_AI_", "ATTR_", "MS_COST_")) or name in _UNPREFIXED_KEYS)
        }
    )
)
