"""LocalStore: schema from the contract, direct inserts, KQL with pinned now() and time range."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from llm_insights_kit.errors import KitError
from llm_insights_kit.local.store import DUCKDB_TYPES, LocalStore
from llm_insights_kit.tables import TABLES

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_tables_match_the_contract(store: LocalStore) -> None:
    for table, columns in TABLES.items():
        rows = store._con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position",
            [table],
        ).fetchall()
        assert rows == [(name, DUCKDB_TYPES[kind]) for name, kind in columns]


def test_insert_defaults_like_azure(store: LocalStore) -> None:
    assert store.insert("dependencies", [{"timestamp": T0, "name": "chat gpt-4o"}]) == 1
    row = store.query("dependencies").to_dicts()[0]
    assert row["itemCount"] == 1
    assert row["itemType"] == "dependency"
    assert row["success"] is True
    assert row["target"] == "" and row["customDimensions"] == {}
    assert row["timestamp"] == T0
    assert len(row["itemId"]) == 36


def test_metric_rows_with_only_value_are_single_samples(store: LocalStore) -> None:
    store.insert("customMetrics", [{"timestamp": T0, "name": "m", "value": 2.5}])
    row = store.query("customMetrics").to_dicts()[0]
    assert (row["valueSum"], row["valueCount"], row["valueMin"], row["valueMax"]) == (
        2.5,
        1,
        2.5,
        2.5,
    )


def test_insert_rejects_unknown_tables_and_columns(store: LocalStore) -> None:
    with pytest.raises(KitError, match="not a local table"):
        store.insert("AppRequests", [{}])
    with pytest.raises(KitError, match=r"unknown column\(s\) bogus"):
        store.insert("requests", [{"bogus": 1}])
    with pytest.raises(KitError, match="timestamp"):
        store.insert("requests", [{"timestamp": "yesterday"}])


def test_dynamic_columns_query_by_dotted_key(store: LocalStore) -> None:
    store.insert(
        "dependencies",
        [
            {"timestamp": T0, "customDimensions": {"gen_ai.request.model": "gpt-4o", "n": 3}},
            {"timestamp": T0, "customDimensions": {"gen_ai.request.model": "gpt-4o", "n": 5}},
            {"timestamp": T0, "customDimensions": {"gen_ai.request.model": "mini", "n": 1}},
        ],
    )
    result = store.query(
        'dependencies | summarize n = sum(toint(customDimensions["n"])) '
        'by model = tostring(customDimensions["gen_ai.request.model"]) | order by model asc'
    )
    assert result.columns == ["model", "n"]
    assert result.rows == [("gpt-4o", 8), ("mini", 1)]


def test_now_pins_ago(store: LocalStore) -> None:
    store.insert("requests", [{"timestamp": T0 - timedelta(minutes=m)} for m in (1, 10, 100)])
    q = "requests | where timestamp > ago(30m) | count"
    assert store.query(q, now=T0).scalar() == 2
    assert store.query(q, now=T0 + timedelta(minutes=25)).scalar() == 1
    assert store.query(q, now=T0.replace(tzinfo=None)).scalar() == 2  # naive = UTC
    assert store.query(q).scalar() == 0  # real now: years later


def test_time_range_scopes_every_table_half_open(store: LocalStore) -> None:
    store.insert("requests", [{"timestamp": T0 + timedelta(minutes=m)} for m in range(10)])
    store.insert("traces", [{"timestamp": T0 + timedelta(minutes=m)} for m in range(10)])
    scope = (T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert store.query("requests | count", time_range=scope).scalar() == 3
    assert store.query("union requests, traces | summarize count()", time_range=scope).scalar() == 6
    # the scope is gone afterwards, also after an error
    with pytest.raises(KitError):
        store.query("requests | wherex", time_range=scope)
    assert store.query("requests | count").scalar() == 10


def test_unsupported_construct_names_query_and_construct(store: LocalStore) -> None:
    with pytest.raises(KitError) as err:
        store.query("dependencies | summarize percentiles(duration, 50, 95)", name="latency tile")
    message = str(err.value)
    assert message.startswith("query latency tile: ")
    assert "percentiles" in message and "not supported by the local engine (duckdb-kql)" in message


def test_syntax_error_has_line_and_column(store: LocalStore) -> None:
    with pytest.raises(KitError) as err:
        store.query("requests\n| where (")
    assert 'query "requests"' in str(err.value)
    assert "line 2" in str(err.value) and "column" in str(err.value)


def test_unknown_column_is_a_kit_error(store: LocalStore) -> None:
    with pytest.raises(KitError, match="nosuchcolumn"):
        store.query("requests | project nosuchcolumn")


def test_file_store_persists(tmp_path) -> None:
    path = tmp_path / "sub" / "local.duckdb"
    with LocalStore(path) as s:
        s.insert("customEvents", [{"timestamp": T0, "name": "e"}])
    with LocalStore(path) as s:
        assert s.query("customEvents | project name").rows == [("e",)]


def test_not_a_duckdb_file_is_a_kit_error(tmp_path) -> None:
    bogus = tmp_path / "x.duckdb"
    bogus.write_text("hello")
    with pytest.raises(KitError, match="cannot open the local store"):
        LocalStore(bogus)


def test_closed_store_is_a_kit_error() -> None:
    s = LocalStore()
    s.close()
    with pytest.raises(KitError, match="closed"):
        s.query("requests")


def test_concurrent_ingest_and_query(store: LocalStore) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(20):
                store.insert("requests", [{"timestamp": T0, "name": f"r{i}"}] * 10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    while any(w.is_alive() for w in writers):
        store.query("requests | summarize count()", time_range=(T0, T0 + timedelta(1)))
    for w in writers:
        w.join()
    assert not errors
    assert store.query("requests | count").scalar() == 400
