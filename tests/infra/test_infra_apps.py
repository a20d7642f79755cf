"""Several Container Apps per stack (``containerApps``), under mocks: zero, one and two apps on
one environment, each with its own name, image, scale, identity, service name, sampler and
pricing map; the deprecated ``containerApp.*`` keys still deploy one app, under its old names."""

from __future__ import annotations

import json
from typing import Any

import infra_harness as harness
import pytest
from llm_insights import contract as c
from test_infra_stacks import policy_violations

from llm_insights_kit import app_env

pytestmark = pytest.mark.pulumi

NS = "llm-insights"
MANAGED_ENV = "azure-native:app:ManagedEnvironment"
CONTAINER_APP = "azure-native:app:ContainerApp"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"

TWO_APPS = {
    "chat-api": {
        "image": "myregistry.azurecr.io/chat-api:1.4.2",
        "cpu": 1,
        "minReplicas": 2,
        "maxReplicas": 10,
        "targetPort": 8000,
        "dailyBudgetUsd": 300,
    },
    "triage-agent": {
        "image": "myregistry.azurecr.io/triage-agent:0.9.0",
        "serviceName": "triage-agent",
        "external": False,
        "tracesSampler": "microsoft.fixed.percentage",
        "tracesSamplerArg": 0.25,
        "pricingDeployments": {"agent-mini": {"model": "gpt-4o-mini", "type": "Standard"}},
    },
}


def prod_config(**changes: Any) -> dict[str, Any]:
    """The committed prod stack (Entra ID ingestion) without its containerApp.* keys."""
    config = {
        k: v
        for k, v in harness.load_stack_file("prod").items()
        if not k.startswith(f"{NS}:containerApp.")
    }
    config.update({f"{NS}:{k}": v for k, v in changes.items()})
    return config


def run(**changes: Any) -> harness.StackRun:
    result = harness.run_program("prod", prod_config(**changes))
    assert result.error is None, result.error
    return result


def env_of(app: harness.Registered) -> dict[str, Any]:
    (container,) = app.inputs["template"]["containers"]
    return {e["name"]: e.get("value", e) for e in container["env"]}


def test_zero_apps_deploy_no_environment_and_export_no_urls():
    result = run()
    assert not result.of_type(MANAGED_ENV) and not result.of_type(CONTAINER_APP)
    assert "containerAppUrls" not in result.outputs and "containerAppUrl" not in result.outputs


def test_one_app_in_the_new_form():
    result = run(containerApps={"chat-api": TWO_APPS["chat-api"]})
    app = result.one(CONTAINER_APP)
    assert app.name == "llm-insights-prod-chat-api-app"
    assert app.inputs["containerAppName"] == "chat-api"
    assert env_of(app)[app_env.ENV_OTEL_SERVICE_NAME] == "chat-api"  # the app name by default
    urls = result.outputs["containerAppUrls"]
    assert list(urls) == ["chat-api"] and urls["chat-api"].startswith("https://")
    assert result.outputs["containerAppUrl"] == urls["chat-api"]


def test_two_apps_share_one_environment_each_with_its_own_settings_and_identity():
    result = run(containerApps=TWO_APPS)
    env = result.one(MANAGED_ENV)
    apps = {a.inputs["containerAppName"]: a for a in result.of_type(CONTAINER_APP)}
    assert set(apps) == set(TWO_APPS)
    assert {a.inputs["managedEnvironmentId"] for a in apps.values()} == {env.id}

    chat, agent = apps["chat-api"], apps["triage-agent"]
    assert chat.inputs["template"]["containers"][0]["image"] == TWO_APPS["chat-api"]["image"]
    assert agent.inputs["template"]["containers"][0]["image"] == TWO_APPS["triage-agent"]["image"]
    assert chat.inputs["template"]["scale"] == {"minReplicas": 2, "maxReplicas": 10}
    assert agent.inputs["template"]["scale"] == {"minReplicas": 0, "maxReplicas": 3}
    assert chat.inputs["template"]["containers"][0]["resources"] == {"cpu": 1.0, "memory": "2Gi"}
    assert chat.inputs["configuration"]["ingress"]["external"] is True
    assert agent.inputs["configuration"]["ingress"]["external"] is False

    chat_env, agent_env = env_of(chat), env_of(agent)
    assert (chat_env[app_env.ENV_OTEL_SERVICE_NAME], agent_env[app_env.ENV_OTEL_SERVICE_NAME]) == (
        "chat-api",
        "triage-agent",
    )
    # the sampler: the stack's for chat-api, its own for the agent
    assert (
        chat_env[app_env.ENV_OTEL_TRACES_SAMPLER],
        chat_env[app_env.ENV_OTEL_TRACES_SAMPLER_ARG],
    ) == (
        "microsoft.rate_limited",
        "5",
    )
    assert (
        agent_env[app_env.ENV_OTEL_TRACES_SAMPLER],
        agent_env[app_env.ENV_OTEL_TRACES_SAMPLER_ARG],
    ) == (
        "microsoft.fixed.percentage",
        "0.25",
    )
    # the pricing map: the stack's for chat-api, its own for the agent
    stack_map = harness.load_stack_file("prod")[f"{NS}:pricing.deployments"]
    assert json.loads(chat_env[c.ENV_PRICING_DEPLOYMENTS]) == stack_map
    assert (
        json.loads(agent_env[c.ENV_PRICING_DEPLOYMENTS])
        == (TWO_APPS["triage-agent"]["pricingDeployments"])
    )

    # Entra ID ingestion: each app its own identity, holding its own role assignment
    identities = result.of_type(IDENTITY)
    roles = result.of_type(ROLE)
    assert len(identities) == len(roles) == 2
    used = {a.inputs["identity"]["userAssignedIdentities"][0] for a in apps.values()}
    assert used == {i.id for i in identities}
    assert len({r.inputs["principalId"] for r in roles}) == 2  # one grant per identity

    urls = result.outputs["containerAppUrls"]
    assert set(urls) == set(TWO_APPS) and len(set(urls.values())) == 2
    assert set(result.outputs["containerAppIds"]) == set(TWO_APPS)
    assert "containerAppUrl" not in result.outputs  # one URL per app, no single one


def test_the_policy_pack_checks_each_app():
    result = run(containerApps=TWO_APPS)
    assert policy_violations(result, ["prod"]) == []
    # a literal secret in either app is reported for that app
    for app in result.of_type(CONTAINER_APP):
        (container,) = app.inputs["template"]["containers"]
        bad = {**container, "env": [*container["env"], {"name": "API_KEY", "value": "s3cret"}]}
        leaky = {**app.inputs, "template": {**app.inputs["template"], "containers": [bad]}}
        one = harness.StackRun(
            "prod", {}, [harness.Registered(**{**app.__dict__, "inputs": leaky})]
        )
        (message,) = policy_violations(one, ["prod"])
        assert app.name in message and "literal secret" in message


def test_the_deprecated_keys_still_deploy_one_app_under_its_old_names():
    result = harness.run_program("staging")
    assert result.error is None, result.error
    app = result.one(CONTAINER_APP)
    assert app.name == "llm-insights-staging-app"  # unchanged: nothing is replaced
    assert list(result.outputs["containerAppUrls"]) == ["llm-app"]
    assert result.outputs["containerAppUrl"] == result.outputs["containerAppUrls"]["llm-app"]


def test_both_forms_at_once_are_rejected_before_any_resource():
    config = harness.load_stack_file("staging")
    config[f"{NS}:containerApps"] = {"chat-api": {"image": "myregistry.azurecr.io/chat:1"}}
    result = harness.run_program("staging", config)
    assert "containerApps and llm-insights:containerApp.* are both set" in str(result.error)
    assert result.resources == []


def test_an_app_field_error_names_the_app_and_field():
    config = prod_config(containerApps={"chat-api": {"image": "x:1", "maxReplicas": 0}})
    result = harness.run_program("prod", config)
    assert str(result.error) == (
        "Pulumi.prod.yaml: llm-insights:containerApps.chat-api.maxReplicas = 0: must be 1..300"
    )
    assert result.resources == []
