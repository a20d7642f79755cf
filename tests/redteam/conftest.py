"""The red-team suite: ``serve`` attacked as an adversary and a careless user would, on loopback.

Every case is one test against a real :class:`IngestServer` on an ephemeral loopback port, with
its store in a file (as ``serve`` runs it). Limits that take time to hit (timeouts, caps) are
lowered per server, so each case is bounded to a few seconds.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_insights_kit.local.ingest import LOCAL_IKEY, IngestServer
from llm_insights_kit.local.store import LocalStore

TRACK = "/v2.1/track"


def request_envelope(name: str = "op", **base: Any) -> dict[str, Any]:
    """A RequestData envelope as the exporter sends it; *base* overrides baseData fields."""
    return {
        "name": "Microsoft.ApplicationInsights.Request",
        "time": "2026-01-01T00:00:00.000000Z",
        "iKey": LOCAL_IKEY,
        "tags": {"ai.operation.id": "0" * 32},
        "data": {
            "baseType": "RequestData",
            "baseData": {
                "ver": 2,
                "id": "1" * 16,
                "name": name,
                "duration": "0.00:00:00.250000",
                "success": True,
                "responseCode": "200",
                "properties": {},
                **base,
            },
        },
    }


def post(
    server: IngestServer,
    body: bytes | str | list | dict,
    headers: dict[str, str] | None = None,
    path: str = TRACK,
    timeout: float = 10,
) -> tuple[int, Any]:
    """POST *body* (JSON-encoded unless bytes); (status, parsed JSON answer or raw bytes)."""
    if not isinstance(body, bytes):
        body = (body if isinstance(body, str) else json.dumps(body)).encode()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


def raw_exchange(server: IngestServer, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return everything the server answers until it closes (or *timeout*)."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "store.duckdb") as s:
        yield s


@pytest.fixture
def server(store: LocalStore) -> Iterator[IngestServer]:
    with IngestServer(store) as srv:
        yield srv
