"""llm-insights Pulumi program: validated config → components → stack outputs (wiring only)."""

from __future__ import annotations

import pulumi
from llm_insights_infra.alert_rules import AlertRules, AlertRulesArgs
from llm_insights_infra.config import load_stack_config
from llm_insights_infra.container_app import AppHosting, AppHostingArgs
from llm_insights_infra.monitoring import Monitoring, MonitoringArgs
from llm_insights_infra.notifications import Notifications, NotificationsArgs
from llm_insights_infra.portal import component_links
from llm_insights_infra.resource_group import ResourceGroup, ResourceGroupArgs
from llm_insights_infra.tags import standard_tags
from llm_insights_infra.workbooks import Workbooks, WorkbooksArgs

from llm_insights_kit.errors import KitError

try:
    cfg = load_stack_config()
except KitError as err:  # a clean message, no traceback, before any resource exists
    raise pulumi.RunError(str(err)) from None

tags = standard_tags(cfg)
prefix = f"{cfg.project}-{cfg.stack}"

group = ResourceGroup(
    prefix,
    ResourceGroupArgs(
        name=cfg.resource_group.name,
        existing=cfg.resource_group.existing,
        location=cfg.location,
        tags=tags,
        protect=cfg.protect,
    ),
)
monitoring = Monitoring(
    prefix,
    MonitoringArgs(
        resource_group_name=group.name,
        location=cfg.location,
        workspace=cfg.workspace,
        app_insights=cfg.app_insights,
        tags=tags,
        protect=cfg.protect,
        component_name=f"appi-{prefix}",
    ),
)
notifications = Notifications(
    prefix,
    NotificationsArgs(
        resource_group_name=group.name,
        location=cfg.location,
        project=cfg.project,
        stack=cfg.stack,
        environment=cfg.environment,
        notifications=cfg.notifications,
        tags=tags,
    ),
)
workbooks = Workbooks(
    prefix,
    WorkbooksArgs(
        resource_group_name=group.name,
        location=cfg.location,
        project=cfg.project,
        stack=cfg.stack,
        component_id=monitoring.component_id,
        workbooks=cfg.workbooks,
        tags=tags,
    ),
)
alert_rules = AlertRules(
    prefix,
    AlertRulesArgs(
        resource_group_name=group.name,
        location=cfg.location,
        stack=cfg.stack,
        component_id=monitoring.component_id,
        rules=cfg.alert_rules,
        action_group_ids=notifications.action_group_ids,
        tags=tags,
    ),
)
for note in cfg.deprecations:
    pulumi.log.warn(note)
if cfg.container_apps:
    hosting = AppHosting(
        prefix,
        AppHostingArgs(
            resource_group_name=group.name,
            location=cfg.location,
            environment=cfg.environment,
            apps=cfg.container_apps,
            workspace_name=monitoring.workspace_name,
            workspace_customer_id=monitoring.workspace_customer_id,
            component_id=monitoring.component_id,
            connection_string=monitoring.connection_string,
            entra_id_ingestion=cfg.app_insights.disable_local_auth,
            tags=tags,
        ),
    )
    urls = {k: pulumi.Output.concat("https://", a.fqdn) for k, a in hosting.apps.items()}
    pulumi.export("containerAppIds", {k: a.app_id for k, a in hosting.apps.items()})
    pulumi.export("containerAppUrls", urls)
    if len(hosting.apps) == 1:  # the single-app outputs, as before
        (only,) = hosting.apps
        pulumi.export("containerAppId", hosting.apps[only].app_id)
        pulumi.export("containerAppUrl", urls[only])

pulumi.export("resourceGroupName", group.name)
pulumi.export("workspaceId", monitoring.workspace_id)
pulumi.export("appInsightsId", monitoring.component_id)
pulumi.export("connectionString", monitoring.connection_string)
pulumi.export("actionGroupIds", notifications.action_group_ids)
pulumi.export("workbookIds", workbooks.ids)
pulumi.export("alertRuleIds", alert_rules.ids)
pulumi.export("portal", {**component_links(monitoring.component_id), "workbooks": workbooks.urls})
