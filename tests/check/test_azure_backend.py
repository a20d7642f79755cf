"""The Azure backend on recorded request/response shapes, through azure-core's transport.

The real ``LogsQueryClient`` and ``AlertsManagementClient`` build the requests (URL, body,
timespan, Prefer header) and parse the responses; :mod:`replay` checks each request against the
recording and answers with the recorded status and body. The recordings follow the shapes of
azure-monitor-query's own test recordings (partial success, 400 semantic error) and the REST
specs of the query API and Microsoft.AlertsManagement (paged alert lists).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alerts.conftest import make_rule
from azure.mgmt.alertsmanagement import AlertsManagementClient
from azure.monitor.query import LogsQueryClient

from llm_insights_kit.alerts.evaluator import RuleEvaluator
from llm_insights_kit.check.azure import (
    AzureLogsBackend,
    RateLimiter,
    alert_history,
    pin_now,
    subscription_of,
)
from llm_insights_kit.errors import KitError

from .replay import ReplayTransport, StaticCredential

SUB = "00000000-0000-0000-0000-000000000000"
COMPONENT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-llm-dev/providers/Microsoft.Insights/components/"
    "appi-llm-dev"
)
RULES = (
    f"/subscriptions/{SUB}/resourceGroups/rg-llm-dev/providers/Microsoft.Insights/"
    "scheduledQueryRules/"
)
END = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SPAN = (END - timedelta(minutes=30), END)
RULE_QUERY = (
    'customMetrics\n| where name == "gen_ai.client.operation.duration"\n'
    "| summarize calls = sum(valueCount), errors = sumif(valueCount, "
    'isnotempty(tostring(customDimensions["error.type"]))) '
    'by model = tostring(customDimensions["gen_ai.request.model"]), '
    "timestamp = now() + bin(totimespan(timestamp - now()), 15m)\n"
    '| where timestamp > ago(30m) and model != "now()"\n'
    '| extend error_rate = todouble(errors) / calls, dims = pack("model", model), period = 15m'
)


def backend(recording: str) -> tuple[AzureLogsBackend, ReplayTransport, StaticCredential]:
    transport = ReplayTransport.from_file(recording)
    credential = StaticCredential()
    client = LogsQueryClient(credential, transport=transport)
    return AzureLogsBackend(COMPONENT, client), transport, credential


def test_query_sends_the_resource_url_pinned_query_and_timespan_and_parses_every_type() -> None:
    azure, transport, credential = backend("logs_query_resource_ok.json")
    result = azure.query(RULE_QUERY, now=END, time_range=SPAN, name="rule llm-error-rate")
    assert not transport.entries  # the one recorded request was sent, and matched
    assert transport.sent[0].headers["Prefer"] == "wait=180"
    assert credential.scopes == [("https://api.loganalytics.io/.default",)]
    assert result.columns == [
        "model",
        "timestamp",
        "calls",
        "errors",
        "error_rate",
        "dims",
        "period",
    ]
    assert result.types[:5] == ["VARCHAR", "TIMESTAMP", "BIGINT", "BIGINT", "DOUBLE"]
    first = result.rows[0]
    assert first[0] == "gpt-4o-mini"
    assert first[1] == datetime(2026, 12, 7, 11, 45, tzinfo=UTC)
    assert (first[2], first[3], first[4]) == (40, 6, 0.15)
    assert first[5] == {"model": "gpt-4o-mini"}  # dynamic arrives as JSON text
    assert first[6] == timedelta(minutes=15)  # Kusto's timespan text
    assert result.rows[3][3:6] == (None, None, None)


def test_the_evaluator_reads_an_azure_result_period_by_period() -> None:
    """Two 15-minute periods, per model, threshold 0.10 in both: the recorded rows fire for
    gpt-4o-mini only — the same evaluator as local, on Azure's response."""
    azure, _, _ = backend("logs_query_resource_ok.json")
    rule = make_rule(
        query=RULE_QUERY,
        window_size="PT15M",
        time_aggregation="Maximum",
        metric_measure_column="error_rate",
        threshold=0.10,
        dims=[("model", "Include", ["*"])],
        failing=(2, 2),
    )
    decisions = {d.labels["model"]: d for d in RuleEvaluator(azure, rule).run([END])}
    assert decisions["gpt-4o-mini"].condition_met and decisions["gpt-4o-mini"].event == "fired"
    assert decisions["gpt-4o-mini"].failing_periods == 2
    assert not decisions["gpt-4o"].condition_met


def test_a_partial_result_is_an_error_with_azures_text() -> None:
    azure, _, _ = backend("logs_query_resource_partial.json")
    query = (
        "let Weight = 92233720368547758;\nrange x from 1 to 3 step 1\n"
        "| summarize percentilesw(x, Weight * 100, 50)"
    )
    with pytest.raises(KitError) as caught:
        azure.query(query, time_range=SPAN, name="panel p")
    text = str(caught.value)
    assert text.startswith("query panel p: Azure returned a partial result (1 rows)")
    assert "PartialError" in text and "E_OVERFLOW" in text and "500,000 rows" in text


def test_a_query_azure_cannot_compile_reports_the_innermost_error() -> None:
    azure, _, _ = backend("logs_query_resource_semantic_error.json")
    with pytest.raises(KitError) as caught:
        azure.query("AppInsights\n| where TimeGenerated > ago(12h)", time_range=SPAN, name="w/s")
    text = str(caught.value)
    assert "Azure answered HTTP 400" in text
    assert "Failed to resolve table or column expression named 'AppInsights'" in text


def test_forbidden_names_the_role_needed() -> None:
    azure, _, _ = backend("logs_query_resource_forbidden.json")
    with pytest.raises(KitError) as caught:
        azure.query("requests | count", time_range=SPAN)
    assert "HTTP 403" in str(caught.value) and "InsufficientAccessError" in str(caught.value)
    assert "Log Analytics Reader" in str(caught.value)


def test_alert_history_follows_next_link_and_keeps_the_stacks_rules() -> None:
    transport = ReplayTransport.from_file("alerts_get_all_two_pages.json")
    client = AlertsManagementClient(StaticCredential(), SUB, transport=transport)
    rule_ids = [RULES + "llm-error-rate-high", RULES + "llm-latency-p95-high", RULES + "quiet"]
    found, note = alert_history(COMPONENT, rule_ids, (END - timedelta(days=7), END), client)
    assert not transport.entries  # both pages were read
    assert note == ""
    errors = found[rule_ids[0].lower()]
    assert [(a.condition, a.started) for a in errors] == [
        ("Resolved", datetime(2026, 12, 5, 10, 20, 3, 123456, tzinfo=UTC)),
        ("Fired", datetime(2026, 12, 7, 11, 5, tzinfo=UTC)),
    ]
    assert errors[0].resolved is not None and errors[1].resolved is None
    assert len(found[rule_ids[1].lower()]) == 1
    assert found[rule_ids[2].lower()] == []
    assert "some-other-rule" not in " ".join(found)


def test_pin_now_leaves_strings_and_comments_alone() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    pinned = "datetime(2026-01-02T03:04:05.000000Z)"
    kql = 'T // now() here\n| where t > ago(1h) and s != "ago(2h)" and u < now(-5m) and v < now()'
    assert pin_now(kql, at) == (
        f'T // now() here\n| where t > ({pinned} - (1h)) and s != "ago(2h)" '
        f"and u < ({pinned} + (-5m)) and v < {pinned}"
    )
    assert pin_now("x | extend y = ago(bin(1h, 1m))", at) == (
        f"x | extend y = ({pinned} - (bin(1h, 1m)))"
    )


def test_rate_limiter_waits_for_the_oldest_request_to_leave_the_window() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(3, 30.0, clock=lambda: clock[0], sleep=sleep)
    for at in (0.0, 1.0, 2.0):
        clock[0] = at
        limiter.acquire()
    assert slept == []
    clock[0] = 10.0
    limiter.acquire()  # 4th within 30 s of the first: wait until 30.0
    assert slept == [20.0] and clock[0] == 30.0


def test_bad_inputs_are_named() -> None:
    with pytest.raises(KitError, match=r"1\.\.600"):
        AzureLogsBackend(COMPONENT, object(), server_timeout=601)
    with pytest.raises(KitError, match="not an Azure resource id"):
        subscription_of("appi-llm-dev")
    assert subscription_of(COMPONENT) == SUB


def test_cli_stops_at_the_first_refused_query_and_names_the_role(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --outputs``: the stack outputs file, then one access check on the component —
    refused (403, recorded shape) — and the command stops with one line, exit 2."""
    import json

    from llm_insights_kit.check import azure as azure_module
    from llm_insights_kit.cli import main

    transport = ReplayTransport.from_file("logs_query_resource_forbidden.json")
    monkeypatch.setattr(
        azure_module,
        "logs_client",
        lambda: LogsQueryClient(StaticCredential(), transport=transport),
    )
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"appInsightsId": COMPONENT}))
    argv = ["check", "--stack", "dev", "--outputs", str(outputs), "--since", "30m"]
    code = main([*argv, "--until", "2026-12-07T12:00:00Z", "--no-history"])
    assert code == 2 and not transport.entries
    err = capsys.readouterr().err
    assert err.startswith("error: Azure Monitor Logs: the first query failed, nothing else was run")
    assert "HTTP 403" in err and "Log Analytics Reader" in err
