"""A rule below its minimum volume says so ("below minimum (8 of 10 runs)"), wherever alert
states are shown: ``alerts eval``, the live index, the demo's report; no rule is left out."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.alerts.evaluator import RuleEvaluator
from llm_insights_kit.alerts.fixtures import load_fixture_file
from llm_insights_kit.alerts.synthesis import rows_for_test
from llm_insights_kit.cli import main
from llm_insights_kit.local.live import LiveSite
from llm_insights_kit.local.store import LocalStore
from llm_insights_kit.stack_config.files import render_context

GUARDED = (
    "llm-agent-failure-rate",
    "llm-content-filter-spike",
    "llm-error-rate-critical",
    "llm-error-rate-high",
    "llm-latency-p95-high",
    "llm-latency-p99-critical",
    "llm-retrieval-empty-rate",
    "llm-throttling",
    "llm-token-spike",
    "llm-tool-failure-rate",
    "llm-ttft-slow",
)
AT = datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
# 8 runs of triage in the window, 2 of them failed; the rule needs 10 runs.
EIGHT_RUNS = """\
evaluation_time_origin: 2026-01-01T00:00:00Z
tests:
  - name: eight runs
    series:
      - table: customMetrics
        metric: llm_insights.agent.duration
        dimensions: {gen_ai.agent.name: triage}
        at: [1m, 2m, 3m]
        values: {valueCount: 2, valueSum: 3, cloud_RoleName: triage-agent}
      - table: customMetrics
        metric: llm_insights.agent.duration
        dimensions: {gen_ai.agent.name: triage, error.type: RuntimeError}
        at: [4m]
        values: {valueCount: 2, valueSum: 3, cloud_RoleName: triage-agent}
    expect:
      - {rule: llm-agent-failure-rate, at: 10m, firing: false}
"""


@pytest.fixture(scope="module")
def rules() -> dict:
    return {r.name: r for r in load_rules(render_context("dev"))}


@pytest.fixture
def store(tmp_path: Path):
    path = tmp_path / "fx.yaml"
    path.write_text(textwrap.dedent(EIGHT_RUNS), encoding="utf-8")
    fixture = load_fixture_file(path)
    db = tmp_path / "t.duckdb"
    with LocalStore(db) as s:
        for table, rows in rows_for_test(fixture.tests[0], fixture.origin).items():
            s.insert(table, rows)
    return db


def test_the_rules_minimum_is_read_from_its_query(rules) -> None:
    guard = rules["llm-agent-failure-rate"].volume_guard
    assert guard and (guard.column, guard.minimum, guard.noun) == ("runs", 10, "runs")
    assert "runs >=" not in guard.query  # the query up to the minimum line
    # every rule whose query keeps a minimum volume on one line has it read
    guarded = {name for name, r in rules.items() if r.volume_guard}
    assert guarded == set(GUARDED)
    # the deployed rule is unchanged by it
    assert "volume" not in str(rules["llm-agent-failure-rate"].arm_properties())


def test_below_minimum_says_how_far(rules, store: Path) -> None:
    with LocalStore(store, read_only=True) as s:
        rule = rules["llm-agent-failure-rate"]
        plain = RuleEvaluator(s, rule).run([AT])
        [decision] = RuleEvaluator(s, rule, volume=True).run([AT])
    assert plain == []  # the query alone returns no series: nothing would say why
    assert decision.below_minimum == "below minimum (8 of 10 runs)"
    assert decision.value is None and not decision.firing
    assert decision.why == (
        "llm-agent-failure-rate silent at 2026-01-01 00:10: maximum of failure_rate: below "
        "minimum (8 of 10 runs) (never breaches) (cloud_RoleName=triage-agent, agent=triage)"
    )


def test_alerts_eval_lists_every_rule(rules, store: Path, capsys) -> None:
    code = main(["alerts", "eval", "--stack", "dev", "--db", str(store), "--at", AT.isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "below minimum (8 of 10 runs) (never breaches) (cloud_RoleName=triage-agent, agent=triage)"
        in out
    )
    # a rule without any series is listed too, saying so
    assert (
        "ok      llm-error-rate-high at 2026-01-01 00:10: no data: the query returned no series "
        "over its PT15M window" in out
    )
    lines = [line for line in out.splitlines() if line.startswith(("ok", "FIRING"))]
    assert {line.split()[1] for line in lines} == set(rules)
    assert (
        out.rstrip().endswith(
            "17 rules evaluated at 2026-01-01T00:10:00+00:00: 6 alert instances, 0 firing, "
            "1 below their minimum volume; 11 rules without data"
        )
        or "1 below their minimum volume" in out
    )
    # --json lists every rule too: a rule without series is there with no_data
    args = ["alerts", "eval", "--stack", "dev", "--db", str(store), "--at", AT.isoformat()]
    assert main([*args, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {d["rule"] for d in listed} == set(rules)
    (silent,) = [d for d in listed if d["rule"] == "llm-error-rate-high"]
    assert silent["no_data"] and not silent["firing"] and "no data" in silent["why"]


def test_live_index_shows_below_minimum(rules, store: Path) -> None:
    with LocalStore(store, read_only=True) as s:
        site = LiveSite(s, [], list(rules.values()), stack="dev", token="t", store_label="x")
        page = site.index_html(now=AT)
    row = page.split('data-rule="llm-agent-failure-rate"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">below minimum (8 of 10 runs)</td>' in row


def test_the_demo_report_says_below_minimum(rules, store: Path) -> None:
    from llm_insights_kit.demo.alert_report import evaluate_rules

    with LocalStore(store, read_only=True) as s:
        results = {r.rule.name: r for r in evaluate_rules(s, list(rules.values()), AT)}
    assert results["llm-agent-failure-rate"].state == "below minimum (8 of 10 runs)"
    assert results["llm-error-rate-high"].state == "no data"
    assert results["llm-cost-spike"].state == "disabled"
