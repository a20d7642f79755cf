"""Stack files through ``render_context``, the one way to a stack's RenderContext: overrides
read from ``config: llm-insights:alerts``; bad files are KitErrors."""

from __future__ import annotations

import pytest

from llm_insights_kit.errors import KitError
from llm_insights_kit.stack_config.files import render_context


def test_overrides_and_environment(tmp_path):
    path = tmp_path / "Pulumi.qa.yaml"
    path.write_text(
        "config:\n  llm-insights:environment: staging\n"
        "  llm-insights:alerts:\n    llm-error-rate-high: {threshold: 0.01}\n",
        encoding="utf-8",
    )
    ctx = render_context(None, path)
    assert (ctx.stack, ctx.environment, ctx.config_file) == ("qa", "staging", str(path))
    assert ctx.alert_overrides == {"llm-error-rate-high": {"threshold": 0.01}}
    assert render_context("qa", search=[tmp_path]).alert_overrides == ctx.alert_overrides


def test_no_stack_means_the_rules_own_defaults():
    assert render_context(None).alert_overrides == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config: [1]\n", "config: expected a mapping"),
        ("config:\n  llm-insights:alerts: [a]\n", "must be a mapping of rule name → {threshold"),
        ("config: {\n", "not valid YAML"),
    ],
)
def test_bad_stack_files(tmp_path, text, message):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KitError, match=r"Pulumi\.bad\.yaml") as err:
        render_context(None, path)
    assert message in str(err.value)


def test_missing_stack_file(tmp_path):
    with pytest.raises(KitError, match=r"--stack nope: no Pulumi.nope.yaml found"):
        render_context("nope", search=[tmp_path])
