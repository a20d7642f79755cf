"""Bridge to Microsoft's Kusto language service: check many queries in one ``node`` process.

The service (``@kusto/language-service-next``, Kusto.Language compiled to JavaScript) parses and
binds each query against the committed table schema and reports syntax errors, unknown tables or
columns and type errors — the checks the portal would otherwise do only at deploy time.
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
from . import schema as schema_module
from .paths import KIT_ROOT

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


def package_dir() -> Path:
    """The npm package directory (``LLM_INSIGHTS_KUSTO_LS`` overrides; default node_modules)."""
    override = os.environ.get("LLM_INSIGHTS_KUSTO_LS")
    path = Path(override) if override else KIT_ROOT / "node_modules" / PACKAGE
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
    if not queries:
        return []
    schema = schema or schema_module.load()
    request = {
        "package": str(package_dir()),
        "database": schema.get("database", schema_module.DATABASE),
        "tables": schema["tables"],
        "queries": [{"id": str(i), "text": q.text} for i, q in enumerate(queries)],
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
    results = json.loads(proc.stdout)
    found: list[Diagnostic] = []
    for result in results:
        query = queries[int(result["id"])]
        for d in result["diagnostics"]:
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
    return found
