"""``llm-insights render`` and ``llm-insights lint`` from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llm_insights_kit.cli import main
from llm_insights_kit.paths import ALERTS_DIR

STACK = """\
config:
  azure-native:location: westeurope
  llm-insights:dashboards.dailyBudgetUsd: 25
  llm-insights:alerts:
    llm-cost-spike:
      enabled: false
      threshold: 40
"""


@pytest.fixture()
def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(STACK, encoding="utf-8")
    return path


def test_render_writes_workbooks_and_arm_properties(tmp_path, stack_file, capsys):
    out = tmp_path / "build"
    (out / "alerts").mkdir(parents=True)
    (out / "alerts" / "stale-rule.json").write_text("{}", encoding="utf-8")
    assert main(["render", "--stack-file", str(stack_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    workbooks = sorted(p.name for p in (out / "workbooks").glob("*.json"))
    alerts = sorted(p.name for p in (out / "alerts").glob("*.json"))
    assert len(workbooks) == 6 and len(alerts) == 19 and "stale-rule.json" not in alerts
    assert str(out / "workbooks" / "llm-overview.json") in printed
    assert "disabled: llm-cost-spike" in printed
    cost = json.loads((out / "alerts" / "llm-cost-spike.json").read_text(encoding="utf-8"))
    assert cost["enabled"] is False and cost["criteria"]["allOf"][0]["threshold"] == 40.0
    tokens = (out / "workbooks" / "llm-tokens-cost.json").read_text(encoding="utf-8")
    assert json.loads(tokens)["version"] == "Notebook/1.0" and "budget_usd = 25.0" in tokens


def test_render_is_byte_identical_across_runs(tmp_path, stack_file):
    for name in ("a", "b"):
        assert main(["render", "--stack-file", str(stack_file), "--out", str(tmp_path / name)]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.json"))
    assert files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_bad_override_exits_2_naming_the_key(tmp_path, capsys):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(STACK.replace("threshold: 40", "treshold: 40"), encoding="utf-8")
    assert main(["render", "--stack-file", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "llm-insights:alerts.llm-cost-spike.treshold" in err and "allowed: threshold" in err
    assert "Traceback" not in err


def test_bad_budget_exits_2(tmp_path, capsys):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(STACK.replace("dailyBudgetUsd: 25", "dailyBudgetUsd: -3"), encoding="utf-8")
    assert main(["render", "--stack-file", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "dashboards.dailyBudgetUsd = -3" in capsys.readouterr().err


def test_lint_lists_problems_and_exits_1(tmp_path, stack_file, capsys):
    rules = tmp_path / "rules"
    shutil.copytree(ALERTS_DIR, rules, ignore=shutil.ignore_patterns("tests", "fixtures"))
    text = (rules / "cost.yaml").read_text(encoding="utf-8")
    (rules / "cost.yaml").write_text(
        text.replace(
            "{{ k.metric(c.COST) }}",
            '{{ c.TABLE_METRICS }} | where name == "llm_insights.client.costs"',
            1,
        ),
        encoding="utf-8",
    )
    code = main(["lint", "--stack-file", str(stack_file), "--rules-dir", str(rules), "--no-kusto"])
    err = capsys.readouterr().err
    assert code == 1
    assert "rule llm-cost-spike: metric-or-event 'llm_insights.client.costs'" in err
    assert "1 problem(s)" in err


@pytest.mark.kql
def test_lint_passes_on_the_kit(stack_file, capsys, kusto_available):
    assert main(["lint", "--stack-file", str(stack_file)]) == 0
    out = capsys.readouterr().out
    assert "6 workbooks, 19 alert rules" in out and "checked by the Kusto language service" in out
