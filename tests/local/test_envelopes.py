"""Envelope → row mapping details (the exporter-driven e2e test covers the common paths)."""

from __future__ import annotations

from datetime import datetime

import pytest

from llm_insights_kit.local.envelopes import (
    EnvelopeError,
    envelope_rows,
    item_count,
    parse_duration_ms,
    parse_time,
    performance_bucket,
    rows_by_table,
    severity_level,
)


def _env(base_type: str, base: dict, **extra) -> dict:
    return {"time": "2026-03-01T12:00:00.1234567Z", "iKey": "ik",
            "data": {"baseType": base_type, "baseData": base}, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0.00:00:00.062", 62.0),
        ("00:00:01.5", 1500.0),
        ("1.02:03:04.000005", (86_400 + 7_384) * 1000 + 0.005),
        (250, 250.0),
        (None, 0.0),
    ],
)
def test_durations_become_milliseconds(text, ms) -> None:
    assert parse_duration_ms(text) == pytest.approx(ms)


def test_bad_duration_names_the_field() -> None:
    with pytest.raises(EnvelopeError, match="duration 'soon'"):
        parse_duration_ms("soon")


def test_time_is_naive_utc_with_dotnet_fractions() -> None:
    assert parse_time("2026-03-01T12:00:00.1234567Z") == datetime(2026, 3, 1, 12, 0, 0, 123456)
    assert parse_time("2026-03-01T14:00:00+02:00") == datetime(2026, 3, 1, 12, 0)
    with pytest.raises(EnvelopeError, match="time"):
        parse_time("")


@pytest.mark.parametrize(("rate", "count"), [(None, 1), (100, 1), (50, 2), (25.0, 4), (33.3, 3)])
def test_item_count_from_sample_rate(rate, count) -> None:
    assert item_count(rate) == count


@pytest.mark.parametrize("rate", [0, -5, 101, "x"])
def test_bad_sample_rate(rate) -> None:
    with pytest.raises(EnvelopeError, match="sampleRate"):
        item_count(rate)


def test_performance_buckets_match_azure_labels() -> None:
    assert performance_bucket(0) == "<250ms"
    assert performance_bucket(250) == "250ms-500ms"
    assert performance_bucket(2_999) == "1sec-3sec"
    assert performance_bucket(300_000) == ">=5min"


def test_severity_names_and_numbers() -> None:
    assert (
        severity_level("Warning") == 2 and severity_level(3) == 3 and severity_level(None) is None
    )
    with pytest.raises(EnvelopeError, match="severityLevel"):
        severity_level("loud")


def test_request_with_tags_and_sampling() -> None:
    env = _env(
        "RequestData",
        {"id": "abc", "name": "GET /", "duration": "0.00:00:00.300", "success": False,
         "responseCode": "500", "url": "http://x/", "properties": {"k": "v"},
         "measurements": {"m": 1.5}},
        sampleRate=20.0,
        tags={"ai.operation.id": "op", "ai.operation.parentId": "p", "ai.cloud.role": "r",
              "ai.cloud.roleInstance": "i", "ai.user.id": "u", "ai.user.authUserId": "au",
              "ai.session.id": "s", "ai.application.ver": "1.2", "ai.location.ip": "10.0.0.1",
              "ai.internal.sdkVersion": "sdk", "ai.operation.syntheticSource": "True"},
    )  # fmt: skip
    [(table, row)] = envelope_rows(env)
    assert table == "requests"
    assert (row["duration"], row["performanceBucket"], row["itemCount"]) == (
        300.0,
        "250ms-500ms",
        5,
    )
    assert (row["success"], row["resultCode"], row["url"]) == (False, "500", "http://x/")
    assert row["customDimensions"] == {"k": "v"} and row["customMeasurements"] == {"m": 1.5}
    assert (row["operation_Id"], row["operation_ParentId"], row["cloud_RoleName"]) == (
        "op",
        "p",
        "r",
    )
    assert (row["user_Id"], row["user_AuthenticatedId"], row["session_Id"]) == ("u", "au", "s")
    assert (row["application_Version"], row["client_IP"], row["sdkVersion"]) == (
        "1.2",
        "10.0.0.1",
        "sdk",
    )
    assert row["operation_SyntheticSource"] == "True" and row["iKey"] == "ik"
    assert row["itemType"] == "request"


def test_metric_points_one_row_each_with_fallbacks() -> None:
    env = _env("MetricData", {"metrics": [
        {"name": "a", "value": 3},
        {"name": "b", "value": 6.0, "count": 3, "min": 1.0, "max": 4.0, "stdDev": 1.2},
    ], "properties": {"d": "x"}}, sampleRate=50)  # fmt: skip
    rows = [row for _, row in envelope_rows(env)]
    assert [(r["name"], r["value"], r["valueSum"], r["valueCount"], r["valueMin"], r["valueMax"],
             r["valueStdDev"], r["itemCount"]) for r in rows] == [
        ("a", 3.0, 3.0, 1, 3.0, 3.0, 0.0, 1),
        ("b", 6.0, 6.0, 3, 1.0, 4.0, 1.2, 1),  # metrics are never sampled
    ]  # fmt: skip
    assert rows[0]["customDimensions"] == {"d": "x"}


def test_exception_chain_outer_and_innermost() -> None:
    env = _env("ExceptionData", {"severityLevel": "Error", "exceptions": [
        {"id": 1, "typeName": "Outer", "message": "o", "hasFullStack": True,
         "parsedStack": [{"method": "handler", "assembly": "app", "level": 0}]},
        {"id": 2, "outerId": 1, "typeName": "Inner", "message": "i",
         "parsedStack": [{"method": "db", "assembly": "lib", "level": 0}]},
    ]})  # fmt: skip
    [(table, row)] = envelope_rows(env)
    assert table == "exceptions"
    assert (row["type"], row["outerType"], row["innermostType"]) == ("Outer", "Outer", "Inner")
    assert (row["method"], row["innermostMethod"], row["assembly"]) == ("handler", "db", "app")
    assert row["problemId"] == "Outer at handler" and row["severityLevel"] == 3
    assert [d["type"] for d in row["details"]] == ["Outer", "Inner"]


def test_base_types_with_no_table_are_errors_and_bad_ones_named() -> None:
    # Refused per item, so never counted as accepted while nothing was stored.
    with pytest.raises(EnvelopeError, match="AvailabilityData has no table"):
        envelope_rows(_env("AvailabilityData", {"name": "ping"}))
    with pytest.raises(EnvelopeError, match="'NoSuchData' is not one of RequestData"):
        envelope_rows(_env("NoSuchData", {"name": "x"}))
    with pytest.raises(EnvelopeError, match="envelope 1: data is missing"):
        rows_by_table([_env("EventData", {"name": "e"}), {"time": "2026-01-01T00:00:00Z"}])
    with pytest.raises(EnvelopeError, match="no exceptions"):
        envelope_rows(_env("ExceptionData", {"exceptions": []}))
