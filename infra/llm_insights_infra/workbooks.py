"""Rendered workbooks as shared ``Microsoft.Insights/workbooks`` sourced to the component."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights

from llm_insights_kit.artifacts import WorkbookArtifact
from llm_insights_kit.dashboards import with_fallback_resource

from .portal import workbook_link

# Fixed namespace: the GUID of a workbook depends only on (project, stack, template key), so
# re-running `pulumi up` updates the same workbook instead of creating a duplicate.
WORKBOOK_NAMESPACE = uuid.UUID("5d0c7f0e-3b0a-4c57-9a55-6c1b6f1e2a10")
WORKBOOK_CATEGORY = "workbook"


def workbook_guid(project: str, stack: str, key: str) -> str:
    return str(uuid.uuid5(WORKBOOK_NAMESPACE, f"{project}/{stack}/{key}"))


@dataclass(frozen=True)
class WorkbooksArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    project: str
    stack: str
    component_id: pulumi.Input[str]
    workbooks: Sequence[WorkbookArtifact]
    tags: Mapping[str, str]


class Workbooks(pulumi.ComponentResource):
    """``ids`` and ``urls``: template key → workbook id / portal link."""

    ids: dict[str, pulumi.Output[str]]
    urls: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: WorkbooksArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-insights:infra:Workbooks", name, None, opts)
        keys = [w.key for w in args.workbooks]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate workbook keys: {sorted(keys)}")
        # Workbooks pin to the component id in lowercase (as the portal stores it).
        source_id = pulumi.Output.from_input(args.component_id).apply(str.lower)
        self.ids = {}
        self.urls = {}
        for artifact in sorted(args.workbooks, key=lambda w: w.key):
            # What deploys opens from any link: fallbackResourceIds = the component (the local
            # render leaves it empty; only here is the id known).
            serialized = source_id.apply(
                lambda cid, text=artifact.serialized_data: with_fallback_resource(text, cid)
            )
            workbook = applicationinsights.Workbook(
                f"{name}-{artifact.key}",
                resource_name_=workbook_guid(args.project, args.stack, artifact.key),
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind="shared",
                category=WORKBOOK_CATEGORY,
                display_name=artifact.display_name,
                description=artifact.description,
                serialized_data=serialized,
                source_id=source_id,
                tags=dict(args.tags),
                # A replacement (new GUID) with the old display name fails while the old workbook
                # exists: "A Workbook with the same name already exists"
                # (MicrosoftDocs/azure-docs#52844). Delete first, then create.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            self.ids[artifact.key] = workbook.id
            self.urls[artifact.key] = workbook_link(workbook.id)
        self.register_outputs({"ids": self.ids, "urls": self.urls})
