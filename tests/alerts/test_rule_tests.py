"""The runner's shortcuts agree with a full replay of every evaluation from the origin."""

from __future__ import annotations

import pytest

from llm_insights_kit.alerts.evaluator import RuleEvaluator
from llm_insights_kit.alerts.fixtures import Expectation
from llm_insights_kit.alerts.rule_tests import _history

from .conftest import T0, ListStore, make_rule, minutes

# breaching in some 5-minute windows, not in others, with gaps (no data)
PATTERN = [20.0, 20.0, 1.0, 20.0, None, 20.0, 20.0, 20.0, 1.0, 1.0, 20.0, None, 20.0]


def _store() -> ListStore:
    rows = [[minutes(5 * i + 1), v] for i, v in enumerate(PATTERN) if v is not None]
    return ListStore(["v"], rows)


@pytest.mark.parametrize(
    "changes",
    [
        {"auto_mitigate": True},
        {"auto_mitigate": True, "failing": (3, 2)},
        {"auto_mitigate": False},
        {"auto_mitigate": False, "mute_actions_duration": "PT15M"},
        {"auto_mitigate": False, "mute_actions_duration": "PT10M", "failing": (2, 1)},
    ],
)
def test_short_history_matches_a_full_replay(changes):
    rule = make_rule(**changes)
    full_eval = RuleEvaluator(_store(), rule)
    full = {e.at: e for e in full_eval.run(full_eval.schedule(T0, minutes(70)))}
    evaluator = RuleEvaluator(_store(), rule)
    for k in range(15):
        at = minutes(5 * k)
        exp = Expectation(rule="test-rule", at=at - T0, firing=True, event="fired", notified=True)
        (got,) = [e for e in evaluator.run(_history(evaluator, exp, T0, at)) if e.at == at]
        want = full[at]
        assert (got.firing, got.event, got.notified, got.value) == (
            want.firing,
            want.event,
            want.notified,
            want.value,
        ), at
