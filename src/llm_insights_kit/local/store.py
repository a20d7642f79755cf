"""The local store: the six classic Application Insights tables in an embedded DuckDB file.

Rows come from envelopes (:meth:`LocalStore.ingest`, the mapping in :mod:`.envelopes`) or directly
(:meth:`LocalStore.insert`, for synthetic fixtures). KQL runs through ``duckdb-kql``
(:mod:`.kql` turns its errors into :class:`~llm_insights_kit.errors.KitError`), with two controls
Azure's query API has: ``now`` pins what ``now()``/``ago()`` mean, and ``time_range`` scopes every
table to ``[start, end)`` like the query time range of a workbook or alert.

Timestamps are stored as UTC ``TIMESTAMP``; query results give timezone-aware UTC datetimes and
dynamic columns as Python objects.

Writes are one transaction per call: a batch of envelopes is stored whole or not at all, and a
batch that carries an id already committed (a client re-sending what it sent before) is not
stored again. Queries are read-only and bounded: control commands and anything but ``SELECT``
are refused, the database has file access switched off (DuckDB ``enable_external_access``), and
each query runs on its own cursor — beside ingestion, not in its way — under a row cap and a
timeout.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb_kql
from duckdb_kql import KqlSchemaError
from duckdb_kql.engine import schema as kql_schema
from duckdb_kql.translate import CLOCK_SLOT
from llm_insights import contract

from ..errors import KitError
from ..fsutil import ensure_dir
from ..tables import TABLES
from . import translations
from .envelopes import (
    INT_RANGE,
    ITEM_TYPES,
    LONG_RANGE,
    EnvelopeError,
    clean_text,
    envelope_rows,
    parse_time,
    rows_by_table,
)
from .kql import query_label, translate_error

#: Local limits on one query. Azure Monitor's query API returns at most 500,000 rows and runs a
#: query at most 10 minutes (learn.microsoft.com/azure/azure-monitor/service-limits, "Log
#: queries and language"); here a query shares a laptop with ingestion, so both are tighter.
QUERY_ROW_CAP = 100_000
QUERY_TIMEOUT_S = 60.0
#: DuckDB's memory for queries and writes together (its default is 80 % of the machine's RAM).
MEMORY_LIMIT = "2GB"
#: How long a committed batch id is remembered: the exporter keeps a batch it could not deliver
#: on disk for 48 hours and re-sends it unchanged (azure-monitor-opentelemetry-exporter,
#: ``export/_base.py``: ``storage_retention_period`` 48 * 60 * 60, ``_transmit_from_storage``).
BATCH_ID_RETENTION_S = 48 * 60 * 60
_BATCHES = '"llm_insights_ingest"."batches"'
_CONTROL_COMMAND = re.compile(r"^\s*(?://[^\n]*\n\s*)*\.")
READ_ONLY = (
    "the local store answers queries only: control commands (.set, .append, .create, .attach, "
    ".drop, ...), writes and file access are refused"
)

#: Kusto column type → DuckDB column type.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "datetime": "TIMESTAMP",
    "real": "DOUBLE",
    "long": "BIGINT",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "dynamic": "JSON",
}


class Ingested(NamedTuple):
    """What :meth:`LocalStore.ingest_valid` did with a batch."""

    rows: int
    errors: list[tuple[int, str]]
    duplicate: bool = False


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

    #: Rows one query may return and seconds it may run (instance attributes override).
    row_cap = QUERY_ROW_CAP
    query_timeout_s = QUERY_TIMEOUT_S

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only and self.path != ":memory:"
        if self.path != ":memory:" and not self.read_only:
            ensure_dir(Path(self.path).parent, "--db", "directory of the local store")
        try:
            self._con = _connect(self.path, self.read_only)
        except Exception as exc:  # duckdb.IOException etc.: locked or not a DuckDB file
            hint = ""
            holder = lock_holder_pid(str(exc))
            if holder is not None:
                hint = f" (process {holder} has it open for writing)"
            raise KitError(self.path, f"cannot open the local store{hint}: {exc}") from None
        self._lock = threading.RLock()
        self._closed = False
        self.duplicate_batches = 0
        self._batches = 0
        self._catalog = self._con.execute("SELECT current_database()").fetchone()[0]
        self.schemas: dict[str, tuple[tuple[str, str], ...]] = dict(TABLES)
        with self._lock:
            for table, columns in self.schemas.items():
                if self.read_only:
                    continue
                cols = ", ".join(f'"{name}" {DUCKDB_TYPES[kind]}' for name, kind in columns)
                self._con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')
            # Table -> columns for duckdb-kql (join/union need it); the tables never change
            # shape. Only the telemetry tables: the batch ids are no table of Azure's.
            self._kql_schema = {
                name: columns
                for name, columns in kql_schema(self._con).items()
                if name.rsplit(".", 1)[-1] in self.schemas
            }
            if not self.read_only:
                self._con.execute("CREATE SCHEMA IF NOT EXISTS llm_insights_ingest")
                self._con.execute(
                    f"CREATE TABLE IF NOT EXISTS {_BATCHES} "
                    "(id VARCHAR PRIMARY KEY, received TIMESTAMP)"
                )
                self._forget_old_batches()
            # Queries never touch files; writes need none either (rows arrive as a parameter).
            self._con.execute("SET enable_external_access = false")
            self._con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            self._con.execute("SET lock_configuration = true")
        self._names = {t: frozenset(n for n, _ in cols) for t, cols in self.schemas.items()}
        self._schema_key = translations.schema_digest(self._kql_schema)
        self._insert_sql = {
            table: (
                f'INSERT INTO "{table}" SELECT r.* FROM (SELECT from_json('
                f"unnest(string_split(?, chr(10))), "
                f"'{json.dumps({n: DUCKDB_TYPES[k] for n, k in cols})}') AS r)"
            )
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
            elif kind == "string" and isinstance(value, str):
                value = clean_text(value)
            elif kind in ("int", "long") and isinstance(value, int):
                bounds = INT_RANGE if kind == "int" else LONG_RANGE
                if not bounds[0] <= value <= bounds[1]:
                    raise KitError(f"{where}: {name}", f"{value} is outside the {kind} range")
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
        return self._write_all({table: values})

    def _write(self, table: str, values: Sequence[Sequence[Any]]) -> None:
        """Bulk-load rows as one newline-delimited JSON parameter (DuckDB parses it ~50x faster
        than binding parameters row by row, and no file is ever written beside the store)."""
        if not values:
            return
        names = [name for name, _ in self.schemas[table]]
        text = "\n".join(
            json.dumps(dict(zip(names, row, strict=True)), default=str) for row in values
        )
        self._con.execute(self._insert_sql[table], [text])

    def ingest_valid(self, envelopes: Sequence[Any], *, batch_id: str | None = None) -> Ingested:
        """Ingest the envelopes that map cleanly: rows written, ``[(index, error)...]`` and
        whether the batch was a re-send of one already stored.

        What the ingestion endpoint does with a batch: Azure accepts the good items of a batch
        and reports the bad ones (HTTP 206), it does not drop the batch for one bad envelope.
        Every envelope is checked before anything is written; the good ones are written in one
        transaction. A *batch_id* already committed (within ``BATCH_ID_RETENTION_S``) writes
        nothing and returns the same errors: the batch was stored when it was first answered.
        """
        grouped: dict[str, list[list[Any]]] = {}
        errors: list[tuple[int, str]] = []
        for index, envelope in enumerate(envelopes):
            try:
                pairs = envelope_rows(envelope)
                values = [(t, self._row_values(t, row, f"envelope {index}")) for t, row in pairs]
            except EnvelopeError as exc:
                errors.append((index, f"envelope {index}: {exc}"))
            except KitError as exc:
                errors.append((index, str(exc)))
            except (TypeError, ValueError, AttributeError, OverflowError) as exc:
                errors.append((index, f"envelope {index}: malformed ({exc})"))
            else:
                for table, row_values in values:
                    grouped.setdefault(table, []).append(row_values)
        written = self._write_all(grouped, batch_id)
        return Ingested(max(written, 0), errors, written < 0)

    def _seen(self, batch_id: str) -> bool:
        found = self._con.execute(f"SELECT 1 FROM {_BATCHES} WHERE id = ?", [batch_id])
        return found.fetchone() is not None

    def _forget_old_batches(self) -> None:
        self._con.execute(
            f"DELETE FROM {_BATCHES} WHERE received < now()::TIMESTAMP - to_seconds(?)",
            [BATCH_ID_RETENTION_S],
        )

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

    def _write_all(
        self, prepared: Mapping[str, Sequence[Sequence[Any]]], batch_id: str | None = None
    ) -> int:
        """Every table's rows in one transaction (all or nothing), the batch id with them;
        the number of rows written, or -1 when *batch_id* was already stored."""
        with self._lock:
            self._check_open()
            if batch_id is not None and self.read_only:
                raise KitError(self.path, "the local store is open read-only")
            self._con.execute("BEGIN TRANSACTION")
            try:
                if batch_id is not None:
                    if self._seen(batch_id):
                        self._con.execute("ROLLBACK")
                        self.duplicate_batches += 1
                        return -1
                    self._con.execute(
                        f"INSERT INTO {_BATCHES} VALUES (?, now()::TIMESTAMP)", [batch_id]
                    )
                    self._batches += 1
                    if self._batches % 1000 == 0:  # a server runs for days: keep 48 h only
                        self._forget_old_batches()
                for table, values in prepared.items():
                    self._write(table, values)
                self._con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    self._con.execute("ROLLBACK")
                raise
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
        if _CONTROL_COMMAND.match(kql):
            raise KitError(label, READ_ONLY)
        try:
            sql, params = self._translate(kql, query_now)
        except Exception as exc:
            raise translate_error(exc, label, kql) from None
        with self._lock:
            self._check_open()
            cursor = self._con.cursor()  # its own connection: reads a snapshot, beside writes
        interrupted = threading.Event()

        def interrupt() -> None:
            interrupted.set()
            cursor.interrupt()

        timer = threading.Timer(self.query_timeout_s, interrupt)
        timer.daemon = True
        try:
            if any(s.type.name != "SELECT" for s in cursor.extract_statements(sql)):
                raise KitError(label, READ_ONLY)
            if scope is not None:
                self._scope(cursor, *scope)
            timer.start()
            relation = cursor.sql(sql, params=params) if params else cursor.sql(sql)
            columns = list(relation.columns)
            types = [str(t) for t in relation.types]
            raw = relation.limit(self.row_cap + 1).fetchall()
        except KitError:
            raise
        except Exception as exc:
            if interrupted.is_set():
                raise KitError(
                    label,
                    f"ran longer than {self.query_timeout_s:g} s, the local query timeout; "
                    "narrow the time range or summarize sooner",
                ) from None
            raise translate_error(exc, label, kql) from None
        finally:
            timer.cancel()
            with contextlib.suppress(Exception):
                cursor.close()
        if len(raw) > self.row_cap:
            raise KitError(
                label,
                f"returns more than {self.row_cap:,} rows, the local row cap; "
                "add take, summarize or a narrower where",
            )
        return QueryResult(columns, [_convert(row, types) for row in raw], types, sql)

    def _translate(self, kql: str, now: datetime | None) -> tuple[str, dict[str, Any]]:
        """KQL → (DuckDB SQL, parameters), kept by text (``translations``): alert evaluation
        re-runs one query at many instants, pages re-run every panel, and duckdb-kql's ANTLR
        parser costs ~0.1-0.3 s per query. A pinned ``now`` is a bound parameter of the SQL, so
        one translation serves every instant."""

        def translate() -> tuple[str, dict[str, Any]]:
            translated = duckdb_kql.to_sql(kql, schema=self._kql_schema, query_now=now)
            if translated.unbound:
                raise KqlSchemaError(
                    ", ".join(translated.unbound),
                    hint="declared query parameter with no value and no default",
                )
            return str(translated), dict(translated.parameters or {})

        sql, params = translations.cached(kql, self._schema_key, now is not None, translate)
        if now is not None and CLOCK_SLOT in params:
            params = {**params, CLOCK_SLOT: now}
        return sql, params

    def _scope(self, cursor: Any, start: datetime, end: datetime) -> None:
        """Temp views (local to *cursor*) that scope every table to ``[start, end)``."""
        for table in self.schemas:
            cursor.execute(
                f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM '
                f'"{self._catalog}".main."{table}" '
                f"WHERE timestamp >= TIMESTAMP '{start.isoformat(sep=' ')}' "
                f"AND timestamp < TIMESTAMP '{end.isoformat(sep=' ')}'"
            )

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


def _connect(path: str, read_only: bool) -> Any:
    """The DuckDB connection; a new store file is created readable by its owner only."""
    if read_only or path == ":memory:" or Path(path).exists():
        return duckdb_kql.connect(path, read_only=read_only)
    old = os.umask(0o077)
    try:
        return duckdb_kql.connect(path)
    finally:
        os.umask(old)


_LOCK_PID = re.compile(r"Conflicting lock is held in .*?\(PID (\d+)\)", re.S)


def lock_holder_pid(message: str) -> int | None:
    """The process DuckDB names as holding a store file's lock, from its error message."""
    found = _LOCK_PID.search(message)
    return int(found.group(1)) if found else None


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
