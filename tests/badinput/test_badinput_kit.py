"""Malformed kit inputs (stack config, alert YAML, workbook templates) through the public entry
points: the CLI answers each with exit 2 and one line naming the file and the key or field,
never a traceback; the bad input is never silently dropped."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llm_insights_kit import cli
from llm_insights_kit.paths import ALERTS_DIR

ERRORS_RULES = ALERTS_DIR / "errors.yaml"
FIRST_RULE = "llm-error-rate-high"


def _rules() -> dict:
    return yaml.safe_load(ERRORS_RULES.read_text(encoding="utf-8"))


def rules_dir(tmp: Path, mutate: Callable[[dict], None] | None = None, text: bytes | None = None):
    """A rules directory holding errors.yaml, changed by *mutate* (or replaced by *text*)."""
    d = tmp / "rules"
    d.mkdir()
    path = d / "errors.yaml"
    if text is not None:
        path.write_bytes(text)
    else:
        data = _rules()
        if mutate:
            mutate(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return d


def first(field: str, value: object) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        data["rules"][0][field] = value

    return mutate


def drop(field: str) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        data["rules"][0].pop(field, None)

    return mutate


def stack_file(tmp: Path, config: object = None, text: bytes | None = None) -> Path:
    path = tmp / "Pulumi.bad.yaml"
    if text is not None:
        path.write_bytes(text)
    else:
        path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.err + out.out


BUDGET = "llm-insights:dashboards.dailyBudgetUsd"
ALERTS = "llm-insights:alerts"

# id -> (builder(tmp) -> argv tail, fragments the message must contain)
STACK_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    # stack files are validated by the Pulumi program's schema: the messages pulumi up gives
    "budget-negative": (lambda t: stack_file(t, {BUDGET: -5}), (f"{BUDGET} = -5", "must be > 0")),
    "budget-string": (lambda t: stack_file(t, {BUDGET: "lots"}), (f"{BUDGET} = lots", "number")),
    "budget-too-large": (
        lambda t: stack_file(t, {BUDGET: 5_000_000}),
        (f"{BUDGET} = 5000000", "≤ 1000000"),
    ),
    "budget-nested-form": (
        lambda t: stack_file(t, {"llm-insights:dashboards": {"dailyBudgetUsd": 50}}),
        ("llm-insights:dashboards: unknown key", "did you mean dashboards.dailyBudgetUsd"),
    ),
    "typo-key": (
        lambda t: stack_file(t, {"llm-insights:alertz": {}}),
        ("llm-insights:alertz: unknown key", "did you mean alerts"),
    ),
    "empty-file": (lambda t: stack_file(t, text=b""), ("expected a Pulumi stack file",)),
    "top-level-list": (lambda t: stack_file(t, text=b"- a\n- b\n"), ("got a list",)),
    "budget-nan": (
        lambda t: stack_file(t, text=b"config:\n  " + BUDGET.encode() + b": .nan\n"),
        (BUDGET, "nan"),
    ),
    "budget-bool": (lambda t: stack_file(t, {BUDGET: True}), (f"{BUDGET} = true", "number")),
    "yaml-syntax": (lambda t: stack_file(t, text=b"config: {a: [1, 2\n"), ("not valid YAML",)),
    "config-not-mapping": (lambda t: stack_file(t, ["a", "b"]), ("config",)),
    "override-unknown-rule": (
        lambda t: stack_file(t, {ALERTS: {"llm-nope": {"threshold": 1}}}),
        ("llm-nope", "unknown rule"),
    ),
    "override-bad-severity": (
        lambda t: stack_file(t, {ALERTS: {FIRST_RULE: {"severity": 9}}}),
        (FIRST_RULE, "severity", "0-4"),
    ),
    "override-unknown-field": (
        lambda t: stack_file(t, {ALERTS: {FIRST_RULE: {"thresold": 0.1}}}),
        (FIRST_RULE, "thresold"),
    ),
    "override-bad-window": (
        lambda t: stack_file(t, {ALERTS: {FIRST_RULE: {"windowSize": "PT7M"}}}),
        (FIRST_RULE, "windowSize", "PT5M"),
    ),
    "not-utf8": (lambda t: stack_file(t, text=b"config:\n  x: \xff\xfe\n"), ("Pulumi.bad.yaml",)),
    "missing-file": (lambda t: t / "Pulumi.gone.yaml", ("Pulumi.gone.yaml",)),
}


@pytest.mark.parametrize("case", sorted(STACK_CASES))
def test_bad_stack_config(case: str, tmp_path: Path, capsys) -> None:
    build, fragments = STACK_CASES[case]
    path = build(tmp_path)
    code, msg = run_cli(
        ["render", "--stack-file", str(path), "--out", str(tmp_path / "out")], capsys
    )
    assert code == 2, msg
    assert "Traceback" not in msg
    assert path.name in msg, msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.json"))


def _dup(data: dict) -> None:
    data["rules"].append(dict(data["rules"][0]))


def _dimensions(data: dict) -> None:
    data["rules"][0]["dimensions"] = [
        {"name": f"d{i}", "operator": "Include", "values": ["*"]} for i in range(7)
    ]


def _mute_and_mitigate(data: dict) -> None:
    data["rules"][0]["muteActionsDuration"] = "PT30M"
    data["rules"][0]["autoMitigate"] = True


def _failing(data: dict) -> None:
    data["rules"][0]["failingPeriods"] = {
        "numberOfEvaluationPeriods": 2,
        "minFailingPeriodsToAlert": 3,
    }


def _count_with_column(data: dict) -> None:
    data["rules"][0]["timeAggregation"] = "Count"
    data["rules"][0]["metricMeasureColumn"] = "error_rate"


def _window(data: dict) -> None:
    data["rules"][0]["evaluationFrequency"] = "PT5M"
    data["rules"][0]["windowSize"] = "PT1M"


RULE_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "severity-7": (lambda t: rules_dir(t, first("severity", 7)), ("severity = 7", "0-4")),
    "frequency-PT2M": (
        lambda t: rules_dir(t, first("evaluationFrequency", "PT2M")),
        ("evaluationFrequency", "PT2M", "PT5M"),
    ),
    "window-PT1M-with-PT5M": (lambda t: rules_dir(t, _window), ("windowSize", "PT1M")),
    "missing-query": (lambda t: rules_dir(t, drop("query")), ("query", "required")),
    "missing-threshold": (lambda t: rules_dir(t, drop("threshold")), ("threshold", "required")),
    "count-with-measure-column": (
        lambda t: rules_dir(t, _count_with_column),
        ("metricMeasureColumn", "Count"),
    ),
    "operator-unknown": (
        lambda t: rules_dir(t, first("operator", "Bigger")),
        ("operator", "Bigger", "GreaterThan"),
    ),
    "seven-dimensions": (lambda t: rules_dir(t, _dimensions), ("dimensions", "6")),
    "mute-with-automitigate": (
        lambda t: rules_dir(t, _mute_and_mitigate),
        ("muteActionsDuration", "autoMitigate"),
    ),
    "failing-periods": (
        lambda t: rules_dir(t, _failing),
        ("minFailingPeriodsToAlert", "numberOfEvaluationPeriods"),
    ),
    "threshold-string": (lambda t: rules_dir(t, first("threshold", "high")), ("threshold",)),
    "threshold-nan": (lambda t: rules_dir(t, first("threshold", float("nan"))), ("threshold",)),
    "unknown-field": (lambda t: rules_dir(t, first("treshold", 1)), ("treshold",)),
    "unknown-route": (lambda t: rules_dir(t, first("route", "pager")), ("route", "pager")),
    "duplicate-name": (lambda t: rules_dir(t, _dup), (FIRST_RULE,)),
    "template-undefined-macro": (
        lambda t: rules_dir(t, first("query", "{{ k.no_such_macro() }}")),
        ("query", "no_such_macro"),
    ),
    "template-syntax": (
        lambda t: rules_dir(t, first("query", "customMetrics | {% if %}")),
        ("query", "template error"),
    ),
    "yaml-syntax": (lambda t: rules_dir(t, text=b"rules:\n  - name: [x\n"), ("not valid YAML",)),
    "rules-not-list": (lambda t: rules_dir(t, text=b"rules: 3\n"), ("rules",)),
    "not-utf8": (lambda t: rules_dir(t, text=b"rules:\n  - name: \xff\n"), ()),
}


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_bad_alert_rule(case: str, tmp_path: Path, capsys) -> None:
    build, fragments = RULE_CASES[case]
    d = build(tmp_path)
    code, msg = run_cli(["render", "--rules-dir", str(d), "--out", str(tmp_path / "out")], capsys)
    assert code == 2, msg
    assert "Traceback" not in msg
    assert "errors.yaml" in msg, msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


# -- workbook templates: the renderer over a copy of dashboards/ with one broken workbook ------
def _dashboards_copy(tmp: Path, name: str, body: str, monkeypatch) -> None:
    from llm_insights_kit import paths
    from llm_insights_kit.kql import templates

    root = tmp / "dashboards"
    shutil.copytree(paths.TEMPLATES_DIR, root)
    (root / "workbooks" / f"{name}.json.j2").write_text(body, encoding="utf-8")
    original = templates.environment
    monkeypatch.setattr(templates, "environment", lambda root_=root: original(root_))


WORKBOOK_CASES = {
    "jinja-syntax": ("{% for x in %}", "template error"),
    "undefined-name": ("{{ c.NO_SUCH_METRIC }}", "NO_SUCH_METRIC"),
    "not-json": ("this is not json", "did not render to JSON"),
    "no-meta": ('{"version": "Notebook/1.0", "items": []}', "wb.notebook"),
}


@pytest.mark.parametrize("case", sorted(WORKBOOK_CASES))
def test_bad_workbook_template(case: str, tmp_path: Path, monkeypatch) -> None:
    from llm_insights_kit.artifacts import RenderContext
    from llm_insights_kit.dashboards.render import render_workbook
    from llm_insights_kit.errors import KitError

    body, fragment = WORKBOOK_CASES[case]
    _dashboards_copy(tmp_path, "broken", body, monkeypatch)
    with pytest.raises(KitError) as info:
        render_workbook("broken", RenderContext())
    msg = str(info.value)
    assert "workbooks/broken.json.j2" in msg, msg
    assert fragment in msg, msg


def _notebook(items: list[dict]) -> str:
    import json

    return json.dumps({"version": "Notebook/1.0", "items": items})


def _query_item(name: str, query: str) -> dict:
    return {
        "type": 3,
        "name": name,
        "content": {
            "version": "KqlItem/1.0",
            "query": query,
            "queryType": 0,
            "resourceType": "microsoft.insights/components",
            "visualization": "table",
        },
    }


LINT_CASES = {
    "hardcoded-subscription": (
        [
            _query_item(
                "q1",
                "customMetrics // /subscriptions/11111111-2222-3333-4444-555555555555/x",
            )
        ],
        "subscriptions",
    ),
    "unnamed-step": ([{**_query_item("", "customMetrics"), "name": ""}], "name"),
    "too-long-query": ([_query_item("q1", "customMetrics\n" + "| take 1\n" * 400)], "3000"),
    "too-many-queries": ([_query_item(f"q{i}", "customMetrics") for i in range(41)], "40"),
}


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_workbook_lint_names_the_problem(case: str) -> None:
    from llm_insights_kit.dashboards.lint import lint_workbook

    items, fragment = LINT_CASES[case]
    problems = lint_workbook("bad-workbook", _notebook(items))
    text = "\n".join(str(p) for p in problems)
    assert problems, f"{case}: no lint problem reported"
    assert fragment in text.replace(",", ""), text
    assert "bad-workbook" in text, text


# -- files and directories the CLI is pointed at: a clear exit 2, never an OSError traceback ---
def _a_file(tmp: Path) -> Path:
    path = tmp / "a-file"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


PATH_CASES: dict[str, tuple[Callable[[Path], list[str]], tuple[str, ...]]] = {
    "render-out-is-a-file": (
        lambda t: ["render", "--out", str(_a_file(t))],
        ("--out", "cannot create the output directory"),
    ),
    "render-out-under-a-file": (
        lambda t: ["render", "--out", str(_a_file(t) / "sub")],
        ("--out", "cannot create the output directory"),
    ),
    "demo-out-is-a-file": (
        lambda t: ["demo", "--plain", "--no-previews", "--out", str(_a_file(t))],
        ("--out", "cannot create the output directory"),
    ),
    "preview-out-is-a-file": (
        lambda t: ["preview", "--db", str(_store(t)), "--out", str(_a_file(t))],
        ("--out", "cannot create the output directory"),
    ),
    "serve-db-under-a-file": (
        lambda t: ["serve", "--port", "0", "--db", str(_a_file(t) / "sub" / "t.duckdb")],
        ("--db", "cannot create the directory of the local store"),
    ),
    "alerts-test-fixture-not-utf8": (
        lambda t: ["alerts", "test", str(_bytes(t / "f.yaml", b"tests:\n  - name: \xff\xfe\n"))],
        ("f.yaml", "not UTF-8"),
    ),
    "alerts-test-fixture-bad-yaml": (
        lambda t: ["alerts", "test", str(_bytes(t / "f.yaml", b"tests: [\n  - a: {\n"))],
        ("f.yaml", "not valid YAML at line", "column"),
    ),
}


def _store(tmp: Path) -> Path:
    from llm_insights_kit.local.store import LocalStore

    path = tmp / "store.duckdb"
    LocalStore(path).close()
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(PATH_CASES))
def test_bad_paths(case: str, tmp_path: Path, capsys) -> None:
    build, fragments = PATH_CASES[case]
    code, msg = run_cli(build(tmp_path), capsys)
    assert code == 2, msg
    assert "Traceback" not in msg
    assert len(msg.strip().splitlines()) == 1, msg  # one line, not a dump
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


# -- messages: one line that says what is accepted -------------------------------------------
def _store_argv(tmp: Path, *extra: str) -> list[str]:
    return ["alerts", "eval", "--db", str(_store(tmp)), "--at", "2026-01-01T00:15:00Z", *extra]


MESSAGE_CASES: dict[str, tuple[Callable[[Path], list[str]], tuple[str, ...]]] = {
    "since-garbage": (
        lambda t: _store_argv(t, "--since", "garbage"),
        ("--since garbage", "ISO 8601", "or a duration such as 30m, 1h, 1h30m"),
    ),
    "since-beyond-retention": (
        lambda t: _store_argv(t, "--since", "99999d"),
        ("--since 99999d: longer than 30d, the stack's workspace retention",),
    ),
    "since-after-at": (
        lambda t: _store_argv(t, "--since", "2026-01-02T00:00:00Z"),
        ("--since: 2026-01-02T00:00:00+00:00 is not before 2026-01-01T00:15:00+00:00",),
    ),
    "stack-file-bad-yaml": (
        lambda t: ["render", "--stack-file", str(stack_file(t, text=b"config: {a: [1, 2\n"))],
        ("Pulumi.bad.yaml: not valid YAML at line 2, column 1:",),
    ),
}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
def test_messages_say_what_is_accepted(case: str, tmp_path: Path, capsys) -> None:
    build, fragments = MESSAGE_CASES[case]
    code, msg = run_cli(build(tmp_path), capsys)
    assert code == 2 and "Traceback" not in msg, msg
    assert len(msg.strip().splitlines()) == 1, msg  # not PyYAML's multi-line dump
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


def test_missing_stack_names_each_place_looked_once(tmp_path: Path, capsys, monkeypatch) -> None:
    from llm_insights_kit.paths import KIT_ROOT

    monkeypatch.chdir(KIT_ROOT)  # the current directory is also the kit checkout
    code, msg = run_cli(["render", "--stack", "nope", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "no Pulumi.nope.yaml found" in msg, msg
    looked = msg.split("looked in ", 1)[1].rstrip().rstrip(")").split(", ")
    assert len(looked) == len(set(looked)) == 1, msg
