"""Workbook previews: structure, per-panel state, charts, errors, offline pages, the CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from llm_insights import contract

from llm_insights_kit.artifacts import WorkbookArtifact
from llm_insights_kit.cli import main
from llm_insights_kit.local.preview import data_time_range, render_previews
from llm_insights_kit.local.preview.charts import nice_ticks
from llm_insights_kit.local.store import LocalStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RANGE = (T0, T0 + timedelta(hours=1))
DURATION = contract.OPERATION_DURATION.name
MODEL = contract.GEN_AI_REQUEST_MODEL
_STATE = re.compile(r'<article class="panel" id="step-([^"]+)" data-panel-state="(\w+)"')


def _query(name: str, query: str, visualization: str, **extra) -> dict:
    content = {
        "version": "KqlItem/1.0",
        "query": query,
        "title": name.title(),
        "visualization": visualization,
        "noDataMessage": f"No data in this time range. Source: note for {name}",
        "timeContextFromParameter": "TimeRange",
        "queryType": 0,
        "resourceType": "microsoft.insights/components",
        **extra,
    }
    return {"type": 3, "name": name, "content": content}


def _workbook() -> WorkbookArtifact:
    metrics = f'customMetrics | where timestamp {{TimeRange}} | where name == "{DURATION}"'
    model = f'tostring(customDimensions["{MODEL}"])'
    items = [
        {"type": 1, "name": "intro", "content": {"json": "# Hello\n\n**bold** <script>x</script>"}},
        {
            "type": 9,
            "name": "parameters",
            "content": {
                "parameters": [
                    {"name": "TimeRange", "label": "Time range", "type": 4},
                    {
                        "name": "Model",
                        "label": "Model",
                        "type": 2,
                        "query": f"{metrics} | summarize by item = {model} | order by item asc",
                    },
                ]
            },
        },
        {
            "type": 12,
            "name": "group",
            "content": {
                "title": "Group one",
                "items": [
                    _query(
                        "table",
                        f"{metrics} | where '*' in ({{Model}}) or {model} in ({{Model}}) "
                        f"| summarize calls = sum(valueCount) by model = {model} "
                        "| order by model asc",
                        "table",
                    ),
                    _query(
                        "timechart",
                        f"{metrics} | summarize calls = sum(valueCount) by model = {model}, "
                        "bin(timestamp, {TimeRange:grain})",
                        "timechart",
                    ),
                    _query(
                        "barchart",
                        f"{metrics} | summarize calls = sum(valueCount) by model = {model}",
                        "barchart",
                    ),
                    _query(
                        "tiles",
                        f"{metrics} | summarize calls = sum(valueCount) by model = {model}",
                        "tiles",
                        tileSettings={
                            "titleContent": {"columnMatch": "model"},
                            "leftContent": {"columnMatch": "calls"},
                        },
                    ),
                ],
            },
        },
        _query("empty", 'customEvents | where name == "never"', "table"),
        _query("unsupported", "customMetrics | summarize percentiles(value, 50, 95)", "table"),
        _query("badchart", f"{metrics} | summarize calls = sum(valueCount)", "timechart"),
        {
            **_query("badparam", "customMetrics | where name == '{Nope}'", "table"),
            "customWidth": "33",
        },
    ]
    notebook = {"version": "Notebook/1.0", "items": items}
    return WorkbookArtifact("hand-made", "Hand made", "A test workbook.", json.dumps(notebook))


@pytest.fixture
def filled(store: LocalStore) -> LocalStore:
    rows = [
        {
            "timestamp": T0 + timedelta(minutes=minute),
            "name": DURATION,
            "value": 3.0,
            "valueCount": 2,
            "customDimensions": {MODEL: model},
        }
        for minute in range(0, 60, 5)
        for model in ("gpt-4o", "gpt-4o-mini")
    ]
    # outside the range: must not count
    rows.append({"timestamp": T0 - timedelta(hours=2), "name": DURATION, "value": 1.0,
                 "valueCount": 1000, "customDimensions": {MODEL: "gpt-4o"}})  # fmt: skip
    store.insert(contract.TABLE_METRICS, rows)
    return store


def test_panels_states_and_content(filled: LocalStore, tmp_path: Path) -> None:
    result = render_previews(filled, [_workbook()], tmp_path, stack="dev", time_range=RANGE)
    html = result.pages["hand-made"].read_text(encoding="utf-8")
    states = dict(_STATE.findall(html))
    assert states == {
        "table": "ok",
        "timechart": "ok",
        "barchart": "ok",
        "tiles": "ok",
        "empty": "empty",
        "unsupported": "error",
        "badchart": "error",
        "badparam": "error",
    }
    assert result.counts() == {"ok": 4, "empty": 1, "error": 3}
    # the time range applied: 12 points x 2 per model, not the 1000 outside
    table = result.runs[0].panels()[0]
    assert table.outcome.rows == [("gpt-4o", 24), ("gpt-4o-mini", 24)]
    assert "not supported by the local engine (duckdb-kql)" in html
    assert "percentiles" in html
    assert "timechart needs a datetime column" in html
    assert "unknown workbook parameter {Nope}" in html
    assert html.count('<polyline class="series"') == 2  # one line per model
    assert 'class="bar"' in html and '<div class="tile">' in html
    assert "Source: note for table" in html
    assert "<h1>Hello</h1>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html  # markdown HTML is escaped, pages carry no script
    assert "gpt-4o, gpt-4o-mini" in html  # dropdown choices from its query
    assert "flex-basis:calc(33% - 12px)" in html


def test_pages_are_self_contained(filled: LocalStore, tmp_path: Path) -> None:
    result = render_previews(filled, [_workbook()], tmp_path, stack="dev", time_range=RANGE)
    for page in [result.index, *result.pages.values()]:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|link|img|iframe)\b", html)
        assert not re.search(r'(src|href)="(https?:)?//', html)
    index = result.index.read_text(encoding="utf-8")
    assert 'href="hand-made.html"' in index and '<span data-count="error">3 error</span>' in index


def test_default_time_range_spans_the_data(filled: LocalStore) -> None:
    start, end = data_time_range(filled)
    assert start == T0 - timedelta(hours=2)
    assert end == T0 + timedelta(minutes=56)


def test_default_time_range_of_an_empty_store(store: LocalStore) -> None:
    start, end = data_time_range(store, now=T0)
    assert end - start == timedelta(days=1) and end == T0 + timedelta(minutes=1)


def test_nice_ticks_cover_the_range() -> None:
    for low, high in ((0, 0.67), (0, 1), (0, 29), (0, 1234.5), (-3, 7), (5, 5)):
        ticks = nice_ticks(low, high)
        assert ticks[0] <= low and ticks[-1] >= high and len(ticks) >= 2


def test_every_stack_workbook_runs_with_data(stack_previews) -> None:
    """Every panel of every shipped workbook runs locally and shows data on synthetic traffic.

    A panel in error means a template uses KQL the local engine cannot run (or a column that does
    not exist); an empty one means the synthetic telemetry in ``synthetic.py`` lacks what it
    reads — extend it along with the contract.
    """
    problems = [
        f"{run.key}/{panel.step}: {panel.state} {panel.outcome.error}"
        for run in stack_previews.runs
        for panel in run.panels()
        if panel.state != "ok"
    ]
    assert not problems, "\n".join(problems)
    assert stack_previews.runs and all(run.panels() for run in stack_previews.runs)


def test_preview_command(tmp_path: Path, capsys, monkeypatch) -> None:
    import llm_insights_kit.commands.preview as preview_command

    # the shipped workbooks are covered above; here the command's own behaviour
    monkeypatch.setattr(preview_command, "render_workbooks", lambda ctx: [_workbook()])
    db = tmp_path / "t.duckdb"
    with LocalStore(db) as file_store:
        file_store.insert(contract.TABLE_METRICS, [
            {"timestamp": T0, "name": DURATION, "value": 1.0, "customDimensions": {MODEL: "m"}}
        ])  # fmt: skip
    out = tmp_path / "out"
    code = main(["preview", "--stack", "dev", "--db", str(db), "--out", str(out),
                 "--from", "2026-03-01T11:00:00Z", "--to", "2026-03-01T13:00:00Z"])  # fmt: skip
    captured = capsys.readouterr()
    printed = captured.out
    assert "time range 2026-03-01 11:00:00Z to 2026-03-01 13:00:00Z" in printed
    assert (out / "index.html").is_file() and (out / "hand-made.html").is_file()
    assert "hand-made" in printed and "4 ok" in printed
    assert code == 1  # the hand-made workbook has failing panels, each named on stderr
    assert "error in unsupported: query hand-made/unsupported:" in captured.err
    # only known workbooks can be picked
    assert main(["preview", "--db", str(db), "--workbook", "nope"]) == 2
    assert "--workbook: nope not among hand-made" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--last", "1x"], "--last 1x: expected a duration such as 30m, 1h, 1h30m or 7d"),
        (["--last", "0m"], "--last 0m: expected a duration"),
        (["--last", "1h", "--from", "2026-01-01"], "either --last or --from/--to"),
        (["--from", "yesterday"], "--from yesterday: expected an ISO 8601 time"),
        (["--to", "2026-01-01T00:00:00Z"], "--to: needs --from or --last"),
        (["--from", "2026-01-02", "--to", "2026-01-01"], "is not before 2026-01-01"),
        # a range no workspace holds: the dev stack keeps 30 days
        (
            ["--stack", "dev", "--last", "99999d"],
            "--last 99999d: longer than 30d, the stack's workspace retention",
        ),
        (
            ["--from", "1753-01-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"],
            "longer than 30d, the stack's workspace retention",
        ),
    ],
)
def test_preview_command_bad_options(tmp_path: Path, capsys, argv, needle) -> None:
    db = tmp_path / "t.duckdb"
    LocalStore(db).close()
    assert main(["preview", "--db", str(db), "--out", str(tmp_path / "o"), *argv]) == 2
    assert needle in capsys.readouterr().err


def test_preview_last_reads_compound_durations(tmp_path: Path) -> None:
    """``--last`` reads the grammar every command reads (``alerts eval --since`` too)."""
    import argparse

    from llm_insights_kit.commands.preview import time_range_from

    args = argparse.Namespace(stack="dev", last="1h30m", start=None, end="2026-03-01T12:00:00Z")
    start, end = time_range_from(args)
    assert end - start == timedelta(hours=1, minutes=30)


def test_preview_command_missing_store(tmp_path: Path, capsys) -> None:
    assert main(["preview", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no local store here" in capsys.readouterr().err
