"""What a stack keeps whatever its trace sampler drops (``telemetry.keepPerMinute``,
``telemetry.keepSlowSeconds``): from the stack file to the app's environment, one path for the
Container App and the local demo."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from llm_insights import contract as c

from llm_insights_kit.stack_config.files import read_stack_file
from llm_insights_kit.stack_config.schema import LATENCY_RULE, app_telemetry_env

ROOT = Path(__file__).resolve().parents[2]


def _env(path: Path) -> dict[str, str]:
    settings = read_stack_file(path)
    return app_telemetry_env(settings.environment, settings.telemetry)


@pytest.mark.parametrize(("stack", "slow"), [("dev", "5"), ("staging", "6"), ("prod", "4")])
def test_slow_threshold_is_the_stacks_latency_alert_threshold(stack: str, slow: str) -> None:
    env = _env(ROOT / f"Pulumi.{stack}.yaml")
    assert env[c.ENV_KEEP_SLOW_SECONDS] == slow
    assert env[c.ENV_KEEP_PER_MINUTE] == str(c.DEFAULT_KEEP_PER_MINUTE)


def test_explicit_settings_win(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.qa.yaml"
    path.write_text(
        "config:\n"
        "  llm-insights:telemetry.keepPerMinute: 0\n"
        "  llm-insights:telemetry.keepSlowSeconds: 2.5\n"
        f"  llm-insights:alerts:\n    {LATENCY_RULE}: {{threshold: 8}}\n",
        encoding="utf-8",
    )
    env = _env(path)
    assert (env[c.ENV_KEEP_PER_MINUTE], env[c.ENV_KEEP_SLOW_SECONDS]) == ("0", "2.5")


def test_sdk_default_is_the_latency_rules_default() -> None:
    """An app without a stack keeps calls slower than what the latency alert calls slow."""
    rules = yaml.safe_load((ROOT / "alerts" / "latency.yaml").read_text())["rules"]
    (rule,) = [r for r in rules if r["name"] == LATENCY_RULE]
    assert rule["threshold"] == c.DEFAULT_KEEP_SLOW_SECONDS
