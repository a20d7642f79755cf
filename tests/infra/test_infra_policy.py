"""The policy pack's validation functions, called directly with fabricated arguments (no CLI)."""

from __future__ import annotations

from typing import Any

import pytest
from llm_insights_policy import rules
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

pytestmark = pytest.mark.pulumi

GOOD_TAGS = {"project": "llm-insights", "environment": "prod", "stack": "prod", "managed-by": "x"}


def make_args(
    resource_type: str,
    props: dict[str, Any],
    *,
    stack: str = "prod",
    protect: bool = True,
    secret_outputs: list[str] | None = None,
    config: dict[str, Any] | None = None,
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:{stack}::llm-insights::{resource_type}::thing",
        name="thing",
        opts=PolicyResourceOptions(
            protect=protect,
            ignore_changes=[],
            delete_before_replace=None,
            aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=secret_outputs or [],
        ),
        provider=None,
        config=config,
    )


def violations(validate, args: ResourceValidationArgs) -> list[str]:
    found: list[str] = []
    validate(args, lambda message, urn=None: found.append(message))
    return found


def component(**props: Any) -> dict[str, Any]:
    return {"disableLocalAuth": True, "tags": GOOD_TAGS, **props}


def test_stack_of_reads_the_urn():
    assert rules.stack_of("urn:pulumi:prod::llm-insights::a:b:C::n") == "prod"
    assert rules.stack_of("garbage") == ""


def test_rules_apply_only_to_configured_stacks():
    bad = make_args(rules.COMPONENT, component(disableLocalAuth=False), stack="dev")
    assert violations(rules.validate_local_auth_disabled, bad) == []
    scoped = make_args(
        rules.COMPONENT, component(disableLocalAuth=False), stack="dev", config={"stacks": ["dev"]}
    )
    assert violations(rules.validate_local_auth_disabled, scoped)


def test_local_auth_must_be_disabled():
    ok = make_args(rules.COMPONENT, component())
    bad = make_args(rules.COMPONENT, component(disableLocalAuth=False))
    missing = make_args(rules.COMPONENT, {"tags": GOOD_TAGS})
    assert violations(rules.validate_local_auth_disabled, ok) == []
    assert "disableLocalAuth=true" in violations(rules.validate_local_auth_disabled, bad)[0]
    assert violations(rules.validate_local_auth_disabled, missing)


@pytest.mark.parametrize("token", [rules.WORKSPACE, rules.COMPONENT, rules.RESOURCE_GROUP])
def test_stateful_resources_must_be_protected(token):
    assert violations(rules.validate_stateful_protected, make_args(token, {})) == []
    (message,) = violations(rules.validate_stateful_protected, make_args(token, {}, protect=False))
    assert "protect=true" in message


def test_unprotected_stateless_resources_are_fine():
    args = make_args(rules.ACTION_GROUP, {}, protect=False)
    assert violations(rules.validate_stateful_protected, args) == []


def test_connection_string_must_be_a_secret_output():
    ok = make_args(
        rules.COMPONENT, component(), secret_outputs=list(rules.COMPONENT_SECRET_OUTPUTS)
    )
    partial = make_args(rules.COMPONENT, component(), secret_outputs=["connectionString"])
    assert violations(rules.validate_connection_string_secret, ok) == []
    (message,) = violations(rules.validate_connection_string_secret, partial)
    assert "instrumentationKey" in message


def container_app(env: list[dict[str, Any]]) -> dict[str, Any]:
    return {"tags": GOOD_TAGS, "template": {"containers": [{"name": "app", "env": env}]}}


def test_secret_ref_env_passes():
    env = [
        {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "secretRef": "appinsights-cs"},
        {"name": "OTEL_SERVICE_NAME", "value": "llm-app"},
        {
            "name": "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
            "value": "Authorization=AAD;ClientId=x",
        },
    ]
    args = make_args(rules.CONTAINER_APP, container_app(env))
    assert violations(rules.validate_no_literal_secret_env, args) == []


@pytest.mark.parametrize(
    "env",
    [
        {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": "InstrumentationKey=abc;x=y"},
        {"name": "SOME_SETTING", "value": "InstrumentationKey=abc"},
        {"name": "OPENAI_API_KEY", "value": "sk-123"},
        {"name": "SLACK", "value": "https://hooks.slack.com/services/T/B/x"},
        {"name": "STORAGE", "value": "DefaultEndpointsProtocol=https;AccountKey=abc=="},
    ],
)
def test_literal_secrets_in_env_are_violations(env):
    args = make_args(rules.CONTAINER_APP, container_app([env]))
    (message,) = violations(rules.validate_no_literal_secret_env, args)
    assert f"app/{env['name']}" in message and "secretRef" in message


def test_required_tags():
    ok = make_args(rules.WORKSPACE, {"tags": GOOD_TAGS})
    missing = make_args(rules.WORKSPACE, {"tags": {"project": "llm-insights", "stack": " "}})
    untagged_type = make_args("azure-native:authorization:RoleAssignment", {})
    assert violations(rules.validate_required_tags, ok) == []
    (message,) = violations(rules.validate_required_tags, missing)
    assert "environment, stack, managed-by" in message
    assert violations(rules.validate_required_tags, untagged_type) == []


def test_retention_floor_is_configurable():
    at_floor = make_args(rules.WORKSPACE, {"retentionInDays": 90})
    below = make_args(rules.WORKSPACE, {"retentionInDays": 30})
    stricter = make_args(
        rules.WORKSPACE,
        {"retentionInDays": 90},
        config={"stacks": ["prod"], "minRetentionDays": 180},
    )
    assert violations(rules.validate_retention_floor, at_floor) == []
    assert (
        "retentionInDays = 30: must be ≥ 90" in violations(rules.validate_retention_floor, below)[0]
    )
    assert violations(rules.validate_retention_floor, stricter)


@pytest.mark.parametrize(("cap", "bad"), [(20, False), (0, True), (-1, True), (None, True)])
def test_daily_cap_must_be_positive(cap, bad):
    props = {} if cap is None else {"workspaceCapping": {"dailyQuotaGb": cap}}
    assert bool(violations(rules.validate_daily_cap, make_args(rules.WORKSPACE, props))) is bad


def rule_props(**overrides: Any) -> dict[str, Any]:
    props = {
        "enabled": True,
        "scopes": ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/c"],
        "skipQueryValidation": False,
        "actions": {"actionGroups": ["/subscriptions/s/.../actionGroups/ag"]},
    }
    props.update(overrides)
    return props


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({}, None),
        ({"skipQueryValidation": True}, "skipQueryValidation"),
        ({"scopes": ["a", "b"]}, "exactly one"),
        ({"actions": {"actionGroups": []}}, "at least one action group"),
        ({"enabled": False, "actions": {}}, None),
    ],
)
def test_alert_rules(overrides, fragment):
    found = violations(
        rules.validate_alert_rule, make_args(rules.SCHEDULED_QUERY_RULE, rule_props(**overrides))
    )
    if fragment is None:
        assert found == []
    else:
        assert len(found) == 1 and fragment in found[0]


def test_action_group_receivers_use_common_schema():
    ok = {
        "groupShortName": "crit-prod",
        "webhookReceivers": [{"name": "pagerduty", "useCommonAlertSchema": True}],
        "logicAppReceivers": [{"name": "slack", "useCommonAlertSchema": True}],
    }
    legacy = {**ok, "webhookReceivers": [{"name": "pagerduty", "useCommonAlertSchema": False}]}
    long_name = {**ok, "groupShortName": "critical-production"}
    assert violations(rules.validate_common_alert_schema, make_args(rules.ACTION_GROUP, ok)) == []
    (message,) = violations(
        rules.validate_common_alert_schema, make_args(rules.ACTION_GROUP, legacy)
    )
    assert "pagerduty must use the common alert schema" in message
    assert violations(rules.validate_common_alert_schema, make_args(rules.ACTION_GROUP, long_name))


def test_workflow_secrets():
    secure = {
        "definition": {"actions": {"post": {"inputs": {"uri": "@parameters('slackWebhookUrl')"}}}},
        "parameters": {
            "slackWebhookUrl": {"type": "SecureString", "value": "https://hooks.slack.com/x"}
        },
    }
    inline = {"definition": {"actions": {"post": {"inputs": {"uri": "https://hooks.slack.com/x"}}}}}
    plain_param = {
        **secure,
        "parameters": {"slackWebhookUrl": {"type": "String", "value": "https://hooks.slack.com/x"}},
    }
    assert violations(rules.validate_workflow_secrets, make_args(rules.WORKFLOW, secure)) == []
    assert (
        "literal webhook"
        in violations(rules.validate_workflow_secrets, make_args(rules.WORKFLOW, inline))[0]
    )
    assert (
        "SecureString"
        in violations(rules.validate_workflow_secrets, make_args(rules.WORKFLOW, plain_param))[0]
    )


def test_pack_declares_every_rule_once_as_mandatory():
    policies = rules.policies()
    names = [p.name for p in policies]
    assert len(names) == len(set(names)) == 10
    assert all(isinstance(p, ResourceValidationPolicy) for p in policies)
    assert all(p.enforcement_level.value == "mandatory" for p in policies)
    assert all("stacks" in p.config_schema.properties for p in policies)
