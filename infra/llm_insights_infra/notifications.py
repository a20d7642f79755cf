"""Action groups per severity route: email, PagerDuty webhook, Slack via the kit's Logic App."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import logic, monitor

from llm_insights_kit.artifacts import ROUTES

from .config import NotificationsConfig
from .slack_workflow import TRIGGER_NAME, WEBHOOK_PARAMETER, workflow_definition

SHORT_NAME_MAX = 12


@dataclass(frozen=True)
class NotificationsArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    project: str
    stack: str
    environment: str
    notifications: NotificationsConfig
    tags: Mapping[str, str]


def short_name(route: str, environment: str) -> str:
    """Action group short name (≤ 12 chars, shown in SMS/email): e.g. ``crit-prod``."""
    return f"{route[:4]}-{environment}"[:SHORT_NAME_MAX]


class Notifications(pulumi.ComponentResource):
    """``action_group_ids``: route → action group id, for routes that have receivers."""

    action_group_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-insights:infra:Notifications", name, None, opts)
        cfg = args.notifications
        used = cfg.receivers_used()

        slack_receivers: list[monitor.LogicAppReceiverArgs] = []
        if "slack" in used and cfg.slack_webhook_url is not None:
            workflow = logic.Workflow(
                f"{name}-slack",
                resource_group_name=args.resource_group_name,
                location=args.location,
                state="Enabled",
                definition=workflow_definition(),
                parameters={
                    WEBHOOK_PARAMETER: logic.WorkflowParameterArgs(
                        type="SecureString", value=cfg.slack_webhook_url
                    )
                },
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            callback = logic.list_workflow_trigger_callback_url_output(
                resource_group_name=args.resource_group_name,
                workflow_name=workflow.name,
                trigger_name=TRIGGER_NAME,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            slack_receivers = [
                monitor.LogicAppReceiverArgs(
                    name="slack",
                    resource_id=workflow.id,
                    callback_url=pulumi.Output.secret(callback.value),
                    use_common_alert_schema=True,
                )
            ]

        self.action_group_ids = {}
        for route in ROUTES:
            receivers = cfg.routes.get(route, ())
            if not receivers:
                continue
            group = monitor.ActionGroup(
                f"{name}-{route}",
                action_group_name=f"ag-{args.project}-{args.stack}-{route}",
                resource_group_name=args.resource_group_name,
                location="Global",
                group_short_name=short_name(route, args.environment),
                enabled=True,
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(
                        name=f"email-{i}", email_address=address, use_common_alert_schema=True
                    )
                    for i, address in enumerate(cfg.emails)
                ]
                if "email" in receivers
                else [],
                webhook_receivers=[
                    monitor.WebhookReceiverArgs(
                        name="pagerduty",
                        service_uri=cfg.pagerduty_url,
                        use_common_alert_schema=True,
                    )
                ]
                if "pagerduty" in receivers and cfg.pagerduty_url is not None
                else [],
                logic_app_receivers=slack_receivers if "slack" in receivers else [],
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.action_group_ids[route] = group.id
        self.register_outputs({"actionGroupIds": self.action_group_ids})
