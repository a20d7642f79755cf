"""The real program, run under mocks for every committed stack file: inventory and properties.

Expected values come from the stack files themselves (and the real dashboards/alerts renderers),
so the assertions follow config rather than restating it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import infra_harness as harness
import pytest
from llm_insights import _cost
from llm_insights import contract as c
from llm_insights_infra.container_app import (
    CONNECTION_STRING_SECRET,
    ENV_AUTHENTICATION_STRING,
    ENV_CONNECTION_STRING,
    ENV_ENVIRONMENT,
    ENV_SERVICE_NAME,
    ENV_TRACES_SAMPLER,
    ENV_TRACES_SAMPLER_ARG,
    MONITORING_METRICS_PUBLISHER,
)
from llm_insights_infra.tags import MANAGED_BY, REQUIRED_TAGS
from llm_insights_infra.workbooks import workbook_guid
from llm_insights_policy import rules as policy

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.artifacts import ROUTES, RenderContext
from llm_insights_kit.dashboards import render_workbooks, with_fallback_resource
from llm_insights_kit.stack_config.schema import SAMPLERS

pytestmark = pytest.mark.pulumi

NS = "llm-insights"
RG = "azure-native:resources:ResourceGroup"
WORKSPACE = "azure-native:operationalinsights:Workspace"
COMPONENT = "azure-native:applicationinsights:Component"
WORKBOOK = "azure-native:applicationinsights:Workbook"
RULE = "azure-native:monitor:ScheduledQueryRule"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
WORKFLOW = "azure-native:logic:Workflow"
MANAGED_ENV = "azure-native:app:ManagedEnvironment"
CONTAINER_APP = "azure-native:app:ContainerApp"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
FREQUENCIES = {"PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M", "PT1H", "PT2H", "PT3H",
               "PT4H", "PT5H", "PT6H", "P1D"}  # fmt: skip

STACKS = pytest.mark.parametrize("stack", harness.STACKS)


def cfg(stack: str, key: str, default: Any = None) -> Any:
    return harness.load_stack_file(stack).get(f"{NS}:{key}", default)


def render_ctx(stack: str) -> RenderContext:
    budget = cfg(stack, "dashboards.dailyBudgetUsd")
    return RenderContext(
        stack=stack,
        environment=cfg(stack, "environment", stack),
        daily_budget_usd=None if budget is None else float(budget),
        alert_overrides=cfg(stack, "alerts", {}),
        config_file=f"Pulumi.{stack}.yaml",
    )


@functools.cache
def expected_rules(stack: str) -> dict[str, Any]:
    return {s.name: s for s in load_rules(render_ctx(stack))}


@functools.cache
def expected_workbooks(stack: str) -> dict[str, Any]:
    return {w.key: w for w in render_workbooks(render_ctx(stack))}


def routes(stack: str) -> dict[str, list[str]]:
    return {r: list(cfg(stack, "notifications.routes", {}).get(r, [])) for r in ROUTES}


def walk(value: Any, path: str = ""):
    """(path, leaf) for every leaf of a nested input value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


@STACKS
def test_inventory(stack_runs, stack):
    run = stack_runs[stack]
    image = cfg(stack, "containerApp.image")
    entra = bool(cfg(stack, "appInsights.disableLocalAuth", False))
    used = {r for receivers in routes(stack).values() for r in receivers}
    expected = {
        RG: 1,
        WORKSPACE: 1,
        COMPONENT: 1,
        ACTION_GROUP: sum(1 for r in routes(stack).values() if r),
        WORKFLOW: int("slack" in used),
        WORKBOOK: len(expected_workbooks(stack)),
        RULE: len(expected_rules(stack)),
        MANAGED_ENV: int(bool(image)),
        CONTAINER_APP: int(bool(image)),
        IDENTITY: int(bool(image) and entra),
        ROLE: int(bool(image) and entra),
    }
    counts = {t: len(run.of_type(t)) for t in expected}
    assert counts == expected
    assert {r.type for r in run.custom} <= set(expected), "undeclared resource types"
    assert expected[WORKBOOK] >= 1 and expected[RULE] >= 13


def test_stacks_differ_where_it_matters(stack_runs):
    """dev/staging/prod differ in retention, cap, local auth, sampling, routing and thresholds."""
    per = {s: stack_runs[s] for s in harness.STACKS}
    for token, path in [
        (WORKSPACE, ("retentionInDays",)),
        (WORKSPACE, ("workspaceCapping", "dailyQuotaGb")),
    ]:
        values = []
        for run in per.values():
            value: Any = run.one(token).inputs
            for p in path:
                value = value[p]
            values.append(value)
        assert len(set(values)) == 3, (token, path, values)
    # Sampling differs in the apps' trace samplers; no stack samples again at ingestion, which
    # would also thin the failed and slow spans the SDK keeps whatever its sampler dropped.
    assert {run.one(COMPONENT).inputs["samplingPercentage"] for run in per.values()} == {100.0}
    samplers = {s: cfg(s, "telemetry.tracesSamplerArg") for s in per}
    assert len({str(v) for v in samplers.values()}) == 3, samplers
    assert per["prod"].one(COMPONENT).inputs["disableLocalAuth"] is True
    assert per["dev"].one(COMPONENT).inputs["disableLocalAuth"] is False
    assert len({len(per[s].of_type(ACTION_GROUP)) for s in per}) == 3
    thresholds = {
        s: {r.name: r.inputs["criteria"]["allOf"][0]["threshold"] for r in per[s].of_type(RULE)}
        for s in per
    }
    assert thresholds["prod"] != thresholds["dev"]


@STACKS
def test_workspace_follows_config(stack_runs, stack):
    ws = stack_runs[stack].one(WORKSPACE)
    assert ws.inputs["sku"] == {"name": "PerGB2018"}
    assert ws.inputs["retentionInDays"] == cfg(stack, "workspace.retentionInDays", 30)
    assert ws.inputs["workspaceCapping"]["dailyQuotaGb"] == float(
        cfg(stack, "workspace.dailyQuotaGb", 1.0)
    )
    assert ws.protect is (stack != "dev")


@STACKS
def test_component_is_workspace_based_and_secret(stack_runs, stack):
    run = stack_runs[stack]
    ws, comp = run.one(WORKSPACE), run.one(COMPONENT)
    assert comp.inputs["ingestionMode"] == "LogAnalytics"
    assert comp.inputs["workspaceResourceId"] == ws.id
    assert comp.inputs["samplingPercentage"] == float(
        cfg(stack, "appInsights.samplingPercentage", 100)
    )
    assert comp.inputs["disableLocalAuth"] is bool(cfg(stack, "appInsights.disableLocalAuth"))
    assert {"connectionString", "instrumentationKey"} <= set(comp.additional_secret_outputs)
    assert comp.protect is (stack != "dev")
    assert run.one(RG).protect is (stack != "dev")


@STACKS
def test_connection_string_is_secret_everywhere(stack_runs, stack):
    run = stack_runs[stack]
    conn = run.outputs["connectionString"]
    assert conn.startswith("InstrumentationKey=")
    assert "connectionString" in run.secret_outputs
    ikey = conn.split(";")[0].split("=", 1)[1]
    for res in run.resources:
        for path, leaf in walk(res.inputs):
            if isinstance(leaf, str) and (ikey in leaf or "InstrumentationKey=" in leaf):
                assert path in res.secret_paths, f"{res.name}.{path} carries it in plaintext"
    for name, value in run.outputs.items():
        if name != "connectionString":
            assert ikey not in str(value), f"output {name} leaks the instrumentation key"


@STACKS
def test_secrets_from_config_stay_secret(stack_runs, stack):
    run = stack_runs[stack]
    fakes = set(harness.FAKE_SECRETS[stack].values())
    for res in run.resources:
        for path, leaf in walk(res.inputs):
            if isinstance(leaf, str) and any(f in leaf for f in fakes):
                assert path in res.secret_paths, f"{res.name}.{path} holds a config secret"
    for name, value in run.outputs.items():
        assert not any(f in str(value) for f in fakes), name


@STACKS
def test_container_app_wiring(stack_runs, stack):
    run = stack_runs[stack]
    if not cfg(stack, "containerApp.image"):
        assert not run.of_type(CONTAINER_APP)
        assert "containerAppUrl" not in run.outputs
        return
    app, env = run.one(CONTAINER_APP), run.one(MANAGED_ENV)
    comp, ws = run.one(COMPONENT), run.one(WORKSPACE)
    logs = env.inputs["appLogsConfiguration"]
    assert logs["destination"] == "log-analytics"
    assert logs["logAnalyticsConfiguration"]["customerId"] == str(
        harness.uuid.uuid5(harness.uuid.NAMESPACE_URL, ws.id)
    )
    assert "appLogsConfiguration.logAnalyticsConfiguration.sharedKey" in env.secret_paths
    assert app.inputs["managedEnvironmentId"] == env.id

    secrets = app.inputs["configuration"]["secrets"]
    assert [s["name"] for s in secrets] == [CONNECTION_STRING_SECRET]
    assert secrets[0]["value"] == run.outputs["connectionString"]
    assert "configuration.secrets[0].value" in app.secret_paths

    (container,) = app.inputs["template"]["containers"]
    assert container["image"] == cfg(stack, "containerApp.image")
    env_vars = {e["name"]: e for e in container["env"]}
    conn_var = env_vars[ENV_CONNECTION_STRING]
    assert conn_var == {"name": ENV_CONNECTION_STRING, "secretRef": CONNECTION_STRING_SECRET}
    assert policy.literal_secret_env([container]) == []
    assert env_vars[ENV_SERVICE_NAME]["value"] == cfg(stack, "telemetry.serviceName", "llm-app")
    assert env_vars[ENV_ENVIRONMENT]["value"] == stack
    sampler = cfg(stack, "telemetry.tracesSampler", SAMPLERS[0])
    assert env_vars[ENV_TRACES_SAMPLER]["value"] == sampler
    assert float(env_vars[ENV_TRACES_SAMPLER_ARG]["value"]) == float(
        cfg(stack, "telemetry.tracesSamplerArg")
    )
    deployments = cfg(stack, "pricing.deployments")
    if deployments:  # the deployment map reaches the app as the SDK reads it
        assert json.loads(env_vars[c.ENV_PRICING_DEPLOYMENTS]["value"]) == deployments
        assert _cost.parse_deployments(env_vars[c.ENV_PRICING_DEPLOYMENTS]["value"], "env")
    else:
        assert c.ENV_PRICING_DEPLOYMENTS not in env_vars
    scale = app.inputs["template"]["scale"]
    assert scale["minReplicas"] == cfg(stack, "containerApp.minReplicas", 0)
    assert scale["maxReplicas"] == cfg(stack, "containerApp.maxReplicas", 3)

    if cfg(stack, "appInsights.disableLocalAuth"):
        identity, role = run.one(IDENTITY), run.one(ROLE)
        assert app.inputs["identity"]["type"] == "UserAssigned"
        assert app.inputs["identity"]["userAssignedIdentities"] == [identity.id]
        client_id = str(harness.uuid.uuid5(harness.uuid.uuid5(harness.uuid.NAMESPACE_URL,
                                                              identity.id), "client"))  # fmt: skip
        assert env_vars[ENV_AUTHENTICATION_STRING]["value"] == (
            f"Authorization=AAD;ClientId={client_id}"
        )
        assert role.inputs["scope"] == comp.id
        assert role.inputs["roleDefinitionId"] == (
            f"/subscriptions/{harness.SUBSCRIPTION}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{MONITORING_METRICS_PUBLISHER}"
        )
        assert role.inputs["principalType"] == "ServicePrincipal"
        assert role.inputs["principalId"] == str(
            harness.uuid.uuid5(harness.uuid.uuid5(harness.uuid.NAMESPACE_URL, identity.id),
                               "principal")
        )  # fmt: skip
    else:
        assert ENV_AUTHENTICATION_STRING not in env_vars
        assert "identity" not in app.inputs


@STACKS
def test_every_taggable_resource_is_tagged(stack_runs, stack):
    run = stack_runs[stack]
    extra = cfg(stack, "tags", {})
    expected = {"project": NS, "environment": stack, "stack": stack, "managed-by": MANAGED_BY}
    expected.update(extra)
    tagged = 0
    for res in run.custom:
        if res.type in policy.TAGGABLE:
            assert res.inputs.get("tags") == dict(sorted(expected.items())), res.name
            tagged += 1
        else:
            assert res.type == ROLE  # the only untaggable type the kit declares
    assert tagged == len([r for r in run.custom if r.type != ROLE])
    assert set(REQUIRED_TAGS) == set(policy.REQUIRED_TAGS)


@STACKS
def test_children_are_parented_to_components(stack_runs, stack):
    for res in stack_runs[stack].custom:
        assert "$llm-insights:infra:" in res.parent, res.name
        assert res.name.startswith(f"{NS}-{stack}-"), res.name


@STACKS
def test_action_groups_route_by_severity(stack_runs, stack):
    run = stack_runs[stack]
    emails = cfg(stack, "notifications.emails", [])
    groups = {g.name.rsplit("-", 1)[-1]: g for g in run.of_type(ACTION_GROUP)}
    assert set(groups) == {r for r, receivers in routes(stack).items() if receivers}
    workflows = run.of_type(WORKFLOW)
    for route, group in groups.items():
        receivers = routes(stack)[route]
        inputs = group.inputs
        assert inputs["location"] == "Global"
        assert 1 <= len(inputs["groupShortName"]) <= 12
        assert [e["emailAddress"] for e in inputs.get("emailReceivers", [])] == (
            emails if "email" in receivers else []
        )
        hooks = inputs.get("webhookReceivers", [])
        assert len(hooks) == int("pagerduty" in receivers)
        for i, hook in enumerate(hooks):
            assert hook["useCommonAlertSchema"] is True
            assert f"webhookReceivers[{i}].serviceUri" in group.secret_paths
        apps = inputs.get("logicAppReceivers", [])
        assert len(apps) == int("slack" in receivers)
        for i, receiver in enumerate(apps):
            assert receiver["useCommonAlertSchema"] is True
            assert receiver["resourceId"] == workflows[0].id
            assert f"logicAppReceivers[{i}].callbackUrl" in group.secret_paths
        assert run.outputs["actionGroupIds"][route] == group.id


@STACKS
def test_slack_workflow_keeps_the_url_secret(stack_runs, stack):
    run = stack_runs[stack]
    url = harness.FAKE_SECRETS[stack].get("notifications.slackWebhookUrl")
    if url is None:
        assert not run.of_type(WORKFLOW)
        return
    wf = run.one(WORKFLOW)
    definition = wf.inputs["definition"]
    assert url not in str(definition)
    assert definition["parameters"]["slackWebhookUrl"] == {"type": "SecureString"}
    assert wf.inputs["parameters"]["slackWebhookUrl"]["type"] == "SecureString"
    assert wf.inputs["parameters"]["slackWebhookUrl"]["value"] == url
    assert "parameters.slackWebhookUrl.value" in wf.secret_paths
    (trigger,) = definition["triggers"].values()
    assert trigger["type"] == "Request"
    (action,) = definition["actions"].values()
    assert action["inputs"]["uri"] == "@parameters('slackWebhookUrl')"
    text = action["inputs"]["body"]["text"]
    for field in ("alertRule", "severity", "monitorCondition", "firedDateTime"):
        assert f"['essentials']?['{field}']" in text
    calls = [a for t, a in run.invokes if t == "azure-native:logic:listWorkflowTriggerCallbackUrl"]
    assert calls == [
        {
            "resourceGroupName": run.outputs["resourceGroupName"],
            "workflowName": wf.id.rsplit("/", 1)[-1],
            "triggerName": "manual",
        }
    ]


@STACKS
def test_every_alert_rule_declared_and_wired(stack_runs, stack):
    run = stack_runs[stack]
    specs = expected_rules(stack)
    comp = run.one(COMPONENT)
    groups = run.outputs["actionGroupIds"]
    declared = {r.inputs["ruleName"].removesuffix(f"-{stack}"): r for r in run.of_type(RULE)}
    assert set(declared) == set(specs)
    for name, rule in declared.items():
        spec, props = specs[name], specs[name].arm_properties()
        inputs = rule.inputs
        assert inputs["kind"] == "LogAlert"
        assert inputs["scopes"] == [comp.id]
        assert inputs["skipQueryValidation"] is False
        assert inputs["severity"] == spec.severity and 0 <= spec.severity <= 4
        assert inputs["enabled"] is spec.enabled
        assert inputs["evaluationFrequency"] in FREQUENCIES
        assert inputs["evaluationFrequency"] == props["evaluationFrequency"]
        assert inputs["windowSize"] == props["windowSize"]
        assert inputs.get("autoMitigate") == props["autoMitigate"]
        (condition,) = inputs["criteria"]["allOf"]
        (expected,) = props["criteria"]["allOf"]
        for key in ("query", "timeAggregation", "operator", "threshold", "failingPeriods"):
            assert condition[key] == expected[key], (name, key)
        assert condition.get("metricMeasureColumn") == expected.get("metricMeasureColumn")
        assert condition.get("dimensions", []) == expected["dimensions"]
        want = [groups[spec.route]] if spec.route in groups else []
        assert inputs["actions"].get("actionGroups", []) == want, name
        assert run.outputs["alertRuleIds"][name] == rule.id


def test_alert_overrides_reach_the_rules(stack_runs):
    """Per-stack `alerts` overrides (prod stricter, dev some off) land on the declared rules."""
    for stack in harness.STACKS:
        declared = {
            r.inputs["ruleName"].removesuffix(f"-{stack}"): r.inputs
            for r in stack_runs[stack].of_type(RULE)
        }
        for rule, fields in cfg(stack, "alerts", {}).items():
            inputs = declared[rule]
            if "enabled" in fields:
                assert inputs["enabled"] is fields["enabled"], (stack, rule)
            if "threshold" in fields:
                assert inputs["criteria"]["allOf"][0]["threshold"] == fields["threshold"]
            if "severity" in fields:
                assert inputs["severity"] == fields["severity"]
            for key in ("windowSize", "evaluationFrequency"):
                if key in fields:
                    assert inputs[key] == fields[key]
    assert any(not r.inputs["enabled"] for r in stack_runs["dev"].of_type(RULE))


@STACKS
def test_every_workbook_declared_with_stable_guid(stack_runs, stack):
    run = stack_runs[stack]
    artifacts = expected_workbooks(stack)
    comp = run.one(COMPONENT)
    declared = {r.name.removeprefix(f"{NS}-{stack}-"): r for r in run.of_type(WORKBOOK)}
    assert set(declared) == set(artifacts)
    for key, wb in declared.items():
        inputs = wb.inputs
        assert inputs["resourceName"] == workbook_guid(NS, stack, key)
        assert re.fullmatch(r"[0-9a-f-]{36}", inputs["resourceName"])
        assert inputs["kind"] == "shared" and inputs["category"] == "workbook"
        assert inputs["sourceId"] == comp.id.lower()
        assert inputs["displayName"] == artifacts[key].display_name
        assert inputs["serializedData"] == with_fallback_resource(
            artifacts[key].serialized_data, comp.id
        )
        assert (
            run.outputs["portal"]["workbooks"][key] == f"https://portal.azure.com/#resource{wb.id}"
        )


def _workbook_items(items):
    for item in items:
        yield item
        if item["type"] == 12:
            yield from _workbook_items(item["content"]["items"])


@STACKS
def test_deployed_workbooks_open_from_any_link(stack_runs, stack):
    """What deploys carries the component: fallbackResourceIds (a link or pin with no resource
    context) and every query's crossComponentResources via the {Resource} parameter."""
    run = stack_runs[stack]
    comp_id = run.one(COMPONENT).id
    for wb in run.of_type(WORKBOOK):
        nb = json.loads(wb.inputs["serializedData"])
        assert nb["fallbackResourceIds"] == [comp_id.lower()], wb.name
        items = list(_workbook_items(nb["items"]))
        queries = [i for i in items if i["type"] == 3]
        assert queries
        for item in queries:
            assert item["content"]["crossComponentResources"] == ["{Resource}"], item["name"]
        params = [p for i in items if i["type"] == 9 for p in i["content"]["parameters"]]
        resource = next(p for p in params if p["name"] == "Resource")
        assert resource["type"] == 5 and resource["value"] == "value::1"
        for p in params:
            if p.get("query"):
                assert p["crossComponentResources"] == ["{Resource}"], p["name"]


@STACKS
def test_replacing_a_workbook_deletes_the_old_one_first(stack_runs, stack):
    """A new GUID with the old display name fails while the old workbook exists
    (MicrosoftDocs/azure-docs#52844), so replacement deletes before it creates."""
    workbooks = stack_runs[stack].of_type(WORKBOOK)
    assert workbooks and all(wb.delete_before_replace for wb in workbooks)


def test_workbook_guids_are_stable_across_runs_and_distinct_across_stacks(stack_runs):
    again = harness.run_program("dev")
    assert again.error is None
    names = lambda run: sorted(r.inputs["resourceName"] for r in run.of_type(WORKBOOK))  # noqa: E731
    assert names(again) == names(stack_runs["dev"])
    assert not set(names(stack_runs["dev"])) & set(names(stack_runs["prod"]))


@STACKS
def test_outputs_and_portal_links(stack_runs, stack):
    run = stack_runs[stack]
    comp_id = run.one(COMPONENT).id
    assert run.outputs["appInsightsId"] == comp_id
    assert run.outputs["workspaceId"] == run.one(WORKSPACE).id
    portal = run.outputs["portal"]
    base = f"https://portal.azure.com/#resource{comp_id}"
    assert portal["overview"] == base
    assert portal["applicationMap"] == f"{base}/applicationMap"
    assert portal["liveMetrics"] == f"{base}/quickPulse"
    assert set(run.outputs["actionGroupIds"]) == {r for r, v in routes(stack).items() if v}
    assert run.secret_outputs == {"connectionString"}


@STACKS
def test_prod_policy_pack_passes_on_the_declared_resources(stack_runs, stack):
    """The pack's rules, applied to what the program declares: prod clean, dev caught."""
    run = stack_runs[stack]
    violations = policy_violations(run, stacks=[stack])
    if stack == "prod":
        assert violations == []
    elif stack == "dev":
        joined = "\n".join(violations)
        assert "disableLocalAuth" in joined
        assert "protect" in joined
        assert "retentionInDays = 30" in joined


def policy_violations(run: harness.StackRun, stacks: list[str]) -> list[str]:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

    found: list[str] = []
    validations = [p for p in dir(policy) if p.startswith("validate_")]
    for res in run.custom:
        args = ResourceValidationArgs(
            resource_type=res.type,
            props=res.inputs,
            urn=res.urn,
            name=res.name,
            opts=PolicyResourceOptions(
                protect=res.protect,
                ignore_changes=[],
                delete_before_replace=None,
                aliases=[],
                custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                additional_secret_outputs=res.additional_secret_outputs,
                parent=res.parent,
            ),
            provider=None,
            config={"stacks": stacks},
        )
        for name in validations:
            getattr(policy, name)(args, lambda message, _urn=None: found.append(message))
    return found


def test_prod_overrides_are_stricter_and_dev_only_switches_rules_off():
    defaults = {
        s.name: s
        for s in load_rules(
            RenderContext(stack="prod", environment="prod", config_file="Pulumi.prod.yaml")
        )
    }
    prod = cfg("prod", "alerts", {})
    assert any("threshold" in f for f in prod.values())
    for name, fields in prod.items():
        if "threshold" in fields:
            assert defaults[name].operator in ("GreaterThan", "GreaterThanOrEqual"), name
            assert fields["threshold"] < defaults[name].threshold, name
    dev = cfg("dev", "alerts", {})
    assert dev and all(fields == {"enabled": False} for fields in dev.values())
    assert all(defaults[name].enabled for name in dev)
