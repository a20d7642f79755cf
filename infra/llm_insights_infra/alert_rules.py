"""Alert rules as ``Microsoft.Insights/scheduledQueryRules`` on the component, routed to groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import monitor

from llm_insights_kit.artifacts import AlertRuleSpec


@dataclass(frozen=True)
class AlertRulesArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    stack: str
    component_id: pulumi.Input[str]
    rules: Sequence[AlertRuleSpec]
    action_group_ids: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]


def _condition(c: Mapping[str, Any]) -> monitor.ConditionArgs:
    periods = c["failingPeriods"]
    return monitor.ConditionArgs(
        query=c["query"],
        time_aggregation=c["timeAggregation"],
        metric_measure_column=c.get("metricMeasureColumn"),
        operator=c["operator"],
        threshold=c["threshold"],
        dimensions=[
            monitor.DimensionArgs(name=d["name"], operator=d["operator"], values=d["values"])
            for d in c.get("dimensions", [])
        ],
        failing_periods=monitor.ConditionFailingPeriodsArgs(
            number_of_evaluation_periods=periods["numberOfEvaluationPeriods"],
            min_failing_periods_to_alert=periods["minFailingPeriodsToAlert"],
        ),
    )


class AlertRules(pulumi.ComponentResource):
    """``ids``: rule name → scheduled query rule id. A route without receivers gets no action."""

    ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: AlertRulesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-insights:infra:AlertRules", name, None, opts)
        names = [r.name for r in args.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate alert rule names: {sorted(names)}")
        self.ids = {}
        for spec in sorted(args.rules, key=lambda r: r.name):
            props = spec.arm_properties()
            group = args.action_group_ids.get(spec.route)
            rule = monitor.ScheduledQueryRule(
                f"{name}-{spec.name}",
                rule_name=f"{spec.name}-{args.stack}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind="LogAlert",
                scopes=[args.component_id],
                display_name=props["displayName"],
                description=props["description"],
                severity=props["severity"],
                enabled=props["enabled"],
                evaluation_frequency=props["evaluationFrequency"],
                window_size=props["windowSize"],
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                    all_of=[_condition(c) for c in props["criteria"]["allOf"]]
                ),
                auto_mitigate=props["autoMitigate"],
                mute_actions_duration=props.get("muteActionsDuration"),
                skip_query_validation=props["skipQueryValidation"],
                actions=monitor.ActionsArgs(action_groups=[group] if group is not None else []),
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.ids[spec.name] = rule.id
        self.register_outputs({"ids": self.ids})
