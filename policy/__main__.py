"""llm-insights policy pack: `pulumi preview --policy-pack policy/`."""

from llm_insights_policy.rules import policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="llm-insights",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
)
