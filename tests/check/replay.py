"""Replay recorded Azure HTTP exchanges through azure-core's transport layer.

A recording is the Azure SDK test-proxy's shape (``{"Entries": [{"RequestUri", "RequestMethod",
"RequestBody", "StatusCode", "ResponseHeaders", "ResponseBody"}]}``). :class:`ReplayTransport`
is an azure-core ``HttpTransport``: every request the real client builds is checked against the
next entry (method, URL with its query parameters, JSON body) and answered with the recorded
status, headers and body as raw HTTP bytes parsed by ``http.client`` — so the clients' own
deserialisation, error mapping and paging run on them. Nothing leaves the process.
"""

from __future__ import annotations

import http.client
import io
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import RestHttpClientTransportResponse

RECORDINGS = Path(__file__).parent / "recordings"


class StaticCredential:
    """A token credential that hands out one token (no identity service involved)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("recorded-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo("recorded-token", int(time.time()) + 3600)


class _Socket:
    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def makefile(self, *_: Any, **__: Any) -> io.BytesIO:
        return self._file


def _raw_response(entry: dict[str, Any]) -> http.client.HTTPResponse:
    body = entry.get("ResponseBody")
    payload = b"" if body is None else json.dumps(body).encode()
    status = int(entry["StatusCode"])
    headers = {
        k: v
        for k, v in (entry.get("ResponseHeaders") or {}).items()
        if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
    }
    headers.setdefault("Content-Type", "application/json; charset=utf-8")
    head = f"HTTP/1.1 {status} {http.client.responses.get(status, 'Status')}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(payload)}\r\n\r\n"
    response = http.client.HTTPResponse(_Socket(head.encode() + payload))  # type: ignore[arg-type]
    response.begin()
    return response


def _same_url(sent: str, recorded: str) -> bool:
    a, b = urlsplit(sent), urlsplit(recorded)
    return (a.scheme, a.netloc, a.path.lower()) == (b.scheme, b.netloc, b.path.lower()) and (
        parse_qs(a.query) == parse_qs(b.query)
    )


class _InProcess(HttpTransport):
    """A transport with nothing to open or close: answers come from this process."""

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None


class ReplayTransport(_InProcess):
    """Answers each request with the next recorded entry, after checking it is that request."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = list(entries)
        self.sent: list[Any] = []

    @classmethod
    def from_file(cls, name: str, **substitutions: str) -> ReplayTransport:
        text = (RECORDINGS / name).read_text(encoding="utf-8")
        for key, value in substitutions.items():
            text = text.replace("{{" + key + "}}", value)
        return cls(json.loads(text)["Entries"])

    def send(self, request: Any, **_: Any) -> Any:
        assert self.entries, f"unexpected request {request.method} {request.url}"
        entry = self.entries.pop(0)
        self.sent.append(request)
        assert request.method == entry["RequestMethod"], (request.method, entry["RequestMethod"])
        assert _same_url(request.url, entry["RequestUri"]), (request.url, entry["RequestUri"])
        recorded_body = entry.get("RequestBody")
        if recorded_body is not None:
            content = getattr(request, "content", None) or getattr(request, "body", None)
            assert json.loads(content) == recorded_body, (content, recorded_body)
        # both clients build azure.core.rest requests; the pipeline reads the body (stream=False)
        response = RestHttpClientTransportResponse(
            request=request, internal_response=_raw_response(entry)
        )
        response.read()
        return response


# -- a query API answered by the local store ------------------------------------------------------
_KUSTO_TYPES = {
    "VARCHAR": "string",
    "TIMESTAMP": "datetime",
    "DOUBLE": "real",
    "BIGINT": "long",
    "HUGEINT": "long",  # DuckDB's sum of BIGINTs
    "INTEGER": "int",
    "DECIMAL": "real",
    "BOOLEAN": "bool",
    "JSON": "dynamic",
    "INTERVAL": "timespan",
}


def _kusto_value(kind: str, value: Any) -> Any:
    """A value as the query API's JSON carries it (REST spec: datetimes as ISO 8601 text, dynamic
    values as JSON text, timespans as [d.]hh:mm:ss[.fffffff])."""
    if value is None:
        return None
    if kind == "datetime":
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == "dynamic":
        return json.dumps(value)
    if kind == "timespan":
        seconds = value.total_seconds()
        days, rest = divmod(abs(seconds), 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = f"{int(hours):02d}:{int(minutes):02d}:{secs:010.7f}"
        return ("-" if seconds < 0 else "") + (f"{int(days)}." if days else "") + text
    if kind == "long":
        return int(value)
    if kind == "real":
        value = float(value)
        return (
            value
            if math.isfinite(value)
            else {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
        )
    return value


class LocalStoreTransport(_InProcess):
    """The query API's wire protocol in front of a local store: each POST .../query body is run
    on the store over its timespan and answered in the API's response shape (a refused query as
    a 400 BadArgumentError), so the Azure backend's requests and parsing run on every query."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.bodies: list[dict[str, Any]] = []

    def send(self, request: Any, **_: Any) -> Any:
        from llm_insights_kit.errors import KitError

        assert request.method == "POST" and urlsplit(request.url).path.endswith("/query")
        body = json.loads(request.content)
        self.bodies.append(body)
        start, end = (
            datetime.fromisoformat(t.replace("Z", "+00:00")) for t in body["timespan"].split("/")
        )
        try:
            result = self.store.query(body["query"], time_range=(start, end))
        except KitError as exc:
            entry = {
                "StatusCode": 400,
                "ResponseBody": {
                    "error": {
                        "message": "The request had some invalid properties",
                        "code": "BadArgumentError",
                        "innererror": {"code": "SemanticError", "message": exc.problem},
                    }
                },
            }
        else:
            kinds = [_KUSTO_TYPES[t.split("(")[0]] for t in result.types]
            entry = {
                "StatusCode": 200,
                "ResponseBody": {
                    "tables": [
                        {
                            "name": "PrimaryResult",
                            "columns": [
                                {"name": c, "type": k}
                                for c, k in zip(result.columns, kinds, strict=True)
                            ],
                            "rows": [
                                [_kusto_value(k, v) for k, v in zip(kinds, row, strict=True)]
                                for row in result.rows
                            ],
                        }
                    ]
                },
            }
        response = RestHttpClientTransportResponse(
            request=request, internal_response=_raw_response(entry)
        )
        response.read()
        return response
