"""Semantics of the scheduled-query-rule evaluator, apart from any KQL engine."""

from __future__ import annotations

import pytest

from llm_insights_kit.alerts.evaluator import RuleEvaluator, compare, evaluate
from llm_insights_kit.errors import KitError

from .conftest import ListStore, make_rule, minutes


def test_window_is_half_open_and_now_is_the_evaluation_time():
    store = ListStore(["v"], [[minutes(0), 100.0], [minutes(4.99), 1.0], [minutes(5), 1000.0]])
    (ev,) = evaluate(store, make_rule(), minutes(5))
    assert ev.value == pytest.approx(50.5)  # rows at 0m and 4.99m; the row at 5m is outside
    assert store.calls == [(minutes(5), minutes(0), minutes(5))]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("Average", 4.0), ("Minimum", 1.0), ("Maximum", 9.0), ("Total", 12.0), ("Count", 3.0)],
)
def test_time_aggregations(aggregation, expected):
    store = ListStore(["v"], [[minutes(1), 1.0], [minutes(2), 9.0], [minutes(3), 2.0]])
    column = None if aggregation == "Count" else "v"
    rule = make_rule(time_aggregation=aggregation, metric_measure_column=column, threshold=0)
    (ev,) = evaluate(store, rule, minutes(5))
    assert ev.value == expected


def test_count_with_no_rows_is_zero_and_can_breach_less_than():
    rule = make_rule(
        time_aggregation="Count", metric_measure_column=None, operator="LessThan", threshold=1
    )
    (ev,) = evaluate(ListStore(["v"], []), rule, minutes(5))
    assert ev.value == 0 and ev.breaching and ev.firing and ev.event == "fired"
    assert "row count 0 < 1" in ev.why


def test_average_with_no_rows_has_no_data_and_never_breaches():
    rule = make_rule(operator="LessThan", threshold=1)
    (ev,) = evaluate(ListStore(["v"], [[minutes(1), None]]), rule, minutes(5))
    assert ev.value is None and not ev.breaching and not ev.firing
    assert "no data" in ev.why


@pytest.mark.parametrize(
    ("operator", "below", "at", "above"),
    [
        ("GreaterThan", False, False, True),
        ("GreaterThanOrEqual", False, True, True),
        ("LessThan", True, False, False),
        ("LessThanOrEqual", True, True, False),
        ("Equals", False, True, False),
    ],
)
def test_operators_on_both_sides_of_the_threshold(operator, below, at, above):
    assert compare(9.999, operator, 10) is below
    assert compare(10.0, operator, 10) is at
    assert compare(10.001, operator, 10) is above


def _model_rows():
    return [
        [minutes(1), "gpt-4o", 20.0],
        [minutes(2), "gpt-4o", 30.0],
        [minutes(1), "gpt-4o-mini", 5.0],
        [minutes(2), "o3", 50.0],
    ]


def test_dimensions_split_into_alert_instances():
    rule = make_rule(dims=[("model", "Include", ["*"])])
    evs = evaluate(ListStore(["model", "v"], _model_rows()), rule, minutes(5))
    by_model = {e.labels["model"]: e for e in evs}
    assert {m: e.value for m, e in by_model.items()} == {"gpt-4o": 25, "gpt-4o-mini": 5, "o3": 50}
    assert {m for m, e in by_model.items() if e.firing} == {"gpt-4o", "o3"}
    assert by_model["gpt-4o"].why.endswith("(model=gpt-4o)")


def test_dimension_include_values_and_exclude():
    store = ListStore(["model", "v"], _model_rows())
    inc = evaluate(store, make_rule(dims=[("model", "Include", ["gpt-4o-mini"])]), minutes(5))
    assert [(e.labels["model"], e.value) for e in inc] == [("gpt-4o-mini", 5.0)]
    exc = evaluate(store, make_rule(dims=[("model", "Exclude", ["o3"])]), minutes(5))
    assert sorted(e.labels["model"] for e in exc) == ["gpt-4o", "gpt-4o-mini"]


def test_count_with_dimensions_counts_rows_per_series():
    rule = make_rule(
        time_aggregation="Count",
        metric_measure_column=None,
        threshold=1,
        dims=[("model", "Include", ["*"])],
    )
    evs = evaluate(ListStore(["model", "v"], _model_rows()), rule, minutes(5))
    assert {e.labels["model"]: (e.value, e.firing) for e in evs} == {
        "gpt-4o": (2, True),
        "gpt-4o-mini": (1, False),
        "o3": (1, False),
    }


def test_failing_periods_need_m_of_n_breaching_periods():
    # one query over the lookback [0m, 15m); periods [10m, 15m), [5m, 10m), [0m, 5m) by the
    # result's timestamp: values 20 (breach), 1, 20 (breach)
    rows = [[minutes(1), 20.0], [minutes(6), 1.0], [minutes(11), 20.0]]
    store = ListStore(["v"], rows)
    two_of_three = make_rule(failing=(3, 2))
    (ev,) = evaluate(store, two_of_three, minutes(15))
    assert (ev.failing_periods, ev.periods, ev.condition_met, ev.firing) == (2, 3, True, True)
    assert "2 of 3 periods breaching" in ev.why
    assert store.calls == [(minutes(15), minutes(0), minutes(15))]  # lookback = 3 x windowSize
    (ev,) = evaluate(store, make_rule(failing=(3, 3)), minutes(15))
    assert (ev.failing_periods, ev.firing) == (2, False)
    (ev,) = evaluate(store, make_rule(failing=(2, 2)), minutes(15))
    assert ev.breaching and not ev.firing  # newest period breaches, the one before does not


def test_periods_come_from_the_result_time_column_and_split_per_series():
    # window 5m, 2 periods, evaluated at 12m: periods [7m, 12m) and [2m, 7m); the edge row at
    # exactly 7m is in the newer one, the row at 1m is outside the lookback
    rows = [
        [minutes(1), "a", 99.0],
        [minutes(3), "a", 20.0],
        [minutes(7), "a", 30.0],
        [minutes(11.9), "a", 1.0],
        [minutes(4), "b", 20.0],
    ]
    store = ListStore(["model", "v"], rows)
    store.rows.append([minutes(1), "b", 50.0])  # outside the lookback: the store scopes it out
    rule = make_rule(failing=(2, 2), dims=[("model", "Include", ["*"])])
    evs = {e.labels["model"]: e for e in evaluate(store, rule, minutes(12))}
    assert (evs["a"].value, evs["a"].failing_periods, evs["a"].firing) == (15.5, 2, True)
    assert (evs["b"].value, evs["b"].failing_periods, evs["b"].firing) == (None, 1, False)


def test_a_multi_period_rule_without_a_time_column_is_refused():
    store = ListStore(["v"], [[minutes(1), 20.0]], time_column=False)
    (ev,) = evaluate(store, make_rule(), minutes(5))  # one period: no time column needed
    assert ev.firing
    with pytest.raises(KitError) as err:
        evaluate(store, make_rule(failing=(2, 2)), minutes(10))
    assert "numberOfEvaluationPeriods = 2, but the query result has 0 datetime columns" in str(
        err.value
    )
    assert "not evaluated" in str(err.value) and err.value.where == "alerts/test-rule.yaml"


def test_one_query_per_evaluation_time_across_a_sequence():
    store = ListStore(["v"], [[minutes(1), 20.0]])
    evaluator = RuleEvaluator(store, make_rule(failing=(3, 1)))
    evaluator.run(evaluator.schedule(minutes(0), minutes(30)))
    assert [c[0] for c in store.calls] == [minutes(m) for m in range(0, 31, 5)]
    assert all(end - start == minutes(15) - minutes(0) for _, start, end in store.calls)


def test_nonfinite_measures_are_recorded():
    store = ListStore(["v"], [[minutes(1), float("inf")], [minutes(2), None], [minutes(3), 1.0]])
    evaluator = RuleEvaluator(store, make_rule(time_aggregation="Maximum"))
    evaluator.run([minutes(5)])
    assert next(v for _, _, v in evaluator.nonfinite) == float("inf")
    assert len(evaluator.nonfinite) == 2


def test_auto_mitigate_fires_once_then_resolves():
    rows = [[minutes(m), 20.0] for m in (1, 6, 11)]
    evaluator = RuleEvaluator(ListStore(["v"], rows), make_rule(auto_mitigate=True))
    evs = evaluator.run(evaluator.schedule(minutes(5), minutes(25)))
    assert [(e.at, e.firing, e.event, e.notified) for e in evs] == [
        (minutes(5), True, "fired", True),
        (minutes(10), True, None, False),
        (minutes(15), True, None, False),
        (minutes(20), False, "resolved", True),
        (minutes(25), False, None, False),
    ]
    assert evs[3].why == (
        "test-rule resolved at 2026-01-01 00:20: average of v: no data (never breaches)"
    )


def test_stateless_rule_refires_and_mute_suppresses_notifications():
    rows = [[minutes(m), 20.0] for m in (1, 6, 11, 16, 21, 26)]
    rule = make_rule(auto_mitigate=False, mute_actions_duration="PT15M")
    evaluator = RuleEvaluator(ListStore(["v"], rows), rule)
    evs = evaluator.run(evaluator.schedule(minutes(5), minutes(30)))
    assert [(e.firing, e.event, e.notified) for e in evs] == [
        (True, "fired", True),  # 5m
        (True, "fired", False),  # 10m muted
        (True, "fired", False),  # 15m muted
        (True, "fired", True),  # 20m: 15 minutes after the last notification
        (True, "fired", False),
        (True, "fired", False),
    ]
    assert "notification muted" in evs[1].why


def test_resolution_tracks_a_series_that_disappears():
    rows = [[minutes(1), "gpt-4o", 20.0]]
    rule = make_rule(dims=[("model", "Include", ["*"])])
    evaluator = RuleEvaluator(ListStore(["model", "v"], rows), rule)
    evs = evaluator.run([minutes(5), minutes(10)])
    assert [(e.at, e.labels, e.event) for e in evs] == [
        (minutes(5), {"model": "gpt-4o"}, "fired"),
        (minutes(10), {"model": "gpt-4o"}, "resolved"),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric_measure_column": "nope"}, "metricMeasureColumn 'nope' is not a column"),
        ({"dims": [("model", "Include", ["*"])]}, "dimension 'model' is not a column"),
        ({"window_size": "5 minutes"}, "windowSize = '5 minutes'"),
        ({"time_aggregation": "Median"}, "timeAggregation = 'Median'"),
    ],
)
def test_bad_rules_are_kit_errors_naming_the_file(changes, message):
    with pytest.raises(KitError) as err:
        evaluate(ListStore(["v"], [[minutes(1), 1.0]]), make_rule(**changes), minutes(5))
    assert err.value.where == "alerts/test-rule.yaml"
    assert message in str(err.value) and "test-rule" in str(err.value)


def test_engine_errors_become_kit_errors():
    class Broken:
        def query(self, kql, *, now, time_range):
            raise RuntimeError("percentiles() is not supported")

    with pytest.raises(KitError, match="query failed: RuntimeError: percentiles"):
        evaluate(Broken(), make_rule(), minutes(5))


def test_a_disabled_rule_never_fires():
    (ev,) = evaluate(ListStore(["v"], [[minutes(1), 20.0]]), make_rule(enabled=False), minutes(5))
    assert ev.breaching and ev.condition_met and not ev.firing and ev.event is None
    assert ev.why.startswith("test-rule disabled (never fires) at")


def test_infinite_values_serialize_as_json_strings():
    store = ListStore(["v"], [[minutes(1), float("inf")]])
    (ev,) = evaluate(store, make_rule(time_aggregation="Maximum"), minutes(5))
    assert ev.firing and "inf > 10" in ev.why
    assert ev.to_dict()["value"] == "+Inf"
