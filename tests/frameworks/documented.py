"""What ``docs/frameworks.md`` says each source lights: its table has one row per workbook panel
(``workbook/step``) and alert rule, one column per source, and a cell starting with ``yes``
where the panel or rule has data for that source."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "frameworks.md"


@cache
def lit_table() -> dict[str, dict[str, bool]]:
    """source → {panel or rule → lit}, from the table under the "What each source lights"
    heading."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## What each source lights"))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    header, body = rows[0], rows[2:]
    return {
        source: {row[0]: row[col].startswith("yes") for row in body}
        for col, source in enumerate(header)
        if col
    }


def documented_lit(source: str) -> set[str]:
    return {key for key, lit in lit_table()[source].items() if lit}


def documented_keys(source: str) -> set[str]:
    return set(lit_table()[source])
