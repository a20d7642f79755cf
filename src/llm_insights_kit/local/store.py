"""The local store: the six classic Application Insights tables in an embedded DuckDB file.

Rows come from envelopes (:meth:`LocalStore.ingest`, the mapping in :mod:`.envelopes`) or directly
(:meth:`LocalStore.insert`, for synthetic fixtures). KQL runs through ``duckdb-kql``
(:mod:`.kql` turns its errors into :class:`~llm_insights_kit.errors.KitError`), with two controls
Azure's query API has: ``now`` pins what ``now()``/``ago()`` mean, and ``time_range`` scopes every
table to ``[start, end)`` like the query time range of a workbook or alert.

Timestamps are stored as UTC ``TIMESTAMP``; query results give timezone-aware UTC datetimes and
dynamic columns as Python objects.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb_kql
from duckdb_kql import KqlSchemaError
from duckdb_kql.engine import schema as kql_schema
from duckdb_kql.translate import CLOCK_SLOT
from llm_insights import contract

from ..errors import KitError
from ..fsutil import ensure_dir
from ..tables import TABLES
from .envelopes import ITEM_TYPES, EnvelopeError, envelope_rows, parse_time, rows_by_table
from .kql import query_label, translate_error

#: Kusto column type → DuckDB column type.
_TRANSLATION_CACHE = 512
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "datetime": "TIMESTAMP",
    "real": "DOUBLE",
    "long": "BIGINT",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "dynamic": "JSON",
}


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of one query. Datetimes are UTC-aware; dynamic values are parsed JSON."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    types: list[str] = field(default_factory=list)
    sql: str = ""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        """The single value of a one-row, one-column result (``None`` when empty)."""
        return self.rows[0][0] if self.rows and self.rows[0] else None

    def __len__(self) -> int:
        return len(self.rows)


def _utc_naive(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise KitError(what, f"{moment!r} is not a datetime")
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class LocalStore:
    """DuckDB holding ``llm_insights_kit.tables.TABLES``; safe to ingest from one thread while
    querying in another.

    ``path`` is a DuckDB file (created if missing, tables added if absent) or ``":memory:"``.
    ``read_only`` opens an existing file without writing (previews, alert evaluation); temp views
    for ``time_range`` still work.
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only and self.path != ":memory:"
        if self.path != ":memory:" and not self.read_only:
            ensure_dir(Path(self.path).parent, "--db", "directory of the local store")
        try:
            self._con = duckdb_kql.connect(self.path, read_only=self.read_only)
        except Exception as exc:  # duckdb.IOException etc.: locked or not a DuckDB file
            hint = ""
            if "lock" in str(exc).lower():
                hint = (
                    " (another process has it open for writing; while `llm-insights serve` "
                    "holds it, readers query through it automatically — this holder is not "
                    "a running serve, or its .serve.json note is missing)"
                )
            raise KitError(self.path, f"cannot open the local store{hint}: {exc}") from None
        self._lock = threading.RLock()
        self._closed = False
        self._catalog = self._con.execute("SELECT current_database()").fetchone()[0]
        self.schemas: dict[str, tuple[tuple[str, str], ...]] = dict(TABLES)
        with self._lock:
            for table, columns in self.schemas.items():
                if self.read_only:
                    continue
                cols = ", ".join(f'"{name}" {DUCKDB_TYPES[kind]}' for name, kind in columns)
                self._con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')
        self._names = {t: frozenset(n for n, _ in cols) for t, cols in self.schemas.items()}
        self._translations: dict[tuple[str, bool], tuple[str, dict[str, Any]]] = {}
        # Table -> columns for duckdb-kql (join/union need it); the tables never change shape.
        self._kql_schema = kql_schema(self._con)
        self._json_columns = {
            table: "{" + ", ".join(f"'{n}': '{DUCKDB_TYPES[k]}'" for n, k in cols) + "}"
            for table, cols in self.schemas.items()
        }

    # -- writing ---------------------------------------------------------------------------
    def _default(self, table: str, column: str, kind: str) -> Any:
        if column == "itemCount":
            return 1
        if column == "itemType":
            return ITEM_TYPES[table]
        if column == "itemId":
            return str(uuid.uuid4())
        if column == "timestamp":
            return datetime.now(UTC).replace(tzinfo=None)
        if kind == "string":
            return ""
        if kind == "dynamic":
            return {}
        if column == "success":
            return True
        return None

    def _row_values(self, table: str, row: Mapping[str, Any], where: str) -> list[Any]:
        columns = self.schemas[table]
        unknown = row.keys() - self._names[table]
        if unknown:
            allowed = ", ".join(name for name, _ in columns)
            raise KitError(
                where, f"unknown column(s) {', '.join(sorted(unknown))}; {table} has: {allowed}"
            )
        row = dict(row)
        if table == contract.TABLE_METRICS:  # one value given stands for a single-sample point
            if row.get("value") is None and row.get("valueSum") is not None:
                row["value"] = row["valueSum"]
            for name in ("valueSum", "valueMin", "valueMax"):
                if row.get(name) is None and row.get("value") is not None:
                    row[name] = row["value"]
            row.setdefault("valueCount", 1)
            row.setdefault("valueStdDev", 0.0)
        values: list[Any] = []
        for name, kind in columns:
            value = row.get(name)
            if value is None:
                value = self._default(table, name, kind)
            if kind == "dynamic" and isinstance(value, str):
                with contextlib.suppress(json.JSONDecodeError):
                    value = json.loads(value)  # JSON text given for a dynamic column
            elif kind == "datetime":
                try:
                    value = parse_time(value).isoformat()
                except ValueError as exc:
                    raise KitError(f"{where}: {name}", str(exc)) from None
            elif isinstance(value, float) and not math.isfinite(value):
                value = None  # JSON has no NaN/inf; Kusto shows them as null too
            values.append(value)
        return values

    def insert(self, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert rows given as column → value (missing columns default like Azure); returns count.

        Defaults: ``itemCount`` 1, strings empty, dynamic ``{}``, ``success`` true, ``itemType``
        of the table, a fresh ``itemId``, ``timestamp`` now. customMetrics rows with only
        ``value`` get ``valueSum``/``valueMin``/``valueMax`` = value and ``valueCount`` 1.
        """
        if table not in self.schemas:
            raise KitError(
                f"table {table!r}", f"not a local table; one of {', '.join(self.schemas)}"
            )
        values = [self._row_values(table, row, f"{table} row {i}") for i, row in enumerate(rows)]
        self._write(table, values)
        return len(values)

    def _write(self, table: str, values: Sequence[Sequence[Any]]) -> None:
        """Bulk-load rows through a temporary NDJSON file (DuckDB's read_json is ~50x faster
        than binding parameters row by row)."""
        if not values:
            return
        names = [name for name, _ in self.schemas[table]]
        fd, tmp = tempfile.mkstemp(prefix="llm-insights-", suffix=".ndjson")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for row in values:
                    handle.write(json.dumps(dict(zip(names, row, strict=True)), default=str))
                    handle.write("\n")
            source = tmp.replace("'", "''")
            sql = (
                f"INSERT INTO \"{table}\" SELECT * FROM read_json('{source}', "
                f"format='newline_delimited', columns={self._json_columns[table]})"
            )
            with self._lock:
                self._check_open()
                self._con.execute(sql)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def ingest_valid(
        self, envelopes: Sequence[Mapping[str, Any]]
    ) -> tuple[int, list[tuple[int, str]]]:
        """Ingest the envelopes that map cleanly; return (rows written, [(index, error)...]).

        What the ingestion endpoint does with a batch: Azure accepts the good items of a batch
        and reports the bad ones (HTTP 206), it does not drop the batch for one bad envelope.
        """
        grouped: dict[str, list[dict[str, Any]]] = {}
        errors: list[tuple[int, str]] = []
        for index, envelope in enumerate(envelopes):
            try:
                pairs = envelope_rows(envelope)
                values = [(t, self._row_values(t, row, f"envelope {index}")) for t, row in pairs]
            except EnvelopeError as exc:
                errors.append((index, f"envelope {index}: {exc}"))
            except KitError as exc:
                errors.append((index, str(exc)))
            except (TypeError, ValueError, AttributeError) as exc:
                errors.append((index, f"envelope {index}: malformed ({exc})"))
            else:
                for table, row_values in values:
                    grouped.setdefault(table, []).append(row_values)
        return self._write_all(grouped), errors

    def ingest(self, envelopes: Iterable[Mapping[str, Any]]) -> int:
        """Map envelopes to rows (see :mod:`.envelopes`) and insert them; returns rows written.

        A malformed envelope raises ``EnvelopeError`` naming its index and nothing is written.
        """
        grouped = rows_by_table(envelopes)
        return self._write_all(
            {
                table: [self._row_values(table, row, f"{table} row") for row in rows]
                for table, rows in grouped.items()
            }
        )

    def _write_all(self, prepared: Mapping[str, Sequence[Sequence[Any]]]) -> int:
        with self._lock:
            for table, values in prepared.items():
                self._write(table, values)
        return sum(len(v) for v in prepared.values())

    # -- reading ---------------------------------------------------------------------------
    def count(self, table: str) -> int:
        """Rows in *table* (not ``sum(itemCount)``)."""
        if table not in self.schemas:
            raise KitError(f"table {table!r}", f"one of {', '.join(self.schemas)}")
        with self._lock:
            self._check_open()
            return int(self._con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])

    def query(
        self,
        kql: str,
        *,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        name: str | None = None,
    ) -> QueryResult:
        """Run *kql*; ``now`` pins ``now()``/``ago()``, ``time_range`` scopes every table.

        Raises :class:`KitError` naming the query (``name`` or its first line) for unsupported
        constructs, syntax errors (with line/column), unknown tables/columns and engine errors.
        """
        label = query_label(kql, name)
        query_now = _utc_naive(now, label) if now is not None else None
        scope = None
        if time_range is not None:
            start, end = (_utc_naive(t, f"{label}: time_range") for t in time_range)
            if end < start:
                raise KitError(f"{label}: time_range", f"end {end} is before start {start}")
            scope = (start, end)
        try:
            sql, params = self._translate(kql, query_now)
        except Exception as exc:
            raise translate_error(exc, label, kql) from None
        with self._lock:
            self._check_open()
            try:
                if scope is not None:
                    self._scope(*scope)
                try:
                    relation = self._con.sql(sql, params=params) if params else self._con.sql(sql)
                    columns = list(relation.columns)
                    types = [str(t) for t in relation.types]
                    raw = relation.fetchall()
                finally:
                    if scope is not None:
                        self._unscope()
            except KitError:
                raise
            except Exception as exc:
                raise translate_error(exc, label, kql) from None
        return QueryResult(columns, [_convert(row, types) for row in raw], types, sql)

    def _translate(self, kql: str, now: datetime | None) -> tuple[str, dict[str, Any]]:
        """KQL → (DuckDB SQL, parameters), cached by text: alert evaluation re-runs one query at
        many instants, and duckdb-kql's ANTLR parser costs ~0.1-0.3 s per query. A pinned
        ``now`` is a bound parameter of the SQL, so one translation serves every instant."""
        key = (kql, now is not None)
        cached = self._translations.get(key)
        if cached is None:
            translated = duckdb_kql.to_sql(kql, schema=self._kql_schema, query_now=now)
            if translated.unbound:
                raise KqlSchemaError(
                    ", ".join(translated.unbound),
                    hint="declared query parameter with no value and no default",
                )
            cached = (str(translated), dict(translated.parameters or {}))
            with self._lock:
                if len(self._translations) >= _TRANSLATION_CACHE:
                    self._translations.pop(next(iter(self._translations)))
                self._translations[key] = cached
        sql, params = cached
        if now is not None and CLOCK_SLOT in params:
            params = {**params, CLOCK_SLOT: now}
        return sql, params

    def _scope(self, start: datetime, end: datetime) -> None:
        for table in self.schemas:
            self._con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM '
                f'"{self._catalog}".main."{table}" '
                f"WHERE timestamp >= TIMESTAMP '{start.isoformat(sep=' ')}' "
                f"AND timestamp < TIMESTAMP '{end.isoformat(sep=' ')}'"
            )

    def _unscope(self) -> None:
        for table in self.schemas:
            self._con.execute(f'DROP VIEW IF EXISTS temp.main."{table}"')

    # -- lifecycle -------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise KitError(self.path, "the local store is closed")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._con.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _convert(row: tuple[Any, ...], types: list[str]) -> tuple[Any, ...]:
    out = []
    for value, kind in zip(row, types, strict=True):
        if value is not None:
            if kind == "JSON" and isinstance(value, str):
                with contextlib.suppress(json.JSONDecodeError):
                    value = json.loads(value)
            elif isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
        out.append(value)
    return tuple(out)
