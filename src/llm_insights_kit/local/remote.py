"""Readers beside a running ``llm-insights serve``: queries go through the serving process.

DuckDB lets one process hold a database file for writing and then no other process may open it,
not even read-only (its error: "Could not set lock on file … Conflicting lock is held in … (PID
…). See also https://duckdb.org/docs/current/connect/concurrency" — one process can read and
write, or many processes can only read). ``serve`` holds
the file, so it also answers KQL on loopback (``POST /api/query``) and leaves a note next to the
file (``<db>.serve.json``: its pid, address and a random token, readable only by its user).
:func:`open_reader` opens the file read-only when it can, and otherwise — the file held by a
running server — returns a :class:`RemoteStore` that sends each query to that server, so
``preview``, ``alerts eval`` and any other reader work while ``serve`` runs.

Results cross the wire as JSON with the few non-JSON values tagged (datetimes, timespans,
decimals, non-finite floats), so a remote result equals the local one value for value.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from ..errors import KitError
from .store import LocalStore, QueryResult, lock_holder_pid

QUERY_PATH = "/api/query"
TOKEN_HEADER = "X-LLM-Insights-Token"
REMOTE_TIMEOUT_S = 120.0


def serve_note_path(db: Path | str) -> Path:
    """Where a running server leaves its address next to the store file."""
    return Path(f"{db}.serve.json")


@dataclass(frozen=True)
class ServeNote:
    pid: int
    url: str
    token: str

    @classmethod
    def create(cls, url: str) -> ServeNote:
        return cls(os.getpid(), url, secrets.token_urlsafe(24))

    def write(self, db: Path | str) -> Path:
        """Write the note readable by its owner only, replacing a stale one safely.

        The note carries the token, so it is written to a fresh file (``O_EXCL|O_NOFOLLOW``,
        mode 0600: never an existing file, never through a symlink) that then atomically takes
        the note's name — a stale note, or a symlink planted in its place, is replaced, not
        written through. Only the process that holds the store writes it, so any note already
        there is stale.
        """
        path = serve_note_path(db)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(temp, flags, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"pid": self.pid, "url": self.url, "token": self.token}, handle)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return path

    def remove(self, db: Path | str) -> None:
        """Delete the note if it is still this one (never another server's)."""
        path = serve_note_path(db)
        if ServeNote.read(db) == self:
            with contextlib.suppress(OSError):
                path.unlink()

    @classmethod
    def read(cls, db: Path | str) -> ServeNote | None:
        path = serve_note_path(db)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, encoding="utf-8") as handle:
                data = json.load(handle)
            return cls(int(data["pid"]), str(data["url"]), str(data["token"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def lock_cause(path: Path | str, error: KitError) -> KitError:
    """*error* (the store file is locked) with its real cause: which process holds the file,
    and whether it is the ``llm-insights serve`` its note names."""
    holder = lock_holder_pid(error.problem)
    if holder is None:
        return error
    note = ServeNote.read(path)
    if note is not None and note.pid == holder:
        return KitError(
            str(path),
            f"`llm-insights serve` (pid {holder}, {note.url}) is serving this store; stop it "
            "(Ctrl-C) or pass another --db. Readers (preview, alerts eval) query through it.",
        )
    found = f"its note names pid {note.pid}, a stale note" if note else "it left no note"
    return KitError(
        str(path),
        f"process {holder} holds this store open for writing and is not a running "
        f"`llm-insights serve` ({found} at {serve_note_path(path)}); stop that process first",
    )


# -- values on the wire ----------------------------------------------------------------------
def encode_value(value: Any) -> Any:
    """A query result value as JSON, non-JSON types tagged ``{"~<tag>": ...}``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"~f": repr(value)}
    if isinstance(value, datetime):
        return {"~dt": value.isoformat()}
    if isinstance(value, date):
        return {"~d": value.isoformat()}
    if isinstance(value, timedelta):
        return {"~td": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {"~dec": str(value)}
    if isinstance(value, bytes):
        return {"~b": base64.b64encode(value).decode()}
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {"~o": {str(k): encode_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    return str(value)


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "~o":
        return {k: decode_value(v) for k, v in inner.items()}
    if tag == "~f":
        return float(inner)
    if tag == "~dt":
        return datetime.fromisoformat(inner)
    if tag == "~d":
        return date.fromisoformat(inner)
    if tag == "~td":
        return timedelta(days=inner[0], seconds=inner[1], microseconds=inner[2])
    if tag == "~dec":
        return Decimal(inner)
    if tag == "~b":
        return base64.b64decode(inner)
    raise ValueError(f"unknown value tag {tag!r}")


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answer_query(store: LocalStore, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The server side of ``POST /api/query``: (HTTP status, JSON body)."""
    try:
        kql = request["kql"]
        if not isinstance(kql, str):
            raise TypeError("kql must be a string")
        now = _time(request.get("now"))
        span = request.get("time_range")
        time_range = None if span is None else (_time(span[0]), _time(span[1]))
        name = request.get("name")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        return 400, {"error": {"where": QUERY_PATH, "problem": f"malformed request: {exc}"}}
    try:
        result = store.query(kql, now=now, time_range=time_range, name=name)  # type: ignore[arg-type]
    except KitError as exc:
        return 422, {"error": {"where": exc.where, "problem": exc.problem}}
    return 200, {
        "columns": result.columns,
        "types": result.types,
        "rows": [[encode_value(v) for v in row] for row in result.rows],
        "sql": result.sql,
    }


class RemoteStore:
    """The reading half of :class:`LocalStore` (``query``, ``count``) served by ``serve``."""

    read_only = True

    def __init__(self, path: Path | str, note: ServeNote) -> None:
        self.path = str(path)
        self.note = note

    def query(
        self,
        kql: str,
        *,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        name: str | None = None,
    ) -> QueryResult:
        body = {
            "kql": kql,
            "now": now.isoformat() if now is not None else None,
            "time_range": None if time_range is None else [t.isoformat() for t in time_range],
            "name": name,
        }
        request = urllib.request.Request(
            self.note.url.rstrip("/") + QUERY_PATH,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", TOKEN_HEADER: self.note.token},
        )
        try:
            with urllib.request.urlopen(request, timeout=REMOTE_TIMEOUT_S) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                error = json.loads(exc.read())["error"]
                raise KitError(str(error["where"]), str(error["problem"])) from None
            raise KitError(self.path, f"the serving process answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise KitError(
                self.path, f"cannot reach the serving process at {self.note.url}: {exc}"
            ) from None
        rows = [tuple(decode_value(v) for v in row) for row in payload["rows"]]
        return QueryResult(payload["columns"], rows, payload["types"], payload["sql"])

    def count(self, table: str) -> int:
        return int(self.query(f"{table} | count").scalar() or 0)

    def close(self) -> None:
        return None

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_reader(path: Path | str) -> LocalStore | RemoteStore:
    """The store file for reading: opened read-only, or through the server that holds it."""
    try:
        return LocalStore(path, read_only=True)
    except KitError as error:
        holder = lock_holder_pid(error.problem)
        note = ServeNote.read(path)
        if holder is None or note is None or note.pid != holder:
            raise lock_cause(path, error) from None
        return RemoteStore(path, note)


__all__ = [
    "QUERY_PATH",
    "TOKEN_HEADER",
    "RemoteStore",
    "ServeNote",
    "answer_query",
    "decode_value",
    "encode_value",
    "lock_cause",
    "open_reader",
    "serve_note_path",
]
