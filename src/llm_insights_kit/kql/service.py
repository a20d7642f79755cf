"""Bridge to Microsoft's Kusto language service: check many queries in one ``node`` process.

The service (``@kusto/language-service-next``, Kusto.Language compiled to JavaScript) parses and
binds each query against the committed table schema and reports syntax errors, unknown tables or
columns and type errors — the checks the portal would otherwise do only at deploy time. The same
run returns each query's result schema (``KustoCode.ResultType``: output columns and their Kusto
types) and the restricted operators, plugins, names and functions found in its syntax tree, which
the alert-rule constraints (``alerts/constraints.py``) are checked against.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KitError
from ..paths import NODE_MODULES_DIR
from . import schema as schema_module

SCRIPT = Path(__file__).with_name("kusto_check.js")
PACKAGE = "@kusto/language-service-next"
TIMEOUT_S = 120


@dataclass(frozen=True)
class KqlQuery:
    """A query to check; ``where`` names its origin (workbook step, alert rule) for messages."""

    where: str
    text: str


@dataclass(frozen=True)
class Diagnostic:
    where: str
    severity: str
    code: str
    message: str
    line: int  # 1-based
    column: int  # 1-based
    snippet: str

    @property
    def is_error(self) -> bool:
        return self.severity.lower() == "error"

    def __str__(self) -> str:
        return (
            f"{self.where}:{self.line}:{self.column}: {self.code} {self.message} [{self.snippet}]"
        )


@dataclass(frozen=True)
class SyntaxUse:
    """A construct found in the syntax tree: ``kind`` operator | plugin | name | function."""

    kind: str
    name: str
    start: int
    literal_arguments: bool = True  # functions: every argument is a literal


@dataclass(frozen=True)
class Analysis:
    """What the language service says about one query."""

    query: KqlQuery
    diagnostics: tuple[Diagnostic, ...]
    columns: tuple[tuple[str, str], ...] | None  # result schema; None: not a tabular result
    syntax: tuple[SyntaxUse, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    def column_type(self, name: str) -> str | None:
        return dict(self.columns or ()).get(name)

    def uses(self, kind: str, *names: str) -> list[SyntaxUse]:
        return [u for u in self.syntax if u.kind == kind and (not names or u.name in names)]


def package_dir() -> Path:
    """The npm package directory (``LLM_INSIGHTS_KUSTO_LS`` overrides; default node_modules)."""
    override = os.environ.get("LLM_INSIGHTS_KUSTO_LS")
    path = Path(override) if override else NODE_MODULES_DIR / PACKAGE
    if not (path / "Kusto.Language.Bridge.min.js").is_file():
        raise KitError(str(path), f"{PACKAGE} not installed; run `make setup` (npm ci)")
    return path


def node_binary() -> str:
    node = shutil.which("node")
    if not node:
        raise KitError("node", "Node.js 20 is needed to run the Kusto language service")
    return node


def available() -> bool:
    """True when node and the language service package are both present."""
    try:
        node_binary()
        package_dir()
    except KitError:
        return False
    return True


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    offset = max(0, min(offset, len(text)))
    before = text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return line, column


def check(queries: Sequence[KqlQuery], schema: dict[str, Any] | None = None) -> list[Diagnostic]:
    """Diagnostics (errors and warnings) for every query, in one node run."""
    return [d for a in analyze(queries, schema) for d in a.diagnostics]


# Analyses by (schema, query text): loading rules for several stacks re-checks the same queries,
# and each node start costs about a second.
_CACHE: dict[tuple[str, str], tuple[Any, ...]] = {}


def analyze(queries: Sequence[KqlQuery], schema: dict[str, Any] | None = None) -> list[Analysis]:
    """Diagnostics, result schema and syntax uses of every query (one node run for the misses)."""
    if not queries:
        return []
    schema = schema or schema_module.load()
    schema_key = json.dumps(schema, sort_keys=True)
    missing = list(dict.fromkeys(q.text for q in queries if (schema_key, q.text) not in _CACHE))
    if missing:
        for text, raw in zip(missing, _run(missing, schema), strict=True):
            _CACHE[(schema_key, text)] = raw
    return [_analysis(q, _CACHE[(schema_key, q.text)]) for q in queries]


def _run(texts: Sequence[str], schema: dict[str, Any]) -> list[tuple[Any, ...]]:
    request = {
        "package": str(package_dir()),
        "database": schema.get("database", schema_module.DATABASE),
        "tables": schema["tables"],
        "queries": [{"id": str(i), "text": text} for i, text in enumerate(texts)],
    }
    try:
        proc = subprocess.run(
            [node_binary(), str(SCRIPT)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KitError(
            str(SCRIPT), f"Kusto language service did not finish in {TIMEOUT_S} s"
        ) from exc
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise KitError(str(SCRIPT), "Kusto language service failed: " + " | ".join(tail))
    by_id = {r["id"]: r for r in json.loads(proc.stdout)}
    out = []
    for i in range(len(texts)):
        r = by_id[str(i)]
        columns = None if r.get("columns") is None else tuple(tuple(c) for c in r["columns"])
        syntax = tuple(
            SyntaxUse(u["kind"], u["name"], int(u["start"]), bool(u.get("literalArguments", True)))
            for u in r.get("syntax", [])
        )
        out.append((tuple(r["diagnostics"]), columns, syntax))
    return out


def _analysis(query: KqlQuery, raw: tuple[Any, ...]) -> Analysis:
    diagnostics, columns, syntax = raw
    found = []
    for d in diagnostics:
        line, column = position(query.text, int(d["start"]))
        start, length = int(d["start"]), max(int(d["length"]), 1)
        found.append(
            Diagnostic(
                where=query.where,
                severity=d["severity"],
                code=d["code"],
                message=d["message"],
                line=line,
                column=column,
                snippet=query.text[max(0, start - 10) : start + length + 10].replace("\n", " "),
            )
        )
    return Analysis(query, tuple(found), columns, syntax)
