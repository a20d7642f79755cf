"""Every documented constraint of ``Microsoft.Insights/scheduledQueryRules`` log search alerts.

One row per constraint: what Azure requires, where that is written (a doc path in
MicrosoftDocs/azure-monitor-docs, a REST spec or Terraform doc, or a quoted service error) and
the check. Query constraints are checked against what Microsoft's Kusto language service says
about the rendered query (``kql.service.Analysis``): its result schema (output columns and their
types) and the operators, plugins, names and functions in its syntax tree — never substrings, so
a word inside a string literal or a comment does not count.

``violations(rule, analysis)`` runs every row. The loader runs it on every rule after the stack's
overrides are applied, so an override that breaks a constraint is a config error too. Where
Azure is undocumented (an infinite, NaN or null measure; empty-string dimension values) there is
no row: the kit's own rules are written not to depend on it (``docs/alerts.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from ..artifacts import AlertRuleSpec
from ..kql.service import Analysis
from . import schema as s
from .durations import iso_duration

DOCS = "MicrosoftDocs/azure-monitor-docs articles/azure-monitor/alerts/"
CREATE_DOC = DOCS + "alerts-create-log-alert-rule.md"
QUERY_DOC = DOCS + "alerts-log-query.md"
REST_SPEC = (
    "azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/"
    "2023-12-01/scheduledQueryRule_API.json"
)
TERRAFORM_DOC = (
    "hashicorp/terraform-provider-azurerm website/docs/r/"
    "monitor_scheduled_query_rules_alert_v2.html.markdown"
)

# Kusto scalar types by what a dimension or measure may be.
NUMERIC_TYPES = ("int", "long", "real", "decimal")
STRING_TYPES = ("string",)
DATETIME_TYPES = ("datetime",)

WINDOW_MINUTES = (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880)
STATEFUL_MAX_FREQUENCY = timedelta(hours=12)


@dataclass(frozen=True)
class Violation:
    """One broken constraint: the rule field, its value and what is wrong."""

    constraint: Constraint
    field: str
    value: object
    problem: str


Hit = tuple[str, object, str] | None  # (field, value, problem) of a broken constraint
Check = Callable[[AlertRuleSpec, Analysis | None], Hit]


@dataclass(frozen=True)
class Constraint:
    id: str
    rule: str  # the constraint in words
    source: str  # where Azure documents it
    check: Check
    needs_query: bool = False  # reads the language service's analysis of the query


def _td(text: str) -> timedelta:
    return iso_duration(text)


def _periods(rule: AlertRuleSpec) -> int:
    return rule.failing_periods.number_of_evaluation_periods


def _lookback(rule: AlertRuleSpec) -> timedelta:
    return _td(rule.window_size) * _periods(rule)


def _columns(a: Analysis) -> str:
    return ", ".join(f"{n}:{t}" for n, t in a.columns or ()) or "none"


# -- the checks: each returns (field, value, problem) or None ------------------------------------
def window_problem(value: object) -> str | None:
    """What is wrong with a windowSize value (also used for overrides before a rule exists).
    ``schema.WINDOW_SIZES`` is the service's minute list plus PT1M (a test keeps them equal)."""
    if not isinstance(value, str) or value not in s.WINDOW_SIZES:
        return "one of " + ", ".join(s.WINDOW_SIZES)
    return None


def frequency_problem(value: object) -> str | None:
    if not isinstance(value, str) or value not in s.EVALUATION_FREQUENCIES:
        return "one of " + ", ".join(s.EVALUATION_FREQUENCIES)
    return None


def _window_set(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    problem = window_problem(r.window_size)
    return ("windowSize", r.window_size, problem) if problem else None


def _window_pt1m(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if r.window_size == "PT1M" and r.evaluation_frequency != "PT1M":
        return "windowSize", r.window_size, "PT1M is allowed only with evaluationFrequency PT1M"
    return None


def _frequency_set(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    problem = frequency_problem(r.evaluation_frequency)
    return ("evaluationFrequency", r.evaluation_frequency, problem) if problem else None


def _failing_periods(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    n = r.failing_periods.number_of_evaluation_periods
    m = r.failing_periods.min_failing_periods_to_alert
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= s.MAX_EVALUATION_PERIODS:
        return "failingPeriods.numberOfEvaluationPeriods", n, "must be an integer 1-6"
    if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= n:
        return (
            "failingPeriods.minFailingPeriodsToAlert",
            m,
            f"must be an integer from 1 to numberOfEvaluationPeriods ({n})",
        )
    return None


def _frequency_within_lookback(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if _td(r.evaluation_frequency) > _lookback(r):
        return (
            "evaluationFrequency",
            r.evaluation_frequency,
            f"must be at most windowSize x numberOfEvaluationPeriods ({r.window_size} x "
            f"{_periods(r)}), or data between evaluations is never looked at",
        )
    return None


def _lookback_max(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if _lookback(r) > s.MAX_LOOKBACK:
        return (
            "windowSize",
            r.window_size,
            f"lookback windowSize x numberOfEvaluationPeriods ({_periods(r)}) must be at most P2D",
        )
    return None


def _mute_excludes_auto_mitigate(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if r.auto_mitigate and r.mute_actions_duration:
        return (
            "muteActionsDuration",
            r.mute_actions_duration,
            "cannot be combined with autoMitigate: true (use one: resolve automatically, or "
            "mute notifications for a cooldown)",
        )
    return None


def _frequency_within_mute(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if r.mute_actions_duration and _td(r.evaluation_frequency) > _td(r.mute_actions_duration):
        return (
            "evaluationFrequency",
            r.evaluation_frequency,
            f"must be at most muteActionsDuration ({r.mute_actions_duration})",
        )
    return None


def _stateful_frequency(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if r.auto_mitigate and _td(r.evaluation_frequency) > STATEFUL_MAX_FREQUENCY:
        return (
            "autoMitigate",
            True,
            f"a stateful rule (autoMitigate: true) cannot run less often than every 12 hours "
            f"(evaluationFrequency {r.evaluation_frequency})",
        )
    return None


def _measure_with_aggregation(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if r.time_aggregation == "Count" and r.metric_measure_column:
        return (
            "metricMeasureColumn",
            r.metric_measure_column,
            "not allowed with timeAggregation Count (Count counts result rows)",
        )
    if r.time_aggregation != "Count" and not r.metric_measure_column:
        return (
            "metricMeasureColumn",
            r.metric_measure_column,
            f"required with timeAggregation {r.time_aggregation}: the numeric column of the "
            "query result to aggregate",
        )
    return None


def _dimension_count(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    if len(r.dimensions) > s.MAX_DIMENSIONS:
        return "dimensions", len(r.dimensions), f"at most {s.MAX_DIMENSIONS} dimensions"
    return None


def _properties_size(r: AlertRuleSpec, _a: Analysis | None) -> Hit:
    size = len(json.dumps(r.arm_properties()).encode())
    if size > s.MAX_PROPERTIES_BYTES:
        return "query", f"<{size} bytes>", "rule properties must be at most 64 KB"
    return None


def _query_compiles(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if a is not None and a.errors:
        d = a.errors[0]
        return "query", f"<line {d.line}:{d.column}>", f"{d.code} {d.message} [{d.snippet}]"
    return None


def _tabular(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if a is not None and a.columns is None:
        return "query", "<no table>", "the query must end in a tabular expression"
    return None


def _use(a: Analysis | None, kind: str, names: tuple[str, ...]):
    found = a.uses(kind, *names) if a is not None else []
    return found[0] if found else None


def _no_search_union(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    use = _use(a, "operator", ("search", "union"))
    if use:
        return "query", use.name, f"the {use.name} operator is not supported in log search alerts"
    return None


def _no_plugins(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    use = _use(a, "plugin", ("bag_unpack", "pivot", "narrow"))
    if use:
        return "query", f"evaluate {use.name}()", "not supported in log search alert queries"
    return None


def _pt1m_operators(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if r.evaluation_frequency != "PT1M":
        return None
    use = _use(a, "operator", ("search", "union", "take")) or _use(
        a, "function", ("ingestion_time",)
    )
    if use:
        return (
            "query",
            use.name,
            "not supported at evaluationFrequency PT1M (search, union, take/limit, "
            "ingestion_time())",
        )
    return None


def _aggregated_value(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if _use(a, "name", ("AggregatedValue",)):
        return "query", "AggregatedValue", "a reserved word in log search alert queries"
    return None


def _ago_literal(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    for use in a.uses("function", "ago") if a is not None else []:
        if not use.literal_arguments:
            return "query", "ago(...)", "ago() takes a timespan literal only in alert queries"
    return None


def _time_column(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if a is None or a.columns is None or _periods(r) == 1:
        return None
    times = [n for n, t in a.columns if t in DATETIME_TYPES]
    if len(times) != 1:
        return (
            "failingPeriods.numberOfEvaluationPeriods",
            _periods(r),
            "more than one evaluation period needs exactly one datetime column in the query "
            f"result, to place each row in its period (result columns: {_columns(a)})",
        )
    return None


def _dimension_columns(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if a is None or a.columns is None:
        return None
    for i, dim in enumerate(r.dimensions):
        kind = a.column_type(dim.name)
        if kind is None:
            return (
                f"dimensions[{i}].name",
                dim.name,
                f"the query must produce this column (result columns: {_columns(a)})",
            )
        if kind not in STRING_TYPES + NUMERIC_TYPES:
            return (
                f"dimensions[{i}].name",
                dim.name,
                f"a dimension must be a string or numeric column, not {kind}",
            )
    return None


def _measure_column(r: AlertRuleSpec, a: Analysis | None) -> Hit:
    if a is None or a.columns is None or not r.metric_measure_column:
        return None
    kind = a.column_type(r.metric_measure_column)
    if kind is None:
        return (
            "metricMeasureColumn",
            r.metric_measure_column,
            f"the query must produce this column (result columns: {_columns(a)})",
        )
    if kind not in NUMERIC_TYPES:
        return (
            "metricMeasureColumn",
            r.metric_measure_column,
            f"the measure must be a numeric column, not {kind}",
        )
    return None


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(
        "window-size",
        "windowSize is 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440 or 2880 minutes",
        'service error "Supported granularities are: 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, '
        '360, 1440, 2880" (Azure/azure-rest-api-specs#21258)',
        _window_set,
    ),
    Constraint(
        "window-pt1m",
        "windowSize PT1M only with evaluationFrequency PT1M",
        TERRAFORM_DOC,
        _window_pt1m,
    ),
    Constraint(
        "frequency-set",
        "evaluationFrequency is PT1M, PT5M, PT10M, PT15M, PT30M, PT45M, PT1H-PT6H or P1D",
        TERRAFORM_DOC,
        _frequency_set,
    ),
    Constraint(
        "failing-periods",
        "numberOfEvaluationPeriods 1-6; minFailingPeriodsToAlert 1..numberOfEvaluationPeriods",
        REST_SPEC
        + ' ("Should be smaller or equal to numberOfEvaluationPeriods"); '
        + TERRAFORM_DOC,
        _failing_periods,
    ),
    Constraint(
        "frequency-within-lookback",
        "evaluationFrequency <= windowSize x numberOfEvaluationPeriods",
        TERRAFORM_DOC,
        _frequency_within_lookback,
    ),
    Constraint(
        "lookback-48h",
        "windowSize x numberOfEvaluationPeriods <= 48 hours",
        CREATE_DOC + ' ("The alert time range is limited to a maximum of two days")',
        _lookback_max,
    ),
    Constraint(
        "mute-excludes-auto-mitigate",
        "muteActionsDuration cannot be combined with autoMitigate",
        'service error "Auto mitigation must be disabled when action suppression is set" '
        "(Azure/azure-powershell#22583)",
        _mute_excludes_auto_mitigate,
    ),
    Constraint(
        "frequency-within-mute",
        "evaluationFrequency <= muteActionsDuration",
        'service error "EvaluationFrequency cannot be greater than MuteActionsDuration" '
        "(Azure/azure-cli#26581)",
        _frequency_within_mute,
    ),
    Constraint(
        "stateful-frequency",
        "no stateful rule (autoMitigate) with evaluationFrequency over 12 hours",
        DOCS + "alerts-overview.md (Stateful alerts: log search alert resolution is defined "
        "for frequencies up to 12 hours; stateful log alert limits in "
        "includes/azure-monitor-limits-alerts.md)",
        _stateful_frequency,
    ),
    Constraint(
        "measure-with-aggregation",
        "metricMeasureColumn required for all timeAggregations but Count, forbidden with Count",
        REST_SPEC,
        _measure_with_aggregation,
    ),
    Constraint(
        "dimension-count",
        "at most 6 dimensions",
        CREATE_DOC + ' ("You can apply up to six dimensions per alert rule")',
        _dimension_count,
    ),
    Constraint(
        "properties-64kb",
        "rule properties at most 64 KB",
        CREATE_DOC + ' ("can\'t exceed 64 KB")',
        _properties_size,
    ),
    Constraint(
        "query-compiles",
        "the query compiles against the tables (skipQueryValidation: false)",
        REST_SPEC + " (skipQueryValidation)",
        _query_compiles,
        needs_query=True,
    ),
    Constraint(
        "query-tabular",
        "the query returns a table",
        CREATE_DOC,
        _tabular,
        needs_query=True,
    ),
    Constraint(
        "no-search-union",
        "no search or union operator",
        QUERY_DOC + " (search and union are not supported)",
        _no_search_union,
        needs_query=True,
    ),
    Constraint(
        "no-bag-unpack-pivot-narrow",
        "no evaluate bag_unpack(), pivot() or narrow()",
        CREATE_DOC + ' ("don\'t support bag_unpack(), pivot(), and narrow()")',
        _no_plugins,
        needs_query=True,
    ),
    Constraint(
        "pt1m-operators",
        "at evaluationFrequency PT1M no search, union, take/limit or ingestion_time()",
        CREATE_DOC + " (one-minute frequency note)",
        _pt1m_operators,
        needs_query=True,
    ),
    Constraint(
        "aggregated-value-reserved",
        "AggregatedValue is reserved",
        CREATE_DOC + ' ("AggregatedValue is a reserved word")',
        _aggregated_value,
        needs_query=True,
    ),
    Constraint(
        "ago-literal",
        "ago() with timespan literals only",
        CREATE_DOC + ' ("support ago() with timespan literals only")',
        _ago_literal,
        needs_query=True,
    ),
    Constraint(
        "periods-need-time-column",
        "more than one evaluation period needs a datetime column in the query result (the kit "
        "requires exactly one, to know which)",
        CREATE_DOC
        + " (\"the query should include 'datetime' column in the query results\"); "
        + TERRAFORM_DOC,
        _time_column,
        needs_query=True,
    ),
    Constraint(
        "dimension-columns",
        "each dimension is a result column of string or numeric type",
        CREATE_DOC + ' ("Dimensions can be only string or numeric columns")',
        _dimension_columns,
        needs_query=True,
    ),
    Constraint(
        "measure-column",
        "metricMeasureColumn is a numeric result column",
        CREATE_DOC + ' (Measure: "Calculation of a numeric column")',
        _measure_column,
        needs_query=True,
    ),
)
BY_ID = {c.id: c for c in CONSTRAINTS}


def cite(constraint_id: str) -> str:
    """`` [Azure constraint <id>; source: <source>]``, appended to a violation's message."""
    c = BY_ID[constraint_id]
    return f" [Azure constraint {c.id}; source: {c.source}]"


def violations(rule: AlertRuleSpec, analysis: Analysis | None) -> Iterator[Violation]:
    """The constraints the rule breaks, in table order (query rows skipped when ``analysis`` is
    None). Lazy: a later row may assume the earlier ones hold (e.g. periods are 1-6)."""
    for constraint in CONSTRAINTS:
        if constraint.needs_query and analysis is None:
            continue
        hit = constraint.check(rule, analysis)
        if hit is not None:
            yield Violation(constraint, *hit)
