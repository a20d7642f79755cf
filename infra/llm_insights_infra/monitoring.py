"""Log Analytics workspace + workspace-based Application Insights component."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights

from llm_insights_kit.stack_config.schema import AppInsightsConfig, WorkspaceConfig

WORKSPACE_SKU = "PerGB2018"
# Component outputs that carry ingestion credentials: always stored as secrets in state.
COMPONENT_SECRET_OUTPUTS = ["connectionString", "instrumentationKey"]


@dataclass(frozen=True)
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    workspace: WorkspaceConfig
    app_insights: AppInsightsConfig
    tags: Mapping[str, str]
    protect: bool
    component_name: str


class Monitoring(pulumi.ComponentResource):
    """Where telemetry lands; both resources are stateful and protected outside dev."""

    workspace_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_customer_id: pulumi.Output[str]
    component_id: pulumi.Output[str]
    connection_string: pulumi.Output[str]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-insights:infra:Monitoring", name, None, opts)
        workspace = operationalinsights.Workspace(
            f"{name}-workspace",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=WORKSPACE_SKU),
            retention_in_days=args.workspace.retention_in_days,
            workspace_capping=operationalinsights.WorkspaceCappingArgs(
                daily_quota_gb=args.workspace.daily_quota_gb
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        component = applicationinsights.Component(
            f"{name}-component",
            resource_name_=args.component_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            flow_type="Bluefield",
            request_source="rest",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=workspace.id,
            sampling_percentage=args.app_insights.sampling_percentage,
            disable_local_auth=args.app_insights.disable_local_auth,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                additional_secret_outputs=COMPONENT_SECRET_OUTPUTS,
            ),
        )
        self.workspace_id = workspace.id
        self.workspace_name = workspace.name
        self.workspace_customer_id = workspace.customer_id
        self.component_id = component.id
        self.component_name = component.name
        # Belt and braces: secret even if a provider version forgets additional_secret_outputs.
        self.connection_string = pulumi.Output.secret(component.connection_string)
        self.register_outputs(
            {
                "workspaceId": self.workspace_id,
                "componentId": self.component_id,
                "connectionString": self.connection_string,
            }
        )
