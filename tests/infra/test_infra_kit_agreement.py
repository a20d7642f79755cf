"""``pulumi up`` and the kit's commands read a stack file with one validator: same verdict, same
message. Each bad file is given to both readers — the Pulumi program (config as the engine hands
it over) and ``llm-insights render`` — and both must reject it with the identical problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import infra_harness as harness
import pytest
import yaml
from llm_insights_infra.config import parse_config

from llm_insights_kit import cli
from llm_insights_kit.errors import KitError
from llm_insights_kit.stack_config.files import read_stack_file

pytestmark = pytest.mark.pulumi

NS = "llm-insights"

# id -> (changes to the dev stack's config, fragment of the shared message)
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "typo-key": ({f"{NS}:alertz": {}}, f"{NS}:alertz: unknown key; did you mean alerts?"),
    "budget-too-large": (
        {f"{NS}:dashboards.dailyBudgetUsd": 5_000_000},
        f"{NS}:dashboards.dailyBudgetUsd = 5000000: must be > 0 and ≤ 1000000",
    ),
    "budget-nested-form": (
        {f"{NS}:dashboards": {"dailyBudgetUsd": 50}},
        f"{NS}:dashboards: unknown key; did you mean dashboards.dailyBudgetUsd?",
    ),
    "budget-string": (
        {f"{NS}:dashboards.dailyBudgetUsd": "lots"},
        f"{NS}:dashboards.dailyBudgetUsd = lots: must be a number",
    ),
    "retention": (
        {f"{NS}:workspace.retentionInDays": 3},
        f"{NS}:workspace.retentionInDays = 3: must be 30..730",
    ),
    "sampler": (
        {f"{NS}:telemetry.tracesSampler": "always_on"},
        f"{NS}:telemetry.tracesSampler = always_on: must be one of",
    ),
    "alerts-not-mapping": ({f"{NS}:alerts": ["a"]}, f'{NS}:alerts = ["a"]: must be a mapping'),
    "reserved-tag": ({f"{NS}:tags": {"stack": "x"}}, "tag 'stack' is set by the kit"),
    "bad-email": ({f"{NS}:notifications.emails": ["nope"]}, "nope is not an email address"),
    "cpu": (
        {f"{NS}:containerApp.image": "app:1", f"{NS}:containerApp.cpu": 3.3},
        f"{NS}:containerApp.cpu = 3.3: must be one of",
    ),
    "plaintext-secret": (
        {f"{NS}:notifications.slackWebhookUrl": "https://hooks.slack.com/x"},
        f"{NS}:notifications.slackWebhookUrl is set in plaintext: must be a secret",
    ),
    "bad-region": ({"azure-native:location": "West Europe"}, "must be an Azure region name"),
    "deployment-type": (
        {f"{NS}:pricing.deployments": {"chat-eu": {"model": "gpt-4o", "type": "DZ"}}},
        f"{NS}:pricing.deployments.chat-eu.type = DZ: allowed: GlobalStandard, DataZoneStandard",
    ),
    "override-unknown-rule": (
        {f"{NS}:alerts": {"llm-nope": {"threshold": 1}}},
        "llm-nope",
    ),
}

# overrides are checked against the rules when they are rendered (render, lint, pulumi up)
CHECKED_BY_RENDERERS = {"override-unknown-rule"}


def _write(tmp: Path, changes: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    config = {**harness.load_stack_file("dev"), **changes}
    path = tmp / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=True), encoding="utf-8")
    return path, config


def _infra_problem(config: dict[str, Any]) -> str:
    values, secret = harness.engine_config(config)
    with pytest.raises(KitError) as info:
        parse_config(values, set(secret), "dev")
    return str(info.value)


@pytest.mark.parametrize("case", sorted(BAD))
def test_pulumi_and_render_reject_alike(case: str, tmp_path: Path, capsys) -> None:
    changes, fragment = BAD[case]
    path, config = _write(tmp_path, changes)
    infra = _infra_problem(config)
    assert infra.startswith("Pulumi.dev.yaml: ") and fragment in infra, infra
    if case not in CHECKED_BY_RENDERERS:
        with pytest.raises(KitError) as kit:
            read_stack_file(path)
        # the kit names the file as given, pulumi by its name; the problem is the same text
        assert str(kit.value) == f"{path.parent}/{infra}"
    code = cli.main(["render", "--stack-file", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and infra.removeprefix("Pulumi.dev.yaml: ") in err, err


@pytest.mark.parametrize("stack", harness.STACKS)
def test_committed_stacks_read_alike(stack: str) -> None:
    """Every committed stack: the kit's settings are the program's (secrets aside)."""
    config = harness.load_stack_file(stack)
    values, secret = harness.engine_config(config, harness.FAKE_SECRETS.get(stack, {}))
    program = parse_config(values, set(secret), stack)
    kit = read_stack_file(harness.REPO / f"Pulumi.{stack}.yaml")
    for name in ("environment", "location", "protect", "extra_tags", "resource_group",
                 "workspace", "app_insights", "telemetry", "container_apps",
                 "daily_budget_usd", "alert_overrides"):  # fmt: skip
        assert getattr(kit, name) == getattr(program, name), name
    assert kit.render_context().alert_overrides == program.render_context().alert_overrides


def test_demo_app_gets_the_container_apps_telemetry_settings() -> None:
    """The local demo runs the app with exactly the plain settings the Container App gets."""
    from llm_insights_infra.container_app import plain_env

    from llm_insights_kit.demo.runner import app_environment
    from llm_insights_kit.fake_openai.server import FakeOpenAI
    from llm_insights_kit.local.ingest import IngestServer

    config = harness.load_stack_file("prod")
    values, secret = harness.engine_config(config, harness.FAKE_SECRETS["prod"])
    cfg = parse_config(values, set(secret), "prod")
    with FakeOpenAI() as fake_openai, IngestServer() as ingest:
        demo = app_environment(fake_openai, ingest, cfg.render_context())
    container = dict(plain_env(cfg.environment, cfg.container_apps[0]))
    assert container and {k: demo.get(k) for k in container} == container


NAMED_IN_THE_CONTRACT = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING", "LLM_INSIGHTS_ENVIRONMENT", "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
    "deployment.environment", "deployment.environment.name",
)  # fmt: skip


# The OpenTelemetry settings the kit hands an app (the SDK never reads them) have their one home
# in the kit, beside the contract.
APP_ENV = harness.REPO / "src" / "llm_insights_kit" / "app_env.py"


def test_env_and_resource_names_are_not_retyped() -> None:
    """Env var and resource attribute names live in the contract (or, for the settings the kit
    hands an app, in ``llm_insights_kit.app_env``); kit and infra import them."""
    offenders = []
    for root in (harness.REPO / "src" / "llm_insights_kit", harness.REPO / "infra"):
        for path in sorted(root.rglob("*.py")):
            if path == APP_ENV:
                continue
            text = path.read_text(encoding="utf-8")
            for name in NAMED_IN_THE_CONTRACT:
                for quote in ('"', "'"):
                    if f"{quote}{name}{quote}" in text or f"{quote}{name}=" in text:
                        offenders.append(f"{path.relative_to(harness.REPO)}: {name}")
    assert offenders == []
