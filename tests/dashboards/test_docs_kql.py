"""KQL shown in the READMEs is checked like the kit's own: Microsoft's Kusto language service
against the committed table schema, and every metric, event and attribute name against the
SDK contract — so a renamed or removed attribute cannot live on in a copy-paste example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llm_insights_kit.kql import names, service

REPO = Path(__file__).resolve().parents[2]
DOCS = (
    REPO / "README.md",
    REPO / "sdk" / "README.md",
    *sorted(REPO.glob("docs/*.md")),
    *sorted(REPO.glob("examples/*/README.md")),
)
_BLOCK = re.compile(r"```kusto\n(.*?)```", re.S)


def doc_queries() -> list[service.KqlQuery]:
    """Each query of each ```kusto block (queries in one block are separated by a blank line),
    named by file and line."""
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for block in _BLOCK.finditer(text):
            line = text.count("\n", 0, block.start(1)) + 1
            for query in re.split(r"\n\s*\n", block.group(1)):
                if query.strip():
                    out.append(service.KqlQuery(f"{doc.relative_to(REPO)}:{line}", query))
                line += query.count("\n") + 2
    return out


def test_the_docs_show_queries() -> None:
    # the finish-reasons examples in sdk/README.md; if they move, this test must follow them
    assert len(doc_queries()) >= 2


def test_doc_queries_read_only_contract_names() -> None:
    problems = [str(p) for q in doc_queries() for p in names.check_query(q.where, q.text)]
    assert problems == []


@pytest.mark.kql
def test_doc_queries_have_zero_kusto_errors(kusto_available: None) -> None:
    errors = [str(d) for d in service.check(doc_queries()) if d.is_error]
    assert errors == []
