"""Every check ``llm-insights lint`` runs, as one function returning problems (for CLI and tests).

1. the committed table schema equals the one generated from the contract;
2. workbook lint (dashboards.lint rules);
3. alert rules load and validate (with the stack's overrides);
4. every query reads only names the SDK emits (kql.names);
5. every query compiles without errors in Microsoft's Kusto language service, against the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .alerts import load_rules
from .artifacts import AlertRuleSpec, RenderContext, WorkbookArtifact
from .dashboards import bind_parameters, iter_queries, render_workbooks
from .dashboards.lint import lint_workbook
from .errors import KitError
from .kql import schema, service
from .kql.names import check_query

# A fixed range to bind {TimeRange} before parsing (the value does not matter to the checks).
SAMPLE_RANGE = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


@dataclass
class LintReport:
    problems: list[str] = field(default_factory=list)
    workbooks: int = 0
    queries: int = 0
    rules: int = 0
    kusto_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def collect_queries(
    workbooks: list[WorkbookArtifact], rules: list[AlertRuleSpec]
) -> list[service.KqlQuery]:
    """Every query to check, parameters bound, labelled ``workbook <key> step <name>`` / rule."""
    found = []
    for wb in workbooks:
        for q in iter_queries(wb.serialized_data, wb.key):
            bound = bind_parameters(q.query, SAMPLE_RANGE)
            found.append(service.KqlQuery(f"workbook {wb.key} step {q.step}", bound))
    for rule in rules:
        found.append(service.KqlQuery(f"{rule.source_file} rule {rule.name}", rule.query))
    return found


def run_checks(
    ctx: RenderContext, *, rules_dir: Path | None = None, kusto: bool = True
) -> LintReport:
    report = LintReport()
    generated = schema.dumps(schema.generate())
    committed = (
        schema.SCHEMA_FILE.read_text(encoding="utf-8") if schema.SCHEMA_FILE.exists() else ""
    )
    if committed != generated:
        report.problems.append(
            f"{schema.SCHEMA_FILE}: SCHEMA001 out of date with llm_insights_kit.tables.TABLES; "
            "run python -m llm_insights_kit.kql.schema and commit it"
        )
    workbooks: list[WorkbookArtifact] = []
    try:
        workbooks = render_workbooks(ctx)
    except KitError as exc:
        report.problems.append(str(exc))
    report.workbooks = len(workbooks)
    for wb in workbooks:
        report.problems += [str(p) for p in lint_workbook(wb.key, wb.serialized_data)]
    rules: list[AlertRuleSpec] = []
    try:
        # compile errors are reported below for every query (KQL001), not just the first
        rules = load_rules(ctx, rules_dir=rules_dir, compile_errors=False)
    except KitError as exc:
        report.problems.append(str(exc))
    report.rules = len(rules)
    queries = collect_queries(workbooks, rules)
    report.queries = len(queries)
    for q in queries:
        report.problems += [f"{p} (NAME001)" for p in check_query(q.where, q.text)]
    if kusto:
        diagnostics = service.check(queries)
        report.kusto_checked = len(queries)
        report.problems += [f"{d} (KQL001)" for d in diagnostics if d.is_error]
    return report
