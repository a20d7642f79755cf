"""KQL on the local store: turning ``duckdb-kql``'s refusals into clear :class:`KitError`\\ s.

Everything the local engine does not translate raises, naming the query and the construct, so a
workbook or alert template cannot silently run differently here than on Azure. The subset that
runs is what ``duckdb-kql`` (1.1.2) translates; ``docs/local.md`` lists what it refuses.
"""

from __future__ import annotations

import re

from duckdb_kql import KqlError, KqlSchemaError, KqlSyntaxError, KqlUnsupportedError

from ..errors import KitError
from ..tables import TABLES

_MISSING_TABLE = re.compile(r"Table with name (\S+) does not exist")
_MISSING_COLUMN = re.compile(r'(?:Referenced column|Column) "([^"]+)" (?:not found|referenced)')

ENGINE = "the local engine (duckdb-kql)"


def query_label(kql: str, name: str | None = None) -> str:
    """``query <name>`` or ``query "<first non-comment line>"`` for error messages."""
    if name:
        return f"query {name}"
    for line in kql.splitlines():
        text = line.strip()
        if text and not text.startswith("//"):
            return f'query "{text[:80]}"'
    return "query (empty)"


def translate_error(exc: Exception, label: str, kql: str) -> KitError:
    """A user-facing KitError for any failure of translating or running *kql* (1-based columns)."""
    if isinstance(exc, KqlUnsupportedError):
        where = f" at line {exc.span.line}, column {exc.span.column + 1}" if exc.span else ""
        hint = f" ({exc.hint})" if exc.hint else ""
        return KitError(
            label,
            f"{exc.construct} is not supported by {ENGINE}{where}{hint}; rewrite it with the "
            "supported subset or mark the query as checked by the Kusto language service only",
        )
    if isinstance(exc, KqlSyntaxError):
        if exc.diagnostics:
            detail = "; ".join(
                f"line {d.span.line}, column {d.span.column + 1}: {d.message}"
                for d in exc.diagnostics
            )
        else:
            detail = str(exc)
        return KitError(label, f"KQL syntax error: {detail}")
    if isinstance(exc, KqlSchemaError):
        hint = f" ({exc.hint})" if exc.hint else ""
        return KitError(label, f"unknown or ambiguous name {exc.name!r}{hint}")
    if isinstance(exc, KqlError):
        return KitError(label, f"KQL error: {exc}")
    table = _MISSING_TABLE.search(str(exc))
    if table:
        return KitError(
            label,
            f"unknown table {table.group(1)!r}; the local store has the classic Application "
            f"Insights tables {', '.join(TABLES)}",
        )
    column = _MISSING_COLUMN.search(str(exc))
    if column:
        return KitError(label, f"unknown column {column.group(1)!r}")
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return KitError(label, f"{ENGINE} failed to run it: {type(exc).__name__}: {message}")
