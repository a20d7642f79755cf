"""Load alert rules from YAML, render their KQL, apply stack overrides, validate everything.

A rule file holds ``rules:``, a list of rules with the scheduled-query-rule fields (camelCase as in
ARM) plus ``route`` (notification route), ``parameters`` (values for the query template, ``p.*``),
``thresholdBucketsOf`` (for percentile rules: the contract bucket counter whose bounds the
threshold must be one of) and ``minWindowSize`` (the shortest window the query means something
over, e.g. a drift rule whose baseline lives inside its window; overrides may not go below it).
``query`` is a Jinja template using the shared KQL macros (``k.*``) and the contract (``c.*``);
it carries no time filter — Azure runs it over the last ``windowSize`` x
``numberOfEvaluationPeriods``. ``window`` holds the rule's windowSize as a KQL timespan (after
the stack's override), for queries that split their result into evaluation periods
(``k.period()``).

Every rule is checked against Azure's documented constraints (``constraints.py``) after the
stack's overrides, with its query analysed by Microsoft's Kusto language service (result schema,
syntax tree) in one batch for all rules.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..artifacts import AlertRuleSpec, Dimension, FailingPeriods, RenderContext, VolumeGuard
from ..dashboards.render import template_variables
from ..errors import KitError
from ..fsutil import read_yaml
from ..kql import service
from ..kql.templates import render_string
from ..paths import ALERTS_DIR, KIT_ROOT
from . import schema as s
from .durations import iso_duration
from .validate import (
    RuleChecks,
    check_choice,
    check_enabled,
    check_overrides,
    check_rule,
    check_severity,
    check_threshold,
    check_window,
    where,
)

REQUIRED = (
    "name", "description", "severity", "route", "evaluationFrequency", "windowSize", "query",
    "timeAggregation", "operator", "threshold",
)  # fmt: skip
OPTIONAL = (
    "displayName", "enabled", "parameters", "metricMeasureColumn", "thresholdBucketsOf",
    "dimensions", "failingPeriods", "autoMitigate", "muteActionsDuration", "minWindowSize",
)  # fmt: skip
FAILING_PERIOD_FIELDS = ("numberOfEvaluationPeriods", "minFailingPeriodsToAlert")
DIMENSION_FIELDS = ("name", "operator", "values")


def display_path(path: Path) -> str:
    """``alerts/latency.yaml`` for the kit's own rules, the given path for users' rules."""
    try:
        return str(path.resolve().relative_to(KIT_ROOT.resolve()))
    except ValueError:
        return str(path)


def rule_files(rules_dir: Path) -> list[Path]:
    return sorted([*rules_dir.glob("*.yaml"), *rules_dir.glob("*.yml")])


def read_rule_file(path: Path) -> list[Mapping[str, Any]]:
    shown = display_path(path)
    data = read_yaml(path, "rule file", shown)
    if (
        not isinstance(data, Mapping)
        or set(data) != {"rules"}
        or not isinstance(data["rules"], list)
    ):
        raise KitError(shown, "must hold exactly one key, rules: a list of alert rules")
    for i, rule in enumerate(data["rules"]):
        if not isinstance(rule, Mapping):
            raise KitError(f"{shown}: rules[{i}]", "must be a mapping of rule fields")
    return data["rules"]


def _rule_name(raw: Mapping[str, Any], index: int, shown: str) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not s.NAME_PATTERN.match(name):
        raise KitError(
            f"{shown}: rules[{index}]: name = {name!r}",
            "required: lowercase letters, digits and '-', 2-64 characters (llm-error-rate-high)",
        )
    return name


def parse_rule(
    raw: Mapping[str, Any], index: int, shown: str, ctx: RenderContext
) -> tuple[AlertRuleSpec, RuleChecks]:
    """One rule from its YAML mapping (query rendered), plus the checks it declares."""
    name = _rule_name(raw, index, shown)

    def at(field: str) -> str:
        return where(shown, name, field, raw.get(field))

    for field in raw:
        if field not in REQUIRED and field not in OPTIONAL:
            raise KitError(
                where(shown, name, field, raw[field]),
                "unknown field; allowed: " + ", ".join(sorted((*REQUIRED, *OPTIONAL))),
            )
    for field in REQUIRED:
        if field not in raw or raw[field] is None or raw[field] == "":
            raise KitError(f"{shown}: rule {name}: {field}", "required field is missing")
    for field in ("description", "query", "evaluationFrequency", "windowSize"):
        if not isinstance(raw[field], str):
            raise KitError(at(field), "must be a string")
    window = iso_duration(check_window(raw["windowSize"], at("windowSize")))
    display_name = raw.get("displayName", name)
    if not isinstance(display_name, str) or not display_name.strip():
        raise KitError(at("displayName"), "must be a non-empty string")

    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool)
        for k, v in parameters.items()
    ):
        raise KitError(at("parameters"), "must map names to strings or numbers (used as p.<name>)")
    variables = template_variables(ctx, workbook=False)
    variables["p"] = dict(parameters)
    variables["window"] = f"{int(window.total_seconds() // 60)}m"
    query = render_string(raw["query"], f"{shown}: rule {name}: query", variables)
    if not query:
        raise KitError(at("query"), "rendered to an empty query")
    guard = volume_guard(raw["query"], parameters, f"{shown}: rule {name}: query", variables)

    periods = raw.get("failingPeriods") or {}
    if not isinstance(periods, Mapping) or set(periods) - set(FAILING_PERIOD_FIELDS):
        raise KitError(
            at("failingPeriods"), "must be a mapping with " + ", ".join(FAILING_PERIOD_FIELDS)
        )
    failing = FailingPeriods(
        number_of_evaluation_periods=periods.get("numberOfEvaluationPeriods", 1),
        min_failing_periods_to_alert=periods.get("minFailingPeriodsToAlert", 1),
    )

    dims_raw = raw.get("dimensions") or []
    if not isinstance(dims_raw, list):
        raise KitError(at("dimensions"), "must be a list of {name, operator, values}")
    dimensions: list[Dimension] = []
    for i, d in enumerate(dims_raw):
        d_at = where(shown, name, f"dimensions[{i}]", d)
        if not isinstance(d, Mapping) or set(d) - set(DIMENSION_FIELDS) or "name" not in d:
            raise KitError(d_at, "must be a mapping with name, operator (Include|Exclude), values")
        values = d.get("values", ["*"])
        if (
            not isinstance(d["name"], str)
            or not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise KitError(d_at, "name must be a string and values a non-empty list of strings")
        operator = check_choice(
            d.get("operator", "Include"), s.DIMENSION_OPERATORS, f"{d_at}: operator"
        )
        dimensions.append(Dimension(d["name"], operator, tuple(values)))

    mute = raw.get("muteActionsDuration")
    if mute is not None:
        check_choice(mute, s.MUTE_ACTIONS_DURATIONS, at("muteActionsDuration"))
    auto_mitigate = raw.get("autoMitigate", mute is None)
    check_enabled(auto_mitigate, at("autoMitigate"))
    measure = raw.get("metricMeasureColumn")
    if measure is not None and not isinstance(measure, str):
        raise KitError(at("metricMeasureColumn"), "must be a column name")

    rule = AlertRuleSpec(
        name=name,
        display_name=display_name.strip(),
        description=" ".join(raw["description"].split()),
        severity=check_severity(raw["severity"], at("severity")),
        enabled=check_enabled(raw.get("enabled", True), at("enabled")),
        evaluation_frequency=raw["evaluationFrequency"],
        window_size=raw["windowSize"],
        query=query,
        time_aggregation=raw["timeAggregation"],
        metric_measure_column=measure,
        operator=raw["operator"],
        threshold=check_threshold(raw["threshold"], at("threshold")),
        route=raw["route"],
        source_file=shown,
        failing_periods=failing,
        dimensions=tuple(dimensions),
        auto_mitigate=auto_mitigate,
        mute_actions_duration=mute,
        volume_guard=guard,
    )
    min_window = raw.get("minWindowSize")
    if min_window is not None:
        check_choice(min_window, s.WINDOW_SIZES, at("minWindowSize"))
    return rule, RuleChecks(raw.get("thresholdBucketsOf"), min_window)


# A minimum-volume line of a rule's query template: ``| where runs >= {{ p.min_runs }}``.
_GUARD_LINE = re.compile(r"^\s*\|\s*where\s+(\w+)\s*>=\s*\{\{\s*p\.(min_(\w+))\s*\}\}\s*$")


def volume_guard(
    template: str, parameters: Mapping[str, Any], where: str, variables: Mapping[str, Any]
) -> VolumeGuard | None:
    """The rule's minimum-volume line, with the query up to it rendered (None without one)."""
    lines = template.splitlines()
    for i, line in enumerate(lines):
        match = _GUARD_LINE.match(line)
        if match is None:
            continue
        column, parameter, noun = match.groups()
        minimum = parameters.get(parameter)
        if isinstance(minimum, bool) or not isinstance(minimum, int | float):
            return None
        before = render_string("\n".join(lines[:i]), where, dict(variables))
        return VolumeGuard(column, float(minimum), noun, before)
    return None


_OVERRIDE_ATTRS = {
    "threshold": "threshold",
    "severity": "severity",
    "enabled": "enabled",
    "windowSize": "window_size",
    "evaluationFrequency": "evaluation_frequency",
}


def load_rules(
    ctx: RenderContext, rules_dir: Path | None = None, *, compile_errors: bool = True
) -> list[AlertRuleSpec]:
    """Every rule in ``rules_dir`` (default: the kit's ``alerts/``), sorted by name, with the
    stack's ``llm-insights:alerts`` overrides applied and everything validated, Azure's
    documented constraints included (needs node and the Kusto language service).

    ``compile_errors=False`` (``lint``, which reports every query's diagnostics itself): a rule
    whose query does not compile skips the query constraints instead of failing the load."""
    directory = Path(rules_dir) if rules_dir is not None else ALERTS_DIR
    if not directory.is_dir():
        raise KitError(str(directory), "alert rules directory not found")
    files = rule_files(directory)
    if not files:
        raise KitError(str(directory), "no rule files (*.yaml) found")
    parsed: dict[str, tuple[AlertRuleSpec, RuleChecks]] = {}
    raws: dict[str, tuple[Mapping[str, Any], int, str]] = {}
    for path in files:
        shown = display_path(path)
        for index, raw in enumerate(read_rule_file(path)):
            rule, checks = parse_rule(raw, index, shown, ctx)
            if rule.name in parsed:
                raise KitError(
                    f"{shown}: rule {rule.name}",
                    f"duplicate rule name (also in {parsed[rule.name][0].source_file})",
                )
            parsed[rule.name] = (rule, checks)
            raws[rule.name] = (raw, index, shown)

    overrides = check_overrides(with_budgets(ctx, parsed), parsed, ctx.config_file, ctx.services)
    built: list[tuple[AlertRuleSpec, RuleChecks, str]] = []
    for name in sorted(parsed):
        rule, checks = parsed[name]
        changes = dict(overrides.get(name, {}))
        per_service = changes.pop("services", {})
        note = ""
        if changes:
            if "windowSize" in changes:  # the query may split by windowSize: render it again
                raw, index, shown = raws[name]
                rule, checks = parse_rule(
                    {**raw, "windowSize": changes["windowSize"]}, index, shown, ctx
                )
            rule = dataclasses.replace(rule, **{_OVERRIDE_ATTRS[k]: v for k, v in changes.items()})
            keys = ", ".join(f"llm-insights:alerts.{name}.{k}" for k in sorted(changes))
            note = f" (after the overrides in {ctx.config_file}: {keys})"
        if per_service:
            built += service_rules(rule, checks, per_service, ctx.config_file, note)
        else:
            built.append((rule, checks, note))
    names = [r.name for r, _, _ in built]
    for rule_name in {n for n in names if names.count(n) > 1}:
        raise KitError(
            f"{ctx.config_file}: llm-insights:alerts",
            f"two rules would be named {rule_name}: rename the service or the rule",
        )
    built.sort(key=lambda b: b[0].name)
    queries = [service.KqlQuery(f"{r.source_file} rule {r.name}", r.query) for r, _, _ in built]
    analyses = service.analyze(queries)
    for (rule, checks, note), analysis in zip(built, analyses, strict=True):
        usable = compile_errors or not analysis.errors
        check_rule(rule, checks, note, analysis if usable else None)
    return [rule for rule, _, _ in built]


def service_rules(
    rule: AlertRuleSpec,
    checks: RuleChecks,
    per_service: Mapping[str, Mapping[str, Any]],
    config_file: str,
    note: str = "",
) -> list[tuple[AlertRuleSpec, RuleChecks, str]]:
    """A rule with per-service overrides as Azure can run it: one threshold per rule, so the
    rule excludes those services (``Exclude`` on its service dimension) and each service that
    stays enabled gets its own rule, ``<rule>-<service>``, including that service only."""
    at = f"{config_file}: llm-insights:alerts.{rule.name}.services"
    index = [i for i, d in enumerate(rule.dimensions) if d.name == s.SERVICE_DIMENSION]
    if not index or rule.dimensions[index[0]] != Dimension(s.SERVICE_DIMENSION):
        raise KitError(
            at,
            f"per-service overrides need the rule to split by {s.SERVICE_DIMENSION} over every "
            f"service (a dimension {{name: {s.SERVICE_DIMENSION}, operator: Include, "
            'values: ["*"]})',
        )

    def with_service(operator: str, values: tuple[str, ...]) -> tuple[Dimension, ...]:
        dims = list(rule.dimensions)
        dims[index[0]] = Dimension(s.SERVICE_DIMENSION, operator, values)
        return tuple(dims)

    base = dataclasses.replace(rule, dimensions=with_service("Exclude", tuple(sorted(per_service))))
    out = [(base, checks, note or f" (all services but {', '.join(sorted(per_service))})")]
    for role, fields in sorted(per_service.items()):
        enabled = fields.get("enabled", rule.enabled)
        if not enabled:
            continue  # excluded from the rule above: this service is not alerted on
        slug = _SLUG.sub("-", role.lower()).strip("-")
        name = f"{rule.name}-{slug}"
        if not s.NAME_PATTERN.match(name):
            raise KitError(
                f"{at}.{role}",
                f"the service's rule would be named {name!r}: rule names are 2-64 of a-z, 0-9, '-'",
            )
        keys = ", ".join(f"llm-insights:alerts.{rule.name}.services.{role}.{k}" for k in fields)
        service_rule = dataclasses.replace(
            rule,
            name=name,
            display_name=f"{rule.display_name} ({role})",
            dimensions=with_service("Include", (role,)),
            **{_OVERRIDE_ATTRS[k]: v for k, v in fields.items()},
        )
        out.append((service_rule, checks, f" (after the overrides in {config_file}: {keys})"))
    return out


_SLUG = re.compile(r"[^a-z0-9]+")


BUDGET_RULE = "llm-daily-budget"
TOTAL_BUDGET_RULE = "llm-daily-budget-total"


def with_budgets(ctx: RenderContext, rules: Mapping[str, Any]) -> dict[str, Any]:
    """The stack's alert overrides with its daily budgets as budget-rule overrides: the total
    (``dashboards.dailyBudgetUsd``) enables ``llm-daily-budget-total`` at that threshold; each
    service's budget is a per-service override of ``llm-daily-budget``. What the stack's
    ``alerts`` says about those rules wins."""
    overrides: dict[str, Any] = {k: v for k, v in (ctx.alert_overrides or {}).items()}
    if ctx.daily_budget_usd is not None and TOTAL_BUDGET_RULE in rules:
        given = overrides.get(TOTAL_BUDGET_RULE)
        if given is None or isinstance(given, Mapping):
            overrides[TOTAL_BUDGET_RULE] = {
                "enabled": True, "threshold": ctx.daily_budget_usd, **(given or {}),
            }  # fmt: skip
    if ctx.service_budgets and BUDGET_RULE in rules:
        given = overrides.get(BUDGET_RULE)
        if given is None or isinstance(given, Mapping):
            services = dict((given or {}).get("services") or {})
            for role, usd in sorted(ctx.service_budgets.items()):
                own = services.get(role)
                if own is None or isinstance(own, Mapping):
                    services[role] = {"enabled": True, "threshold": usd, **(own or {})}
            overrides[BUDGET_RULE] = {**(given or {}), "services": services}
    return overrides
