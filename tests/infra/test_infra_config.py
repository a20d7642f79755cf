"""Malformed stack configs are rejected before any resource exists, naming stack file and key."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

import infra_harness as harness
import pulumi
import pytest
import yaml
from llm_insights_infra.config import parse_config
from pulumi.runtime.sync_await import _sync_await

from llm_insights_kit.stack_config.checks import validate
from llm_insights_kit.stack_config.schema import KEYS, NAMESPACE, StackSettings

pytestmark = pytest.mark.pulumi

NS = NAMESPACE


def prod_with(
    changes: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    secrets: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    config = harness.load_stack_file("prod")
    for key in drop:
        config.pop(key if ":" in key else f"{NS}:{key}")
    for key, value in (changes or {}).items():
        config[key if ":" in key else f"{NS}:{key}"] = value
    return config, dict(harness.FAKE_SECRETS["prod"] if secrets is None else secrets)


PAGERDUTY = harness.FAKE_SECRETS["prod"]["notifications.pagerdutyUrl"]

# (id, stack config changes, message fragments that must all appear)
BAD: list[tuple[str, tuple[dict, tuple[str, ...], dict | None], list[str]]] = [
    (
        "retention-out-of-range",
        ({"workspace.retentionInDays": 3}, (), None),
        ["Pulumi.prod.yaml: llm-insights:workspace.retentionInDays = 3: must be 30..730"],
    ),
    (
        "retention-wrong-type",
        ({"workspace.retentionInDays": "thirty"}, (), None),
        ["llm-insights:workspace.retentionInDays = thirty: must be an integer 30..730"],
    ),
    (
        "unknown-key",
        ({"workspace.retention": 90}, (), None),
        ["llm-insights:workspace.retention: unknown key", "did you mean workspace.retentionInDays"],
    ),
    (
        "negative-daily-cap",
        ({"workspace.dailyQuotaGb": -1}, (), None),
        ["llm-insights:workspace.dailyQuotaGb = -1: must be > 0 and ≤ 10000"],
    ),
    (
        "sampling-out-of-range",
        ({"appInsights.samplingPercentage": 150}, (), None),
        ["llm-insights:appInsights.samplingPercentage = 150: must be > 0 and ≤ 100"],
    ),
    (
        "local-auth-not-boolean",
        ({"appInsights.disableLocalAuth": "yes"}, (), None),
        ["llm-insights:appInsights.disableLocalAuth = yes: must be true or false"],
    ),
    (
        "bad-sampler",
        ({"telemetry.tracesSampler": "always_on"}, (), None),
        ["llm-insights:telemetry.tracesSampler = always_on", "microsoft.rate_limited"],
    ),
    (
        "percentage-sampler-arg-above-one",
        (
            {
                "telemetry.tracesSampler": "microsoft.fixed.percentage",
                "telemetry.tracesSamplerArg": 25,
            },
            (),
            None,
        ),
        ["llm-insights:telemetry.tracesSamplerArg = 25: must be 0..1"],
    ),
    (
        "keep-per-minute-negative",
        ({"telemetry.keepPerMinute": -1}, (), None),
        ["llm-insights:telemetry.keepPerMinute = -1: must be 0..10000"],
    ),
    (
        "keep-slow-seconds-zero",
        ({"telemetry.keepSlowSeconds": 0}, (), None),
        ["llm-insights:telemetry.keepSlowSeconds = 0: must be > 0 and ≤ 3600"],
    ),
    (
        "bad-email",
        ({"notifications.emails": ["oncall@example.com", "not-an-email"]}, (), None),
        ["llm-insights:notifications.emails", "not-an-email is not an email address"],
    ),
    (
        "bad-image-ref",
        ({"containerApp.image": "My Registry/App:latest!"}, (), None),
        ["llm-insights:containerApp.image = My Registry/App:latest!", "image reference"],
    ),
    (
        "cpu-not-a-consumption-size",
        ({"containerApp.cpu": 0.3}, (), None),
        ["llm-insights:containerApp.cpu = 0.3: must be one of 0.25, 0.5"],
    ),
    (
        "memory-not-twice-cpu",
        ({"containerApp.memory": "8Gi"}, (), None),
        ["llm-insights:containerApp.memory = 8Gi: must be 2Gi for cpu 1"],
    ),
    (
        "replicas-inverted",
        ({"containerApp.minReplicas": 5, "containerApp.maxReplicas": 2}, (), None),
        ["llm-insights:containerApp.maxReplicas = 2: must be ≥ minReplicas (5)"],
    ),
    (
        "container-keys-without-image",
        ({}, ("containerApp.image",), None),
        ["llm-insights:containerApp.cpu is set but llm-insights:containerApp.image is not"],
    ),
    (
        "missing-secret-for-route",
        ({}, (), {"notifications.slackWebhookUrl": "https://hooks.slack.com/services/T/B/x"}),
        [
            "llm-insights:notifications.routes.critical uses pagerduty",
            "llm-insights:notifications.pagerdutyUrl is not set",
            "--secret",
        ],
    ),
    (
        "secret-in-plaintext",
        (
            {"notifications.pagerdutyUrl": PAGERDUTY},
            (),
            {"notifications.slackWebhookUrl": "https://hooks.slack.com/services/T/B/x"},
        ),
        ["llm-insights:notifications.pagerdutyUrl is set in plaintext: must be a secret"],
    ),
    (
        "slack-url-not-slack",
        (
            {},
            (),
            {
                "notifications.pagerdutyUrl": PAGERDUTY,
                "notifications.slackWebhookUrl": "http://evil.example.com/x",
            },
        ),
        ["llm-insights:notifications.slackWebhookUrl = <secret>", "hooks.slack.com"],
    ),
    (
        "unknown-receiver",
        ({"notifications.routes": {"critical": ["teams"], "warning": [], "info": []}}, (), None),
        ["llm-insights:notifications.routes.critical", "unknown receiver 'teams'"],
    ),
    (
        "unknown-route",
        ({"notifications.routes": {"critical": ["slack"], "urgent": ["slack"]}}, (), None),
        ["llm-insights:notifications.routes", "unknown route 'urgent'"],
    ),
    (
        "unknown-alert-rule",
        ({"alerts": {"llm-latency-p95-hihg": {"threshold": 6}}}, (), None),
        ["Pulumi.prod.yaml", "llm-insights:alerts.llm-latency-p95-hihg: unknown rule"],
    ),
    (
        "unknown-alert-field",
        ({"alerts": {"llm-cost-spike": {"thresold": 2}}}, (), None),
        ["Pulumi.prod.yaml", "llm-insights:alerts.llm-cost-spike.thresold: unknown field"],
    ),
    (
        "percentile-threshold-not-a-bucket-bound",
        ({"alerts": {"llm-latency-p95-high": {"threshold": 7}}}, (), None),
        ["Pulumi.prod.yaml", "llm-insights:alerts.llm-latency-p95-high", "bucket bound"],
    ),
    (
        "alerts-not-a-mapping",
        ({"alerts": ["llm-cost-spike"]}, (), None),
        ["llm-insights:alerts", "must be a mapping of rule name"],
    ),
    (
        "missing-location",
        ({}, ("azure-native:location",), None),
        ["Pulumi.prod.yaml: azure-native:location is not set"],
    ),
    (
        "existing-group-without-name",
        ({"resourceGroup.existing": True}, (), None),
        ["llm-insights:resourceGroup.existing = true: needs llm-insights:resourceGroup.name"],
    ),
    (
        "reserved-tag",
        ({"tags": {"environment": "production"}}, (), None),
        ["llm-insights:tags", "tag 'environment' is set by the kit"],
    ),
    (
        "deployment-type-not-an-azure-sku",
        ({"pricing.deployments": {"chat": {"model": "gpt-4o", "type": "PTU"}}}, (), None),
        [
            "llm-insights:pricing.deployments.chat.type = PTU: allowed: GlobalStandard, "
            "DataZoneStandard, Standard, GlobalBatch"
        ],
    ),
    (
        "deployment-model-empty",
        ({"pricing.deployments": {"chat": {"model": "", "type": "Standard"}}}, (), None),
        ["llm-insights:pricing.deployments.chat.model = : must be a model name"],
    ),
    (
        "deployment-unknown-key",
        ({"pricing.deployments": {"chat": {"type": "Standard", "region": "eu"}}}, (), None),
        ["llm-insights:pricing.deployments.chat", "unknown keys ['region']; allowed: model, type"],
    ),
    (
        "deployments-not-a-mapping",
        ({"pricing.deployments": ["chat"]}, (), None),
        ['llm-insights:pricing.deployments = ["chat"]: must be a mapping of deployment name'],
    ),
]


@pytest.mark.parametrize(
    ("changes", "fragments"), [(b[1], b[2]) for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_config_fails_before_any_resource(changes, fragments):
    set_, drop, secrets = changes
    config, secret_values = prod_with(set_, drop, secrets)
    run = harness.run_program("prod", config, secret_values)
    assert isinstance(run.error, pulumi.RunError), repr(run.error)
    message = str(run.error)
    assert message.startswith("Pulumi.prod.yaml: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert run.resources == [], "resources were declared before config was validated"
    for value in secret_values.values():
        assert value not in message, "a secret leaked into the error message"


def test_enough_malformed_configs_are_covered():
    assert len(BAD) >= 10


def test_error_names_the_running_stack():
    config = harness.load_stack_file("dev")
    config[f"{NS}:workspace.retentionInDays"] = 1000
    run = harness.run_program("dev", config, {})
    assert str(run.error) == (
        "Pulumi.dev.yaml: llm-insights:workspace.retentionInDays = 1000: must be 30..730"
    )
    assert run.resources == []


def test_committed_stack_files_parse():
    for stack in harness.STACKS:
        values, secret_keys = harness.engine_config(
            harness.load_stack_file(stack), harness.FAKE_SECRETS[stack]
        )
        cfg = parse_config(values, frozenset(secret_keys), stack)
        assert cfg.stack == cfg.environment == stack
        assert cfg.alert_rules and cfg.workbooks


def test_committed_stack_files_hold_no_secrets_and_only_known_keys():
    known = {f"{NS}:{k.name}" for k in KEYS} | {"azure-native:location"}
    secret_keys = {f"{NS}:{k.name}" for k in KEYS if k.secret}
    for stack in harness.STACKS:
        config = harness.load_stack_file(stack)
        assert set(config) <= known, stack
        assert not set(config) & secret_keys, f"{stack}: secret committed"
        text = (harness.REPO / f"Pulumi.{stack}.yaml").read_text()
        assert "hooks.slack.com" not in text and "pagerduty.com" not in text


def test_pulumi_yaml_documents_every_key():
    """Each key: declared under `config:` (type + description with default) or, for types the
    project schema cannot declare (number/array/object), in the documented comment block."""
    text = (harness.REPO / "Pulumi.yaml").read_text()
    project = yaml.safe_load(text)
    assert project["name"] == NS and project["main"] == "infra/"
    assert project["runtime"]["name"] == "python"
    declared = project["config"]
    for key in KEYS:
        default = key.default_doc if key.default_doc is not None else None
        if key.type in ("string", "integer", "boolean"):
            entry = declared[key.name]
            assert entry["type"] == key.type
            assert entry["description"].startswith(key.description)
            assert "Default: " in entry["description"]
            if default is not None:
                assert default in entry["description"]
            assert "default" not in entry  # defaults live in the program (one source)
            assert entry.get("secret", False) is key.secret
        else:
            line = re.search(
                rf"^#\s+{re.escape(key.name)} \({key.type}, default (.+?)\)", text, re.M
            )
            assert line, f"{key.name} undocumented in Pulumi.yaml"
            assert key.description in text
    assert set(declared) == {k.name for k in KEYS if k.type in ("string", "integer", "boolean")}


def test_the_program_holds_the_kits_settings_with_secrets_as_secret_outputs():
    """StackConfig is the kit's StackSettings with each set secret as Output.secret: no field
    restated or dropped, and no secret reaching a resource as plain text."""
    values, secret_keys = harness.engine_config(
        harness.load_stack_file("prod"), harness.FAKE_SECRETS["prod"]
    )
    cfg = parse_config(values, frozenset(secret_keys), "prod")
    kit = validate(values, frozenset(secret_keys), "prod", deploy=True)
    assert isinstance(cfg, StackSettings)
    for field in fields(StackSettings):
        if field.name != "notifications":
            assert getattr(cfg, field.name) == getattr(kit, field.name), field.name
    got, plain = cfg.notifications, kit.notifications
    assert (got.emails, got.routes) == (plain.emails, plain.routes)
    for output, text in (
        (got.pagerduty_url, plain.pagerduty_url),
        (got.slack_webhook_url, plain.slack_webhook_url),
    ):
        assert text is not None and isinstance(output, pulumi.Output)
        # resolved on the loop Pulumi created them on, as the engine would
        assert _sync_await(output.future()) == text
        assert _sync_await(output.is_secret()) is True
