"""The stack's resource group: created by the kit, or an existing one named in config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources


@dataclass(frozen=True)
class ResourceGroupArgs:
    name: str
    existing: bool
    location: str
    tags: Mapping[str, str]
    protect: bool


class ResourceGroup(pulumi.ComponentResource):
    """Exposes ``name`` and ``group_id``; an existing group is looked up (never adopted/deleted)."""

    name: pulumi.Output[str]
    group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ResourceGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-insights:infra:ResourceGroup", name, None, opts)
        if args.existing:
            found = resources.get_resource_group_output(
                resource_group_name=args.name, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            self.name = found.name
            self.group_id = found.id
        else:
            group = resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=args.name,
                location=args.location,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            self.name = group.name
            self.group_id = group.id
        self.register_outputs({"name": self.name})
