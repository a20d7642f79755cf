"""Bad values, one item at a time: each is a per-item error; the rest of its batch is stored
exactly once, in one transaction; a re-sent batch is not stored twice."""

from __future__ import annotations

import gc
import json
import uuid

import pytest

from llm_insights_kit.local.ingest import IngestServer
from llm_insights_kit.local.store import LocalStore

from .conftest import post, request_envelope


def _names(store: LocalStore) -> list[str]:
    return sorted(r[0] for r in store.query("requests | project name").rows)


def test_lone_surrogate_is_stored_as_replacement_character(server, store) -> None:
    # A browser-split emoji: "\ud83d" with no partner, in a name, a tag and a property.
    body = (
        '[{"time": "2026-01-01T00:00:00Z", "iKey": "k", "tags": {"ai.cloud.role": "r\\ud83d"},'
        ' "data": {"baseType": "RequestData", "baseData": {"id": "1", "name": "a\\ud83d",'
        ' "duration": "00:00:01", "success": true, "properties": {"k\\udc00": "v\\ud83d"}}}}]'
    )
    status, answer = post(server, body)
    assert (status, answer["itemsAccepted"]) == (200, 1), answer
    row = store.query("requests | project name, cloud_RoleName, customDimensions").rows[0]
    assert row[0] == "a\ufffd" and row[1] == "r\ufffd"
    assert row[2] == {"k\ufffd": "v\ufffd"}
    # a surrogate pair stays the character it encodes
    status, _ = post(server, [request_envelope("pair \U0001f600")])
    assert status == 200 and "pair \U0001f600" in _names(store)


def test_invalid_utf8_bytes_become_replacement_characters(server, store) -> None:
    body = json.dumps([request_envelope("PLACEHOLDER")]).encode().replace(b"PLACEHOLDER", b"x\xff")
    status, answer = post(server, body)
    assert status == 200, answer
    assert _names(store) == ["x\ufffd"]


BAD_VALUES = {
    "time past year 9999": {"time": "9999-12-31T23:59:59-05:00"},
    "time not ISO": {"time": "yesterday"},
    "count beyond BIGINT": {"metric_count": 2**70},
    "negative count": {"metric_count": -3},
    "sampleRate 1e-300": {"sampleRate": 1e-300},
    "sampleRate 0": {"sampleRate": 0},
    "Infinity measurement": {"raw": '"measurements": {"m": Infinity}'},
    "NaN duration": {"raw": '"duration": NaN'},
    "1e400 measurement": {"raw": '"measurements": {"m": 1e400}'},
    "4400-digit integer": {"raw": '"measurements": {"m": ' + "9" * 4400 + "}"},
    "negative duration": {"duration": -5},
    "negative duration text": {"duration": "-00:00:01"},
    "success not boolean": {"success": "maybe"},
    "severity beyond 0-4": {"severity": 2**40},
    "unknown base type": {"baseType": "NoSuchData"},
    "availability (no table here)": {"baseType": "AvailabilityData"},
    "not an object": {"item": 42},
}


def _bad(kind: str) -> str:
    """One bad item as JSON text (some values JSON itself cannot carry from Python)."""
    spec = BAD_VALUES[kind]
    if "item" in spec:
        return json.dumps(spec["item"])
    if "metric_count" in spec:
        env = request_envelope()
        env["data"] = {
            "baseType": "MetricData",
            "baseData": {"metrics": [{"name": "m", "value": 1, "count": spec["metric_count"]}]},
        }
        return json.dumps(env)
    if "severity" in spec:
        env = request_envelope()
        env["data"] = {
            "baseType": "MessageData",
            "baseData": {"message": "m", "severityLevel": spec["severity"]},
        }
        return json.dumps(env)
    env = request_envelope("bad")
    if "raw" in spec:
        text = json.dumps(env)
        return text.replace('"properties": {}', spec["raw"])
    if "time" in spec or "sampleRate" in spec:
        env.update(spec)
    elif "baseType" in spec:
        env["data"]["baseType"] = spec["baseType"]
    else:
        env["data"]["baseData"].update(spec)
    return json.dumps(env)


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_bad_item_is_refused_by_index_and_its_batch_stored_once(server, store, kind) -> None:
    good = [json.dumps(request_envelope(f"good-{i}")) for i in range(4)]
    items = [good[0], good[1], _bad(kind), good[2], good[3]]
    status, answer = post(server, "[" + ",".join(items) + "]")
    assert status == 206, answer
    assert answer["itemsReceived"] == 5 and answer["itemsAccepted"] == 4
    assert [(e["index"], e["statusCode"]) for e in answer["errors"]] == [(2, 400)]
    assert _names(store) == [f"good-{i}" for i in range(4)]
    # the exporter never re-sends a 400 item; a re-sent batch stores nothing twice
    assert post(server, "[" + ",".join(items) + "]")[0] == 206
    assert _names(store) == [f"good-{i}" for i in range(4)]
    assert server.stats.items_accepted == 4


def test_batch_of_only_bad_items_is_400_and_stores_nothing(server, store) -> None:
    items = [_bad("unknown base type"), _bad("negative count"), _bad("not an object")]
    status, answer = post(server, "[" + ",".join(items) + "]")
    assert status == 400
    assert answer["itemsAccepted"] == 0
    assert [e["index"] for e in answer["errors"]] == [0, 1, 2]
    assert all(store.count(t) == 0 for t in store.schemas)
    assert server.stats.items_accepted == 0


def test_success_false_as_text_is_stored_false(server, store) -> None:
    batch = [request_envelope("t", success="true"), request_envelope("f", success="False")]
    assert post(server, batch)[0] == 200
    rows = dict(store.query("requests | project name, success").rows)
    assert rows == {"t": True, "f": False}


def test_a_failed_write_stores_nothing_of_its_batch(server, store, monkeypatch) -> None:
    """Rows for two tables; the second table's insert fails: the first's rows are rolled back
    and the answer is a retryable 500 for every item."""
    real = store._write

    def failing(table, values):
        if table == "traces":
            raise RuntimeError("disk full")
        real(table, values)

    monkeypatch.setattr(store, "_write", failing)
    trace = request_envelope()
    trace["data"] = {"baseType": "MessageData", "baseData": {"message": "m"}}
    status, answer = post(server, [request_envelope("r"), trace])
    assert status == 500
    assert {e["statusCode"] for e in answer["errors"]} == {500}
    assert store.count("requests") == 0 and store.count("traces") == 0
    monkeypatch.setattr(store, "_write", real)
    # the exporter's retry of the same batch is stored, once
    assert post(server, [request_envelope("r"), trace])[0] == 200
    assert store.count("requests") == 1 and store.count("traces") == 1


def test_a_retried_batch_is_stored_once_even_across_restarts(tmp_path) -> None:
    """The answer to a stored batch can be lost (timeout, kill -9 after commit); the client then
    re-sends the same batch, possibly from its offline storage after the server restarted."""
    path = tmp_path / "t.duckdb"
    batch = [request_envelope(f"r{i}") for i in range(3)]
    with LocalStore(path) as store, IngestServer(store) as server:
        assert post(server, batch)[0] == 200
        # re-serialised with other key order and spacing, as a client re-sending from storage
        assert post(server, json.dumps(batch[::-1][::-1], indent=2, sort_keys=True))[0] == 200
        assert server.stats.duplicate_batches == 1
    with LocalStore(path) as store, IngestServer(store) as server:
        status, answer = post(server, batch)
        assert (status, answer["itemsAccepted"]) == (200, 3)
        assert store.count("requests") == 3
        # a batch with different content is new data, even with the same names
        other = [request_envelope(f"r{i}", responseCode="500") for i in range(3)]
        assert post(server, other)[0] == 200
        assert store.count("requests") == 6


def test_accepted_envelopes_are_not_kept_in_memory(server, store) -> None:
    marker = f"marker-{uuid.uuid4()}"
    for i in range(20):
        assert post(server, [request_envelope(f"{marker}-{i}")])[0] == 200
    assert store.count("requests") == 20
    gc.collect()
    held = [
        o
        for o in gc.get_objects()
        if type(o) is dict and str(o.get("name", "")).startswith(marker)  # parsed JSON
    ]
    assert held == []
    assert server.envelopes == []
