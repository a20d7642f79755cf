"""Allowed values of ``Microsoft.Insights/scheduledQueryRules`` (API 2023-12-01).

Kept in one place so the validator, the override checks and the docs agree. Sources: the REST
spec (Azure/azure-rest-api-specs ``specification/monitor/.../stable/2023-12-01/
scheduledQueryRule_API.json``) and the Terraform azurerm validators
(hashicorp/terraform-provider-azurerm ``monitor_scheduled_query_rules_alert_v2``); each
constraint with its source: ``docs/alerts.md``.
"""

from __future__ import annotations

import re
from datetime import timedelta

SEVERITIES = (0, 1, 2, 3, 4)  # 0 = critical … 4 = verbose
EVALUATION_FREQUENCIES = (
    "PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M",
    "PT1H", "PT2H", "PT3H", "PT4H", "PT5H", "PT6H", "P1D",
)  # fmt: skip
WINDOW_SIZES = (
    "PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M",
    "PT1H", "PT2H", "PT3H", "PT4H", "PT5H", "PT6H", "P1D", "P2D",
)  # fmt: skip
MUTE_ACTIONS_DURATIONS = (
    "PT5M", "PT10M", "PT15M", "PT30M", "PT45M",
    "PT1H", "PT2H", "PT3H", "PT4H", "PT5H", "PT6H", "P1D", "P2D",
)  # fmt: skip
TIME_AGGREGATIONS = ("Count", "Average", "Minimum", "Maximum", "Total")
OPERATORS = ("Equals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")
DIMENSION_OPERATORS = ("Include", "Exclude")
MAX_DIMENSIONS = 6
MAX_EVALUATION_PERIODS = 6
MAX_LOOKBACK = timedelta(days=2)
MAX_PROPERTIES_BYTES = 64 * 1024
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")

# The stack-config overrides allowed per rule (``llm-insights:alerts.<rule>.<field>``).
OVERRIDE_FIELDS = (
    "threshold", "severity", "enabled", "windowSize", "evaluationFrequency", "services",
)  # fmt: skip
# Per service (``llm-insights:alerts.<rule>.services.<service>``): what a service may set apart.
SERVICE_OVERRIDE_FIELDS = ("threshold", "severity", "enabled")
# The column every rule splits by: the service (Application Insights' cloud_RoleName).
SERVICE_DIMENSION = "cloud_RoleName"
# A cloud_RoleName as the exporter writes it: [service.namespace.]service.name.
SERVICE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
