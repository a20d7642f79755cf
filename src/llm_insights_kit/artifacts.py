"""The seam between the renderers (dashboards/, alerts/) and their consumers (infra/, local/).

Renderers produce these plain values; the Pulumi program turns them into Azure resources and the
local tools run them against the local store. Neither side imports the other's internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The notification routes: an alert rule's ``route``; a stack maps each to receivers.
ROUTES = ("critical", "warning", "info")


@dataclass(frozen=True)
class RenderContext:
    """Per-stack inputs to rendering, taken from the validated stack config.

    ``alert_overrides`` is the stack config key ``llm-insights:alerts``: rule name →
    {threshold, severity, enabled, windowSize, evaluationFrequency}. ``daily_budget_usd`` drives
    the cost-burn panel. ``config_file`` names the file overrides came from (for error messages).
    """

    stack: str = "dev"
    environment: str = "dev"
    daily_budget_usd: float | None = None
    alert_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    config_file: str = "Pulumi.dev.yaml"
    # The services (cloud_RoleName values) the stack declares, or None: per-service alert
    # overrides naming another service are errors only when the stack declares its services.
    services: frozenset[str] | None = None
    # Daily LLM budget (USD) per service that has one (``containerApps.<app>.dailyBudgetUsd``);
    # ``daily_budget_usd`` is the stack's total.
    service_budgets: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkbookArtifact:
    """One rendered Azure Monitor workbook.

    ``key`` is stable across renders (template stem, e.g. ``llm-overview``) and, with the stack
    name, seeds the workbook's GUID resource name so ``pulumi up`` updates instead of duplicating.
    ``serialized_data`` is the ``Notebook/1.0`` JSON string, with sorted keys.
    """

    key: str
    display_name: str
    description: str
    serialized_data: str


@dataclass(frozen=True)
class FailingPeriods:
    number_of_evaluation_periods: int = 1
    min_failing_periods_to_alert: int = 1


@dataclass(frozen=True)
class Dimension:
    name: str
    operator: str = "Include"  # Include | Exclude
    values: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class VolumeGuard:
    """A rule's minimum volume: its query keeps only series with ``column >= minimum``
    (``| where runs >= {{ p.min_runs }}``). ``query`` is the rule's query up to that line, so
    the kit can say how far below the minimum a series left out is ("8 of 10 runs")."""

    column: str
    minimum: float
    noun: str  # what the column counts, from the parameter's name: min_runs -> runs
    query: str


@dataclass(frozen=True)
class AlertRuleSpec:
    """One validated scheduled-query alert rule, stack overrides applied, KQL rendered.

    ``route`` names the notification route (``critical`` / ``warning`` / ``info``); infra maps it
    to action groups. ``source_file`` is the YAML it came from (for error messages).
    """

    name: str
    display_name: str
    description: str
    severity: int
    enabled: bool
    evaluation_frequency: str  # ISO 8601 duration, e.g. PT5M
    window_size: str
    query: str
    time_aggregation: str  # Count | Average | Minimum | Maximum | Total
    metric_measure_column: str | None
    operator: str  # Equals | GreaterThan | GreaterThanOrEqual | LessThan | LessThanOrEqual
    threshold: float
    route: str
    source_file: str
    failing_periods: FailingPeriods = FailingPeriods()
    dimensions: tuple[Dimension, ...] = ()
    auto_mitigate: bool = True
    mute_actions_duration: str | None = None
    volume_guard: VolumeGuard | None = None  # kit-side only: never part of what deploys

    def arm_properties(self) -> dict[str, Any]:
        """ARM ``properties`` without ``scopes``/``actions`` (infra adds them, kind=LogAlert)."""
        condition: dict[str, Any] = {
            "query": self.query,
            "timeAggregation": self.time_aggregation,
            "operator": self.operator,
            "threshold": self.threshold,
            "failingPeriods": {
                "numberOfEvaluationPeriods": self.failing_periods.number_of_evaluation_periods,
                "minFailingPeriodsToAlert": self.failing_periods.min_failing_periods_to_alert,
            },
            "dimensions": [
                {"name": d.name, "operator": d.operator, "values": list(d.values)}
                for d in self.dimensions
            ],
        }
        if self.metric_measure_column:
            condition["metricMeasureColumn"] = self.metric_measure_column
        props: dict[str, Any] = {
            "displayName": self.display_name,
            "description": self.description,
            "severity": self.severity,
            "enabled": self.enabled,
            "evaluationFrequency": self.evaluation_frequency,
            "windowSize": self.window_size,
            "criteria": {"allOf": [condition]},
            "autoMitigate": self.auto_mitigate,
            "skipQueryValidation": False,
        }
        if self.mute_actions_duration:
            props["muteActionsDuration"] = self.mute_actions_duration
        return props
