"""Microsoft's Kusto language service checks every query against the committed table schema."""

from __future__ import annotations

import pytest

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.kql import schema, service
from llm_insights_kit.lint import collect_queries


def test_committed_schema_equals_generated():
    assert schema.SCHEMA_FILE.read_text(encoding="utf-8") == schema.dumps(schema.generate()), (
        "dashboards/schema/appinsights.json is stale: python -m llm_insights_kit.kql.schema"
    )
    assert set(schema.load()["tables"]) == {
        "requests", "dependencies", "customMetrics", "customEvents", "traces", "exceptions"
    }  # fmt: skip


def test_position_is_one_based_line_and_column():
    text = "a\nbc\ndef"
    assert service.position(text, 0) == (1, 1)
    assert service.position(text, 3) == (2, 2)
    assert service.position(text, 7) == (3, 3)


@pytest.mark.kql
def test_every_workbook_and_rule_query_has_zero_errors(golden_workbooks, kusto_available):
    """All queries in one node run (~1 s to load the service)."""
    queries = collect_queries(golden_workbooks, load_rules(RenderContext()))
    broken = [
        service.KqlQuery(
            "typo-column", "customMetrics\n| where timestamp > ago(1h)\n| summarize sum(valueSun)"
        ),
        service.KqlQuery("unknown-table", "customMetric\n| count"),
        service.KqlQuery("syntax", 'customMetrics\n| where (name == "x"\n| count'),
        service.KqlQuery("type", 'customMetrics | where valueSum == "text" and name > 1'),
    ]
    diagnostics = service.check([*queries, *broken])
    errors = [d for d in diagnostics if d.is_error]
    good = [str(d) for d in errors if d.where not in {b.where for b in broken}]
    assert good == []
    by_where = {}
    for d in errors:
        by_where.setdefault(d.where, []).append(d)
    typo = by_where["typo-column"][0]
    assert (typo.line, typo.column) == (3, 17) and "valueSun" in typo.message
    table = by_where["unknown-table"][0]
    assert (table.line, table.column) == (1, 1) and "customMetric" in table.message
    assert by_where["syntax"] and by_where["syntax"][0].line >= 2
    assert by_where["type"]
    assert "typo-column:3:17:" in str(typo)
