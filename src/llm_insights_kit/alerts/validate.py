"""Validation of one alert rule: its fields, then Azure's documented constraints (``constraints``).

Each check names the file, the rule and the field with the value it found and what is allowed;
the first problem raises ``KitError`` (rule files are small: fix, re-run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm_insights import contract

from ..artifacts import ROUTES, AlertRuleSpec
from ..errors import KitError
from ..kql.service import Analysis
from ..messages import assignment, located
from . import schema as s
from .constraints import cite, frequency_problem, violations, window_problem
from .durations import iso_duration


def where(source_file: str, rule: str, field: str, value: Any) -> str:
    """``file: rule <name>: field = value`` (values as JSON, like the rule file's YAML)."""
    return located(source_file, f"rule {rule}", assignment(field, value, "json"))


def _allowed(values: tuple[Any, ...]) -> str:
    return "one of " + ", ".join(str(v) for v in values)


def check_severity(value: Any, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in s.SEVERITIES:
        raise KitError(at, "severity must be an integer 0-4 (0 critical, 1 error, 2 warning, "
                       "3 informational, 4 verbose)")  # fmt: skip
    return value


def check_enabled(value: Any, at: str) -> bool:
    if not isinstance(value, bool):
        raise KitError(at, "must be true or false")
    return value


def check_threshold(value: Any, at: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KitError(at, "threshold must be a finite number")
    return float(value)


def check_choice(value: Any, allowed: tuple[str, ...], at: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise KitError(at, _allowed(allowed))
    return value


def check_frequency(value: Any, at: str) -> str:
    problem = frequency_problem(value)
    if problem:
        raise KitError(at, problem + cite("frequency-set"))
    return value


def check_window(value: Any, at: str) -> str:
    problem = window_problem(value)
    if problem:
        raise KitError(at, problem + cite("window-size"))
    return value


def _is_bucket_counter(spec: Any) -> bool:
    return (
        isinstance(spec, contract.MetricSpec)
        and bool(spec.bounds)
        and contract.ATTR_BUCKET_LE in spec.dimensions
    )


def bucket_bounds(name: Any, at: str) -> tuple[float, ...]:
    """The bounds of the contract bucket counter named by ``thresholdBucketsOf``."""
    spec = getattr(contract, name, None) if isinstance(name, str) else None
    if not _is_bucket_counter(spec):
        known = sorted(k for k, v in vars(contract).items() if _is_bucket_counter(v))
        raise KitError(at, "must name a contract bucket counter: " + _allowed(tuple(known)))
    return spec.bounds


def check_bucket_threshold(threshold: float, bounds: tuple[float, ...], at: str) -> None:
    if not any(math.isclose(threshold, b) for b in bounds):
        raise KitError(
            at,
            "a percentile is exact only to its bucket, so the threshold must be a bucket bound: "
            + _allowed(tuple(contract.bucket_label(b) for b in bounds)),
        )


@dataclass(frozen=True)
class RuleChecks:
    """What a rule file declares about its own rule, beyond the ARM fields.

    ``bucket_metric``: the contract bucket counter whose bounds the threshold must be one of.
    ``min_window``: the shortest ``windowSize`` the query is meaningful for.
    """

    bucket_metric: str | None = None
    min_window: str | None = None


def check_rule(
    rule: AlertRuleSpec,
    checks: RuleChecks | None = None,
    note: str = "",
    analysis: Analysis | None = None,
) -> None:
    """Field checks, then every row of the constraint table (``constraints.CONSTRAINTS``) on a
    fully built rule (overrides applied). ``analysis`` is the Kusto language service's view of
    the query; without it the query rows are skipped. ``note`` says where overridden values came
    from, appended to messages."""
    f, n = rule.source_file, rule.name
    checks = checks or RuleChecks()
    bucket_metric = checks.bucket_metric

    def fail(field: str, value: Any, problem: str) -> None:
        raise KitError(where(f, n, field, value), problem + note)

    check_severity(rule.severity, where(f, n, "severity", rule.severity))
    check_choice(
        rule.time_aggregation,
        s.TIME_AGGREGATIONS,
        where(f, n, "timeAggregation", rule.time_aggregation),
    )
    check_choice(rule.operator, s.OPERATORS, where(f, n, "operator", rule.operator))
    check_threshold(rule.threshold, where(f, n, "threshold", rule.threshold))
    check_choice(rule.route, ROUTES, where(f, n, "route", rule.route))
    for violation in violations(rule, analysis):
        fail(violation.field, violation.value, violation.problem + cite(violation.constraint.id))
    window = rule.window_size
    if checks.min_window and iso_duration(window) < iso_duration(checks.min_window):
        fail(
            "windowSize",
            window,
            f"must be at least {checks.min_window} (minWindowSize): the query compares periods "
            "inside its window, and a shorter one leaves it no baseline",
        )
    if bucket_metric is not None:
        bounds = bucket_bounds(bucket_metric, where(f, n, "thresholdBucketsOf", bucket_metric))
        try:
            check_bucket_threshold(rule.threshold, bounds, where(f, n, "threshold", rule.threshold))
        except KitError as exc:
            raise KitError(exc.where, exc.problem + note) from None


def check_overrides(
    overrides: Mapping[str, Any],
    known_rules: Mapping[str, Any],
    config_file: str,
    services: frozenset[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Validate ``llm-insights:alerts`` (rule → field → value) before applying it.

    ``services`` (rule → ``{service: {threshold, severity, enabled}}``) is checked against the
    stack's declared services when it declares them (``services``), else any service name."""
    checked: dict[str, dict[str, Any]] = {}
    if not isinstance(overrides, Mapping):
        raise KitError(
            f"{config_file}: llm-insights:alerts", "must be a mapping of rule name -> overrides"
        )
    for rule, fields in overrides.items():
        base = f"{config_file}: llm-insights:alerts.{rule}"
        if rule not in known_rules:
            raise KitError(base, "unknown rule; known rules: " + ", ".join(sorted(known_rules)))
        if not isinstance(fields, Mapping):
            raise KitError(base, "must be a mapping of " + ", ".join(s.OVERRIDE_FIELDS))
        out: dict[str, Any] = {}
        for field, value in fields.items():
            at = f"{base}.{field}"
            if field not in s.OVERRIDE_FIELDS:
                raise KitError(at, "unknown field; allowed: " + ", ".join(s.OVERRIDE_FIELDS))
            if field == "services":
                out[field] = _check_service_overrides(value, at, services)
            else:
                out[field] = _OVERRIDE_CHECKS[field](value, at)
        checked[str(rule)] = out
    return checked


def _check_service_overrides(
    value: Any, at: str, declared: frozenset[str] | None
) -> dict[str, dict[str, Any]]:
    allowed = ", ".join(s.SERVICE_OVERRIDE_FIELDS)
    if not isinstance(value, Mapping) or not value:
        raise KitError(at, f"must be a mapping of service name -> {{{allowed}}}")
    out: dict[str, dict[str, Any]] = {}
    for service, fields in value.items():
        where_service = f"{at}.{service}"
        if not isinstance(service, str) or not s.SERVICE_NAME_PATTERN.match(service):
            raise KitError(
                where_service,
                "must be a service name as cloud_RoleName shows it (1..128 of letters, digits, "
                "'.', '_', '-', ':', '/')",
            )
        if declared is not None and service not in declared:
            raise KitError(
                where_service,
                "unknown service; this stack's services: " + ", ".join(sorted(declared)),
            )
        if not isinstance(fields, Mapping) or not fields:
            raise KitError(where_service, f"must be a mapping of {allowed}")
        for field in fields:
            if field not in s.SERVICE_OVERRIDE_FIELDS:
                raise KitError(f"{where_service}.{field}", f"unknown field; allowed: {allowed}")
        out[service] = {
            field: _OVERRIDE_CHECKS[field](field_value, f"{where_service}.{field}")
            for field, field_value in fields.items()
        }
    return out


# How each override field is checked (the rule's own fields are checked the same way).
_OVERRIDE_CHECKS: dict[str, Any] = {
    "threshold": check_threshold,
    "severity": check_severity,
    "enabled": check_enabled,
    "windowSize": check_window,
    "evaluationFrequency": check_frequency,
}
