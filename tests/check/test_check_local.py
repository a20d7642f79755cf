"""``llm-insights check --local``: the same checks as on Azure, end to end on a local store file.

The panels must read as ``preview`` reads them and the rules as ``alerts eval``/the demo's table
decide them (one panel runner, one evaluator); a broken panel query, a rule that can never fire
and a metric that never arrives each get a clear message.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dashboards.telemetry import populate
from llm_insights import contract

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.artifacts import WorkbookArtifact
from llm_insights_kit.check import open_local, run_check
from llm_insights_kit.check.outputs import read_outputs
from llm_insights_kit.check.rules import schedule
from llm_insights_kit.cli import main
from llm_insights_kit.dashboards import render_workbooks
from llm_insights_kit.dashboards.workbook import ITEM_QUERY
from llm_insights_kit.demo.alert_report import evaluate_rules
from llm_insights_kit.errors import KitError
from llm_insights_kit.local.preview import data_time_range, render_previews
from llm_insights_kit.local.store import LocalStore
from llm_insights_kit.stack_config.files import render_context

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIMES = [T0 + timedelta(minutes=m) for m in (0, 4, 8)]


def _store(path: Path) -> Path:
    with LocalStore(path) as store:
        populate(store, TIMES)
    return path


@pytest.fixture(scope="module")
def ctx():
    return render_context("dev")


@pytest.fixture(scope="module")
def rules(ctx):
    return list(load_rules(ctx))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _store(tmp_path_factory.mktemp("check") / "telemetry.duckdb")


@pytest.fixture(scope="module")
def cli_report(db: Path) -> tuple[int, dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", "--local", "--db", str(db), "--stack", "dev", "--json", "--plain"])
    return code, json.loads(out.getvalue())


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_cli_reports_every_panel_as_preview_does(db: Path, ctx, cli_report, tmp_path) -> None:
    code, report = cli_report
    with LocalStore(db, read_only=True) as store:
        preview = render_previews(store, render_workbooks(ctx), tmp_path, stack="dev")
    expected = {
        f"{run.key}/{panel.step}": panel.state for run in preview.runs for panel in run.panels()
    }
    got = {f"{p['workbook']}/{p['step']}": p["state"] for p in report["panels"]}
    assert got == expected
    assert code == (1 if "error" in expected.values() else 0), report["failures"]
    window = (report["window"]["start"], report["window"]["end"])
    assert window == tuple(t.isoformat() for t in preview.time_range)


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_cli_decides_every_rule_as_the_demo_table_does(db: Path, rules, cli_report) -> None:
    _, report = cli_report
    end = datetime.fromisoformat(report["window"]["end"])
    with LocalStore(db, read_only=True) as store:
        demo_table = {r.rule.name: r.state for r in evaluate_rules(store, rules, end)}
    assert {r["rule"]: r["state_at_end"] for r in report["rules"]} == demo_table
    assert set(demo_table.values()) >= {"FIRED", "ok"}  # the data exercises both decisions


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_cli_reports_arrival_with_services_and_names(cli_report) -> None:
    _, report = cli_report
    telemetry = report["telemetry"]
    assert telemetry["error"] == ""
    assert telemetry["rows_by_table"][contract.TABLE_METRICS] > 0
    names = {(n["kind"], n["name"]): n for n in telemetry["names"]}
    duration = names[("metric", contract.OPERATION_DURATION.name)]
    assert duration["seen"] and duration["required"] and duration["read_by"]
    assert any(r.startswith("rule ") for r in duration["read_by"])


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_a_broken_panel_query_is_an_error_with_the_engines_text(db: Path, ctx) -> None:
    workbook = next(w for w in render_workbooks(ctx) if w.key == "llm-overview")
    notebook = json.loads(workbook.serialized_data)
    step = _first_query_step(notebook["items"])
    step["content"]["query"] = "customMetrics\n| summarize calls = sum(no_such_column)"
    broken = replace(workbook, serialized_data=json.dumps(notebook))
    report = _check(db, [broken], [])
    panel = next(p for run in report.workbooks for p in run.panels() if p.step == step["name"])
    assert panel.state == "error" and "no_such_column" in panel.outcome.error
    failure = f"panel llm-overview/{step['name']} failed: "
    assert any(f.startswith(failure) and "no_such_column" in f for f in report.failures())


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_a_rule_that_can_never_fire_says_how_close_it_came(db: Path, rules) -> None:
    rule = next(r for r in rules if r.name == "llm-error-rate-high")
    impossible = replace(rule, threshold=2.0)  # a share of calls never exceeds 1
    silent = replace(
        rule,
        name="reads-nothing",
        query=rule.query.replace(contract.OPERATION_DURATION.name, "llm_insights.no_such_metric"),
    )
    report = _check(db, [], [impossible, silent])
    never, nothing = report.rules
    assert never.state == "ok" and not never.error
    assert re.fullmatch(
        r"never fired in 2 evaluations \(every 5m\): closest maximum of error_rate 0\.0\d+, "
        r"threshold > 2",
        never.message(),
    ), never.message()
    assert nothing.message().startswith("never had data: its query returned no rows at any of 2")
    assert not report.failures() or all("never arrived" in f for f in report.failures())


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_a_rule_whose_query_fails_fails_the_check(db: Path, rules) -> None:
    rule = next(r for r in rules if r.name == "llm-error-rate-high")
    broken = replace(rule, query="customMetrics\n| summarize error_rate = max(no_such_column)")
    (result,) = _check(db, [], [broken]).rules
    assert result.state == "error"
    assert result.error.startswith("alerts/errors.yaml: rule llm-error-rate-high: query failed: ")
    assert "no_such_column" in result.error


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_a_missing_metric_is_required_and_explained(tmp_path: Path, ctx, rules) -> None:
    """Only gen_ai.* names arrive (another instrumentation, no configure()): the kit's bucket
    counter is required and its cause says so; the check fails."""
    db = tmp_path / "other-instrumentation.duckdb"
    with LocalStore(":memory:") as full, LocalStore(db) as store:
        populate(full, TIMES)
        for table in (contract.TABLE_METRICS, contract.TABLE_LLM_SPANS):
            rows = full.query(f"{table}").to_dicts()
            if table == contract.TABLE_METRICS:
                rows = [r for r in rows if r["name"].startswith("gen_ai.")]
            store.insert(table, rows)
    report = _check(db, [], [r for r in rules if r.name == "llm-latency-p95-high"])
    missing = {n.name: n for n in report.arrival.missing_required}
    bucket = missing[contract.DURATION_BUCKET_COUNTS.name]
    assert "another instrumentation and llm_insights.configure() was not called" in bucket.cause
    assert contract.OPERATION_DURATION.name not in missing
    assert any(
        f.startswith(f"required metric {contract.DURATION_BUCKET_COUNTS.name} never arrived")
        for f in report.failures()
    )


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_no_telemetry_at_all_names_the_connection_string(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    LocalStore(db).close()
    report = _check(db, [], [], time_range=(T0, T0 + timedelta(hours=1)))
    cause = report.arrival.missing_required[0].cause
    assert cause.startswith("no telemetry at all arrived in the window")
    assert contract.ENV_CONNECTION_STRING in cause


def test_schedule_ends_at_the_window_end_and_samples_beyond_the_budget() -> None:
    end = T0 + timedelta(days=7)
    times, step = schedule(T0, end, timedelta(minutes=5), 288)
    assert step == timedelta(minutes=35) and times[-1] == end and times[0] > T0
    assert len(times) == 288
    times, step = schedule(T0, T0 + timedelta(minutes=2), timedelta(minutes=5), 288)
    assert times == [T0 + timedelta(minutes=2)] and step == timedelta(minutes=5)


def test_outputs_from_a_file_and_a_clear_error_without_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    component = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/appi"
    good = tmp_path / "outputs.json"
    good.write_text(json.dumps({"appInsightsId": component, "alertRuleIds": {"r": "/x/r"}}))
    outputs = read_outputs("dev", good)
    assert outputs.component_id == component and outputs.alert_rule_ids == {"r": "/x/r"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"appInsightsId": None}))
    with pytest.raises(KitError, match="appInsightsId = None: expected the Application Insights"):
        read_outputs("dev", bad)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KitError, match=r"the pulumi CLI is not on PATH.*--outputs FILE"):
        read_outputs("dev")
    assert main(["check", "--stack", "dev"]) == 2  # the same error, as one line, exit 2


def _check(db: Path, workbooks: list[WorkbookArtifact], rules, time_range=None):
    backend = open_local(db)
    try:
        window = time_range or data_time_range(backend)
        return run_check(backend, workbooks, rules, window, stack="dev", label=str(db))
    finally:
        backend.close()


def _first_query_step(items: list[dict[str, Any]]) -> dict[str, Any]:
    for item in items:
        if item.get("type") == ITEM_QUERY:
            return item
        found = _first_query_step((item.get("content") or {}).get("items", []))
        if found:
            return found
    return {}


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_a_panel_with_its_own_time_context_spans_it_not_the_window(tmp_path: Path, ctx) -> None:
    """Budget burn carries a 30-day time context: a cost 20 days before a one-hour window's end
    is in it, as the portal scopes it, while the window's own panels do not see it."""
    db = tmp_path / "old-cost.duckdb"
    old = T0 - timedelta(days=20)
    with LocalStore(":memory:") as full, LocalStore(db) as store:
        populate(full, [old])
        rows = full.query(contract.TABLE_METRICS).to_dicts()
        store.insert(contract.TABLE_METRICS, [r for r in rows if r["name"] == contract.COST.name])
    workbook = next(w for w in render_workbooks(ctx) if w.key == "llm-tokens-cost")
    report = _check(db, [workbook], [], time_range=(T0, T0 + timedelta(hours=1)))
    panels = {p.step: p for run in report.workbooks for p in run.panels()}
    burn = panels["budget-burn"]
    assert burn.state == "ok", burn.outcome.error
    assert burn.outcome.rows[0][0] == datetime(old.year, old.month, old.day, tzinfo=UTC)
    assert panels["today-projection"].state in ("ok", "empty")  # one day: not 20 days back
    assert panels["by-model"].state == "empty"


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_the_azure_backend_reaches_the_same_verdicts(db: Path, ctx, rules, cli_report) -> None:
    """Every query the check sends, through the real LogsQueryClient and the Azure backend —
    ``now()``/``ago()`` pinned in the text, the window as the request's timespan, the answer in
    the query API's JSON — over the same data: the same panels, rules and arrivals as local."""
    from azure.monitor.query import LogsQueryClient

    from llm_insights_kit.check.azure import AzureLogsBackend

    from .replay import LocalStoreTransport, StaticCredential

    _, local = cli_report
    window = tuple(datetime.fromisoformat(local["window"][k]) for k in ("start", "end"))
    component = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/appi"
    with LocalStore(db, read_only=True) as store:
        transport = LocalStoreTransport(store)
        client = LogsQueryClient(StaticCredential(), transport=transport)
        azure = AzureLogsBackend(component, client)
        report = run_check(
            azure, render_workbooks(ctx), rules, window, stack="dev", label=azure.label
        ).to_dict()
    assert {(p["workbook"], p["step"], p["state"]) for p in report["panels"]} == {
        (p["workbook"], p["step"], p["state"]) for p in local["panels"]
    }
    assert [(r["rule"], r["state_at_end"], r["fired"]) for r in report["rules"]] == [
        (r["rule"], r["state_at_end"], r["fired"]) for r in local["rules"]
    ]
    assert report["telemetry"]["names"] == local["telemetry"]["names"]
    assert report["failures"] == local["failures"]
    # every request carried a timespan and no clock of its own
    assert len(transport.bodies) == report["queries"] == azure.requests
    assert all(b["timespan"] for b in transport.bodies)
    assert not [b for b in transport.bodies if re.search(r"\b(now|ago)\s*\(", _code(b["query"]))]


def _code(kql: str) -> str:
    """The query without its string literals and comments."""
    return re.sub(r'//[^\n]*|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', "", kql)


@pytest.mark.slow  # every panel and/or rule on a store: seconds to a minute
def test_cli_on_azure_sets_azures_fired_alerts_beside_the_backtest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --outputs`` end to end on the Azure side: the queries through the Azure backend
    (answered from an empty store: nothing arrived) and the rules' fired alerts from the recorded
    alerts list — Azure fired llm-error-rate-high twice, the backtest never does: flagged."""
    from azure.mgmt.alertsmanagement import AlertsManagementClient
    from azure.monitor.query import LogsQueryClient

    from llm_insights_kit.check import azure as azure_module

    from .replay import LocalStoreTransport, ReplayTransport, StaticCredential

    sub = "00000000-0000-0000-0000-000000000000"
    group = f"/subscriptions/{sub}/resourceGroups/rg-llm-dev/providers"
    component = f"{group}/Microsoft.Insights/components/appi-llm-dev"
    rule_ids = {
        name: f"{group}/Microsoft.Insights/scheduledQueryRules/{name}"
        for name in ("llm-error-rate-high", "llm-latency-p95-high")
    }
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"appInsightsId": component, "alertRuleIds": rule_ids}))
    empty = LocalStore(tmp_path / "empty.duckdb")
    alerts = ReplayTransport.from_file("alerts_get_all_two_pages.json")
    monkeypatch.setattr(
        azure_module,
        "logs_client",
        lambda: LogsQueryClient(StaticCredential(), transport=LocalStoreTransport(empty)),
    )
    monkeypatch.setattr(
        azure_module,
        "alerts_client",
        lambda sub_id: AlertsManagementClient(StaticCredential(), sub_id, transport=alerts),
    )
    argv = ["check", "--stack", "dev", "--outputs", str(outputs), "--since", "7d", "--json"]
    try:
        code = main([*argv, "--until", "2026-12-07T12:00:00Z", "--max-evaluations", "1"])
    finally:
        empty.close()
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and not alerts.entries  # both pages of alerts were read
    rules = {r["rule"]: r for r in report["rules"]}
    high = rules["llm-error-rate-high"]
    assert (high["azure_fired"], high["fired"], high["sampled"]) == (2, 0, True)
    assert high["disagreement"].startswith("Azure fired 2 times but the backtest never does")
    assert rules["llm-latency-p95-high"]["azure_fired"] == 1
    assert rules["llm-throttling"]["azure_fired"] is None  # not in the outputs' rule ids
    assert report["failures"][0].startswith("required metric")
    assert "no telemetry at all arrived" in report["failures"][0]


def test_check_local_without_a_store_points_at_the_demos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llm_insights_kit.commands import check as check_command

    monkeypatch.chdir(tmp_path)  # no build/local/telemetry.duckdb here
    demo = tmp_path / "demo"
    demo.mkdir()
    LocalStore(demo / "telemetry.duckdb").close()
    monkeypatch.setattr(check_command, "DEMO_DIR", demo)
    assert main(["check", "--local"]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith(
        f"the demo's is {demo / 'telemetry.duckdb'}: pass --db {demo}/telemetry.duckdb"
    )
