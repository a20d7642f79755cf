"""Fixture files: a bad fixture is a KitError naming file, test and field; series make rows."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from llm_insights import contract

from llm_insights_kit.alerts.durations import (
    format_short_duration,
    parse_iso_duration,
    parse_short_duration,
)
from llm_insights_kit.alerts.fixtures import load_fixture_file
from llm_insights_kit.alerts.synthesis import rows_for_test
from llm_insights_kit.errors import KitError

from .conftest import T0

GOOD_SERIES = f"""\
      - table: customMetrics
        metric: {contract.OPERATION_DURATION.name}
        dimensions: {{{contract.GEN_AI_REQUEST_MODEL}: gpt-4o}}
        every: 1m
        to: 3m
        values: {{valueCount: 10, valueSum: 12.5}}
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fx.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _fixture(series: str = GOOD_SERIES, expect: str = "- {rule: r, at: 5m, firing: false}"):
    return (
        "tests:\n  - name: t1\n    series:\n"
        + series
        + "    expect:\n"
        + textwrap.indent(expect, "      ")
        + "\n"
    )


def test_durations():
    assert parse_short_duration("1h30m") == timedelta(minutes=90)
    assert parse_short_duration("-5m") == timedelta(minutes=-5)
    assert parse_short_duration("0") == timedelta(0)
    assert parse_short_duration("5 minutes") is None
    assert parse_short_duration("m") is None
    assert parse_iso_duration("PT5M") == timedelta(minutes=5)
    assert parse_iso_duration("P1D") == timedelta(days=1)
    assert parse_iso_duration("PT") is None and parse_iso_duration("5m") is None
    assert format_short_duration(timedelta(minutes=90)) == "1h30m"


def test_metric_series_rows_look_like_application_insights(tmp_path):
    fx = load_fixture_file(_write(tmp_path, _fixture()))
    rows = rows_for_test(fx.tests[0], fx.origin)["customMetrics"]
    assert [r["timestamp"] - T0 for r in rows] == [timedelta(minutes=m) for m in (0, 1, 2)]
    first = rows[0]
    assert first["name"] == contract.OPERATION_DURATION.name
    assert (first["value"], first["valueSum"], first["valueCount"]) == (12.5, 12.5, 10)
    assert first["customDimensions"] == {contract.GEN_AI_REQUEST_MODEL: "gpt-4o"}


def test_bucket_counter_series_expand_to_one_row_per_bucket(tmp_path):
    series = f"""\
      - table: customMetrics
        metric: {contract.DURATION_BUCKET_COUNTS.name}
        buckets: {{0.5: 90, 2: 8, 10.0: 1, +Inf: 1}}
        at: 1m
"""
    fx = load_fixture_file(_write(tmp_path, _fixture(series)))
    rows = rows_for_test(fx.tests[0], fx.origin)["customMetrics"]
    assert {r["customDimensions"][contract.ATTR_BUCKET_LE]: r["value"] for r in rows} == {
        "0.5": 90,
        "2": 8,
        "10": 1,
        "+Inf": 1,
    }


def test_span_series_with_count_and_columns(tmp_path):
    series = f"""\
      - table: dependencies
        dimensions: {{{contract.GEN_AI_OPERATION_NAME}: retrieval, {contract.ATTR_RETRIEVAL_DOCUMENTS}: 0}}
        values: {{name: search, success: false, itemCount: 4, duration: 120}}
        count: 3
        at: [1m, 2m]
      - table: customEvents
        event: {contract.EVENT_EVALUATION_RESULT}
        dimensions: {{{contract.GEN_AI_EVALUATION_SCORE_VALUE}: 0.25}}
        at: 1m
"""  # noqa: E501
    fx = load_fixture_file(_write(tmp_path, _fixture(series)))
    rows = rows_for_test(fx.tests[0], fx.origin)
    deps = rows["dependencies"]
    assert len(deps) == 6 and len({r["id"] for r in deps}) == 6
    assert deps[0]["itemCount"] == 4 and deps[0]["success"] is False
    assert deps[0]["customDimensions"][contract.ATTR_RETRIEVAL_DOCUMENTS] == "0"
    (event,) = rows["customEvents"]
    assert event["name"] == contract.EVENT_EVALUATION_RESULT
    assert event["customDimensions"] == {contract.GEN_AI_EVALUATION_SCORE_VALUE: "0.25"}


BAD = [
    (
        GOOD_SERIES.replace(contract.OPERATION_DURATION.name, "gen_ai.client.operation.durations"),
        "series[0].metric = 'gen_ai.client.operation.durations': not a metric of the telemetry "
        "contract (did you mean 'gen_ai.client.operation.duration'?)",
    ),
    (
        GOOD_SERIES.replace(contract.GEN_AI_REQUEST_MODEL, contract.ENDUSER_ID),
        f"series[0].dimensions.{contract.ENDUSER_ID}: not a dimension of metric",
    ),
    (
        GOOD_SERIES.replace("valueSum", "valueSumm"),
        "series[0].values.valueSumm: not a settable column of customMetrics (did you mean "
        "'valueSum'?)",
    ),
    (GOOD_SERIES.replace("customMetrics", "AppMetrics"), "series[0].table = 'AppMetrics'"),
    (GOOD_SERIES.replace("every: 1m", "every: 1 minute"), "series[0].every = '1 minute'"),
    (GOOD_SERIES.replace("valueCount: 10", "valueCount: ten"), "values.valueCount = 'ten'"),
    (
        GOOD_SERIES.replace(contract.OPERATION_DURATION.name, contract.DURATION_BUCKET_COUNTS.name),
        f"series[0].buckets: {contract.DURATION_BUCKET_COUNTS.name} is a bucket counter",
    ),
    (
        f"""\
      - table: customMetrics
        metric: {contract.DURATION_BUCKET_COUNTS.name}
        buckets: {{0.3: 1}}
        at: 1m
""",
        "series[0].buckets = '0.3': not a bucket bound of",
    ),
    (
        """\
      - table: dependencies
        dimensions: {gen_ai.request.modle: x}
        at: 1m
""",
        "series[0].dimensions.gen_ai.request.modle: not an attribute of the telemetry contract "
        "(did you mean 'gen_ai.request.model'?)",
    ),
    (
        """\
      - table: customEvents
        event: my.event
        at: 1m
""",
        "series[0].event = 'my.event': not an event of the telemetry contract",
    ),
    (GOOD_SERIES.replace("to: 3m", "to: 0m"), "series[0].to = '0m': must be after 'from'"),
    (GOOD_SERIES + "        colour: blue\n", "series[0].colour: unknown key"),
]


@pytest.mark.parametrize(("series", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_series_name_file_test_and_field(tmp_path, series, message):
    path = _write(tmp_path, _fixture(series))
    with pytest.raises(KitError) as err:
        load_fixture_file(path)
    assert err.value.where == str(path)
    assert "test 't1': " in err.value.problem
    assert message in err.value.problem


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("- {rule: r, at: 5m, firing: yes please}", "expect[0].firing = 'yes please'"),
        ("- {rule: r, firing: true}", "expect[0].at: expected the evaluation time"),
        ("- {rule: r, at: 5m, firing: true, value_between: [2, 1]}", "low must not exceed high"),
        ("- {rule: r, at: 5m, firing: true, event: started}", "expect[0].event = 'started'"),
        ("- {rule: r, at: 5m, firng: true}", "expect[0].firng: unknown key (did you mean"),
    ],
)
def test_bad_expectations(tmp_path, expect, message):
    with pytest.raises(KitError, match="test 't1': ") as err:
        load_fixture_file(_write(tmp_path, _fixture(expect=expect)))
    assert message in err.value.problem


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("tests: []\n", "tests: expected a non-empty list"),
        ("tests: [\n", "not valid YAML"),
        ("- 1\n", "expected a mapping with a 'tests' list"),
        ("evaluation_time_origin: yesterday\ntests: [{}]\n", "evaluation_time_origin = "),
        ("rule_files: [nowhere]\ntests: [{}]\n", "not a directory of rule YAML"),
        ("tests: [{series: []}]\n", "tests[0].name: every test needs a non-empty name"),
    ],
)
def test_bad_files(tmp_path, body, message):
    with pytest.raises(KitError) as err:
        load_fixture_file(_write(tmp_path, body))
    assert message in err.value.problem


def test_user_attributes_and_events_can_be_declared(tmp_path):
    body = """\
        allow_attributes: [shop.cart.id]
        allow_events: [shop.checkout]
        tests:
          - name: t1
            series:
              - {table: customEvents, event: shop.checkout, dimensions: {shop.cart.id: c1}, at: 1m}
            expect:
              - {rule: r, at: 5m, firing: false}
    """
    fx = load_fixture_file(_write(tmp_path, body))
    assert rows_for_test(fx.tests[0], fx.origin)["customEvents"][0]["name"] == "shop.checkout"
