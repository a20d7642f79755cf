"""``llm-insights alerts test|eval`` end to end: exit codes, diffs, stacks, user rules."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from llm_insights_kit.cli import main
from llm_insights_kit.local.store import LocalStore
from llm_insights_kit.paths import KIT_ROOT

from .conftest import minutes

ERRORS_3PCT = """\
evaluation_time_origin: 2026-01-01T00:00:00Z
tests:
  - name: three percent errors
    series:
      - table: customMetrics
        metric: gen_ai.client.operation.duration
        dimensions: {gen_ai.request.model: gpt-4o}
        every: 1m
        to: 15m
        values: {valueCount: 97, valueSum: 116, cloud_RoleName: chat-api}
      - table: customMetrics
        metric: gen_ai.client.operation.duration
        dimensions: {gen_ai.request.model: gpt-4o, error.type: "500"}
        every: 1m
        to: 15m
        values: {valueCount: 3, valueSum: 1, cloud_RoleName: chat-api}
    expect:
      - {rule: llm-error-rate-high, at: 15m, firing: EXPECTED, value_between: [0.03, 0.03]}
"""


def _fixture(tmp_path: Path, text: str, name: str = "fx.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_wrong_expectation_fails_with_a_readable_diff(tmp_path, capsys):
    path = _fixture(tmp_path, ERRORS_3PCT.replace("EXPECTED", "true"))
    assert main(["alerts", "test", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {path}: three percent errors" in out
    assert "expect[0] llm-error-rate-high at 15m (2026-01-01 00:15): FAILED" in out
    assert "expected: firing=true, value in [0.03, 0.03]" in out
    assert (
        "got:      llm-error-rate-high silent at 2026-01-01 00:15: maximum of error_rate 0.03 "
        "<= 0.05 (cloud_RoleName=chat-api, model=gpt-4o)" in out
    )
    assert "problem:  expected firing, but no matching instance fired" in out
    assert out.rstrip().endswith("(1 rule queries)") and "1 tests FAILED" in out


def test_a_series_that_matches_nothing_lists_the_instances(tmp_path, capsys):
    text = ERRORS_3PCT.replace("firing: EXPECTED,", "firing: false, series: {model: gpt-5},")
    assert main(["alerts", "test", str(_fixture(tmp_path, text))]) == 1
    out = capsys.readouterr().out
    assert "got:      no instance with these dimension values; instances:" in out
    assert "llm-error-rate-high silent at 2026-01-01 00:15: maximum of error_rate 0.03" in out
    assert "problem:  expected value in [0.03, 0.03], but the query returned no matching" in out


def test_prod_stack_changes_the_decision(tmp_path, capsys):
    silent = _fixture(tmp_path, ERRORS_3PCT.replace("EXPECTED", "false"))
    assert main(["alerts", "test", str(silent)]) == 0
    assert main(["alerts", "test", "--stack", "prod", str(silent)]) == 1
    out = capsys.readouterr().out
    assert "[stack prod]" in out and "error_rate 0.03 > 0.02" in out
    firing = _fixture(tmp_path, ERRORS_3PCT.replace("EXPECTED", "true"), "firing.yaml")
    prod_file = KIT_ROOT / "Pulumi.prod.yaml"
    assert main(["alerts", "test", "--stack-file", str(prod_file), str(firing)]) == 0


def test_json_output(tmp_path, capsys):
    path = _fixture(tmp_path, ERRORS_3PCT.replace("EXPECTED", "false"))
    assert main(["alerts", "test", "--json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    (test,) = data["tests"]
    (case,) = test["cases"]
    assert data["ok"] and case["ok"] and case["instances"][0]["value"] == pytest.approx(0.03)
    assert data["coverage"]["llm-error-rate-high"] == {"firing": 0, "silent": 1}


def test_require_coverage_fails_rules_without_both_cases(tmp_path, capsys):
    path = _fixture(tmp_path, ERRORS_3PCT.replace("EXPECTED", "false"))
    assert main(["alerts", "test", "--require-coverage", str(path)]) == 1
    out = capsys.readouterr().out
    assert "COVERAGE  llm-error-rate-high: no passing firing case" in out
    assert "COVERAGE  llm-cost-spike: no passing firing or silent case" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("llm-error-rate-high", "llm-error-rate-hgh"),
            "test 'three percent errors': expect[0].rule = 'llm-error-rate-hgh': no such rule "
            "(did you mean 'llm-error-rate-high'?)",
        ),
        (("at: 15m", "at: 7m"), "expect[0].at = 7m: not an evaluation time of llm-error-rate-high"),
        (("gen_ai.request.model: gpt-4o}", "gen_ai.request.modle: gpt-4o}"), "modle"),
        (
            ("firing: false,", "firing: false, series: {modle: gpt-4o},"),
            "expect[0].series.modle: not a dimension of llm-error-rate-high; "
            "its dimensions: cloud_RoleName, model",
        ),
    ],
)
def test_bad_fixtures_exit_2_without_traceback(tmp_path, capsys, change, message):
    path = _fixture(tmp_path, ERRORS_3PCT.replace("EXPECTED", "false").replace(*change))
    assert main(["alerts", "test", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and message in err
    assert "Traceback" not in err


USER_RULES = """\
rules:
  - name: shop-tool-failures
    displayName: Shop tool failures
    description: A checkout tool failed at least 3 times in 10 minutes.
    severity: 3
    route: info
    evaluationFrequency: PT5M
    windowSize: PT10M
    query: |
      {{ c.TABLE_LLM_SPANS }}
      | where {{ k.dim(c.GEN_AI_OPERATION_NAME) }} == {{ c.OPERATION_EXECUTE_TOOL | kql_string }}
      | where success == false
      | project tool = {{ k.dim(c.GEN_AI_TOOL_NAME) }}
    timeAggregation: Count
    operator: GreaterThanOrEqual
    threshold: 3
    dimensions:
      - {name: tool, operator: Exclude, values: [debug_echo]}
    autoMitigate: true
"""

USER_TESTS = """\
rule_files: [../rules]
tests:
  - name: a failing tool fires, an excluded one never does
    series:
      - table: dependencies
        dimensions: {gen_ai.operation.name: execute_tool, gen_ai.tool.name: get_price}
        values: {name: execute_tool get_price, success: false}
        at: [1m, 2m, 3m]
      - table: dependencies
        dimensions: {gen_ai.operation.name: execute_tool, gen_ai.tool.name: debug_echo}
        values: {name: execute_tool debug_echo, success: false}
        at: 1m
        count: 10
      - table: dependencies
        dimensions: {gen_ai.operation.name: execute_tool, gen_ai.tool.name: get_stock}
        values: {name: execute_tool get_stock, success: false}
        at: [1m, 2m]
    expect:
      - {rule: shop-tool-failures, at: 5m, firing: true, series: {tool: get_price}}
      - {rule: shop-tool-failures, at: 5m, firing: false, series: {tool: get_stock},
         value_between: [2, 2]}
      - {rule: shop-tool-failures, at: 5m, firing: false, series: {tool: debug_echo}}
      - {rule: shop-tool-failures, at: 15m, firing: false, event: resolved}
"""


def test_users_test_their_own_rules(tmp_path, capsys):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yaml").write_text(USER_RULES, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    path = _fixture(tmp_path / "tests", USER_TESTS)
    assert main(["alerts", "test", "-v", str(path)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "shop-tool-failures fired at 2026-01-01 00:05: row count 3 >= 3 (tool=get_price)" in out


def test_eval_on_a_store_file(tmp_path, capsys):
    db = tmp_path / "local.duckdb"
    with LocalStore(db) as store:
        store.insert(
            "customMetrics",
            [
                {
                    "timestamp": minutes(m),
                    "name": "gen_ai.client.operation.duration",
                    "valueSum": 10.0,
                    "valueCount": 10,
                    "customDimensions": {"gen_ai.request.model": "gpt-4o", "error.type": err},
                    "cloud_RoleName": "chat-api",
                }
                for m in range(15)
                for err in ("", "500")
            ],
        )
    args = ["alerts", "eval", "--db", str(db), "--at", "2026-01-01T00:15:00Z"]
    assert main([*args, "--rule", "llm-error-rate-high", "--rule", "llm-throttling"]) == 0
    out = capsys.readouterr().out
    assert (
        "FIRING  llm-error-rate-high fired at 2026-01-01 00:15: maximum of error_rate 0.5 > 0.05 "
        "(cloud_RoleName=chat-api, model=gpt-4o)" in out
    )
    assert "ok      llm-throttling silent at 2026-01-01 00:15" in out
    assert main([*args, "--since", "30m", "--json", "--rule", "llm-error-rate-high"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["firing"] and result["event"] is None  # fired at 00:05, still firing
    assert main([*args, "--rule", "nope"]) == 2
    assert "--rule nope: no such rule" in capsys.readouterr().err


UNION_RULE = """\
rules:
  - name: shop-union
    description: Rows of two tables (Azure rejects union in log search alerts).
    severity: 3
    route: info
    evaluationFrequency: PT5M
    windowSize: PT5M
    query: |
      union customMetrics, customEvents
      | summarize n = count()
    timeAggregation: Maximum
    metricMeasureColumn: n
    operator: GreaterThan
    threshold: 0
"""


def test_a_rule_azure_would_reject_is_rejected_by_test_and_eval(tmp_path, capsys):
    """Never evaluated "our way": both commands exit 2 naming the rule, constraint and source."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yaml").write_text(UNION_RULE, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    tests = USER_TESTS.replace("shop-tool-failures", "shop-union")
    path = _fixture(tmp_path / "tests", tests)
    db = tmp_path / "local.duckdb"
    LocalStore(db).close()
    runs = [
        ["alerts", "test", str(path)],
        ["alerts", "eval", "--db", str(db), "--at", "2026-01-01T00:15:00Z", "--rules",
         str(tmp_path / "rules")],
    ]  # fmt: skip
    for args in runs:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "shop.yaml: rule shop-union: query = " in err and "Traceback" not in err
        assert "[Azure constraint no-search-union; source: " in err and "alerts-log-query.md" in err


INF_RULE = """\
rules:
  - name: shop-inf
    description: A measure that is infinite for a series with data.
    severity: 3
    route: info
    evaluationFrequency: PT5M
    windowSize: PT5M
    query: |
      customMetrics
      | summarize n = count()
      | extend ratio = iff(n > 0, real(+inf), 0.0)
    timeAggregation: Maximum
    metricMeasureColumn: ratio
    operator: GreaterThan
    threshold: 0
"""
INF_TESTS = """\
rule_files: [../rules]
tests:
  - name: one row
    series:
      - {table: customMetrics, metric: gen_ai.client.operation.duration, at: 1m,
         values: {valueCount: 1}}
    expect:
      - {rule: shop-inf, at: 5m, firing: true}
"""


def test_an_infinite_measure_is_warned_about(tmp_path, capsys):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yaml").write_text(INF_RULE, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    assert main(["alerts", "test", str(_fixture(tmp_path / "tests", INF_TESTS))]) == 0
    out = capsys.readouterr().out
    assert "warning: shop-inf returned measure inf (no dimensions, period ending" in out
    assert "undocumented" in out


def test_a_rule_the_stack_disables_is_skipped_with_its_key(tmp_path, capsys):
    """dev switches llm-token-spike off: its cases are skipped, naming the key, never failed."""
    path = _fixture(
        tmp_path,
        """\
        evaluation_time_origin: 2026-01-01T00:00:00Z
        tests:
          - name: runaway prompts
            series:
              - table: customMetrics
                metric: gen_ai.client.token.usage
                dimensions: {gen_ai.request.model: gpt-4o, gen_ai.token.type: input}
                every: 5m
                to: 1h
                values: {valueCount: 10, valueSum: 125000}
            expect:
              - {rule: llm-token-spike, at: 1h, firing: true}
        """,
    )
    assert main(["alerts", "test", "--stack", "dev", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        f"SKIP  {path}: runaway prompts [stack dev]  (disabled by Pulumi.dev.yaml: "
        "llm-insights:alerts.llm-token-spike.enabled = false)" in out
    )
    assert "(0 failed, 1 skipped: llm-token-spike disabled in this stack): all passed" in out
    # without the stack the same case runs (and the rule fires)
    assert main(["alerts", "test", str(path)]) == 0
    assert "PASS" in capsys.readouterr().out
