"""Azure portal links a person clicks: string formatting over resource ids, no resources."""

from __future__ import annotations

import pulumi

PORTAL = "https://portal.azure.com/#@/resource"


def resource_blade(resource_id: pulumi.Input[str], blade: str) -> pulumi.Output[str]:
    """``https://portal.azure.com/#@/resource{id}/{blade}``."""
    return pulumi.Output.concat(PORTAL, resource_id, "/", blade)


def component_links(component_id: pulumi.Input[str]) -> dict[str, pulumi.Output[str]]:
    """Overview, Application Map and Live Metrics of an Application Insights component."""
    return {
        "overview": resource_blade(component_id, "overview"),
        "applicationMap": resource_blade(component_id, "applicationMap"),
        "liveMetrics": resource_blade(component_id, "quickPulse"),
    }


def workbook_link(workbook_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return resource_blade(workbook_id, "workbook")
