"""The loopback ingestion endpoint: protocol, decoding, faults, counters."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time

import pytest

from llm_insights_kit.local.ingest import LOCAL_IKEY, IngestServer, decode_body


def _envelope(name: str = "m", value: float = 1.0, t: str = "2026-01-01T00:00:00Z") -> dict:
    return {
        "name": "Microsoft.ApplicationInsights.Metric",
        "time": t,
        "iKey": LOCAL_IKEY,
        "tags": {"ai.cloud.role": "svc"},
        "data": {
            "baseType": "MetricData",
            "baseData": {"ver": 2, "metrics": [{"name": name, "value": value, "count": 1}]},
        },
    }


def _post(srv: IngestServer, path: str, body: bytes, headers: dict | None = None):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_connection_string_points_at_the_server(server: IngestServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0
    assert server.connection_string == (
        f"InstrumentationKey={LOCAL_IKEY};IngestionEndpoint={server.url}/;"
        f"LiveEndpoint={server.url}/"
    )


@pytest.mark.parametrize("path", ["/v2.1/track", "/v2/track"])
def test_gzip_array_is_accepted_and_stored(server: IngestServer, store, path: str) -> None:
    body = gzip.compress(json.dumps([_envelope("a"), _envelope("b", 2.0)]).encode())
    status, _, payload = _post(server, path, body, {"Content-Encoding": "gzip"})
    assert status == 200
    assert json.loads(payload) == {"itemsReceived": 2, "itemsAccepted": 2, "errors": []}
    names = store.query("customMetrics | order by value asc | project name")
    assert [row[0] for row in names.rows] == ["a", "b"]
    assert store.query("customMetrics | summarize sum(value)").scalar() == 3.0
    assert server.requests_received == 1
    assert server.bytes_received == len(body)
    assert server.stats.compressed_requests == 1


def test_plain_and_ndjson_bodies(server: IngestServer, store) -> None:
    status, _, _ = _post(server, "/v2.1/track", json.dumps(_envelope("plain")).encode())
    assert status == 200
    ndjson = "\n".join(json.dumps(_envelope(n)) for n in ("x", "y")).encode()
    status, _, payload = _post(server, "/v2.1/track", ndjson)
    assert status == 200 and json.loads(payload)["itemsAccepted"] == 2
    assert store.count("customMetrics") == 3
    assert server.envelopes == []  # with a store nothing is kept in memory


@pytest.mark.parametrize(
    ("body", "headers", "needle"),
    [
        (b"not json at all", {}, "neither a JSON array"),
        (b"\x1f\x8bbroken", {}, "not valid gzip"),
        (b"", {}, "empty"),
        (b"[1, 2]", {}, "envelope 0: envelope is int"),
        (json.dumps([{"data": {"baseType": "RequestData"}}]).encode(), {}, "envelope 0"),
        (b"[]", {"Content-Encoding": "br"}, "not supported"),
    ],
)
def test_malformed_bodies_get_400_with_reason(server, body, headers, needle) -> None:
    status, _, payload = _post(server, "/v2.1/track", body, headers)
    assert status == 400, payload
    message = json.loads(payload)["errors"][0]["message"]
    assert needle in message
    # the server is still alive and accepting
    ok, _, _ = _post(server, "/v2.1/track", json.dumps([_envelope()]).encode())
    assert ok == 200


def test_partly_bad_batch_is_206_with_the_bad_index(server: IngestServer, store) -> None:
    bad = {
        "time": "2026-01-01T00:00:00Z",
        "data": {
            "baseType": "RequestData",
            "baseData": {
                "id": "1",
                "name": "r",
                "duration": "bogus",
                "success": True,
                "responseCode": "200",
            },
        },
    }
    status, _, payload = _post(server, "/v2.1/track", json.dumps([_envelope(), bad]).encode())
    assert status == 206
    answer = json.loads(payload)
    assert answer["itemsReceived"] == 2 and answer["itemsAccepted"] == 1
    assert answer["errors"][0]["index"] == 1 and "duration" in answer["errors"][0]["message"]
    assert store.count("customMetrics") == 1 and store.count("requests") == 0


def test_quickpulse_ping_and_post_are_answered_unsubscribed(server: IngestServer) -> None:
    for path in ("/QuickPulseService.svc/ping", "/QuickPulseService.svc/post"):
        status, headers, payload = _post(server, f"{path}?ikey={LOCAL_IKEY}", b"[]")
        assert status == 200
        assert headers["x-ms-qps-subscribed"] == "false"
        assert payload == b""
    assert server.stats.live_requests == 2
    assert server.envelopes == []


def test_unknown_path_is_404(server: IngestServer) -> None:
    status, _, _ = _post(server, "/nope", b"[]")
    assert status == 404


def test_fault_status_delay_and_refuse(server: IngestServer, store) -> None:
    body = json.dumps([_envelope()]).encode()
    server.set_fault(status=503)
    assert _post(server, "/v2.1/track", body)[0] == 503
    assert store.count("customMetrics") == 0
    server.set_fault(delay=0.3)
    started = time.monotonic()
    assert _post(server, "/v2.1/track", body)[0] == 200
    assert time.monotonic() - started >= 0.3
    server.set_fault(refuse=True)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        _post(server, "/v2.1/track", body)
    server.set_fault()
    assert _post(server, "/v2.1/track", json.dumps([_envelope("other")]).encode())[0] == 200
    assert store.count("customMetrics") == 2
    with pytest.raises(ValueError, match="HTTP status"):
        server.set_fault(status=42)


def test_wait_for_sees_envelopes_from_another_thread() -> None:
    with IngestServer() as server:
        body = json.dumps([_envelope()]).encode()
        threading.Timer(0.1, lambda: _post(server, "/v2.1/track", body)).start()
        assert server.wait_for(lambda envs: len(envs) == 1, timeout=5)
        assert not server.wait_for(lambda envs: len(envs) == 2, timeout=0.2)


def test_wait_until_sees_the_store_fill(server: IngestServer, store) -> None:
    body = json.dumps([_envelope()]).encode()
    threading.Timer(0.1, lambda: _post(server, "/v2.1/track", body)).start()
    assert server.wait_until(lambda: store.count("customMetrics") == 1, timeout=5)
    with pytest.raises(RuntimeError, match="keep_envelopes"):
        server.wait_for(lambda envs: True)


def test_without_store_envelopes_are_kept() -> None:
    with IngestServer() as srv:
        assert _post(srv, "/v2.1/track", json.dumps([_envelope()]).encode())[0] == 200
        assert len(srv.envelopes) == 1
    # stopped: a second stop is harmless
    srv.stop()


def test_decode_body_accepts_bom_and_single_object() -> None:
    assert decode_body(b"\xef\xbb\xbf" + json.dumps(_envelope()).encode())[0]["iKey"] == LOCAL_IKEY
