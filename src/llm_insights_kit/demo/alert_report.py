"""Evaluate every alert rule on the demo's store and say which fired and why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from ..alerts.evaluator import AlertDecision, evaluate, rule_state
from ..alerts.schema import SERVICE_DIMENSION
from ..artifacts import AlertRuleSpec
from ..errors import KitError


@dataclass
class RuleResult:
    """One rule at one time: its per-series evaluations, or the error that stopped it."""

    rule: AlertRuleSpec
    at: datetime
    evaluations: list[AlertDecision] = field(default_factory=list)
    error: str | None = None

    @property
    def fired(self) -> list[AlertDecision]:
        return [e for e in self.evaluations if e.condition_met]

    @property
    def state(self) -> str:
        state = rule_state(self.rule, self.evaluations, self.error or "")
        return state if state != "ok" else _no_value(self.evaluations) or state

    @property
    def services(self) -> list[str]:
        """The services (cloud_RoleName) of the series that fired."""
        found = {dict(e.series).get(SERVICE_DIMENSION, "") for e in self.fired}
        return sorted(found - {""})

    def why(self) -> str:
        if self.error:
            return self.error
        shown = self.fired or self.evaluations
        if not shown:
            return "no data in the window (no series)"
        return "; ".join(e.why for e in shown[:3]) + (
            f" (+{len(shown) - 3} more series)" if len(shown) > 3 else ""
        )


def _no_value(evaluations: Sequence[AlertDecision]) -> str:
    """Why a rule that did not fire has no value: ``no data`` or ``below minimum (8 of 10
    runs)``; empty when some series has a value."""
    if not evaluations:
        return "no data"
    if any(e.value is not None for e in evaluations):
        return ""
    below = [e.below_minimum for e in evaluations if e.below_minimum]
    return below[0] if len(below) == 1 else "below minimum" if below else "no data"


def evaluate_rules(
    store: Any,
    rules: Sequence[AlertRuleSpec],
    at: datetime,
    advance: Callable[[int], None] = lambda _: None,
) -> list[RuleResult]:
    """Each rule evaluated at *at* (its window ending there), the way Azure Monitor would."""
    results = []
    for rule in rules:
        result = RuleResult(rule, at)
        if not rule.enabled:  # the stack switched it off: Azure would not evaluate it either
            results.append(result)
            advance(1)
            continue
        try:
            result.evaluations = evaluate(store, rule, at, volume=True)
        except KitError as exc:
            result.error = str(exc)
        results.append(result)
        advance(1)
    return results


def print_alert_report(
    out: Console,
    rules: Sequence[AlertRuleSpec],
    healthy: Sequence[RuleResult],
    end: Sequence[RuleResult],
    result: Any,
) -> None:
    """A table of every rule after the healthy phase and at the end, then why each one fired."""
    table = Table(title="Alert rules (each evaluated over its window, as Azure Monitor would)")
    table.add_column("rule")
    table.add_column("sev", justify="right")
    table.add_column("window")
    table.add_column(f"after healthy phase\n({result.healthy_end:%H:%M:%S})")
    table.add_column(f"after incident\n({result.ended:%H:%M:%S})")
    table.add_column("service (cloud_RoleName)")
    for before, after in zip(healthy, end, strict=True):
        table.add_row(
            after.rule.name,
            str(after.rule.severity),
            after.rule.window_size,
            _state(before.state),
            _state(after.state),
            ", ".join(after.services),
        )
    out.print(table)
    fired = [r for r in end if r.fired]
    out.print(f"[bold]{len(fired)} of {len(rules)} rules fired after the incident:[/bold]")
    for r in fired:
        service = f", service {', '.join(r.services)}" if r.services else ""
        out.print(
            f"  [red]●[/red] {r.rule.name} (sev {r.rule.severity}, route {r.rule.route}{service})"
        )
        out.print(f"      {r.why()}", markup=False, highlight=False, soft_wrap=True)
    false_alarms = [r for r in healthy if r.fired]
    if false_alarms:
        out.print("[yellow]Fired during the healthy phase:[/yellow]")
        for r in false_alarms:
            out.print(
                f"  ● {r.rule.name}: {r.why()}", markup=False, highlight=False, soft_wrap=True
            )
    errors = [r for r in end if r.error]
    for r in errors:
        out.print(f"[red]could not evaluate {r.rule.name}:[/red] {r.error}", highlight=False)


def _state(state: str) -> str:
    return {"FIRED": "[bold red]FIRED[/bold red]", "error": "[red]error[/red]"}.get(
        state, f"[green]{state}[/green]" if state == "ok" else state
    )
