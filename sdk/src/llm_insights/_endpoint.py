"""Where telemetry goes, checked once at ``configure()``: a wrong address is one clear line.

The Azure Monitor exporter accepts a connection string it cannot use and fails later, quietly or
as repeated log lines: an ``IngestionEndpoint`` without ``http://`` makes it ask for a region
(``Exporter is missing a valid region.``), one ending in ``/v2.1/track`` posts to
``/v2.1/track/v2.1/track``, and nothing listening at a local endpoint loses every batch. So before
the exporter is built the address is checked the way the exporter reads it
(azure-sdk-for-python, ``sdk/monitor/azure-monitor-opentelemetry-exporter/azure/monitor/
opentelemetry/exporter/_connection_string_parser.py``: ``key=value`` pairs split on ``;`` and
``=``, an ``InstrumentationKey`` that is a lowercase UUID, ``Authorization`` only ``ikey``; the
exporter appends ``/v2.1/track`` to the endpoint itself), and a loopback endpoint is connected
to once. Remote endpoints are never contacted here.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from . import contract as c

CONNECT_TIMEOUT_S = 1.0
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TRACK_PATH = "/v2.1/track"


def problem(conn: str, source: str) -> str | None:
    """What is wrong with where *conn* sends telemetry (one line), or None when it is usable.

    *source* names where the setting came from (an environment variable or ``argument``)."""
    if source == c.ENV_LOCAL_ENDPOINT:
        fields = _fields(conn) or {}
        endpoint = fields.get("ingestionendpoint", "").rstrip("/")
        return _endpoint_problem(endpoint, c.ENV_LOCAL_ENDPOINT)
    where = c.ENV_CONNECTION_STRING if source == c.ENV_CONNECTION_STRING else "connection_string"
    fields = _fields(conn)
    if fields is None:
        return (
            f"{where}: not a connection string: expected key=value pairs separated by ';' "
            "(InstrumentationKey=<uuid>;IngestionEndpoint=https://...), as the Application "
            "Insights resource shows it"
        )
    ikey = fields.get("instrumentationkey", "")
    if not _UUID.match(ikey):
        shown = f"InstrumentationKey = {ikey!r}" if ikey else "no InstrumentationKey"
        return f"{where}: {shown}: expected a lowercase UUID (the Application Insights resource's)"
    auth = fields.get("authorization")
    if auth is not None and auth.lower() != "ikey":
        return f"{where}: Authorization = {auth!r}: the exporter accepts only ikey"
    endpoint = fields.get("ingestionendpoint")
    if endpoint is None:
        return None
    return _endpoint_problem(endpoint.rstrip("/"), f"{where}: IngestionEndpoint")


def _fields(conn: str) -> dict[str, str] | None:
    """The connection string's pairs (keys lowercased), or None when a part is not key=value."""
    fields = {}
    for part in conn.split(";"):
        pieces = part.split("=")
        if len(pieces) != 2 or not pieces[0].strip():
            return None
        fields[pieces[0].strip().lower()] = pieces[1].strip()
    return fields


def _endpoint_problem(endpoint: str, where: str) -> str | None:
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return f"{where} = {endpoint!r}: not a URL; expected http://host:port"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (
            f"{where} = {endpoint!r}: expected an http:// or https:// URL such as "
            "http://127.0.0.1:5318 (the scheme is missing)"
        )
    base = f"{parts.scheme}://{parts.netloc}"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        extra = endpoint[len(base) :]
        hint = f" (the exporter adds {_TRACK_PATH} itself)" if _TRACK_PATH in parts.path else ""
        return f"{where} = {endpoint!r}: remove {extra!r}, give the server's address {base}{hint}"
    if not _is_loopback(parts.hostname):
        return None
    try:
        with socket.create_connection(
            (parts.hostname, port or (443 if parts.scheme == "https" else 80)),
            timeout=CONNECT_TIMEOUT_S,
        ):
            return None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return (
            f"{where} = {endpoint!r}: nothing answers there ({why.lower()}); start the local "
            "endpoint first (llm-insights serve) or correct the address"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
