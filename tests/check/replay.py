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
import time
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


class ReplayTransport(HttpTransport):
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

    def __enter__(self) -> ReplayTransport:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

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
