"""Evaluate scheduled-query alert rules against a local store, the way Azure Monitor does.

Semantics of ``Microsoft.Insights/scheduledQueryRules`` (API 2023-12-01, kind LogAlert):

* At evaluation time *t* the rule's query runs once over the lookback
  ``[t - windowSize x numberOfEvaluationPeriods, t)`` with ``now()`` = *t* (the rule's KQL carries
  no time filter; Azure scopes it). "numberOfEvaluationPeriods: The number of aggregated lookback
  points. The lookback time window is calculated based on the aggregation granularity
  (windowSize) and the selected number of aggregated points" (azure-rest-api-specs
  scheduledQueryRule_API.json); "if you set Aggregation granularity to 5 minutes, you can
  specify that you want to trigger an alert only if three failures (15 minutes) happened in the
  last hour" (MicrosoftDocs/azure-monitor-docs alerts-create-log-alert-rule.md).
* Periods: with one evaluation period the whole result is that period. With several, each result
  row belongs to the windowSize-long period of the lookback that holds the value of the query's
  own datetime column — "in order to use this the query should include 'datetime' column in the
  query results" (same doc). The periods end at *t*, *t* - windowSize, …; a row whose time lies
  outside the lookback belongs to none. A rule with several periods whose result has no datetime
  column (or more than one) is refused, never evaluated another way. How Azure aligns its bins
  is not documented: the kit's rules emit the start of the period itself (``k.period()``), one row
  per period, so both alignments read the same rows.
* ``dimensions`` split the result rows into time series, one alert instance each: ``Include``
  keeps the listed values (``*`` = every value), ``Exclude`` drops them.
* Each series is aggregated per period: ``Count`` is the number of result rows (no rows → 0);
  ``Average``, ``Minimum``, ``Maximum``, ``Total`` aggregate ``metricMeasureColumn`` over the rows.
  A period with no rows (or only null measures) has *no data* and does not breach, whatever the
  operator — except ``Count``, whose no-data value is 0 (so ``Count LessThan 1`` catches
  silence). (What Azure does with a null, NaN or infinite measure is undocumented; the kit's
  rules never return one for a series with data, and ``nonfinite`` records any seen here.)
* Violations: the condition is met at *t* when at least ``minFailingPeriodsToAlert`` of the
  ``numberOfEvaluationPeriods`` periods breach, counted per dimension combination.
* State: with ``autoMitigate`` (stateful) an instance fires once when the condition becomes met
  and resolves when it is no longer met. Without it (stateless) every evaluation that meets the
  condition fires again; ``muteActionsDuration`` suppresses the notifications for that long after
  one was sent (the alert still fires).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from ..artifacts import AlertRuleSpec
from ..errors import KitError
from .durations import parse_iso_duration

OPERATORS: dict[str, str] = {
    "GreaterThan": ">",
    "GreaterThanOrEqual": ">=",
    "LessThan": "<",
    "LessThanOrEqual": "<=",
    "Equals": "==",
}
_NEGATED: dict[str, str] = {
    "GreaterThan": "<=",
    "GreaterThanOrEqual": "<",
    "LessThan": ">=",
    "LessThanOrEqual": ">",
    "Equals": "!=",
}
AGGREGATIONS = ("Count", "Average", "Minimum", "Maximum", "Total")

SeriesKey = tuple[tuple[str, str], ...]


class QueryResultLike(Protocol):
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    # the engine's column types (the local store's DuckDB types) where known; without them a
    # column whose values are all datetimes is the time column


class QueryStore(Protocol):
    """What the evaluator needs from a store (``llm_insights_kit.local.store.LocalStore``)."""

    def query(
        self, kql: str, *, now: datetime, time_range: tuple[datetime, datetime]
    ) -> QueryResultLike: ...


@dataclass(frozen=True)
class WindowValue:
    """One series' aggregate over one window; ``value`` None means no data."""

    value: float | None
    rows: int


@dataclass(frozen=True)
class AlertDecision:
    """What Azure Monitor would decide for one rule and one series (alert instance) at one
    evaluation time: breaching, fired/resolved, notified, and why. (Not the SDK's
    ``llm_insights.Evaluation``, an LLM judge's score.)"""

    rule: str
    at: datetime
    series: SeriesKey
    value: float | None  # aggregate of the newest period (ending at ``at``)
    threshold: float
    operator: str
    breaching: bool  # the newest period breaches
    failing_periods: int  # breaching windows among the evaluated periods
    periods: int
    condition_met: bool  # failing_periods >= minFailingPeriodsToAlert
    firing: bool  # the alert instance is fired after this evaluation
    event: str | None  # "fired" | "resolved" | None
    notified: bool  # action groups were called at this evaluation
    why: str
    # the newest period's volume when the rule's minimum left this series out ("8 of 10 runs")
    below_minimum: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "at": self.at.isoformat(),
            "series": dict(self.series),
            "value": _json_number(self.value),
            "threshold": self.threshold,
            "operator": self.operator,
            "breaching": self.breaching,
            "failing_periods": self.failing_periods,
            "periods": self.periods,
            "condition_met": self.condition_met,
            "firing": self.firing,
            "event": self.event,
            "notified": self.notified,
            "why": self.why,
            "below_minimum": self.below_minimum,
        }


def _json_number(value: float | None) -> float | str | None:
    """JSON has no infinity: a percentile beyond the last bucket is reported as "+Inf"."""
    if value is not None and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def compare(value: float | None, operator: str, threshold: float) -> bool:
    """Whether *value* breaches; no data never does."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if operator == "GreaterThan":
        return value > threshold
    if operator == "GreaterThanOrEqual":
        return value >= threshold
    if operator == "LessThan":
        return value < threshold
    if operator == "LessThanOrEqual":
        return value <= threshold
    if operator == "Equals":
        return value == threshold
    raise ValueError(operator)


def rule_duration(rule: AlertRuleSpec, field_name: str, text: str | None) -> timedelta:
    """A rule's ISO 8601 duration field, or a KitError naming the rule's file and field."""
    delta = parse_iso_duration(text or "")
    if delta is None or delta <= timedelta(0):
        raise KitError(
            rule.source_file,
            f"rule {rule.name}: {field_name} = {text!r}: expected an ISO 8601 duration such as "
            "PT5M, PT1H or P1D",
        )
    return delta


def format_value(value: float | None) -> str:
    if value is None:
        return "no data"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".4g")


def format_series(series: SeriesKey) -> str:
    return ", ".join(f"{k}={v}" for k, v in series)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


class RuleEvaluator:
    """Evaluates one rule against one store; results are cached by evaluation time.

    One query per evaluation time, over the whole lookback (windowSize x periods), as in Azure.
    """

    def __init__(self, store: QueryStore, rule: AlertRuleSpec, *, volume: bool = False) -> None:
        """``volume=True``: also say which series the rule's minimum volume left out (one more
        query per evaluation time; for people reading states, not for replays)."""
        self.store = store
        self.rule = rule
        self._volume = (
            RuleEvaluator(store, _volume_rule(rule)) if volume and rule.volume_guard else None
        )
        self.frequency = rule_duration(rule, "evaluationFrequency", rule.evaluation_frequency)
        self.window_size = rule_duration(rule, "windowSize", rule.window_size)
        if rule.time_aggregation not in AGGREGATIONS:
            raise KitError(
                rule.source_file,
                f"rule {rule.name}: timeAggregation = {rule.time_aggregation!r}: allowed "
                + ", ".join(AGGREGATIONS),
            )
        if rule.operator not in OPERATORS:
            raise KitError(
                rule.source_file,
                f"rule {rule.name}: operator = {rule.operator!r}: allowed " + ", ".join(OPERATORS),
            )
        if rule.time_aggregation != "Count" and not rule.metric_measure_column:
            raise KitError(
                rule.source_file,
                f"rule {rule.name}: metricMeasureColumn is required with timeAggregation "
                f"{rule.time_aggregation}",
            )
        self.periods = rule.failing_periods.number_of_evaluation_periods
        if isinstance(self.periods, bool) or not isinstance(self.periods, int):
            raise KitError(rule.source_file, f"rule {rule.name}: numberOfEvaluationPeriods 1-6")
        if not 1 <= self.periods <= 6:
            raise KitError(
                rule.source_file,
                f"rule {rule.name}: numberOfEvaluationPeriods = {self.periods}: allowed 1-6",
            )
        self.lookback = self.window_size * self.periods
        self._cache: dict[datetime, dict[SeriesKey, list[WindowValue]]] = {}
        self.queries_run = 0
        # (series, period end, value) of every null, NaN or infinite measure in a result row
        self.nonfinite: list[tuple[SeriesKey, datetime, Any]] = []

    # -- one evaluation time: the query over the lookback, split into periods ------------------
    def periods_at(self, at: datetime) -> dict[SeriesKey, list[WindowValue]]:
        """Series → aggregate per period, newest first (period k ends at ``at - k*windowSize``)."""
        cached = self._cache.get(at)
        if cached is None:
            cached = self._cache[at] = self._run(at)
        return cached

    def _run(self, at: datetime) -> dict[SeriesKey, list[WindowValue]]:
        rule = self.rule
        start = at - self.lookback
        try:
            result = self.store.query(rule.query, now=at, time_range=(start, at))
        except KitError as exc:
            raise KitError(rule.source_file, f"rule {rule.name}: query failed: {exc}") from None
        except Exception as exc:  # the store's engine errors (unsupported KQL, SQL errors)
            raise KitError(
                rule.source_file,
                f"rule {rule.name}: query failed: {type(exc).__name__}: {exc}",
            ) from None
        self.queries_run += 1
        columns = list(result.columns)
        index = {name: i for i, name in enumerate(columns)}
        for dim in rule.dimensions:
            if dim.name not in index:
                raise KitError(
                    rule.source_file,
                    f"rule {rule.name}: dimension {dim.name!r} is not a column of the query "
                    f"result (columns: {', '.join(columns) or 'none'})",
                )
        measure_at: int | None = None
        if rule.time_aggregation != "Count":
            column = rule.metric_measure_column or ""
            if column not in index:
                raise KitError(
                    rule.source_file,
                    f"rule {rule.name}: metricMeasureColumn {column!r} is not a column of the "
                    f"query result (columns: {', '.join(columns) or 'none'})",
                )
            measure_at = index[column]
        time_at = self._time_column(result) if self.periods > 1 else None

        groups: dict[tuple[SeriesKey, int], list[Any]] = {}
        for row in result.rows:
            key = tuple((d.name, _dimension_text(row[index[d.name]])) for d in rule.dimensions)
            if not all(
                _dimension_selected(d.operator, d.values, v)
                for d, (_, v) in zip(rule.dimensions, key, strict=True)
            ):
                continue
            period = 0 if time_at is None else self._period_of(row[time_at], at)
            if period is None:
                continue
            measure = None if measure_at is None else row[measure_at]
            if measure_at is not None and not _finite(measure):
                self.nonfinite.append((key, at - period * self.window_size, measure))
            groups.setdefault((key, period), []).append(measure)
        keys = {key for key, _ in groups}
        if not rule.dimensions:
            keys.add(())
        return {
            key: [self._aggregate(groups.get((key, k), [])) for k in range(self.periods)]
            for key in keys
        }

    def _time_column(self, result: QueryResultLike) -> int | None:
        """The index of the result's one datetime column; refuse the rule without exactly one.
        (None: no types and no rows to tell them by, so no row to place either.)"""
        rule = self.rule
        columns = list(result.columns)
        types = list(getattr(result, "types", None) or [])
        if not types and not result.rows:
            return None
        if len(types) == len(columns):
            found = [i for i, t in enumerate(types) if "TIMESTAMP" in t.upper() or t == "DATE"]
        else:
            found = [
                i
                for i in range(len(columns))
                if result.rows
                and all(isinstance(r[i], datetime) for r in result.rows if r[i] is not None)
                and any(r[i] is not None for r in result.rows)
            ]
        if len(found) != 1:
            raise KitError(
                rule.source_file,
                f"rule {rule.name}: numberOfEvaluationPeriods = {self.periods}, but the query "
                f"result has {len(found)} datetime columns (columns: "
                f"{', '.join(columns) or 'none'}): Azure needs a datetime column in the results to "
                "count violations per period (alerts-create-log-alert-rule.md), and the kit "
                "needs exactly one to know which; not evaluated",
            )
        return found[0]

    def _period_of(self, value: Any, at: datetime) -> int | None:
        """The period (0 = newest) whose ``[end - windowSize, end)`` holds ``value``."""
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=at.tzinfo)
        age = at - value
        if age <= timedelta(0) or age > self.lookback:
            return None
        return math.ceil(age / self.window_size) - 1

    def _aggregate(self, values: list[Any]) -> WindowValue:
        rows = len(values)
        aggregation = self.rule.time_aggregation
        if aggregation == "Count":
            return WindowValue(float(rows), rows)
        numbers: list[float] = []
        for raw in values:
            if raw is None:
                continue
            if isinstance(raw, Decimal):
                raw = float(raw)
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise KitError(
                    self.rule.source_file,
                    f"rule {self.rule.name}: metricMeasureColumn "
                    f"{self.rule.metric_measure_column!r} must be numeric, got {raw!r}",
                )
            if not math.isnan(raw):
                numbers.append(float(raw))
        if not numbers:
            return WindowValue(None, rows)
        if aggregation == "Average":
            value = math.fsum(numbers) / len(numbers)
        elif aggregation == "Minimum":
            value = min(numbers)
        elif aggregation == "Maximum":
            value = max(numbers)
        else:  # Total
            value = math.fsum(numbers)
        return WindowValue(value, rows)

    def below_minimum(self, at: datetime) -> dict[SeriesKey, str]:
        """Series whose newest period has some volume, but less than the rule's minimum →
        ``below minimum (8 of 10 runs)``; empty unless built with ``volume=True``."""
        guard = self.rule.volume_guard
        if self._volume is None or guard is None:
            return {}
        out = {}
        for key, windows in self._volume.periods_at(at).items():
            count = windows[0].value
            if count is not None and 0 < count < guard.minimum:
                out[key] = (
                    f"below minimum ({format_value(count)} of {format_value(guard.minimum)} "
                    f"{guard.noun})"
                )
        return out

    # -- one evaluation (all periods) -----------------------------------------------------------
    def condition(self, at: datetime, extra: Iterable[SeriesKey] = ()) -> dict[SeriesKey, tuple]:
        """Series → (newest value, newest breaching, failing periods, periods, condition met)."""
        rule = self.rule
        found = self.periods_at(at)
        keys: set[SeriesKey] = set(extra) | set(found)
        out: dict[SeriesKey, tuple] = {}
        for key in sorted(keys):
            values = [self._value(w) for w in found.get(key, [None] * self.periods)]
            flags = [compare(v, rule.operator, rule.threshold) for v in values]
            failing = sum(flags)
            met = failing >= rule.failing_periods.min_failing_periods_to_alert
            out[key] = (values[0], flags[0], failing, self.periods, met)
        return out

    def _value(self, hit: WindowValue | None) -> float | None:
        if hit is not None:
            return hit.value
        return 0.0 if self.rule.time_aggregation == "Count" else None

    # -- a sequence of evaluations, with alert state --------------------------------------------
    def run(self, times: Iterable[datetime]) -> list[AlertDecision]:
        """Evaluate at each time (ascending), carrying fired/resolved state per series."""
        state = _State()
        out: list[AlertDecision] = []
        times = list(times)
        for at in times:  # what the minimum volume left out matters at the last time only
            out.extend(self._step(at, state, explain=at == times[-1]))
        return out

    def schedule(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The evaluation times start, start + frequency, … up to and including *end*."""
        at = start
        while at <= end:
            yield at
            at += self.frequency

    def _step(self, at: datetime, state: _State, explain: bool = True) -> list[AlertDecision]:
        rule = self.rule
        mute = (
            rule_duration(rule, "muteActionsDuration", rule.mute_actions_duration)
            if rule.mute_actions_duration
            else None
        )
        results: list[AlertDecision] = []
        below = self.below_minimum(at) if explain else {}
        for key, (value, breaching, failing, periods, met) in self.condition(
            at, extra=[*state.firing, *below]
        ).items():
            was_firing = key in state.firing
            event: str | None = None
            notify = False
            if not rule.enabled:
                firing = False
            elif rule.auto_mitigate:
                if met and not was_firing:
                    event, notify = "fired", True
                    state.firing.add(key)
                elif not met and was_firing:
                    event, notify = "resolved", True
                    state.firing.discard(key)
                firing = key in state.firing
            else:
                firing = met
                if met:
                    event, notify = "fired", True
            if event == "fired" and mute is not None:
                last = state.last_notified.get(key)
                if last is not None and at < last + mute:
                    notify = False
            if notify and event == "fired":
                state.last_notified[key] = at
            results.append(
                AlertDecision(
                    rule=rule.name,
                    at=at,
                    series=key,
                    value=value,
                    threshold=rule.threshold,
                    operator=rule.operator,
                    breaching=breaching,
                    failing_periods=failing,
                    periods=periods,
                    condition_met=met,
                    firing=firing,
                    event=event,
                    notified=notify,
                    why=self._why(
                        at,
                        key,
                        value,
                        failing,
                        periods,
                        met,
                        firing,
                        event,
                        notify,
                        below.get(key),
                    ),
                    below_minimum=below.get(key),
                )
            )
        return results

    def _why(
        self,
        at: datetime,
        key: SeriesKey,
        value: float | None,
        failing: int,
        periods: int,
        met: bool,
        firing: bool,
        event: str | None,
        notified: bool,
        below: str | None = None,
    ) -> str:
        rule = self.rule
        if not rule.enabled:
            verb = "disabled (never fires)"
        elif event == "fired":
            verb = "fired" if notified else "fired (notification muted)"
        elif event == "resolved":
            verb = "resolved"
        elif firing:
            verb = "still firing"
        else:
            verb = "silent"
        measure = (
            "row count"
            if rule.time_aggregation == "Count"
            else f"{rule.time_aggregation.lower()} of {rule.metric_measure_column}"
        )
        if value is None:
            comparison = f"{measure}: {below or 'no data'} (never breaches)"
        else:
            op = (
                OPERATORS[rule.operator]
                if compare(value, rule.operator, rule.threshold)
                else _NEGATED[rule.operator]
            )
            comparison = f"{measure} {format_value(value)} {op} {format_value(rule.threshold)}"
            if below:
                comparison += f"; newest period {below}"
        text = f"{rule.name} {verb} at {_stamp(at)}: {comparison}"
        if periods > 1:
            need = rule.failing_periods.min_failing_periods_to_alert
            text += f"; {failing} of {periods} periods breaching (needs {need})"
        elif met != compare(value, rule.operator, rule.threshold):  # pragma: no cover - defensive
            text += "; condition met" if met else "; condition not met"
        if key:
            text += f" ({format_series(key)})"
        return text


def _volume_rule(rule: AlertRuleSpec) -> AlertRuleSpec:
    """The rule's query up to its minimum-volume line, totalling the guarded column."""
    guard = rule.volume_guard
    assert guard is not None
    return dataclasses.replace(
        rule,
        query=guard.query,
        time_aggregation="Total",
        metric_measure_column=guard.column,
        volume_guard=None,
    )


@dataclass
class _State:
    firing: set[SeriesKey] = field(default_factory=set)
    last_notified: dict[SeriesKey, datetime] = field(default_factory=dict)


def _finite(value: Any) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _dimension_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dimension_selected(operator: str, values: Sequence[str], value: str) -> bool:
    if operator == "Exclude":
        return "*" not in values and value not in values
    return "*" in values or value in values


def rule_state(rule: AlertRuleSpec, decisions: Sequence[AlertDecision], error: str = "") -> str:
    """One rule at one evaluation time as a table shows it: ``error``, ``disabled``, ``FIRED``
    (some series' condition is met) or ``ok``."""
    if error:
        return "error"
    if not rule.enabled:
        return "disabled"
    return "FIRED" if any(d.condition_met for d in decisions) else "ok"


def evaluate(
    store: QueryStore,
    rule: AlertRuleSpec,
    at: datetime,
    *,
    since: datetime | None = None,
    volume: bool = False,
) -> list[AlertDecision]:
    """The evaluations of *rule* at *at*; with *since*, state is carried from there first;
    with *volume*, series the rule's minimum volume left out are listed too."""
    evaluator = RuleEvaluator(store, rule, volume=volume)
    if since is None:
        return evaluator.run([at])
    times = [t for t in evaluator.schedule(since, at)]
    if not times or times[-1] != at:
        times.append(at)
    return [e for e in evaluator.run(times) if e.at == at]
