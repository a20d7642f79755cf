"""Run rule unit tests: load fixtures, fill a fresh local store per test, evaluate, compare.

Each test gets its own in-memory store holding only its synthetic series. Every rule a test names
is evaluated every ``evaluationFrequency`` from the fixture's ``evaluation_time_origin`` to its
last expected time, so fired/resolved state and failing periods play out as they would in Azure;
each expectation is then checked against the alert instances at its time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..artifacts import AlertRuleSpec, RenderContext
from ..errors import KitError
from ..messages import did_you_mean
from ..paths import ALERT_TESTS_DIR
from ..stack_config.files import render_context
from .durations import format_short_duration
from .evaluator import AlertDecision, QueryStore, RuleEvaluator, format_series, format_value
from .fixtures import (
    Expectation,
    FixtureFile,
    RuleTest,
    discover,
    load_fixture_file,
)
from .loader import display_path, load_rules
from .synthesis import rows_for_test

RuleLoader = Callable[[RenderContext, Path | None], list[AlertRuleSpec]]


class InsertableStore(QueryStore, Protocol):
    """A store rule tests can fill (``llm_insights_kit.local.store.LocalStore``)."""

    def insert(self, table: str, rows: Iterable[Mapping[str, Any]]) -> int: ...
    def close(self) -> None: ...


StoreFactory = Callable[[], InsertableStore]


def default_loader(ctx: RenderContext, rules_dir: Path | None) -> list[AlertRuleSpec]:
    return load_rules(ctx, rules_dir) if rules_dir is not None else load_rules(ctx)


def default_fixture_dir() -> Path:
    """The kit's own rule tests: ``alerts/tests/``."""
    return ALERT_TESTS_DIR


@dataclass
class CaseOutcome:
    """One expectation checked: what was expected, the instances found, what differed."""

    expectation: Expectation
    at: datetime
    instances: list[AlertDecision]  # the instances the expectation's ``series`` selects
    problems: list[str]
    others: list[AlertDecision] = field(default_factory=list)  # the rule's other instances
    skipped: str = ""  # why the case was not run (its rule is disabled), else ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class TestOutcome:
    path: Path
    test: RuleTest
    stack: str | None
    cases: list[CaseOutcome] = field(default_factory=list)
    seconds: float = 0.0
    queries: int = 0
    # (rule, series, period end, value): measures Azure's handling of which is undocumented
    nonfinite: list[tuple[str, Any, datetime, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cases)

    @property
    def skipped(self) -> list[CaseOutcome]:
        return [c for c in self.cases if c.skipped]


@dataclass
class RunReport:
    outcomes: list[TestOutcome]
    rules: dict[str, AlertRuleSpec]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def cases(self) -> list[CaseOutcome]:
        return [c for o in self.outcomes for c in o.cases]

    @property
    def skipped(self) -> list[CaseOutcome]:
        return [c for c in self.cases if c.skipped]

    def coverage(self) -> dict[str, tuple[int, int]]:
        """Rule → (passing firing cases, passing silent cases), for every loaded rule the
        stack leaves enabled."""
        cov = {name: [0, 0] for name, rule in self.rules.items() if rule.enabled}
        for case in self.cases:
            if case.ok and not case.skipped:
                slot = cov.setdefault(case.expectation.rule, [0, 0])
                slot[0 if case.expectation.firing else 1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(cov.items())}


class _Rules:
    """Loads rules once per (rule dirs, stack context)."""

    def __init__(
        self,
        loader: RuleLoader,
        rules_dir: Path | None,
        stack: str | None,
        stack_file: Path | None,
    ) -> None:
        self.loader = loader
        self.rules_dir = rules_dir
        self.stack = stack
        self.stack_file = stack_file
        self._cache: dict[tuple[Any, ...], dict[str, AlertRuleSpec]] = {}
        self._contexts: dict[tuple[str | None, Path], RenderContext] = {}

    def context(self, stack: str | None, beside: Path) -> RenderContext:
        """The stack's context; a test's ``stack`` is looked up beside its fixture file first
        (then the current directory and the kit), so a fixture can bring its own stack file."""
        if (stack, beside) not in self._contexts:
            use_file = self.stack_file if stack == self.stack else None
            self._contexts[stack, beside] = render_context(stack, use_file, search=[beside])
        return self._contexts[stack, beside]

    def get(self, fixture: FixtureFile, stack: str | None) -> dict[str, AlertRuleSpec]:
        dirs: tuple[Path | None, ...]
        if self.rules_dir is not None:
            dirs = (self.rules_dir,)
        elif fixture.rule_dirs is not None:
            dirs = fixture.rule_dirs
        else:
            dirs = (None,)
        key = (dirs, stack, fixture.path.parent)
        if key not in self._cache:
            ctx = self.context(stack, fixture.path.parent)
            rules: dict[str, AlertRuleSpec] = {}
            for d in dirs:
                for rule in self.loader(ctx, d):
                    rules[rule.name] = rule
            self._cache[key] = rules
        return self._cache[key]


def run_paths(
    paths: Sequence[Path] = (),
    *,
    stack: str | None = None,
    stack_file: Path | None = None,
    rules_dir: Path | None = None,
    store_factory: StoreFactory,
    loader: RuleLoader = default_loader,
    name_filter: str | None = None,
) -> RunReport:
    """Run every test in the fixture files under *paths* (default: the kit's alerts/tests), each
    in a fresh empty store from *store_factory* (an in-memory ``LocalStore``)."""
    started = time.perf_counter()
    files = discover(list(paths) or [default_fixture_dir()])
    if not files:
        raise KitError(", ".join(str(p) for p in paths), "no fixture files (*.yaml) found")
    rule_cache = _Rules(loader, rules_dir, stack, stack_file)
    fixtures = [load_fixture_file(f) for f in files]  # validate everything before running
    outcomes: list[TestOutcome] = []
    all_rules: dict[str, AlertRuleSpec] = {}
    for fixture in fixtures:
        for test in fixture.tests:
            if name_filter and name_filter not in test.name:
                continue
            test_stack = test.stack or stack
            rules = rule_cache.get(fixture, test_stack)
            all_rules.update(rules)
            # A test that names no stack tests the rule itself: where the stack given on the
            # command line switches the rule off there is nothing to test, so it is skipped
            # (a test that names its stack tests that stack, disabled rules included).
            skip = (
                {}
                if test.stack
                else disabled_reasons(rules, rule_cache.context(test_stack, fixture.path.parent))
            )
            outcomes.append(
                run_test(fixture, test, rules, store_factory, stack=test_stack, skip=skip)
            )
    if not all_rules:
        for fixture in fixtures[:1]:
            all_rules.update(rule_cache.get(fixture, stack))
    return RunReport(outcomes, all_rules, time.perf_counter() - started)


def run_test(
    fixture: FixtureFile,
    test: RuleTest,
    rules: Mapping[str, AlertRuleSpec],
    store_factory: StoreFactory,
    *,
    stack: str | None = None,
    skip: Mapping[str, str] | None = None,
) -> TestOutcome:
    """Run one test; the cases of a rule in *skip* (rule → why) are reported, not evaluated."""
    skip = skip or {}
    started = time.perf_counter()
    outcome = TestOutcome(fixture.path, test, stack)
    by_rule: dict[str, list[Expectation]] = {}
    for exp in test.expect:
        if exp.rule not in rules:
            raise KitError(
                str(fixture.path),
                f"test {test.name!r}: expect[{exp.index}].rule = {exp.rule!r}: no such rule"
                + did_you_mean(exp.rule, sorted(rules))
                + "; loaded: "
                + ", ".join(sorted(rules)),
            )
        dims = {d.name for d in rules[exp.rule].dimensions}
        for key in exp.series:
            if key not in dims:
                allowed = ", ".join(sorted(dims)) or "none (the rule has one instance)"
                raise KitError(
                    str(fixture.path),
                    f"test {test.name!r}: expect[{exp.index}].series.{key}: not a dimension of "
                    f"{exp.rule}; its dimensions: {allowed}",
                )
        by_rule.setdefault(exp.rule, []).append(exp)
    store = store_factory()
    try:
        for table, rows in rows_for_test(test, fixture.origin).items():
            store.insert(table, rows)
        cases: dict[int, CaseOutcome] = {}
        for rule_name, expectations in by_rule.items():
            if rule_name in skip:
                for exp in expectations:
                    at = fixture.origin + exp.at
                    cases[exp.index] = CaseOutcome(exp, at, [], [], skipped=skip[rule_name])
                continue
            evaluator = RuleEvaluator(store, rules[rule_name])
            for exp in expectations:
                _check_aligned(fixture, test, exp, evaluator.frequency)
            start = min(fixture.origin, fixture.origin + min(e.at for e in expectations))
            for exp in expectations:
                at = fixture.origin + exp.at
                evaluations = evaluator.run(_history(evaluator, exp, start, at))
                cases[exp.index] = check(exp, at, [e for e in evaluations if e.at == at])
            outcome.queries += evaluator.queries_run
            outcome.nonfinite += [(rule_name, *hit) for hit in evaluator.nonfinite]
        outcome.cases = [cases[i] for i in sorted(cases)]
    finally:
        store.close()
    outcome.seconds = time.perf_counter() - started
    return outcome


def disabled_reasons(rules: Mapping[str, AlertRuleSpec], ctx: RenderContext) -> dict[str, str]:
    """Rule → why it is disabled (the stack key, or the rule file's own ``enabled``)."""
    reasons = {}
    for name, rule in rules.items():
        if rule.enabled:
            continue
        override = (ctx.alert_overrides or {}).get(name) or {}
        if override.get("enabled") is False:
            shown = display_path(Path(ctx.config_file))
            reasons[name] = f"disabled by {shown}: llm-insights:alerts.{name}.enabled = false"
        else:
            reasons[name] = f"disabled in {rule.source_file}: rule {name}: enabled = false"
    return reasons


def _history(
    evaluator: RuleEvaluator, exp: Expectation, start: datetime, at: datetime
) -> list[datetime]:
    """The evaluation times whose state decides *exp*; results are cached per evaluation time, so
    this only saves work.

    ``firing`` and the value depend on the lookback at *at* alone (a stateful instance is fired
    exactly while its condition is met; a stateless one fires at every evaluation that meets
    it). A stateful rule's fired/resolved ``event`` also needs the evaluation before. Whether a
    notification was muted depends on every notification since the start.
    """
    rule = evaluator.rule
    if exp.notified is not None and rule.mute_actions_duration:
        return list(evaluator.schedule(start, at))
    if rule.auto_mitigate and (exp.event is not None or exp.notified is not None):
        return [at - evaluator.frequency, at]
    return [at]


def _check_aligned(fixture: FixtureFile, test: RuleTest, exp: Expectation, freq: timedelta) -> None:
    if exp.at % freq:
        below = exp.at - exp.at % freq
        raise KitError(
            str(fixture.path),
            f"test {test.name!r}: expect[{exp.index}].at = {format_short_duration(exp.at)}: not "
            f"an evaluation time of {exp.rule} (it runs every {format_short_duration(freq)} from "
            f"evaluation_time_origin); use {format_short_duration(below)} or "
            f"{format_short_duration(below + freq)}",
        )


def check(exp: Expectation, at: datetime, evaluations: list[AlertDecision]) -> CaseOutcome:
    """Compare one expectation with the alert instances of its rule at its time."""
    matching = [
        ev for ev in evaluations if all(ev.labels.get(k) == v for k, v in exp.series.items())
    ]
    problems: list[str] = []
    firing = [ev for ev in matching if ev.firing]
    if exp.firing and not firing:
        problems.append("expected firing, but no matching instance fired")
    if not exp.firing and firing:
        problems.append("expected silent, but " + _instances(firing) + " fired")
    subjects = firing if exp.firing else matching
    details = exp.value_between is not None or exp.event is not None or exp.notified is not None
    if details and not problems:
        if subjects:
            ok = any(_details_ok(exp, ev) for ev in subjects)
        else:  # no instance at all: only "nothing happened" expectations can hold
            ok = exp.value_between is None and exp.event in (None, "none") and not exp.notified
        if not ok:
            problems.append(_details_problem(exp, subjects))
    others = [ev for ev in evaluations if ev not in matching]
    return CaseOutcome(exp, at, matching, problems, others)


def _details_ok(exp: Expectation, ev: AlertDecision) -> bool:
    if exp.value_between is not None:
        low, high = exp.value_between
        if ev.value is None or not low <= ev.value <= high:
            return False
    if exp.event is not None and (ev.event or "none") != exp.event:
        return False
    return exp.notified is None or ev.notified == exp.notified


def _details_problem(exp: Expectation, subjects: list[AlertDecision]) -> str:
    wanted = []
    if exp.value_between is not None:
        wanted.append(f"value in [{exp.value_between[0]:g}, {exp.value_between[1]:g}]")
    if exp.event is not None:
        wanted.append(f"event {exp.event}")
    if exp.notified is not None:
        wanted.append("notified" if exp.notified else "not notified")
    if not subjects:
        return "expected " + ", ".join(wanted) + ", but the query returned no matching series"
    return (
        "expected "
        + ", ".join(wanted)
        + ", got "
        + "; ".join(
            f"value {format_value(ev.value)}, event {ev.event or 'none'}, "
            f"{'notified' if ev.notified else 'not notified'}"
            + (f" ({format_series(ev.series)})" if ev.series else "")
            for ev in subjects
        )
    )


def _instances(evs: list[AlertDecision]) -> str:
    labels = [f"({format_series(e.series)})" if e.series else "the alert" for e in evs]
    return ", ".join(labels)


def describe_expectation(exp: Expectation) -> str:
    parts = [f"firing={'true' if exp.firing else 'false'}"]
    if exp.series:
        parts.append(f"series {format_series(tuple(exp.series.items()))}")
    if exp.value_between is not None:
        parts.append(f"value in [{exp.value_between[0]:g}, {exp.value_between[1]:g}]")
    if exp.event is not None:
        parts.append(f"event={exp.event}")
    if exp.notified is not None:
        parts.append(f"notified={'true' if exp.notified else 'false'}")
    return ", ".join(parts)
