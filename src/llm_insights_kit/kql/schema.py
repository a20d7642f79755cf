"""The Application Insights table schema the Kusto language service checks queries against.

Generated from ``llm_insights_kit.tables.TABLES`` and committed as
``dashboards/schema/appinsights.json`` so a reviewer sees schema changes in diffs; a test proves
the committed file equals the generated one.
Regenerate with ``python -m llm_insights_kit.kql.schema``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..errors import KitError
from ..paths import SCHEMA_FILE
from ..tables import TABLES

DATABASE = "ApplicationInsights"


def generate() -> dict[str, Any]:
    """The schema document: database name and, per table, its ``[column, type]`` pairs."""
    return {
        "database": DATABASE,
        "generatedFrom": "llm_insights_kit.tables.TABLES",
        "tables": {t: [list(col) for col in cols] for t, cols in sorted(TABLES.items())},
    }


def dumps(schema: dict[str, Any]) -> str:
    """Sorted keys, one column per line (reviewable diffs)."""
    head = {k: v for k, v in sorted(schema.items()) if k != "tables"}
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('  "tables": {')
    tables = sorted(schema["tables"].items())
    for i, (table, columns) in enumerate(tables):
        lines.append(f"    {json.dumps(table)}: [")
        lines += [
            f"      {json.dumps(list(col))}" + ("," if j < len(columns) - 1 else "")
            for j, col in enumerate(columns)
        ]
        lines.append("    ]" + ("," if i < len(tables) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def load(path: Path = SCHEMA_FILE) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KitError(
            str(path), "schema file missing; run python -m llm_insights_kit.kql.schema"
        ) from exc
    except json.JSONDecodeError as exc:
        raise KitError(str(path), f"not valid JSON: {exc}") from exc
    if not isinstance(data.get("tables"), dict):
        raise KitError(str(path), "needs a 'tables' object of table -> [[column, type], ...]")
    return data


def write(path: Path = SCHEMA_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(generate()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_FILE))
