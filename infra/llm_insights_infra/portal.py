"""Azure portal links a person clicks: string formatting over resource ids, no resources.

The one documented form is ``https://portal.azure.com/#resource{resourceId}``: Azure Monitor's own
``portalLink``, "Azure portal link to the summary page of the target resource"
(MicrosoftDocs/azure-monitor-docs articles/azure-monitor/autoscale/autoscale-webhook-email.md,
payload schema). For a workbook resource that page is the workbook itself. A blade after the id
(``/applicationMap``, ``/quickPulse``) is not documented anywhere we found: those two links are the
portal's menu paths, kept because nothing documented opens those views; if the portal renames them
the link lands on the component. The ids themselves are stack outputs too.
"""

from __future__ import annotations

import pulumi

PORTAL = "https://portal.azure.com/#resource"
# Undocumented blade paths (portal menu items of an Application Insights component).
UNDOCUMENTED_BLADES = {"applicationMap": "applicationMap", "liveMetrics": "quickPulse"}


def resource_link(resource_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """``https://portal.azure.com/#resource{id}``: the documented summary-page link."""
    return pulumi.Output.concat(PORTAL, resource_id)


def resource_blade(resource_id: pulumi.Input[str], blade: str) -> pulumi.Output[str]:
    """``https://portal.azure.com/#resource{id}/{blade}`` (undocumented: see the module doc)."""
    return pulumi.Output.concat(PORTAL, resource_id, "/", blade)


def component_links(component_id: pulumi.Input[str]) -> dict[str, pulumi.Output[str]]:
    """Overview (documented form), Application Map and Live Metrics of a component."""
    return {
        "overview": resource_link(component_id),
        **{key: resource_blade(component_id, blade) for key, blade in UNDOCUMENTED_BLADES.items()},
    }


def workbook_link(workbook_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The workbook opened by its own id (documented form); it falls back to the component."""
    return resource_link(workbook_id)
