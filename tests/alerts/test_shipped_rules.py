"""The kit's own rule tests (alerts/tests/) pass, and cover every rule on both sides."""

from __future__ import annotations

import functools
import io

import pytest

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.alerts.rule_tests import RunReport, default_fixture_dir, run_paths
from llm_insights_kit.artifacts import RenderContext
from llm_insights_kit.commands.alerts import write_report
from llm_insights_kit.local.store import LocalStore

SILENT_SIDE = {"GreaterThan": "<=", "GreaterThanOrEqual": "<"}


# every shipped rule test in alerts/tests/ runs once for the module (~40 s)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report() -> RunReport:
    return run_paths(
        [default_fixture_dir()], store_factory=functools.partial(LocalStore, ":memory:")
    )


def test_every_shipped_rule_test_passes(report):
    out = io.StringIO()
    write_report(report, out)
    assert report.ok, out.getvalue()
    assert len(report.outcomes) >= 26  # at least two tests per rule


def test_every_rule_fires_on_its_incident_and_stays_silent_when_healthy(report):
    names = {r.name for r in load_rules(RenderContext())}
    coverage = report.coverage()
    assert names <= set(coverage)
    missing = {n: coverage[n] for n in names if not all(coverage[n])}
    assert not missing, f"rules without a passing firing and silent case: {missing}"


def test_every_rule_is_pinned_on_both_sides_of_its_threshold(report):
    """A silent case with its value at or below the threshold and a firing case above it."""
    sides: dict[str, set[str]] = {}
    for case in report.cases:
        exp = case.expectation
        if not case.ok or exp.value_between is None or not case.instances:
            continue
        ev = case.instances[0]
        assert ev.operator in SILENT_SIDE, f"{exp.rule}: extend this test for {ev.operator}"
        low, high = exp.value_between
        if exp.firing and low > ev.threshold:
            sides.setdefault(exp.rule, set()).add("above")
        if not exp.firing and high <= ev.threshold:
            sides.setdefault(exp.rule, set()).add("below")
    names = {r.name for r in load_rules(RenderContext())}
    one_sided = {n: sorted(sides.get(n, ())) for n in names if sides.get(n) != {"above", "below"}}
    assert not one_sided, f"rules not pinned on both sides of the threshold: {one_sided}"


def test_stack_overrides_change_decisions(report):
    """The same telemetry is decided differently under prod's stricter thresholds."""
    by_name = {o.test.name: o for o in report.outcomes}
    default = by_name["3 % errors stay silent with the kit's default threshold"]
    prod = by_name["3 % errors fire in prod (threshold 0.02)"]
    assert (default.stack, prod.stack) == (None, "prod")
    assert [c.instances[0].firing for c in default.cases] == [False]
    assert [c.instances[0].firing for c in prod.cases] == [True]
    assert prod.cases[0].instances[0].threshold == 0.02


def test_no_shipped_rule_returns_an_infinite_nan_or_null_measure(report):
    """What Azure does with such a measure is undocumented, so no shipped rule may return one for
    a series that has data — across every fixture, incidents and overload beyond the last
    bucket included (``llm-latency.yaml``)."""
    names = {r.name for r in load_rules(RenderContext())}
    measured = {o.test.name for o in report.outcomes if o.queries}
    assert measured and names <= {e.rule for o in report.outcomes for e in o.test.expect}
    bad = [(o.path.name, o.test.name, hit) for o in report.outcomes for hit in o.nonfinite]
    assert not bad, bad
