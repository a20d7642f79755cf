"""The one place tags are derived: every taggable resource gets the same set."""

from __future__ import annotations

from collections.abc import Mapping

from .config import StackConfig

MANAGED_BY = "pulumi:llm-insights"
# Tag names required on every taggable resource (the policy pack checks the same list).
REQUIRED_TAGS = ("project", "environment", "stack", "managed-by")


def standard_tags(cfg: StackConfig) -> Mapping[str, str]:
    """Kit tags plus the stack's extra ``tags`` (which may not override kit tags), sorted."""
    tags = dict(cfg.extra_tags)
    tags.update(
        {
            "project": cfg.project,
            "environment": cfg.environment,
            "stack": cfg.stack,
            "managed-by": MANAGED_BY,
        }
    )
    return dict(sorted(tags.items()))
