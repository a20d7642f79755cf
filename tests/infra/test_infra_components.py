"""Components on their own, with artifacts built in the test, and config edge cases."""

from __future__ import annotations

import json

import infra_harness as harness
import pytest
from llm_insights_infra.alert_rules import AlertRules, AlertRulesArgs
from llm_insights_infra.config import Renderers, parse_config
from llm_insights_infra.slack_workflow import workflow_definition
from llm_insights_infra.workbooks import Workbooks, WorkbooksArgs, workbook_guid

from llm_insights_kit.artifacts import AlertRuleSpec, Dimension, FailingPeriods, WorkbookArtifact

pytestmark = pytest.mark.pulumi

COMPONENT_ID = (
    "/subscriptions/00000000-0000-0000-0000-0000000000AB/resourceGroups/RG/providers/"
    "Microsoft.Insights/components/Appi-Unit"
)
TAGS = {"project": "llm-insights", "environment": "unit", "stack": "unit", "managed-by": "t"}


def spec(name: str, route: str, **overrides) -> AlertRuleSpec:
    fields = dict(
        name=name,
        display_name=name.replace("-", " "),
        description=f"{name} fired",
        severity=0 if route == "critical" else 3,
        enabled=True,
        evaluation_frequency="PT5M",
        window_size="PT15M",
        query="customMetrics | summarize v = sum(valueSum) by model = tostring(customDimensions.m)",
        time_aggregation="Maximum",
        metric_measure_column="v",
        operator="GreaterThan",
        threshold=4.0,
        route=route,
        source_file="alerts/unit.yaml",
        failing_periods=FailingPeriods(2, 2),
        dimensions=(Dimension("model"),),
        auto_mitigate=False,
        mute_actions_duration="PT30M",
    )
    fields.update(overrides)
    return AlertRuleSpec(**fields)


def test_alert_rules_component_routes_and_copies_arm_properties():
    rules = [
        spec("unit-critical", "critical"),
        spec("unit-info", "info", metric_measure_column=None, time_aggregation="Count",
             dimensions=(), auto_mitigate=True, mute_actions_duration=None),
    ]  # fmt: skip

    def program():
        AlertRules(
            "unit",
            AlertRulesArgs(
                resource_group_name="rg",
                location="westeurope",
                stack="unit",
                component_id=COMPONENT_ID,
                rules=rules,
                action_group_ids={"critical": "/ag/critical", "warning": "/ag/warning"},
                tags=TAGS,
            ),
        )

    run = harness.run_function(program)
    assert run.error is None, run.error
    declared = {r.name: r.inputs for r in run.of_type("azure-native:monitor:ScheduledQueryRule")}
    assert set(declared) == {"unit-unit-critical", "unit-unit-info"}
    critical, info = declared["unit-unit-critical"], declared["unit-unit-info"]
    assert critical["ruleName"] == "unit-critical-unit"
    assert critical["actions"]["actionGroups"] == ["/ag/critical"]
    assert info["actions"].get("actionGroups", []) == []  # no receivers on this route
    assert critical["muteActionsDuration"] == "PT30M" and critical["autoMitigate"] is False
    assert "muteActionsDuration" not in info
    (cond,) = critical["criteria"]["allOf"]
    assert cond["failingPeriods"] == {"numberOfEvaluationPeriods": 2, "minFailingPeriodsToAlert": 2}
    assert cond["dimensions"] == [{"name": "model", "operator": "Include", "values": ["*"]}]
    assert cond["metricMeasureColumn"] == "v"
    (info_cond,) = info["criteria"]["allOf"]
    assert "metricMeasureColumn" not in info_cond and info_cond["timeAggregation"] == "Count"
    assert all(r.parent.endswith("llm-insights:infra:AlertRules::unit") for r in run.custom)


def test_alert_rules_reject_duplicate_names():
    def program():
        AlertRules(
            "unit",
            AlertRulesArgs("rg", "westeurope", "unit", COMPONENT_ID,
                           [spec("dup", "critical"), spec("dup", "warning")], {}, TAGS),
        )  # fmt: skip

    run = harness.run_function(program)
    assert isinstance(run.error, ValueError) and "duplicate alert rule names" in str(run.error)


def test_workbooks_component_uses_stable_guids_sourced_to_the_component():
    artifacts = [
        WorkbookArtifact("llm-overview", "LLM overview", "Tokens, cost", '{"items": []}'),
        WorkbookArtifact("llm-quality", "LLM quality", "Quality", '{"items": [1]}'),
    ]

    def program():
        Workbooks(
            "unit",
            WorkbooksArgs(
                "rg", "westeurope", "llm-insights", "unit", COMPONENT_ID, artifacts, TAGS
            ),
        )

    run = harness.run_function(program)
    assert run.error is None, run.error
    declared = {r.name: r.inputs for r in run.of_type("azure-native:applicationinsights:Workbook")}
    assert set(declared) == {"unit-llm-overview", "unit-llm-quality"}
    for artifact in artifacts:
        inputs = declared[f"unit-{artifact.key}"]
        assert inputs["resourceName"] == workbook_guid("llm-insights", "unit", artifact.key)
        assert inputs["sourceId"] == COMPONENT_ID.lower()
        deployed = json.loads(inputs["serializedData"])
        assert deployed == {**json.loads(artifact.serialized_data),
                            "fallbackResourceIds": [COMPONENT_ID.lower()]}  # fmt: skip
        assert inputs["tags"] == TAGS
    assert workbook_guid("llm-insights", "unit", "a") == workbook_guid("llm-insights", "unit", "a")
    assert workbook_guid("llm-insights", "unit", "a") != workbook_guid("llm-insights", "prod", "a")


def test_existing_resource_group_is_looked_up_not_created():
    config = harness.load_stack_file("dev")
    config["llm-insights:resourceGroup.existing"] = True
    config["llm-insights:resourceGroup.name"] = "rg-shared-observability"
    run = harness.run_program("dev", config, {})
    assert run.error is None, run.error
    assert not run.of_type("azure-native:resources:ResourceGroup")
    assert ("azure-native:resources:getResourceGroup",
            {"resourceGroupName": "rg-shared-observability"}) in run.invokes  # fmt: skip
    for res in run.custom:
        assert res.inputs.get("resourceGroupName") == "rg-shared-observability", res.name


def test_minimal_config_gets_documented_defaults():
    fake = Renderers(render_workbooks=lambda ctx: [], load_rules=lambda ctx: [])
    raw = {"azure-native:location": "westeurope", "llm-insights:notifications.emails": '["a@b.io"]'}
    cfg = parse_config(raw, frozenset(), "qa", fake)
    assert cfg.environment == "qa" and cfg.protect is True
    assert cfg.resource_group.name == "rg-llm-insights-qa" and not cfg.resource_group.existing
    assert cfg.workspace.retention_in_days == 30 and cfg.workspace.daily_quota_gb == 1.0
    assert cfg.app_insights.sampling_percentage == 100.0
    assert cfg.app_insights.disable_local_auth is False
    assert cfg.telemetry.traces_sampler == "microsoft.rate_limited"
    assert cfg.telemetry.traces_sampler_arg == 5.0
    assert cfg.telemetry.keep_per_minute == 30 and cfg.telemetry.keep_slow_seconds == 5.0
    assert cfg.container_apps == ()
    assert cfg.notifications.routes == {"critical": ("email",), "warning": ("email",), "info": ()}


def test_default_routes_need_an_email():
    fake = Renderers(render_workbooks=lambda ctx: [], load_rules=lambda ctx: [])
    with pytest.raises(Exception, match=r"notifications.routes.critical uses email"):
        parse_config({"azure-native:location": "westeurope"}, frozenset(), "qa", fake)


def test_dev_environment_is_unprotected_by_default_and_overridable():
    fake = Renderers(render_workbooks=lambda ctx: [], load_rules=lambda ctx: [])
    base = {
        "azure-native:location": "westeurope",
        "llm-insights:notifications.routes": json.dumps({"critical": [], "warning": []}),
    }
    assert parse_config(base, frozenset(), "dev", fake).protect is False
    forced = {**base, "llm-insights:protect": "true"}
    assert parse_config(forced, frozenset(), "dev", fake).protect is True
    named = {**base, "llm-insights:environment": "dev"}
    assert parse_config(named, frozenset(), "sandbox-1", fake).protect is False


def test_container_memory_defaults_to_twice_the_cpu():
    fake = Renderers(render_workbooks=lambda ctx: [], load_rules=lambda ctx: [])
    cfg = parse_config(
        {
            "azure-native:location": "westeurope",
            "llm-insights:notifications.routes": "{}",
            "llm-insights:containerApp.image": "myregistry.azurecr.io/team/llm-app:1.4.2",
            "llm-insights:containerApp.cpu": "1.5",
        },
        frozenset(),
        "qa",
        fake,
    )
    (app,) = cfg.container_apps
    assert app.memory == "3Gi" and app.cpu == 1.5


def test_slack_definition_is_valid_json_without_urls():
    text = json.dumps(workflow_definition(), sort_keys=True)
    assert "https://hooks" not in text
    assert json.loads(text)["parameters"]["slackWebhookUrl"]["type"] == "SecureString"


VAULT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-secrets"
    "/providers/Microsoft.KeyVault/vaults/kv-llm-staging"
)


def test_key_vault_reference_replaces_the_inline_secret():
    config = harness.load_stack_file("staging")
    config["llm-insights:containerApp.keyVaultId"] = VAULT_ID
    run = harness.run_program("staging", config)
    assert run.error is None, run.error
    stored = run.one("azure-native:keyvault:Secret")
    assert stored.inputs["vaultName"] == "kv-llm-staging"
    assert stored.inputs["resourceGroupName"] == "rg-secrets"
    assert stored.inputs["properties"]["value"] == run.outputs["connectionString"]
    assert "properties.value" in stored.secret_paths

    app = run.one("azure-native:app:ContainerApp")
    identity = run.one("azure-native:managedidentity:UserAssignedIdentity")
    (secret,) = app.inputs["configuration"]["secrets"]
    assert "value" not in secret
    assert secret["keyVaultUrl"] == (
        "https://kv-llm-staging.vault.azure.net/secrets/appinsights-connection-string-staging"
    )
    assert secret["identity"] == identity.id
    assert app.inputs["identity"]["userAssignedIdentities"] == [identity.id]
    (role,) = run.of_type("azure-native:authorization:RoleAssignment")  # local auth stays on
    assert role.inputs["scope"] == VAULT_ID
    assert role.inputs["roleDefinitionId"].endswith("4633458b-17de-408a-b874-0445c86b69e6")
    env = {e["name"]: e for e in app.inputs["template"]["containers"][0]["env"]}
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"].get("secretRef")
    assert "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" not in env


def test_bad_key_vault_id_is_rejected():
    config = harness.load_stack_file("staging")
    config["llm-insights:containerApp.keyVaultId"] = "kv-llm-staging"
    run = harness.run_program("staging", config)
    assert str(run.error).startswith(
        "Pulumi.staging.yaml: llm-insights:containerApp.keyVaultId = kv-llm-staging: must be a "
        "Key Vault resource id"
    )
    assert run.resources == []


def test_a_failed_run_does_not_leak_into_the_next(monkeypatch):
    """Pulumi keeps runtime state globally; each harness run must start clean."""
    original = harness.KitMocks.new_resource

    def corrupt(self, args):
        rid, state = original(self, args)
        if args.typ == "azure-native:applicationinsights:Component":
            state["connectionString"] = {harness._SECRET_SIG_KEY: harness._SECRET_SIG}  # no value
        return rid, state

    monkeypatch.setattr(harness.KitMocks, "new_resource", corrupt)
    assert harness.run_program("prod").error is not None
    monkeypatch.setattr(harness.KitMocks, "new_resource", original)
    again = harness.run_program("prod")
    assert again.error is None, again.error
    assert again.one("azure-native:applicationinsights:Component")


def test_main_only_wires():
    """`infra/__main__.py` declares no Azure resource itself: config → components → exports."""
    import ast

    tree = ast.parse((harness.INFRA / "__main__.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
         for alias in node.names}  # fmt: skip
    assert not any(name.startswith("pulumi_azure_native") for name in imported)
    assert "llm_insights_infra.config" in imported
